-- One fixed request: method WRK_METHOD (default POST), body from
-- WRK_BODY_FILE, JSON content type; the path comes from the URL. Used for
-- the filter queries.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = os.getenv("WRK_METHOD") or "POST"
wrk.headers["Content-Type"] = "application/json"
local file = os.getenv("WRK_BODY_FILE")
if file then
  local f = assert(io.open(file, "r"))
  wrk.body = f:read("*a")
  f:close()
end
