// POST /api/flows/ (get-or-create by name) and the flow reads, end to end.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

TEST_CASE("creating a flow twice returns the first one untouched",
          "[integration][flows]") {
  deployd_process server;
  const auto first = server.post(
      "/api/flows/",
      json{{"name", "etl"}, {"tags", {"a"}}, {"labels", {{"k", 1}}}});
  REQUIRE(first.status == 201);
  const auto f = first.json_body();
  CHECK(f.at("name") == "etl");
  CHECK(f.at("tags") == json{"a"});
  CHECK(f.at("labels") == json{{"k", 1}});
  CHECK(f.at("created") == f.at("updated"));

  const auto again =
      server.post("/api/flows/", json{{"name", "etl"}, {"tags", {"b"}}});
  REQUIRE(again.status == 200);
  CHECK(again.body == first.body);

  const auto id = f.at("id").get<std::string>();
  CHECK(server.get("/api/flows/" + id).body == first.body);
  CHECK(server.get("/api/flows/name/etl").body == first.body);
  CHECK(server.get("/api/flows/00000000-0000-4000-8000-000000000000")
            .json_body() == json{{"detail", "Flow not found"}});
  CHECK(server.get("/api/flows/name/nope").status == 404);
  CHECK(server.get("/api/flows/not-a-uuid").json_body() ==
        json{{"detail", "Not Found"}});
}

TEST_CASE("flow names are percent-decoded and may hold spaces and emoji",
          "[integration][flows]") {
  deployd_process server;
  const auto r =
      server.post("/api/flows/", json{{"name", "my flow \xf0\x9f\x9a\x80"}});
  REQUIRE(r.status == 201);
  CHECK(server.get("/api/flows/name/my%20flow%20%F0%9F%9A%80").body == r.body);
}

TEST_CASE("flow creation validates its body like the reference",
          "[integration][flows][validation]") {
  deployd_process server;
  SECTION("a name with a slash breaks the Name pattern") {
    const auto r = server.post("/api/flows/", json{{"name", "a/b"}});
    REQUIRE(r.status == 422);
    CHECK(r.json_body().at("exception_detail") ==
          json::array({{{"type", "string_pattern_mismatch"},
                        {"loc", {"body", "name"}},
                        {"msg", "String should match pattern '^[^/%&><]+$'"},
                        {"input", "a/b"},
                        {"ctx", {{"pattern", "^[^/%&><]+$"}}}}}));
  }
  SECTION("tags must be a list and extra keys are forbidden") {
    const json body = {{"name", "x"},
                       {"tags", "this should be a list not a string"},
                       {"bogus", 1}};
    const auto r = server.post("/api/flows/", body);
    REQUIRE(r.status == 422);
    CHECK(r.json_body() ==
          json{{"exception_message", "Invalid request received."},
               {"exception_detail",
                json::array({{{"type", "list_type"},
                              {"loc", {"body", "tags"}},
                              {"msg", "Input should be a valid list"},
                              {"input", "this should be a list not a string"}},
                             {{"type", "extra_forbidden"},
                              {"loc", {"body", "bogus"}},
                              {"msg", "Extra inputs are not permitted"},
                              {"input", 1}}})},
               {"request_body", body}});
  }
  SECTION("labels null is stored as an empty object") {
    const auto r = server.post("/api/flows/",
                               json{{"name", "nulls"}, {"labels", nullptr}});
    REQUIRE(r.status == 201);
    CHECK(r.json_body().at("labels") == json::object());
  }
}
