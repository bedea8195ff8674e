-- wrk script: POST /v1/score with random batches of keys.
-- usage: wrk -s batch.lua URL -- KEYS_FILE BATCH_SIZE TOKEN
-- KEYS_FILE holds one JSON key per line ({"policy_id":...,"installment_no":...}); 2,000
-- request bodies of BATCH_SIZE keys drawn at random (seeded per wrk thread) are cycled.
local bodies = {}
local next_body = 0

function init(args)
  local keys = {}
  for line in io.lines(args[1]) do
    keys[#keys + 1] = line
  end
  local batch = tonumber(args[2])
  math.randomseed(7 + (id or 0))
  for b = 1, 2000 do
    local parts = {}
    for i = 1, batch do
      parts[i] = keys[math.random(#keys)]
    end
    bodies[b] = '{"renewals":[' .. table.concat(parts, ",") .. ']}'
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[3]
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, "/v1/score", nil, bodies[next_body])
end
