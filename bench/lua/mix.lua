-- 60 % get, 25 % search, 10 % patch, 5 % create, drawn at random per request.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local ids = common.lines("BENCH_IDS")
local queries = common.lines("BENCH_QUERIES")
local creates = common.lines("BENCH_CREATES")
local hot = math.max(1, math.floor(#ids * 0.05))
local priorities = { "Low", "Normal", "High", "Critical" }
local counter = 0

local function some_id()
  if math.random() < 0.8 then
    return ids[math.random(hot)]
  end
  return ids[math.random(#ids)]
end

function request()
  counter = counter + 1
  local draw = math.random(100)
  if draw <= 60 then
    return wrk.format("GET", "/api/cases/" .. some_id())
  elseif draw <= 85 then
    return wrk.format("POST", "/api/cases/search", nil, queries[math.random(#queries)])
  elseif draw <= 95 then
    local body = string.format(
      '{"Id": "%s", "Priority": "%s"}', ids[math.random(#ids)],
      priorities[counter % #priorities + 1]
    )
    return wrk.format("PATCH", "/api/cases", nil, body)
  end
  return wrk.format("POST", "/api/cases", nil, creates[math.random(#creates)])
end
