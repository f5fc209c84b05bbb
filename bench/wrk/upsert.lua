-- POST /api/deployments/ for names that already exist on flow FLOW_ID:
-- d-1 .. d-UPSERT_NAMES (what bench/make_log writes), visited in a
-- scattered order. Same body shape as create_unique.lua with the tag the
-- deployment already has, so only parameters and `updated` change.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
dofile(os.getenv("BENCH_WRK_DIR") .. "/body.lua")

local counter = 0
local flow_id = os.getenv("FLOW_ID")
local names = tonumber(os.getenv("UPSERT_NAMES") or "1000")
local headers = {["Content-Type"] = "application/json"}

function request()
  counter = counter + 1
  local i = ((thread_id * 1000003 + counter * 7919) % names) + 1
  return wrk.format("POST", "/api/deployments/", headers,
                    deployment_body("d-" .. i, flow_id, i, counter))
end
