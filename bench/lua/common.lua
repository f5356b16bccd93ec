-- Shared by every workload script: the token, per-thread random seeds, the optional
-- fixed-rate delay and the JSON summary that the harness reads from done().
local common = {}

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.headers["Content-Type"] = "application/json"

function common.lines(variable)
  local path = os.getenv(variable)
  local items = {}
  if not path or path == "" then
    return items
  end
  for line in io.lines(path) do
    if line ~= "" then
      items[#items + 1] = line
    end
  end
  return items
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

function init(args)
  -- Fixed seeds: every run sends the same sequence of requests.
  math.randomseed(1000 + (thread_number or 0))
  if common.on_init then
    common.on_init()
  end
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms and delay_ms > 0 then
  -- Think time per connection, jittered so that connections do not fire in lockstep.
  function delay()
    return math.floor(delay_ms * (0.5 + math.random()))
  end
end

-- Per thread: how many answers had each status of 300 or more (read back in done()).
statuses = {}

function response(status, headers, body)
  if status > 299 then
    statuses[status] = (statuses[status] or 0) + 1
  end
end

local function status_counts()
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local percentiles = {}
  for _, p in ipairs({ 50, 90, 95, 99 }) do
    percentiles[#percentiles + 1] = string.format('"p%d": %d', p, latency:percentile(p))
  end
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "status_errors": %d, "socket_errors": %d, '
      .. '"statuses": %s, "duration_us": %d, "mean_us": %.1f, "max_us": %d, %s}\n',
    summary.requests, e.status, socket_errors, status_counts(), summary.duration, latency.mean,
    latency.max, table.concat(percentiles, ", ")
  ))
end

return common
