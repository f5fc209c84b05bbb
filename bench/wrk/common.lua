-- Shared by every wrk script of bench/run: counts non-2xx responses per
-- thread and prints one machine-readable line from done():
--   BENCH_JSON {"requests":..,"rps":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,
--               "non2xx":..,"errors":{...}}
-- Latencies come from wrk's own histogram (latency:percentile, in µs).
-- Each script loads it with dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua").
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

non2xx = 0
thread_id = 0

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,' ..
    '"max_ms":%.3f,"non2xx":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.max / 1000, bad, e.connect, e.read, e.write, e.timeout))
end
