-- wrk script: POST /v1/outcomes with batches of new outcomes (unique ids per request).
-- usage: wrk -s outcomes.lua URL -- KEYS_FILE BATCH_SIZE TOKEN RUN_TAG
-- Each outcome is a renewal of KEYS_FILE drawn at random (seeded per thread) with a result
-- drawn from no_answer / reached / wrong_number / refused / promised, as an agent's day gives.
local keys = {}
local batch = 100
local counter = 0
local tag = "run"
local results = {
  '"result":"no_answer"', '"result":"no_answer"', '"result":"reached"', '"result":"wrong_number"',
  '"result":"refused","reason":"cannot_afford"', '"result":"promised","promised_date":"2026-09-20"',
}
local actions = { '"call"', '"sms"', '"visit"' }

function init(args)
  for line in io.lines(args[1]) do
    keys[#keys + 1] = string.sub(line, 2, -2)
  end
  batch = tonumber(args[2])
  tag = args[4] .. "-" .. tostring(id or 0)
  math.randomseed(11 + (id or 0))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[3]
end

function request()
  local parts = {}
  for i = 1, batch do
    counter = counter + 1
    parts[i] = '{"id":"' .. tag .. '-' .. counter .. '",' .. keys[math.random(#keys)] .. ',"action":' .. actions[math.random(#actions)]
      .. ',' .. results[math.random(#results)] .. ',"at":"2026-09-01T10:15:00+08:00","agent_id":"A1"}'
  end
  return wrk.format(nil, "/v1/outcomes", nil, '{"outcomes":[' .. table.concat(parts, ",") .. ']}')
end
