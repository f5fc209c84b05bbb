// PATCH, pause/resume, DELETE and bulk delete of deployments and flows, end
// to end, with the reference's statuses and bodies.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>

using namespace deployd::testing;

namespace {

struct fixture {
  deployd_process server;
  std::string flow_id;

  fixture() {
    flow_id =
        server.post("/api/flows/", json{{"name", "etl"}}).json_body().at("id");
  }

  json create(json body) {
    body["flow_id"] = flow_id;
    const auto r = server.post("/api/deployments/", body);
    INFO(r.body);
    REQUIRE(r.status == 201);
    return r.json_body();
  }

  http_reply patch(const std::string& id, const json& body) {
    return server.request("PATCH", "/api/deployments/" + id, body.dump());
  }

  json get(const std::string& id) {
    return server.get("/api/deployments/" + id).json_body();
  }
};

json schedule(int seconds, json slug, json replaces = nullptr) {
  json s = {{"schedule", {{"interval", seconds}}}, {"slug", slug}};
  if (!replaces.is_null())
    s["replaces"] = replaces;
  return s;
}

} // namespace

TEST_CASE("PATCH applies only the keys sent", "[integration][patch]") {
  fixture f;
  const auto d = f.create({{"name", "d"},
                           {"description", "one"},
                           {"tags", {"a"}},
                           {"job_variables", {{"image", "v1"}}},
                           {"parameters", {{"x", 1}}}});
  const std::string id = d.at("id");
  auto r = f.patch(id, {{"description", "two"},
                        {"paused", true},
                        {"job_variables", json::object()},
                        {"parameter_openapi_schema", json::object()}});
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  const auto after = f.get(id);
  CHECK(after.at("description") == "two");
  CHECK(after.at("paused") == true);
  CHECK(after.at("tags") == json{"a"});
  CHECK(after.at("parameters") == json{{"x", 1}});
  CHECK(after.at("job_variables") == json{{"image", "v1"}});
  CHECK(after.at("parameter_openapi_schema") ==
        json{{"type", "object"}, {"properties", json::object()}});
  CHECK(after.at("updated") != d.at("updated"));
  CHECK(after.at("created") == d.at("created"));

  SECTION("an empty body still moves `updated`") {
    CHECK(f.patch(id, json::object()).status == 204);
    CHECK(f.get(id).at("updated") != after.at("updated"));
  }
  SECTION("new job variables replace the old ones, parameters too") {
    CHECK(f.patch(id,
                  {{"job_variables", {{"cpu", 1}}}, {"parameters", {{"y", 2}}}})
              .status == 204);
    CHECK(f.get(id).at("job_variables") == json{{"cpu", 1}});
    CHECK(f.get(id).at("parameters") == json{{"y", 2}});
  }
  SECTION("a concurrency limit can be added, resized and removed") {
    CHECK(f.patch(id, {{"concurrency_limit", 1}}).status == 204);
    CHECK(f.get(id).at("global_concurrency_limit").at("limit") == 1);
    CHECK(f.patch(id, {{"concurrency_limit", 4}}).status == 204);
    CHECK(f.get(id).at("global_concurrency_limit").at("limit") == 4);
    CHECK(f.patch(id, {{"concurrency_limit", nullptr}}).status == 204);
    CHECK(f.get(id).at("global_concurrency_limit").is_null());
  }
}

TEST_CASE("PATCH answers errors as the reference does",
          "[integration][patch]") {
  fixture f;
  const std::string id = f.create({{"name", "d"}}).at("id");
  auto r = f.patch("00000000-0000-4000-8000-000000000000", {{"paused", true}});
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Deployment not found."}});

  r = f.patch(id, {{"labels", {{"a", "b"}}}});
  CHECK(r.status == 422);
  CHECK(r.json_body() ==
        json{{"exception_message", "Invalid request received."},
             {"exception_detail",
              json::array({{{"type", "extra_forbidden"},
                            {"loc", {"body", "labels"}},
                            {"msg", "Extra inputs are not permitted"},
                            {"input", {{"a", "b"}}}}})},
             {"request_body", {{"labels", {{"a", "b"}}}}}});

  r = f.patch(id, {{"paused", nullptr}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail")[0].at("type") == "bool_type");

  CHECK(f.patch(id, {{"parameters", nullptr}}).status == 409);
  CHECK(f.patch(id, {{"enforce_parameter_schema", nullptr}}).status == 409);
  CHECK(f.patch(id, {{"storage_document_id",
                      "9c2b1a0f-8e7d-4c6b-a5f4-3e2d1c0b9a88"}})
            .status == 409);
  r = f.patch(id, {{"work_pool_name", "nowhere"}});
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Work pool \"nowhere\" not found."}});
  r = f.patch(id, {{"concurrency_limit", 2},
                   {"global_concurrency_limit_id",
                    "9c2b1a0f-8e7d-4c6b-a5f4-3e2d1c0b9a88"}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail")[0].at("loc") ==
        json::array({"body"}));
  r = f.patch(id, {{"global_concurrency_limit_id",
                    "9c2b1a0f-8e7d-4c6b-a5f4-3e2d1c0b9a88"}});
  CHECK(r.json_body() == json{{"detail", "Concurrency limit not found"}});
  // None of the failures changed anything.
  CHECK(f.get(id).at("paused") == false);
}

TEST_CASE("PATCH schedules: replace mode and slug-targeted mode",
          "[integration][patch][schedules]") {
  fixture f;
  SECTION("without slugs on every existing schedule, the list is replaced") {
    const auto d =
        f.create({{"name", "d"},
                  {"schedules", {schedule(60, nullptr), schedule(90, "b")}}});
    const std::string id = d.at("id");
    std::set<std::string> old_ids;
    for (const auto& x : d.at("schedules"))
      old_ids.insert(x.at("id").get<std::string>());
    CHECK(f.patch(id, {{"schedules",
                        {schedule(120, nullptr),
                         {{"schedule", nullptr}, {"slug", "x"}}}}})
              .status == 204);
    const auto s = f.get(id).at("schedules");
    REQUIRE(s.size() == 1);
    CHECK(s[0].at("slug").is_null());
    CHECK(s[0].at("active") == true);
    CHECK_FALSE(old_ids.contains(s[0].at("id").get<std::string>()));
    CHECK(f.patch(id, {{"schedules", json::array()}}).status == 204);
    CHECK(f.get(id).at("schedules") == json::array());
  }
  SECTION("with slugs everywhere, items target schedules by slug") {
    const auto d = f.create(
        {{"name", "d"}, {"schedules", {schedule(60, "a"), schedule(90, "b")}}});
    const std::string id = d.at("id");
    std::map<std::string, json> before;
    for (const auto& s : d.at("schedules"))
      before[s.at("slug")] = s;

    auto r = f.patch(id, {{"schedules", {{{"schedule", {{"interval", 30}}}}}}});
    CHECK(r.status == 422);
    CHECK(r.json_body() ==
          json{{"detail", "Please provide a slug for each schedule in your "
                          "request to ensure schedules are updated "
                          "correctly."}});

    // [] is a no-op here.
    CHECK(f.patch(id, {{"schedules", json::array()}}).status == 204);
    CHECK(f.get(id).at("schedules").size() == 2);

    // Rename a -> z keeps the id; update b in place; create c.
    CHECK(f.patch(id, {{"schedules",
                        {{{"slug", "z"}, {"replaces", "a"}, {"active", false}},
                         {{"slug", "b"}, {"parameters", {{"p", 1}}}},
                         schedule(45, "c")}}})
              .status == 204);
    const auto s = f.get(id).at("schedules");
    REQUIRE(s.size() == 3);
    std::map<std::string, json> after;
    for (const auto& x : s)
      after[x.at("slug")] = x;
    CHECK(after.at("z").at("id") == before.at("a").at("id"));
    CHECK(after.at("z").at("active") == false);
    CHECK(after.at("b").at("id") == before.at("b").at("id"));
    CHECK(after.at("b").at("parameters") == json{{"p", 1}});
    CHECK(after.at("c").at("schedule").at("interval") == 45);
    // Most recently written first.
    CHECK(s[0].at("slug") == "c");

    r = f.patch(id, {{"schedules", {{{"slug", "new"}}}}});
    CHECK(r.json_body() ==
          json{{"detail", "Unable to create new deployment schedules without "
                          "a schedule configuration."}});
    r = f.patch(id, {{"schedules",
                      {{{"slug", "q"}, {"replaces", "z"}},
                       {{"slug", "r"}, {"replaces", "z"}}}}});
    CHECK(r.json_body() ==
          json{{"detail", "Multiple schedules have 'replaces' targeting the "
                          "same slug: z"}});
    r = f.patch(id, {{"schedules", {{{"slug", "b"}, {"replaces", "z"}}}}});
    CHECK(r.json_body() ==
          json{{"detail", "Cannot rename schedule from 'z' to 'b': a schedule "
                          "with slug 'b' already exists."}});
    CHECK(f.get(id).at("schedules").size() == 3);
  }
  SECTION("renames resolve against the schedules as they were: swaps and "
          "chains") {
    const auto d = f.create(
        {{"name", "d"}, {"schedules", {schedule(60, "x"), schedule(120, "y")}}});
    const std::string id = d.at("id");
    auto by_slug = [&] {
      std::map<std::string, json> m;
      const auto read = f.get(id);
      for (const auto& s : read.at("schedules"))
        m[s.at("slug")] = s;
      return m;
    };
    const auto before = by_slug();
    // Swap: x <-> y (the rows keep their ids and schedules, the slugs trade).
    CHECK(f.patch(id, {{"schedules", {{{"slug", "y"}, {"replaces", "x"}},
                                      {{"slug", "x"}, {"replaces", "y"}}}}})
              .status == 204);
    auto after = by_slug();
    REQUIRE(after.size() == 2);
    CHECK(after.at("y").at("id") == before.at("x").at("id"));
    CHECK(after.at("y").at("schedule").at("interval") == 60);
    CHECK(after.at("x").at("id") == before.at("y").at("id"));
    CHECK(after.at("x").at("schedule").at("interval") == 120);
    // Chain: x -> z, y -> x.
    CHECK(f.patch(id, {{"schedules", {{{"slug", "z"}, {"replaces", "x"}},
                                      {{"slug", "x"}, {"replaces", "y"}}}}})
              .status == 204);
    after = by_slug();
    REQUIRE(after.size() == 2);
    CHECK(after.at("z").at("id") == before.at("y").at("id"));
    CHECK(after.at("x").at("id") == before.at("x").at("id"));
    // An item naming a slug that another item renames away updates nothing
    // (the reference clears renamed slugs first) and creates nothing.
    CHECK(f.patch(id, {{"schedules", {{{"slug", "w"}, {"replaces", "x"}},
                                      {{"slug", "x"}, {"active", false}}}}})
              .status == 204);
    after = by_slug();
    REQUIRE(after.size() == 2);
    CHECK(after.at("w").at("id") == before.at("x").at("id"));
    CHECK(after.at("w").at("active") == true);
    CHECK(after.at("w").at("schedule").at("interval") == 60);
    // The log still decodes and folds to the same read model.
    const auto dir = f.server.data_dir();
    REQUIRE(f.server.stop() == 0);
    check_verified(dir);
  }
}

TEST_CASE("pause and resume answer null and flip paused",
          "[integration][pause]") {
  fixture f;
  const auto d = f.create({{"name", "d"}});
  const std::string id = d.at("id");
  auto r =
      f.server.request("POST", "/api/deployments/" + id + "/pause_deployment");
  CHECK(r.status == 200);
  CHECK(r.body == "null");
  CHECK(f.get(id).at("paused") == true);
  const auto paused_at = f.get(id).at("updated");
  // Idempotent: pausing again changes nothing, not even `updated`.
  f.server.request("POST", "/api/deployments/" + id + "/pause_deployment");
  CHECK(f.get(id).at("updated") == paused_at);
  r = f.server.request("POST", "/api/deployments/" + id + "/resume_deployment");
  CHECK(r.body == "null");
  CHECK(f.get(id).at("paused") == false);
  r = f.server.request(
      "POST",
      "/api/deployments/00000000-0000-4000-8000-000000000000/pause_deployment");
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Deployment not found"}});
}

TEST_CASE("DELETE removes a deployment and its concurrency limit",
          "[integration][delete]") {
  fixture f;
  const auto d = f.create({{"name", "d"}, {"concurrency_limit", 2}});
  const std::string id = d.at("id");
  const auto other = f.create({{"name", "shares"},
                               {"global_concurrency_limit_id",
                                d.at("global_concurrency_limit").at("id")}});
  CHECK(other.at("global_concurrency_limit").is_object());
  auto r = f.server.request("DELETE", "/api/deployments/" + id);
  CHECK(r.status == 204);
  CHECK(f.server.get("/api/deployments/" + id).status == 404);
  // The shared limit went with it, so the other deployment is unlinked.
  CHECK(f.get(other.at("id")).at("global_concurrency_limit").is_null());
  r = f.server.request("DELETE", "/api/deployments/" + id);
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Deployment not found"}});
  // The name is free again.
  CHECK(f.server
            .post("/api/deployments/",
                  json{{"name", "d"}, {"flow_id", f.flow_id}})
            .status == 201);
}

TEST_CASE("bulk delete removes up to limit matching deployments in name "
          "order",
          "[integration][delete]") {
  fixture f;
  for (const char* name : {"c", "a", "b", "keep"})
    f.create({{"name", name},
              {"tags", {std::string(name) == "keep" ? "stay" : "go"}}});
  auto r = f.server.post(
      "/api/deployments/bulk_delete",
      json{{"deployments", {{"tags", {{"any_", {"go"}}}}}}, {"limit", 2}});
  REQUIRE(r.status == 200);
  CHECK(r.json_body().at("deleted").size() == 2);
  CHECK(f.server.get("/api/deployments/name/etl/a").status == 404);
  CHECK(f.server.get("/api/deployments/name/etl/b").status == 404);
  CHECK(f.server.get("/api/deployments/name/etl/c").status == 200);
  // The path is decoded as a whole before routing, as uvicorn does: %2F
  // separates segments.
  CHECK(f.server.get("/api/deployments/name/etl%2Fc").status == 200);
  r = f.server.get("/api/deployments/name/etl/c%2Fx");
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Not Found"}});
  r = f.server.post("/api/deployments/bulk_delete",
                    json{{"deployments", {{"name", {{"any_", {"zzz"}}}}}}});
  CHECK(r.json_body() == json{{"deleted", json::array()}});
}

TEST_CASE("flows are patched and deleted with their deployments",
          "[integration][flows][delete]") {
  fixture f;
  const std::string dep = f.create({{"name", "d"}}).at("id");
  auto r = f.server.request("PATCH", "/api/flows/" + f.flow_id,
                            R"({"tags": ["x", "y"]})");
  CHECK(r.status == 204);
  CHECK(f.server.get("/api/flows/" + f.flow_id).json_body().at("tags") ==
        json{"x", "y"});
  r = f.server.request("PATCH", "/api/flows/" + f.flow_id,
                       R"({"name": "renamed"})");
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail")[0].at("type") ==
        "extra_forbidden");
  r = f.server.request("PATCH",
                       "/api/flows/00000000-0000-4000-8000-000000000000",
                       R"({"tags": []})");
  CHECK(r.json_body() == json{{"detail", "Flow not found"}});

  CHECK(f.server.request("DELETE", "/api/flows/" + f.flow_id).status == 204);
  CHECK(f.server.get("/api/flows/" + f.flow_id).status == 404);
  CHECK(f.server.get("/api/deployments/" + dep).status == 404);
  CHECK(f.server.post("/api/deployments/count", json::object()).body == "0");
  CHECK(f.server.request("DELETE", "/api/flows/" + f.flow_id).json_body() ==
        json{{"detail", "Flow not found"}});

  f.server.post("/api/flows/", json{{"name", "a"}});
  f.server.post("/api/flows/", json{{"name", "b"}});
  r = f.server.post("/api/flows/bulk_delete",
                    json{{"flows", {{"name", {{"any_", {"a"}}}}}}});
  CHECK(r.json_body().at("deleted").size() == 1);
  CHECK(f.server.post("/api/flows/count", json::object()).body == "1");
}

TEST_CASE("PATCH hydrates __prefect_kind parameters before storing them",
          "[integration][patch][parameters]") {
  fixture f;
  const std::string id = f.create({{"name", "d"}}).at("id");
  auto r = f.patch(
      id,
      {{"parameters",
        {{"a", {{"__prefect_kind", "json"}, {"value", "\"str_of_json\""}}},
         {"b", {{"__prefect_kind", "jinja"}, {"template", "{{ 1 + 2 }}"}}},
         {"c", {{"__prefect_kind", "json"}}},
         {"d", {{"__prefect_kind", "none"}, {"value", {{"x", 1}}}}},
         {"e",
          json::array({{{"__prefect_kind", "json"}, {"value", "[1, 2]"}}})}}}});
  CHECK(r.status == 204);
  CHECK(f.get(id).at("parameters") ==
        json{{"a", "str_of_json"},
             {"b", "3"},
             {"d", {{"x", 1}}},
             {"e", json::array({json::array({1, 2})})}});
  r = f.patch(id, {{"parameters",
                    {{"v",
                      {{"__prefect_kind", "workspace_variable"},
                       {"variable_name", "missing"}}}}}});
  CHECK(r.status == 400);
  CHECK(r.json_body() ==
        json{{"detail", "Error hydrating deployment parameters: Variable "
                        "'missing' not found in workspace."}});
  r = f.patch(id, {{"parameters",
                    {{"j", {{"__prefect_kind", "json"}, {"value", "{bad"}}}}}});
  CHECK(r.status == 400);
  CHECK(r.json_body().at("detail") ==
        "Error hydrating deployment parameters: Invalid JSON: Expecting "
        "property name enclosed in double quotes: line 1 column 2 (char 1)");
  r = f.patch(id, {{"parameters", {{"t", {{"__prefect_kind", "jinja"}}}}}});
  CHECK(r.json_body().at("detail") ==
        "Error hydrating deployment parameters: Missing 'template' key in "
        "__prefect object");
  // A missing deployment is a 404 before any hydration error.
  r = f.patch("00000000-0000-4000-8000-000000000000",
              {{"parameters", {{"t", {{"__prefect_kind", "jinja"}}}}}});
  CHECK(r.status == 404);
}

TEST_CASE("PATCH enforces the parameter schema with required stripped",
          "[integration][patch][parameters]") {
  fixture f;
  const json schema = {
      {"type", "object"},
      {"properties",
       {{"x", {{"type", "string"}}}, {"num", {{"type", "integer"}}}}},
      {"required", {"x"}}};
  const std::string id = f.create({{"name", "d"},
                                   {"parameter_openapi_schema", schema},
                                   {"parameters", {{"x", "ok"}}}})
                             .at("id");
  auto r = f.patch(id, {{"parameters", {{"x", 1}}}});
  CHECK(r.status == 409);
  CHECK(r.json_body() ==
        json{{"detail", "Error updating deployment: Validation failed for "
                        "field 'x'. Failure reason: 1 is not of type "
                        "'string'"}});
  // Partial parameters are fine: `required` is ignored.
  CHECK(f.patch(id, {{"parameters", json::object()}}).status == 204);
  // Turning enforcement off lets anything in; turning it on checks what is
  // stored.
  CHECK(f.patch(id, {{"parameters", {{"x", 1}}},
                     {"enforce_parameter_schema", false}})
            .status == 204);
  r = f.patch(id, {{"enforce_parameter_schema", true}});
  CHECK(r.status == 409);
  CHECK(f.get(id).at("enforce_parameter_schema") == false);
  // A new schema alone re-validates the stored parameters.
  CHECK(f.patch(id, {{"parameters", {{"num", 42}}},
                     {"enforce_parameter_schema", true}})
            .status == 204);
  // (A required property keeps its type; an optional one also accepts
  // null and reports through anyOf.)
  r = f.patch(id, {{"parameter_openapi_schema",
                    {{"type", "object"},
                     {"properties", {{"num", {{"type", "object"}}}}},
                     {"required", {"num"}}}}});
  CHECK(r.json_body() ==
        json{{"detail", "Error updating deployment: Validation failed for "
                        "field 'num'. Failure reason: 42 is not of type "
                        "'object'"}});
  SECTION("without a schema enforcement refuses every PATCH") {
    const std::string other =
        f.create({{"name", "e"}, {"parameter_openapi_schema", nullptr}})
            .at("id");
    r = f.patch(other, {{"description", "x"}});
    CHECK(r.status == 409);
    CHECK(r.json_body().at("detail") ==
          "Error updating deployment: Cannot update parameters because "
          "parameter schema enforcement is enabled and the deployment does "
          "not have a valid parameter schema.");
  }
}

TEST_CASE("a GET by id after a write never answers the value from before it, "
          "with or without the row cache",
          "[integration][patch]") {
  for (const std::string rows : {"8", "0"}) {
    temp_dir dir;
    const auto ini = dir.path() / "deployd.ini";
    std::ofstream(ini) << "[storage]\nrow_cache_mb = " << rows << "\n";
    process_options options;
    options.extra_args = {"--config", ini.string()};
    deployd_process server(options);
    INFO("row_cache_mb = " << rows);
    const std::string flow =
        server.post("/api/flows/", json{{"name", "f"}}).json_body().at("id");
    const auto created = server.post(
        "/api/deployments/",
        json{{"name", "d"}, {"flow_id", flow}, {"description", "one"}});
    REQUIRE(created.status == 201);
    const std::string path =
        "/api/deployments/" + created.json_body().at("id").get<std::string>();
    for (int i = 0; i < 3; ++i) // hot: the value is now in every cache
      CHECK(server.get(path).json_body().at("description") == "one");
    CHECK(server.request("PATCH", path, json{{"description", "two"}}.dump())
              .status == 204);
    CHECK(server.get(path).json_body().at("description") == "two");
    CHECK(server.request("POST", path + "/pause_deployment").status == 200);
    CHECK(server.get(path).json_body().at("paused") == true);
    CHECK(server.request("DELETE", path).status == 204);
    CHECK(server.get(path).status == 404);
  }
}
