// POST /api/deployments/ and the deployment reads, end to end: every
// validation rule of deployments-api §3.2 with its exact body, the upsert
// rules of §3.9, and survival across restarts and kills.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

namespace {

std::string create_flow(const deployd_process& server, const std::string& name,
                        const json& labels = json::object()) {
  const auto r =
      server.post("/api/flows/", json{{"name", name}, {"labels", labels}});
  REQUIRE((r.status == 201 || r.status == 200));
  return r.json_body().at("id").get<std::string>();
}

// Sends `body` and requires a 422 whose exception_detail equals `detail`.
void expect_validation(const deployd_process& server, const json& body,
                       const json& detail, const json& request_body) {
  const auto r = server.post("/api/deployments/", body);
  INFO(r.body);
  REQUIRE(r.status == 422);
  const auto j = r.json_body();
  CHECK(j.at("exception_message") == "Invalid request received.");
  CHECK(j.at("exception_detail") == detail);
  CHECK(j.at("request_body") == request_body);
}

json error(const char* type, json loc, const char* msg, json input,
           json ctx = nullptr) {
  json e = json::object();
  e["type"] = type;
  e["loc"] = std::move(loc);
  e["msg"] = msg;
  e["input"] = std::move(input);
  if (!ctx.is_null())
    e["ctx"] = std::move(ctx);
  return e;
}

} // namespace

TEST_CASE("deployment creation rejects each malformed field with the "
          "reference's error body",
          "[integration][deployments][validation]") {
  deployd_process server;
  const auto flow_id = create_flow(server, "validation-flow");
  const json base = {{"name", "d"}, {"flow_id", flow_id}};
  auto with = [&](const char* key, json value) {
    json b = base;
    b[key] = std::move(value);
    return b;
  };
  auto echoed = [](json b) {
    if (!b.contains("parameters"))
      b["parameters"] = json::object();
    return b;
  };

  SECTION("an empty object misses name and flow_id, after parameters was "
          "injected") {
    const json injected = {{"parameters", json::object()}};
    expect_validation(server, json::object(),
                      json::array({error("missing", {"body", "name"},
                                         "Field required", injected),
                                   error("missing", {"body", "flow_id"},
                                         "Field required", injected)}),
                      injected);
  }
  SECTION("a malformed flow_id is a uuid_parsing error") {
    const auto body = with("flow_id", "nope");
    expect_validation(
        server, body,
        json::array({error(
            "uuid_parsing", {"body", "flow_id"},
            "Input should be a valid UUID, invalid character: found `n` at 1",
            "nope", {{"error", "invalid character: found `n` at 1"}})}),
        echoed(body));
  }
  SECTION("a short hex flow_id reports the simple-format length") {
    const auto body = with("flow_id", "abc");
    expect_validation(
        server, body,
        json::array({error("uuid_parsing", {"body", "flow_id"},
                           "Input should be a valid UUID, invalid length: "
                           "expected length 32 for simple format, found 3",
                           "abc",
                           {{"error", "invalid length: expected length 32 for "
                                      "simple format, found 3"}})}),
        echoed(body));
  }
  SECTION("concurrency_limit must be a positive integer") {
    auto body = with("concurrency_limit", 0);
    expect_validation(
        server, body,
        json::array({error("greater_than", {"body", "concurrency_limit"},
                           "Input should be greater than 0", 0, {{"gt", 0}})}),
        echoed(body));
    body = with("concurrency_limit", 1.5);
    expect_validation(
        server, body,
        json::array({error("int_from_float", {"body", "concurrency_limit"},
                           "Input should be a valid integer, got a number with "
                           "a fractional part",
                           1.5)}),
        echoed(body));
  }
  SECTION("a nested label value fails each member of the label union") {
    const json bad = {{"a", 1}};
    const auto body = with("labels", json{{"k", bad}});
    expect_validation(
        server, body,
        json::array({error("bool_type", {"body", "labels", "k", "bool"},
                           "Input should be a valid boolean", bad),
                     error("int_type", {"body", "labels", "k", "int"},
                           "Input should be a valid integer", bad),
                     error("float_type", {"body", "labels", "k", "float"},
                           "Input should be a valid number", bad),
                     error("string_type", {"body", "labels", "k", "str"},
                           "Input should be a valid string", bad)}),
        echoed(body));
  }
  SECTION("an unknown key inside a schedule is forbidden") {
    const auto body =
        with("schedules",
             json::array({{{"schedule", {{"interval", 60}}}, {"bogus", 1}}}));
    expect_validation(
        server, body,
        json::array({error("extra_forbidden", {"body", "schedules", 0, "bogus"},
                           "Extra inputs are not permitted", 1)}),
        echoed(body));
  }
  SECTION("an anchor_date no parser reads is pendulum's value_error") {
    const auto body = with(
        "schedules",
        json::array({{{"schedule", {{"interval", 60}, {"anchor_date", "notadate"}}}}}));
    const auto r = server.post("/api/deployments/", body);
    REQUIRE(r.status == 422);
    const auto first = r.json_body().at("exception_detail").at(0);
    CHECK(first ==
          error("value_error",
                {"body", "schedules", 0, "schedule",
                 "function-after[validate_timezone(), IntervalSchedule]",
                 "anchor_date"},
                "Value error, Unable to parse string [notadate]", "notadate",
                {{"error", json::object()}}));
  }
  SECTION("both kinds of concurrency limit are reported alone at the body") {
    json body = with("concurrency_limit", 2);
    body["global_concurrency_limit_id"] =
        "3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11";
    body["tags"] = "not-a-list";
    expect_validation(
        server, body,
        json::array({error("value_error", {"body"},
                           "Value error, A deployment cannot have both a "
                           "concurrency limit and a global concurrency limit.",
                           body, {{"error", json::object()}})}),
        body); // pydantic runs this check first: nothing injected yet
  }
  SECTION("a name with a reserved character is a pattern mismatch, not a "
          "500") {
    const auto body = with("name", "a/b");
    expect_validation(
        server, body,
        json::array({error("string_pattern_mismatch", {"body", "name"},
                           "String should match pattern "
                           "'^[^/%&><]*$'",
                           "a/b", {{"pattern", "^[^/%&><]*$"}})}),
        echoed(body));
  }
  SECTION("fields report in model order, then unknown keys") {
    json body = {{"zzz", true},       {"tags", json::array({1})},
                 {"name", 5},         {"flow_id", flow_id},
                 {"paused", "maybe"}, {"pull_steps", json::array({1})},
                 {"branch", "main"}};
    expect_validation(
        server, body,
        json::array(
            {error("string_type", {"body", "name"},
                   "Input should be a valid string", 5),
             error("bool_parsing", {"body", "paused"},
                   "Input should be a valid boolean, unable to interpret input",
                   "maybe"),
             error("string_type", {"body", "tags", 0},
                   "Input should be a valid string", 1),
             error("dict_type", {"body", "pull_steps", 0},
                   "Input should be a valid dictionary", 1),
             error("extra_forbidden", {"body", "zzz"},
                   "Extra inputs are not permitted", true),
             error("extra_forbidden", {"body", "branch"},
                   "Extra inputs are not permitted", "main")}),
        echoed(body));
  }
  SECTION("concurrency_options checks its enum and bounds") {
    auto body = with("concurrency_options", json{{"collision_strategy", "NOPE"},
                                                 {"grace_period_seconds", 10}});
    expect_validation(
        server, body,
        json::array(
            {error("enum",
                   {"body", "concurrency_options", "collision_strategy"},
                   "Input should be 'ENQUEUE' or 'CANCEL_NEW'", "NOPE",
                   {{"expected", "'ENQUEUE' or 'CANCEL_NEW'"}}),
             error("greater_than_equal",
                   {"body", "concurrency_options", "grace_period_seconds"},
                   "Input should be greater than or equal to 60", 10,
                   {{"ge", 60}})}),
        echoed(body));
  }
  SECTION("version_info needs type and version") {
    const auto body = with("version_info", json::object());
    expect_validation(
        server, body,
        json::array({error("missing", {"body", "version_info", "type"},
                           "Field required", json::object()),
                     error("missing", {"body", "version_info", "version"},
                           "Field required", json::object())}),
        echoed(body));
  }
  SECTION("parameters that are not an object are a dict_type error") {
    const auto body = with("parameters", json::array({1}));
    expect_validation(server, body,
                      json::array({error("dict_type", {"body", "parameters"},
                                         "Input should be a valid dictionary",
                                         json::array({1}))}),
                      body);
  }
  SECTION("an invalid parameter schema is reported when enforcement is "
          "requested") {
    json body = base;
    body["enforce_parameter_schema"] = true;
    body["parameter_openapi_schema"] = {{"type", "blork"}};
    expect_validation(
        server, body,
        json::array({error("value_error", {"body"},
                           "Value error, The provided schema is not a valid "
                           "json schema. Schema error: 'blork' is not valid "
                           "under any of the given schemas",
                           echoed(body), {{"error", json::object()}})}),
        echoed(body));
  }
}

TEST_CASE("bodies that are not JSON objects get clear 4xx answers",
          "[integration][deployments][validation]") {
  deployd_process server;
  SECTION("a JSON array is model_attributes_type (the reference answers "
          "500)") {
    const auto r = server.request("POST", "/api/deployments/", "[]");
    REQUIRE(r.status == 422);
    CHECK(r.json_body().at("exception_detail") ==
          json::array({error("model_attributes_type", {"body"},
                             "Input should be a valid dictionary or object to "
                             "extract fields from",
                             json::array())}));
  }
  SECTION("a non-JSON content type is read as text and rejected") {
    const auto r =
        server.request("POST", "/api/deployments/", R"({"name":"x"})",
                       {{"Content-Type", "text/plain"}});
    REQUIRE(r.status == 422);
    const auto j = r.json_body();
    CHECK(j.at("exception_detail")[0].at("type") == "model_attributes_type");
    CHECK(j.at("request_body") == R"({"name":"x"})");
  }
  SECTION("no body at all is a missing body") {
    const auto r = server.request("POST", "/api/deployments/");
    REQUIRE(r.status == 422);
    CHECK(r.json_body() ==
          json{{"exception_message", "Invalid request received."},
               {"exception_detail",
                json::array(
                    {error("missing", {"body"}, "Field required", nullptr)})},
               {"request_body", nullptr}});
  }
  SECTION("invalid JSON reports Python's message and character offset") {
    const auto r =
        server.request("POST", "/api/deployments/", "{\"n\u00e9\": [1 2]}");
    REQUIRE(r.status == 422);
    CHECK(r.json_body().at("exception_detail") ==
          json::array(
              {error("json_invalid", {"body", 10}, "JSON decode error",
                     json::object(), {{"error", "Expecting ',' delimiter"}})}));
  }
  SECTION("invalid UTF-8 is a 400 parse error") {
    const auto r =
        server.request("POST", "/api/deployments/", "{\"name\": \"\xff\"}");
    REQUIRE(r.status == 400);
    CHECK(r.json_body() ==
          json{{"detail", "There was an error parsing the body"}});
  }
  SECTION("absurdly deep JSON is a 400 parse error") {
    const auto r =
        server.request("POST", "/api/deployments/", std::string(100000, '['));
    REQUIRE(r.status == 400);
  }
  SECTION("nothing was stored by any of them") {
    server.request("POST", "/api/deployments/", "[]");
    const auto r = server.request("GET", "/api/deployments/name/x/x");
    CHECK(r.status == 404);
  }
}

TEST_CASE("parameters over the size limit are refused with the reference "
          "message",
          "[integration][deployments][validation]") {
  process_options options;
  options.extra_env["PREFECT_SERVER_API_MAX_PARAMETER_SIZE"] = "20";
  deployd_process server(options);
  const auto flow_id = create_flow(server, "size-flow");
  const json parameters = {{"text", "\u00e9\u00e9\u00e9\u00e9"}};
  const json body = {
      {"name", "big"}, {"flow_id", flow_id}, {"parameters", parameters}};
  const auto r = server.post("/api/deployments/", body);
  REQUIRE(r.status == 422);
  // {"text":"\u00e9\u00e9\u00e9\u00e9"} is 35 bytes with non-ASCII escaped.
  CHECK(r.json_body().at("exception_detail") ==
        json::array({error("value_error", {"body", "parameters"},
                           "Value error, Flow run parameters must be less "
                           "than 20 bytes when serialized (got 35 bytes).",
                           parameters, {{"error", json::object()}})}));
}

TEST_CASE("a new deployment gets every default the reference gives",
          "[integration][deployments]") {
  deployd_process server;
  const auto flow_id =
      create_flow(server, "defaults-flow", json{{"team", "data"}, {"tier", 2}});
  const auto r = server.post("/api/deployments/",
                             json{{"name", "nightly"}, {"flow_id", flow_id}});
  REQUIRE(r.status == 201);
  const auto d = r.json_body();
  CHECK(d.at("created") == d.at("updated"));
  CHECK(d.at("paused") == false);
  CHECK(d.at("schedules") == json::array());
  CHECK(d.at("concurrency_limit").is_null());
  CHECK(d.at("global_concurrency_limit").is_null());
  CHECK(d.at("job_variables") == json::object());
  CHECK(d.at("parameters") == json::object());
  CHECK(d.at("labels") ==
        json{{"team", "data"}, {"tier", 2}, {"prefect.flow.id", flow_id}});
  CHECK(d.at("parameter_openapi_schema") == json::object());
  CHECK(d.at("pull_steps") == json::array());
  CHECK(d.at("status") == "NOT_READY");
  CHECK(d.at("enforce_parameter_schema") == true);
  CHECK(d.at("work_pool_name").is_null());
  CHECK(d.size() == 30);

  SECTION("GET by id and by name return the same object") {
    const auto id = d.at("id").get<std::string>();
    CHECK(server.get("/api/deployments/" + id).json_body() == d);
    CHECK(
        server.get("/api/deployments/name/defaults-flow/nightly").json_body() ==
        d);
    CHECK(server.get("/api/deployments/" + id).body == r.body);
  }
}

TEST_CASE("an upsert keeps, overwrites and resets fields as the reference "
          "does",
          "[integration][deployments][upsert]") {
  deployd_process server;
  const auto flow_id = create_flow(server, "upsert-flow");
  const json full = {
      {"name", "etl"},
      {"flow_id", flow_id},
      {"version", "1"},
      {"description", "first"},
      {"tags", {"a"}},
      {"paused", true},
      {"parameters", {{"x", 1}}},
      {"parameter_openapi_schema", json::object()},
      {"job_variables", {{"image", "v1"}}},
      {"labels", {{"team", "x"}}},
      {"pull_steps", nullptr},
      {"entrypoint", "f.py:f"},
      {"concurrency_limit", 3},
      {"concurrency_options", {{"collision_strategy", "CANCEL_NEW"}}},
      {"schedules", json::array({{{"schedule", {{"interval", 60}}},
                                  {"slug", "every-minute"}}})}};
  const auto first = server.post("/api/deployments/", full);
  REQUIRE(first.status == 201);
  const auto a = first.json_body();
  CHECK(a.at("parameter_openapi_schema") ==
        json{{"type", "object"}, {"properties", json::object()}});
  CHECK(a.at("pull_steps").is_null());
  CHECK(a.at("concurrency_options") ==
        json{{"collision_strategy", "CANCEL_NEW"},
             {"grace_period_seconds", nullptr}});
  REQUIRE(a.at("global_concurrency_limit").is_object());
  CHECK(a.at("global_concurrency_limit").at("limit") == 3);
  CHECK(a.at("global_concurrency_limit").at("name") ==
        "deployment:" + a.at("id").get<std::string>());
  REQUIRE(a.at("schedules").size() == 1);

  SECTION("a minimal upsert keeps most fields and resets the rest") {
    const auto second = server.post(
        "/api/deployments/",
        json{{"name", "etl"}, {"flow_id", flow_id}, {"description", nullptr}});
    REQUIRE(second.status == 200);
    const auto b = second.json_body();
    CHECK(b.at("id") == a.at("id"));
    CHECK(b.at("created") == a.at("created"));
    CHECK(b.at("updated") != a.at("updated"));
    CHECK(b.at("description").is_null());
    CHECK(b.at("version") == "1");
    CHECK(b.at("tags") == json{"a"});
    CHECK(b.at("paused") == true);
    CHECK(b.at("entrypoint") == "f.py:f");
    CHECK(b.at("job_variables") == json{{"image", "v1"}});
    CHECK(b.at("parameters") == json::object());
    CHECK(b.at("schedules") == json::array());
    CHECK(b.at("labels") == json{{"prefect.flow.id", flow_id}});
    CHECK(b.at("global_concurrency_limit") == a.at("global_concurrency_limit"));
    CHECK(b.at("concurrency_options") == a.at("concurrency_options"));
  }
  SECTION("empty job variables keep the old ones; new ones replace them") {
    json body = {{"name", "etl"},
                 {"flow_id", flow_id},
                 {"job_variables", json::object()}};
    CHECK(server.post("/api/deployments/", body)
              .json_body()
              .at("job_variables") == json{{"image", "v1"}});
    body["job_variables"] = {{"cpu", 2}};
    CHECK(server.post("/api/deployments/", body)
              .json_body()
              .at("job_variables") == json{{"cpu", 2}});
  }
  SECTION("concurrency_limit resizes the linked limit, and null deletes it") {
    json body = {
        {"name", "etl"}, {"flow_id", flow_id}, {"concurrency_limit", 5}};
    const auto resized = server.post("/api/deployments/", body).json_body();
    CHECK(resized.at("global_concurrency_limit").at("id") ==
          a.at("global_concurrency_limit").at("id"));
    CHECK(resized.at("global_concurrency_limit").at("limit") == 5);
    body["concurrency_limit"] = nullptr;
    CHECK(server.post("/api/deployments/", body)
              .json_body()
              .at("global_concurrency_limit")
              .is_null());
  }
  SECTION("another deployment can link this deployment's limit by id") {
    const auto limit_id = a.at("global_concurrency_limit").at("id");
    const auto other = server.post(
        "/api/deployments/", json{{"name", "other"},
                                  {"flow_id", flow_id},
                                  {"global_concurrency_limit_id", limit_id},
                                  {"concurrency_limit", nullptr}});
    REQUIRE(other.status == 201);
    CHECK(other.json_body().at("global_concurrency_limit") ==
          a.at("global_concurrency_limit"));
  }
  SECTION("schedules are replaced with new ids on every upsert") {
    const json body = {
        {"name", "etl"},
        {"flow_id", flow_id},
        {"schedules", json::array({{{"schedule", {{"interval", 60}}},
                                    {"slug", "every-minute"}}})}};
    const auto b = server.post("/api/deployments/", body).json_body();
    REQUIRE(b.at("schedules").size() == 1);
    CHECK(b.at("schedules")[0].at("id") != a.at("schedules")[0].at("id"));
    CHECK(b.at("schedules")[0].at("slug") == "every-minute");
  }
}

TEST_CASE("references to missing resources answer as the reference does",
          "[integration][deployments]") {
  deployd_process server;
  const auto flow_id = create_flow(server, "refs-flow");
  const json base = {{"name", "d"}, {"flow_id", flow_id}};
  auto post_with = [&](const char* key, json value) {
    json body = base;
    body[key] = std::move(value);
    return server.post("/api/deployments/", body);
  };
  const std::string missing = "9c2b1a0f-8e7d-4c6b-a5f4-3e2d1c0b9a88";

  auto r = post_with("work_pool_name", "imaginary-work-pool");
  CHECK(r.status == 404);
  CHECK(r.json_body() ==
        json{{"detail", "Work pool \"imaginary-work-pool\" not found."}});

  r = post_with("global_concurrency_limit_id", missing);
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Concurrency limit not found"}});

  r = post_with("storage_document_id", missing);
  CHECK(r.status == 409);
  CHECK(r.json_body().at("detail") ==
        "Error creating deployment. Could not find storage block with id: " +
            missing +
            ". This usually occurs when applying a deployment specification "
            "that was built against a different Prefect database / "
            "workspace.");

  r = post_with("infrastructure_document_id", missing);
  CHECK(r.status == 409);
  CHECK(r.json_body().at("detail").get<std::string>().starts_with(
      "Error creating deployment. Could not find infrastructure block"));

  r = server.post("/api/deployments/",
                  json{{"name", "d"}, {"flow_id", missing}});
  CHECK(r.status == 409);

  r = post_with(
      "schedules",
      json::array({{{"schedule", {{"interval", 60}}}, {"slug", "s"}},
                   {{"schedule", {{"interval", 90}}}, {"slug", "s"}}}));
  CHECK(r.status == 409);

  // None of them wrote anything.
  CHECK(server.get("/api/deployments/name/refs-flow/d").status == 404);
}

TEST_CASE("acknowledged deployments survive a clean restart and a kill",
          "[integration][deployments][durability]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::string id;
  std::string body;
  {
    deployd_process server(options);
    const auto flow_id = create_flow(server, "durable-flow");
    const auto r = server.post(
        "/api/deployments/",
        json{{"name", "kept"}, {"flow_id", flow_id}, {"concurrency_limit", 2}});
    REQUIRE(r.status == 201);
    id = r.json_body().at("id").get<std::string>();
    body = r.body;
    CHECK(server.stop() == 0);
  }
  {
    deployd_process server(options);
    CHECK(server.get("/api/deployments/" + id).body == body);
    const auto flow_id = create_flow(server, "durable-flow");
    const auto r =
        server.post("/api/deployments/",
                    json{{"name", "after-restart"}, {"flow_id", flow_id}});
    REQUIRE(r.status == 201);
    body = r.body;
    id = r.json_body().at("id").get<std::string>();
    server.kill();
  }
  deployd_process server(options);
  CHECK(server.get("/api/deployments/" + id).body == body);
}
