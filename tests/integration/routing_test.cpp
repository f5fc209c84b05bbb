// Routing and the requests a Prefect client makes before writing: health,
// versions, hello, CSRF, 404/405/307 and the API-version header.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

TEST_CASE("the client bootstrap endpoints answer as the reference does",
          "[integration][routing]") {
  deployd_process server;
  CHECK(server.get("/api/health").body == "true");
  CHECK(server.get("/api/ready").json_body() == json{{"message", "OK"}});
  CHECK(server.get("/api/version").json_body() == "0.8.4");
  CHECK(server.get("/api/hello").json_body() == "\xf0\x9f\x91\x8b");
  const auto version = server.get("/api/admin/version").json_body();
  REQUIRE(version.is_string());
  CHECK(version.get<std::string>().starts_with("3."));
  const auto csrf = server.get("/api/csrf-token?client=abc");
  CHECK(csrf.status == 422);
  CHECK(csrf.json_body() == json{{"detail", "CSRF protection is disabled."}});
  const auto missing = server.get("/api/csrf-token");
  CHECK(missing.status == 422);
  CHECK(missing.json_body() ==
        json{{"exception_message", "Invalid request received."},
             {"exception_detail", json::array({{{"type", "missing"},
                                                {"loc", {"query", "client"}},
                                                {"msg", "Field required"},
                                                {"input", nullptr}}})},
             {"request_body", nullptr}});
}

TEST_CASE("unknown paths, wrong methods and slash spellings route like "
          "Starlette",
          "[integration][routing]") {
  deployd_process server;
  const auto unknown = server.get("/api/nothing-here");
  CHECK(unknown.status == 404);
  CHECK(unknown.json_body() == json{{"detail", "Not Found"}});

  const auto wrong = server.get("/api/deployments/");
  CHECK(wrong.status == 405);
  CHECK(wrong.json_body() == json{{"detail", "Method Not Allowed"}});
  CHECK(wrong.headers.at("allow") == "POST");

  const auto slash = server.request("POST", "/api/deployments", "{}");
  CHECK(slash.status == 307);
  CHECK(slash.headers.at("location").ends_with("/api/deployments/"));

  CHECK(server.get("/api/deployments/not-a-uuid").json_body() ==
        json{{"detail", "Not Found"}});
  CHECK(server.get("/api/deployments/00000000-0000-0000-0000-000000000000")
            .json_body() == json{{"detail", "Deployment not found"}});
  CHECK(server.get("/api/deployments/name/only-one").status == 404);
}

TEST_CASE("the X-PREFECT-API-VERSION header is checked before the body",
          "[integration][routing]") {
  deployd_process server;
  auto with_version = [&](const std::string& v) {
    return server.request("POST", "/api/flows/", "not json",
                          {{"X-PREFECT-API-VERSION", v}});
  };
  const auto malformed = with_version("1.2");
  CHECK(malformed.status == 400);
  CHECK(malformed.json_body() ==
        json{{"detail", "Invalid X-PREFECT-API-VERSION header format.Expected "
                        "header in format 'x.y.z' but received 1.2"}});
  const auto old = with_version("0.7.9");
  CHECK(old.status == 400);
  CHECK(old.json_body() ==
        json{{"detail", "The request specified API version 0.7.9 but this "
                        "server requires version 0.8.0 or higher."}});
  CHECK(with_version("0.8.4").status == 422);
  CHECK(with_version("3.0.0").status == 422);
  CHECK(server
            .request("GET", "/api/health", std::nullopt,
                     {{"X-PREFECT-API-VERSION", "bad"}})
            .status == 200);
}
