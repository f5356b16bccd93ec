-- POST /api/cases/search over a fixed query set, one body per line, taken in turn.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local bodies = common.lines("BENCH_QUERIES")
local prepared = {}
local next_index = 1

function common.on_init()
  for i, body in ipairs(bodies) do
    prepared[i] = wrk.format("POST", "/api/cases/search", nil, body)
  end
  -- Threads start at different places in the set.
  next_index = math.random(#prepared)
end

function request()
  local req = prepared[next_index]
  next_index = next_index % #prepared + 1
  return req
end
