-- POST /api/cases with realistic bodies (server-generated Ids), taken in turn.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local bodies = common.lines("BENCH_CREATES")
local next_index = 1

function common.on_init()
  next_index = math.random(#bodies)
end

function request()
  local body = bodies[next_index]
  next_index = next_index % #bodies + 1
  return wrk.format("POST", "/api/cases", nil, body)
end
