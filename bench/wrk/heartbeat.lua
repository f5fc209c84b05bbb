-- POST /api/work_pools/POOL/workers/heartbeat for WORKERS workers
-- (worker-0 .. worker-N-1), the body a Prefect worker sends. Thread t of
-- WRK_THREADS sends the names t-1, t-1+T, ... in turn, so every worker
-- belongs to one thread and comes round again after WORKERS / T requests
-- of that thread. HEARTBEAT_DELAY_MS (default 0) is the pause each
-- connection takes before each request: with C connections the rate is
-- at most C * 1000 / delay per second, less the answers' own latency
-- (bench/run: 24 connections at 100 ms, ~200-240/s: 1,000 workers every
-- 5 s or more often).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local pool = os.getenv("POOL") or "bench"
local workers = tonumber(os.getenv("WORKERS") or "1000")
local threads_total = tonumber(os.getenv("WRK_THREADS") or "2")
local delay_ms = tonumber(os.getenv("HEARTBEAT_DELAY_MS") or "0")
local path = "/api/work_pools/" .. pool .. "/workers/heartbeat"
local headers = {["Content-Type"] = "application/json"}
local counter = 0

function request()
  local i = (counter * threads_total + thread_id - 1) % workers
  counter = counter + 1
  return wrk.format("POST", path, headers, string.format(
    '{"name":"worker-%d","heartbeat_interval_seconds":5}', i))
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end
