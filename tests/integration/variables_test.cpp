// Workspace variables end to end (flow-runs.md §10 and §14 item 9): the
// endpoints with the reference's limits, 404, 409 and 422 bodies, filter
// and count, `workspace_variable` hydration on PATCH /deployments/{id}, and
// `deployd verify` / `replay` over a log with variables.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

namespace {

http_reply patch(const deployd_process& s, const std::string& target,
                 const json& body) {
  return s.request("PATCH", target, body.dump());
}

json error_types(const http_reply& r) {
  json out = json::array();
  const auto body = r.json_body();
  for (const auto& e : body.at("exception_detail"))
    out.push_back(json::array({e.at("type"), e.at("loc")}));
  return out;
}

} // namespace

TEST_CASE("variables are created, read, patched and deleted by id and by name",
          "[integration][variables]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  json kept;
  {
    deployd_process s(options);
    auto r = s.post("/api/variables/",
                    json{{"name", "my_var"},
                         {"value", {{"n", 12345678901234567890.0}, {"s", "é"}}},
                         {"tags", {"prod"}}});
    REQUIRE(r.status == 201);
    const auto v = r.json_body();
    std::vector<std::string> keys;
    for (const auto& [key, value] : v.items())
      keys.push_back(key);
    CHECK(keys == std::vector<std::string>{"id", "created", "updated", "name",
                                           "value", "tags"});
    CHECK(v.at("tags") == json{"prod"});
    const auto id = v.at("id").get<std::string>();
    CHECK(s.get("/api/variables/" + id).json_body() == v);
    CHECK(s.get("/api/variables/name/my_var").json_body() == v);

    // 409 with the name as Python's repr.
    r = s.post("/api/variables/", json{{"name", "my_var"}, {"value", 1}});
    CHECK(r.status == 409);
    CHECK(
        r.json_body() ==
        json{{"detail", "A variable with the name 'my_var' already exists."}});

    // PATCH: 204, only the keys sent; `updated` moves.
    r = patch(s, "/api/variables/name/my_var", json{{"value", nullptr}});
    CHECK(r.status == 204);
    CHECK(r.body.empty());
    auto after = s.get("/api/variables/" + id).json_body();
    CHECK(after.at("value").is_null());
    CHECK(after.at("tags") == json{"prod"});
    CHECK(after.at("updated") != v.at("updated"));
    r = patch(s, "/api/variables/" + id, json{{"name", "renamed"}});
    CHECK(r.status == 204);
    CHECK(s.get("/api/variables/name/my_var").status == 404);
    CHECK(s.get("/api/variables/name/renamed").json_body().at("id") == id);
    REQUIRE(s.post("/api/variables/", json{{"name", "other"}, {"value", 2}})
                .status == 201);
    const json integrity = {
        {"detail", "Data integrity conflict. This usually means a unique or "
                   "foreign key constraint was violated. See server logs for "
                   "details."}};
    for (const auto& body :
         {json{{"name", "other"}}, json{{"tags", nullptr}},
          json{{"name", "renamed"}, {"value", nullptr}, {"tags", nullptr}}}) {
      r = patch(s, "/api/variables/" + id, body);
      CHECK(r.status == 409);
      CHECK(r.json_body() == integrity);
    }
    const json not_found = {{"detail", "Variable not found."}};
    const std::string ghost =
        "/api/variables/00000000-0000-4000-8000-000000000000";
    for (const auto& target :
         {ghost, std::string("/api/variables/name/ghost")}) {
      CHECK(s.get(target).json_body() == not_found);
      CHECK(patch(s, target, json{{"value", 1}}).json_body() == not_found);
      r = s.request("DELETE", target);
      CHECK(r.status == 404);
      CHECK(r.json_body() == not_found);
    }
    CHECK(s.get("/api/variables/not-a-uuid").status == 404);

    r = s.request("DELETE", "/api/variables/name/other");
    CHECK(r.status == 204);
    CHECK(s.get("/api/variables/name/other").status == 404);
    kept = s.get("/api/variables/" + id).json_body();
    REQUIRE(s.stop() == 0);
  }
  verify_then_replay(options.data_dir);
  deployd_process s(options);
  CHECK(s.get("/api/variables/name/renamed").json_body() == kept);
}

TEST_CASE("variable bodies get the reference's 422s and store nothing",
          "[integration][variables]") {
  deployd_process s;
  auto r = s.post("/api/variables/", json{{"name", "Bad Name"}, {"value", 1}});
  CHECK(r.status == 422);
  auto detail = r.json_body().at("exception_detail").at(0);
  CHECK(detail.at("type") == "value_error");
  CHECK(detail.at("msg") ==
        "Value error, Variable name must only contain lowercase letters, "
        "numbers, and dashes or underscores.");
  CHECK(detail.at("loc") == json{"body", "name"});

  r = s.post("/api/variables/",
             json{{"name", std::string(256, 'a')}, {"value", 1}});
  CHECK(r.status == 422);
  detail = r.json_body().at("exception_detail").at(0);
  CHECK(detail.at("type") == "too_long");
  CHECK(detail.at("msg") ==
        "Value should have at most 255 items after validation, not 256");
  CHECK(s.post("/api/variables/",
               json{{"name", std::string(255, 'a')}, {"value", 1}})
            .status == 201);
  // The empty name matches the pattern.
  CHECK(s.post("/api/variables/", json{{"name", ""}, {"value", 1}}).status ==
        201);

  // A string of 4998 characters is 5000 bytes as JSON: the maximum.
  CHECK(s.post("/api/variables/",
               json{{"name", "big"}, {"value", std::string(4998, 'x')}})
            .status == 201);
  r = s.post("/api/variables/",
             json{{"name", "bigger"}, {"value", std::string(4999, 'x')}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail").at(0).at("msg") ==
        "Value error, Variable value must be less than 5000 characters");
  r = s.request("POST", "/api/variables/",
                R"({"name":"huge","value":123456789012345678901234567890})",
                {{"Content-Type", "application/json"}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail").at(0).at("msg") ==
        "Value error, Variable value must be serializable to JSON");

  r = s.post("/api/variables/", json{{"tags", "x"}, {"extra", 1}});
  CHECK(r.status == 422);
  CHECK(error_types(r) ==
        json::array({json::array({"missing", {"body", "name"}}),
                     json::array({"missing", {"body", "value"}}),
                     json::array({"list_type", {"body", "tags"}}),
                     json::array({"extra_forbidden", {"body", "extra"}})}));
  CHECK(s.request("POST", "/api/variables/").status == 422);
  r = patch(s, "/api/variables/name/big", json{{"name", "UPPER"}});
  CHECK(r.status == 422);
  CHECK(s.post("/api/variables/count", json::object()).body == "3");
}

TEST_CASE("variables filter, sort, page and count",
          "[integration][variables]") {
  deployd_process s;
  for (const auto& [name, tags] : std::vector<std::pair<std::string, json>>{
           {"b_var", {"x", "y"}}, {"a_var", {"x"}}, {"c_other", json::array()}})
    REQUIRE(s.post("/api/variables/",
                   json{{"name", name}, {"value", name}, {"tags", tags}})
                .status == 201);
  auto names = [&](const json& body) {
    json out = json::array();
    const auto list = s.post("/api/variables/filter", body).json_body();
    for (const auto& v : list)
      out.push_back(v.at("name"));
    return out;
  };
  CHECK(names(json::object()) == json{"a_var", "b_var", "c_other"});
  CHECK(names({{"sort", "NAME_DESC"}}) == json{"c_other", "b_var", "a_var"});
  CHECK(names({{"sort", "CREATED_DESC"}}) == json{"c_other", "a_var", "b_var"});
  CHECK(names({{"limit", 1}, {"offset", 1}}) == json{"b_var"});
  CHECK(names({{"variables", {{"name", {{"like_", "VAR"}}}}}}) ==
        json{"a_var", "b_var"});
  CHECK(names({{"variables", {{"tags", {{"all_", {"x", "y"}}}}}}}) ==
        json{"b_var"});
  CHECK(names({{"variables", {{"tags", {{"is_null_", true}}}}}}) ==
        json{"c_other"});
  CHECK(names({{"variables",
                {{"operator", "or_"},
                 {"name", {{"any_", {"c_other"}}}},
                 {"tags", {{"all_", {"y"}}}}}}}) == json{"b_var", "c_other"});
  CHECK(s.post("/api/variables/count",
               json{{"variables", {{"name", {{"like_", "var"}}}}}})
            .body == "2");
  CHECK(s.request("POST", "/api/variables/count").body == "3");
  auto r = s.post("/api/variables/filter", json{{"limit", 201}});
  CHECK(r.status == 422);
  CHECK(r.json_body() ==
        json{{"detail", "Invalid limit: must be less than or equal to 200."}});
  r = s.post("/api/variables/filter",
             json{{"variables", {{"value", {{"any_", {1}}}}}}});
  CHECK(r.status == 422);
  CHECK(s.post("/api/variables/filter", json{{"sort", "VALUE_ASC"}}).status ==
        422);
}

TEST_CASE("PATCH /deployments/{id} hydrates workspace_variable parameters",
          "[integration][variables][hydration]") {
  deployd_process s;
  const auto flow_id =
      s.post("/api/flows/", json{{"name", "etl"}}).json_body().at("id");
  const auto d =
      s.post("/api/deployments/", json{{"name", "d"},
                                       {"flow_id", flow_id},
                                       {"enforce_parameter_schema", false}})
          .json_body();
  const std::string target =
      "/api/deployments/" + d.at("id").get<std::string>();
  REQUIRE(s.post("/api/variables/",
                 json{{"name", "region"}, {"value", {{"zone", "eu-1"}}}})
              .status == 201);
  auto r = patch(s, target,
                 json{{"parameters",
                       {{"where",
                         {{"__prefect_kind", "workspace_variable"},
                          {"variable_name", "region"}}},
                        {"n", 1}}}});
  INFO(r.body);
  CHECK(r.status == 204);
  CHECK(s.get(target).json_body().at("parameters") ==
        json{{"where", {{"zone", "eu-1"}}}, {"n", 1}});
  r = patch(s, target,
            json{{"parameters",
                  {{"x",
                    {{"__prefect_kind", "workspace_variable"},
                     {"variable_name", "missing"}}}}}});
  CHECK(r.status == 400);
  CHECK(r.json_body() ==
        json{{"detail", "Error hydrating deployment parameters: Variable "
                        "'missing' not found in workspace."}});
  CHECK(s.get(target).json_body().at("parameters") ==
        json{{"where", {{"zone", "eu-1"}}}, {"n", 1}});
}

TEST_CASE("every variable write announces prefect.variable.created, updated "
          "or deleted with the variable's name, value and tags",
          "[integration][variables][events]") {
  deployd_process s;
  auto r = s.post("/api/variables/",
                  json{{"name", "greeting"}, {"value", "hello"}, {"tags", {"a", "b"}}});
  REQUIRE(r.status == 201);
  const auto id = r.json_body().at("id").get<std::string>();
  REQUIRE(patch(s, "/api/variables/name/greeting", json{{"value", 2}}).status ==
          204);
  REQUIRE(s.request("DELETE", "/api/variables/" + id).status == 204);
  // A rejected write announces nothing.
  REQUIRE(s.request("DELETE", "/api/variables/" + id).status == 404);

  const auto events = feed_events(s, "prefect.variable.");
  REQUIRE(events.size() == 3);
  const json resource = {{"prefect.resource.id", "prefect.variable." + id},
                         {"prefect.resource.name", "greeting"}};
  CHECK(events.at(0).at("event") == "prefect.variable.created");
  CHECK(events.at(0).at("payload") ==
        json{{"name", "greeting"}, {"value", "hello"}, {"tags", {"a", "b"}}});
  CHECK(events.at(1).at("event") == "prefect.variable.updated");
  CHECK(events.at(1).at("payload") ==
        json{{"name", "greeting"}, {"value", 2}, {"tags", {"a", "b"}}});
  CHECK(events.at(2).at("event") == "prefect.variable.deleted");
  CHECK(events.at(2).at("payload") == events.at(1).at("payload"));
  for (const auto& e : events) {
    CHECK(e.at("resource") == resource);
    CHECK(e.at("related") == json::array());
  }
}
