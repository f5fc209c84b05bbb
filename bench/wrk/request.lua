-- One fixed request: method WRK_METHOD (default POST), body from
-- WRK_BODY_FILE, JSON content type, and one more header WRK_HEADER
-- ("Name: value", e.g. an Idempotency-Key); the path comes from the URL.
-- Used for the filter queries and the idempotent replay of a write.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = os.getenv("WRK_METHOD") or "POST"
wrk.headers["Content-Type"] = "application/json"
local extra = os.getenv("WRK_HEADER")
if extra then
  local name, value = extra:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
local file = os.getenv("WRK_BODY_FILE")
if file then
  local f = assert(io.open(file, "r"))
  wrk.body = f:read("*a")
  f:close()
end
