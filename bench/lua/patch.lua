-- PATCH /api/cases on random ids, changing Priority and Tags each time.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local ids = common.lines("BENCH_IDS")
local priorities = { "Low", "Normal", "High", "Critical" }
local tags = { "Shipping", "Refund", "VIP", "Warranty", "Billing", "Return", "Urgent" }
local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"Id": "%s", "Priority": "%s", "Tags": ["%s", "Bench"]}',
    ids[math.random(#ids)], priorities[counter % #priorities + 1], tags[math.random(#tags)]
  )
  return wrk.format("PATCH", "/api/cases", nil, body)
end
