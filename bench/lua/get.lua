-- GET /api/cases/{id}: 80 % of requests on a hot 5 % of the sampled ids, the rest on all.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local ids = common.lines("BENCH_IDS")
local hot = math.max(1, math.floor(#ids * 0.05))

function request()
  local id
  if math.random() < 0.8 then
    id = ids[math.random(hot)]
  else
    id = ids[math.random(#ids)]
  end
  return wrk.format("GET", "/api/cases/" .. id)
end
