-- wrk script: POST /v1/score cycling through prepared request bodies, one per line.
-- usage: wrk -s bodies.lua URL -- BODIES_FILE TOKEN
local bodies = {}
local next_body = 0

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, "/v1/score", nil, bodies[next_body])
end
