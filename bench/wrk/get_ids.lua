-- GET /api/deployments/{id}, cycling through the ids in IDS_FILE (one a
-- line); each thread starts at a different offset. The requests are
-- formatted once, in init, so the client spends little per request. The
-- nginx and Beast GET ceilings run this same script.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local requests = {}
local counter = 0

function init(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    if #line > 0 then
      table.insert(requests, wrk.format("GET", "/api/deployments/" .. line))
    end
  end
  counter = thread_id * 7919
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
