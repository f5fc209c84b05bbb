-- POST /api/deployments/ with a unique deployment name per request
-- (NAME_PREFIX-thread-counter) on the flow FLOW_ID: every request creates.
-- The body (~1 KB) has what a Prefect client sends for a simple flow. The
-- POST ceilings (nginx, minimal Beast) run this same script, so the load
-- tool does the same work in front of every server.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
dofile(os.getenv("BENCH_WRK_DIR") .. "/body.lua")

local counter = 0
local flow_id = os.getenv("FLOW_ID") or "00000000-0000-4000-8000-000000000000"
local prefix = os.getenv("NAME_PREFIX") or "bench"
local headers = {["Content-Type"] = "application/json"}

function request()
  counter = counter + 1
  local name = string.format("%s-%d-%d", prefix, thread_id, counter)
  return wrk.format("POST", "/api/deployments/", headers,
                    deployment_body(name, flow_id, counter))
end
