-- The ceiling: same server and middleware, no auth, no database.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.headers["Authorization"] = nil
wrk.method = "GET"
wrk.path = "/health"
