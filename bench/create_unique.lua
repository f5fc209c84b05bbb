-- wrk script: POST /api/deployments/ with a unique deployment name per
-- request (thread id + counter), against the flow id given in FLOW_ID.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  flow_id = os.getenv("FLOW_ID")
  prefix = os.getenv("NAME_PREFIX") or "bench"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"%s-%d-%d","flow_id":"%s","tags":["bench","t%d"],' ..
    '"parameters":{"x":%d},"description":"load test"}',
    prefix, thread_id, counter, flow_id, counter % 10, counter)
  return wrk.format("POST", "/api/deployments/",
                    {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 201 and status ~= 200 then
    errors = (errors or 0) + 1
  end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do
    non2xx = non2xx + (t:get("errors") or 0)
  end
  io.write(string.format("non2xx=%d\n", non2xx))
  io.write(string.format("p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000))
end
