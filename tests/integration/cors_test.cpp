// CORS as the reference answers it (Starlette's CORSMiddleware with Prefect's
// PREFECT_SERVER_CORS_ALLOWED_* settings): preflights before auth, the
// simple headers on every other response to a request with an Origin.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

namespace {

const std::string preflight_method = "Access-Control-Request-Method";

} // namespace

TEST_CASE("CORS with Prefect's defaults: every origin, method and header",
          "[integration][cors]") {
  process_options options;
  options.extra_env["PREFECT_SERVER_API_AUTH_STRING"] = "admin:s3cret";
  deployd_process d(options);

  // A preflight is answered before auth, whatever the path.
  auto r = d.request("OPTIONS", "/api/deployments/", std::nullopt,
                     {{"Origin", "http://ui.example"},
                      {preflight_method, "POST"},
                      {"Access-Control-Request-Headers",
                       "content-type,x-prefect-api-version"}});
  CHECK(r.status == 200);
  CHECK(r.body == "OK");
  CHECK(r.headers.at("content-type") == "text/plain; charset=utf-8");
  CHECK(r.headers.at("access-control-allow-origin") == "*");
  CHECK(r.headers.at("access-control-allow-methods") ==
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
  CHECK(r.headers.at("access-control-max-age") == "600");
  CHECK(r.headers.at("access-control-allow-headers") ==
        "content-type,x-prefect-api-version");
  CHECK(d.request("OPTIONS", "/api/no/such/route", std::nullopt,
                  {{"Origin", "http://ui.example"}, {preflight_method, "GET"}})
          .status == 200);

  // A method outside the list.
  r = d.request("OPTIONS", "/api/deployments/", std::nullopt,
                {{"Origin", "http://ui.example"}, {preflight_method, "TRACE"}});
  CHECK(r.status == 400);
  CHECK(r.body == "Disallowed CORS method");

  // Not a preflight (no Access-Control-Request-Method): routing answers,
  // after auth.
  r = d.request("OPTIONS", "/api/deployments/", std::nullopt,
                {{"Origin", "http://ui.example"}});
  CHECK(r.status == 401);
  CHECK(r.headers.at("access-control-allow-origin") == "*");

  // Simple responses carry the origin header; with a cookie, the origin.
  r = d.request("GET", "/api/health", std::nullopt, {{"Origin", "http://ui.example"}});
  CHECK(r.status == 200);
  CHECK(r.headers.at("access-control-allow-origin") == "*");
  CHECK_FALSE(r.headers.contains("vary"));
  r = d.request("GET", "/api/health", std::nullopt,
                {{"Origin", "http://ui.example"}, {"Cookie", "a=b"}});
  CHECK(r.headers.at("access-control-allow-origin") == "http://ui.example");
  CHECK(r.headers.at("vary") == "Origin");
  // Without an Origin, nothing.
  CHECK_FALSE(d.get("/api/health").headers.contains("access-control-allow-origin"));
}

TEST_CASE("CORS restricted by PREFECT_SERVER_CORS_ALLOWED_*",
          "[integration][cors]") {
  process_options options;
  options.extra_env["PREFECT_SERVER_CORS_ALLOWED_ORIGINS"] = "http://a,http://b";
  options.extra_env["PREFECT_SERVER_API_CORS_ALLOWED_METHODS"] = "GET,POST";
  options.extra_env["PREFECT_SERVER_CORS_ALLOWED_HEADERS"] = "X-Custom";
  deployd_process d(options);

  auto r = d.request("OPTIONS", "/api/flows/filter", std::nullopt,
                     {{"Origin", "http://b"},
                      {preflight_method, "POST"},
                      {"Access-Control-Request-Headers", "X-Custom, content-type"}});
  CHECK(r.status == 200);
  CHECK(r.headers.at("access-control-allow-origin") == "http://b");
  CHECK(r.headers.at("vary") == "Origin");
  CHECK(r.headers.at("access-control-allow-methods") == "GET, POST");
  CHECK(r.headers.at("access-control-allow-headers") ==
        "Accept, Accept-Language, Content-Language, Content-Type, X-Custom");

  r = d.request("OPTIONS", "/api/flows/filter", std::nullopt,
                {{"Origin", "http://c"},
                 {preflight_method, "DELETE"},
                 {"Access-Control-Request-Headers", "x-other"}});
  CHECK(r.status == 400);
  CHECK(r.body == "Disallowed CORS origin, method, headers");
  CHECK_FALSE(r.headers.contains("access-control-allow-origin"));

  r = d.request("GET", "/api/health", std::nullopt, {{"Origin", "http://a"}});
  CHECK(r.headers.at("access-control-allow-origin") == "http://a");
  CHECK(r.headers.at("vary") == "Origin");
  r = d.request("GET", "/api/health", std::nullopt, {{"Origin", "http://evil"}});
  CHECK_FALSE(r.headers.contains("access-control-allow-origin"));
}
