// Automations as stored objects end to end (workers-automations.md §3 and
// §5): create, read, PUT, PATCH, delete, filter, count, related-to and
// owned-by over HTTP; the reference's 422 / 404 shapes (and that a rejected
// body appends nothing); restart survival, `deployd verify` and `replay`;
// and the exact requests the Python client's `RunnerDeployment.apply()` /
// `prefect deploy` send for a deployment's triggers.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace deployd::testing;

namespace {

const std::string deployment_id = "5d1a7e0c-9a51-4c55-8d3c-3d1f1f2a9b77";

// What `_create_triggers` posts for a DeploymentEventTrigger (spec §3.8).
json client_trigger_body(const std::string& deployment, const std::string& name,
                         bool with_owner = true) {
  json body = {
      {"name", name},
      {"description", ""},
      {"enabled", true},
      {"tags", json::array()},
      {"trigger",
       {{"type", "event"},
        {"match", {{"prefect.resource.id", "my.external.resource"}}},
        {"match_related", json::object()},
        {"after", json::array()},
        {"expect", {"external.resource.pinged"}},
        {"for_each", json::array()},
        {"posture", "Reactive"},
        {"threshold", 1},
        {"within", 0.0}}},
      {"actions",
       {{{"type", "run-deployment"},
         {"source", "selected"},
         {"deployment_id", deployment},
         {"parameters", {{"x", "{{ event.id }}"}}},
         {"job_variables", nullptr},
         {"schedule_after", 0.0}}}},
      {"actions_on_trigger", json::array()},
      {"actions_on_resolve", json::array()}};
  if (with_owner)
    body["owner_resource"] = "prefect.deployment." + deployment;
  return body;
}

http_reply send(const deployd_process& s, const std::string& method,
                const std::string& target, const json& body) {
  return s.request(method, target, body.dump(),
                   {{"Content-Type", "application/json"}});
}

std::vector<std::string> keys_of(const json& object) {
  std::vector<std::string> out;
  for (const auto& [key, value] : object.items())
    out.push_back(key);
  return out;
}

json names_of(const json& list) {
  json out = json::array();
  for (const auto& a : list)
    out.push_back(a.at("name"));
  return out;
}

std::string position(const deployd_process& s) {
  return s.get("/api/health").headers.at("x-deployd-position");
}

} // namespace

TEST_CASE("automations are created, read, replaced, patched, listed and "
          "deleted, and survive a restart, verify and replay",
          "[integration][automations]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  json kept_list;
  json kept_b;
  {
    deployd_process s(options);
    auto r = s.post("/api/automations/",
                    client_trigger_body(deployment_id, "nightly__automation_1"));
    REQUIRE(r.status == 201);
    const auto a = r.json_body();
    CHECK(keys_of(a) ==
          std::vector<std::string>{"id", "created", "updated", "name",
                                   "description", "enabled", "tags", "trigger",
                                   "actions", "actions_on_trigger",
                                   "actions_on_resolve"});
    CHECK(keys_of(a.at("trigger")) ==
          std::vector<std::string>{"type", "id", "match", "match_related",
                                   "after", "expect", "for_each", "posture",
                                   "threshold", "within"});
    // Durations are float seconds; owner_resource is never returned.
    CHECK(r.body.find("\"within\":0.0") != std::string::npos);
    CHECK(r.body.find("\"schedule_after\":0.0") != std::string::npos);
    CHECK_FALSE(a.contains("owner_resource"));
    const std::string id = a.at("id");
    const std::string target = "/api/automations/" + id;
    CHECK(s.get(target).json_body() == a);

    // Client trigger ids are discarded; defaults are filled in; sets lose
    // duplicates; a Proactive trigger without `within` gets 10 s.
    r = s.post("/api/automations/",
               json{{"name", "b"},
                    {"tags", {"x", "y"}},
                    {"trigger",
                     {{"id", "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"},
                      {"posture", "Proactive"},
                      {"expect", {"a", "a", "b"}},
                      {"unknown", 1}}},
                    {"actions",
                     {{{"type", "change-flow-run-state"}, {"state", "FAILED"}},
                      {{"type", "send-notification"},
                       {"block_document_id",
                        "6F1C2D3E-4A5B-4C6D-8E7F-9A0B1C2D3E4F"},
                       {"body", "hi"}}}}});
    REQUIRE(r.status == 201);
    auto b = r.json_body();
    CHECK(b.at("trigger").at("id") != "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
    CHECK(b.at("trigger").at("expect") == json{"a", "b"});
    CHECK(b.at("trigger").at("within") == 10.0);
    CHECK_FALSE(b.at("trigger").contains("unknown"));
    CHECK(b.at("actions") ==
          json{{{"type", "change-flow-run-state"},
                {"name", nullptr},
                {"state", "FAILED"},
                {"message", nullptr},
                {"force", false}},
               {{"type", "send-notification"},
                {"block_document_id", "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"},
                {"subject", "Prefect automated notification"},
                {"body", "hi"}}});
    const std::string b_target =
        "/api/automations/" + b.at("id").get<std::string>();

    // A compound trigger with nested ids and an ISO-8601 duration.
    r = s.post(
        "/api/automations/",
        json{{"name", "a-compound"},
             {"trigger",
              {{"type", "compound"},
               {"triggers",
                {{{"posture", "Reactive"}, {"within", "PT2M"}},
                 {{"type", "sequence"},
                  {"triggers", json::array()},
                  {"within", nullptr}}}},
               {"within", 5},
               {"require", "any"}}},
             {"actions", json::array()}});
    REQUIRE(r.status == 201);
    const auto c = r.json_body();
    CHECK(c.at("trigger").at("within") == 5.0);
    CHECK(c.at("trigger").at("triggers").at(0).at("within") == 120.0);
    CHECK(c.at("trigger").at("triggers").at(0).contains("id"));
    CHECK(c.at("trigger").at("triggers").at(1).at("id") !=
          c.at("trigger").at("id"));

    // PUT: 204; keys not sent keep their values; trigger ids are new;
    // the deployment relation follows the new actions.
    const auto old_trigger_id = b.at("trigger").at("id");
    r = send(s, "PUT", b_target,
             json{{"name", "b-renamed"},
                  {"trigger", {{"posture", "Reactive"}, {"within", 1.5}}},
                  {"actions",
                   {{{"type", "run-deployment"},
                     {"deployment_id", deployment_id}}}}});
    CHECK(r.status == 204);
    CHECK(r.body.empty());
    b = s.get(b_target).json_body();
    CHECK(b.at("name") == "b-renamed");
    CHECK(b.at("tags") == json{"x", "y"});
    CHECK(b.at("trigger").at("within") == 1.5);
    CHECK(b.at("trigger").at("id") != old_trigger_id);
    CHECK(b.at("updated") != b.at("created"));

    // PATCH takes `enabled` only.
    r = send(s, "PATCH", b_target, json{{"enabled", false}});
    CHECK(r.status == 204);
    CHECK(s.get(b_target).json_body().at("enabled") == false);
    r = send(s, "PATCH", b_target, json{{"enabled", true}, {"id", id}});
    CHECK(r.status == 422);
    CHECK(r.json_body().at("exception_detail").at(0).at("type") ==
          "extra_forbidden");

    // filter and count.
    const auto list = [&](const json& body) {
      return names_of(s.post("/api/automations/filter", body).json_body());
    };
    CHECK(list(json::object()) ==
          json{"a-compound", "b-renamed", "nightly__automation_1"});
    CHECK(list({{"sort", "NAME_DESC"}}) ==
          json{"nightly__automation_1", "b-renamed", "a-compound"});
    CHECK(list({{"sort", "UPDATED_DESC"}, {"limit", 1}, {"offset", 0}}) ==
          json{"b-renamed"});
    CHECK(list({{"automations", {{"tags", {{"any_", {"y", "z"}}}}}}}) ==
          json{"b-renamed"});
    CHECK(list({{"automations", {{"tags", {{"is_null_", true}}}}}}) ==
          json{"a-compound", "nightly__automation_1"});
    CHECK(list({{"automations",
                 {{"operator", "or_"},
                  {"name", {{"any_", {"a-compound"}}}},
                  {"tags", {{"all_", {"x"}}}}}}}) ==
          json{"a-compound", "b-renamed"});
    CHECK(s.post("/api/automations/filter", json{{"limit", 201}}).status ==
          422);
    CHECK(s.post("/api/automations/filter", json{{"sort", "ID_ASC"}}).status ==
          422);
    // count ignores its body.
    CHECK(s.post("/api/automations/count",
                 json{{"automations", {{"name", {{"any_", {"b"}}}}}}})
              .body == "3");

    // related-to: owned and merely related automations of a resource.
    CHECK(names_of(s.get("/api/automations/related-to/prefect.deployment." +
                         deployment_id)
                       .json_body()) ==
          json{"nightly__automation_1", "b-renamed"});
    CHECK(s.get("/api/automations/related-to/nothing").body == "[]");

    // DELETE.
    r = s.request("DELETE", "/api/automations/" +
                                c.at("id").get<std::string>());
    CHECK(r.status == 204);
    CHECK(s.get("/api/automations/" + c.at("id").get<std::string>()).status ==
          404);

    kept_list = s.post("/api/automations/filter", json::object()).json_body();
    kept_b = s.get(b_target).json_body();
    REQUIRE(kept_list.size() == 2);
    REQUIRE(s.stop() == 0);
  }
  {
    // Restart: everything is there, relations too.
    deployd_process s(options);
    CHECK(s.post("/api/automations/filter", json::object()).json_body() ==
          kept_list);
    CHECK(s.get("/api/automations/related-to/prefect.deployment." +
                deployment_id)
              .json_body()
              .size() == 2);
    REQUIRE(s.stop() == 0);
  }
  check_verified(options.data_dir);
  const auto log = run_tool({"events", "--data-dir", options.data_dir});
  // One quiet deletion is still to come (owned-by, below); this one is the
  // DELETE by id, which announces prefect.automation.deleted.
  CHECK(log.out.find("\"automation_created\"") != std::string::npos);
  CHECK(log.out.find("\"automation_updated\"") != std::string::npos);
  CHECK(log.out.find("\"automation_deleted\"") != std::string::npos);
  REQUIRE(run_tool({"replay", "--data-dir", options.data_dir}).status == 0);
  deployd_process s(options);
  CHECK(s.post("/api/automations/filter", json::object()).json_body() ==
        kept_list);
  CHECK(s.get("/api/automations/" + kept_b.at("id").get<std::string>())
            .json_body() == kept_b);
  // The owner relation survived replay: owned-by deletes the owned one.
  const auto r = s.request("DELETE", "/api/automations/owned-by/"
                                     "prefect.deployment." +
                                         deployment_id);
  CHECK(r.status == 202);
  CHECK(names_of(s.post("/api/automations/filter", json::object())
                     .json_body()) == json{"b-renamed"});
  // The feed after replay: 3 creates, the PUT and 2 PATCHes (one rejected
  // attempt wrote nothing), 1 DELETE by id, no owned-by deletion.
  std::map<std::string, int> announced;
  const auto feed =
      s.post("/api/events/filter", json{{"limit", 50}}).json_body();
  for (const auto& e : feed.at("events"))
    if (e.at("event").get<std::string>().starts_with("prefect.automation."))
      ++announced[e.at("event")];
  CHECK(announced ==
        std::map<std::string, int>{{"prefect.automation.created", 3},
                                   {"prefect.automation.updated", 2},
                                   {"prefect.automation.deleted", 1}});
}

TEST_CASE("automation bodies get the reference's 422s and 404s and append "
          "nothing",
          "[integration][automations]") {
  deployd_process s;
  REQUIRE(s.post("/api/automations/",
                 client_trigger_body(deployment_id, "existing"))
              .status == 201);
  const std::string id =
      s.post("/api/automations/filter", json::object()).json_body().at(0).at(
          "id");
  const auto before = position(s);

  // An event trigger without `posture`: every member of the trigger union
  // reports, under its class name.
  auto r = s.post("/api/automations/", json{{"name", "x"},
                                            {"trigger", {{"type", "event"}}},
                                            {"actions", json::array()}});
  REQUIRE(r.status == 422);
  auto body = r.json_body();
  CHECK(body.at("exception_message") == "Invalid request received.");
  CHECK(body.at("exception_detail").at(0) ==
        json{{"type", "missing"},
             {"loc", {"body", "trigger", "EventTrigger", "posture"}},
             {"msg", "Field required"},
             {"input", {{"type", "event"}}}});
  CHECK(body.at("exception_detail").at(1) ==
        json{{"type", "literal_error"},
             {"loc", {"body", "trigger", "CompoundTrigger", "type"}},
             {"msg", "Input should be 'compound'"},
             {"input", "event"},
             {"ctx", {{"expected", "'compound'"}}}});
  CHECK(body.at("exception_detail").size() == 8);
  CHECK(body.at("request_body") ==
        json{{"name", "x"},
             {"trigger", {{"type", "event"}}},
             {"actions", json::array()}});

  const auto first_error = [&](const json& b) {
    const auto reply = s.post("/api/automations/", b);
    INFO(reply.body);
    REQUIRE(reply.status == 422);
    return reply.json_body().at("exception_detail");
  };
  const auto has_error = [](const json& errors, const json& loc,
                            const std::string& msg) {
    for (const auto& e : errors)
      if (e.at("loc") == loc && e.at("msg") == msg)
        return true;
    return false;
  };
  const json reactive = {{"posture", "Reactive"}};
  auto automation = [&](json trigger, json actions) {
    return json{{"name", "x"}, {"trigger", trigger}, {"actions", actions}};
  };
  // source / id pairing of an action.
  CHECK(has_error(
      first_error(automation(reactive, {{{"type", "run-deployment"}}})),
      {"body", "actions", 0, "RunDeployment"},
      "Value error, deployment_id is required"));
  CHECK(has_error(first_error(automation(
                      reactive, {{{"type", "pause-work-pool"},
                                  {"source", "inferred"},
                                  {"work_pool_id", deployment_id}}})),
                  {"body", "actions", 0, "PauseWorkPool"},
                  "Value error, work_pool_id is not allowed"));
  // `within` rules.
  CHECK(has_error(
      first_error(automation({{"posture", "Proactive"}, {"within", 5}},
                             json::array())),
      {"body", "trigger", "EventTrigger"},
      "Value error, `within` for Proactive triggers must be greater than or "
      "equal to 10 seconds"));
  CHECK(has_error(
      first_error(automation({{"posture", "Reactive"}, {"within", nullptr}},
                             json::array())),
      {"body", "trigger", "EventTrigger"},
      "Value error, `within` should be a valid timedelta"));
  CHECK(has_error(
      first_error(automation({{"posture", "Reactive"}, {"within", -1}},
                             json::array())),
      {"body", "trigger", "EventTrigger", "within"},
      "Input should be greater than or equal to 0 seconds"));
  // `posture: Metric` (the client's MetricTrigger) is not an OSS trigger.
  CHECK(has_error(first_error(automation({{"posture", "Metric"}},
                                         json::array())),
                  {"body", "trigger", "EventTrigger", "posture"},
                  "Input should be 'Reactive' or 'Proactive'"));
  // compound `require`.
  CHECK(has_error(first_error(automation({{"type", "compound"},
                                          {"triggers", {reactive}},
                                          {"within", nullptr},
                                          {"require", 0}},
                                         json::array())),
                  {"body", "trigger", "CompoundTrigger"},
                  "Value error, require must be at least 1"));
  // An action without its required fields, an unknown action type.
  CHECK(has_error(first_error(automation(
                      reactive, {{{"type", "send-notification"}}})),
                  {"body", "actions", 0, "SendNotification", "body"},
                  "Field required"));
  CHECK(first_error(automation(reactive, {{{"type", "launch-rocket"}}}))
            .size() == 17 + 4);
  // Loop prevention, at ["body"].
  auto errors = first_error(automation(
      {{"posture", "Reactive"}, {"expect", {"prefect.flow-run.Running"}}},
      {{{"type", "run-deployment"}, {"source", "inferred"}}}));
  REQUIRE(errors.size() == 1);
  CHECK(errors.at(0).at("loc") == json{"body"});
  CHECK(errors.at(0).at("msg").get<std::string>().starts_with(
      "Value error, Running an inferred deployment from a flow run state "
      "change event will lead to an infinite loop"));
  // Top level: missing fields, extra keys, not an object, no body.
  errors = first_error(json{{"id", id}, {"trigger", reactive}});
  CHECK(has_error(errors, {"body", "name"}, "Field required"));
  CHECK(has_error(errors, {"body", "actions"}, "Field required"));
  CHECK(has_error(errors, {"body", "id"}, "Extra inputs are not permitted"));
  CHECK(s.request("POST", "/api/automations/", "[]",
                  {{"Content-Type", "application/json"}})
            .status == 422);
  CHECK(s.request("POST", "/api/automations/").status == 422);
  // PUT forbids owner_resource; PATCH forbids everything but `enabled`.
  r = send(s, "PUT", "/api/automations/" + id,
           client_trigger_body(deployment_id, "renamed"));
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail").at(0).at("loc") ==
        json{"body", "owner_resource"});
  CHECK(send(s, "PATCH", "/api/automations/" + id, json{{"name", "n"}})
            .status == 422);

  // 404s: `exception_message` for an unknown id, `detail` for a non-UUID.
  const std::string ghost =
      "/api/automations/00000000-0000-4000-8000-000000000000";
  const json not_found = {{"exception_message", "Automation not found"}};
  CHECK(s.get(ghost).json_body() == not_found);
  CHECK(send(s, "PUT", ghost, client_trigger_body(deployment_id, "x", false))
            .json_body() == not_found);
  r = send(s, "PATCH", ghost, json{{"enabled", true}});
  CHECK(r.status == 404);
  CHECK(r.json_body() == not_found);
  r = s.request("DELETE", ghost);
  CHECK(r.status == 404);
  CHECK(r.json_body() == not_found);
  r = s.get("/api/automations/not-a-uuid");
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Not Found"}});

  // Enabling a disabled automation that would loop: 422 at loc [].
  json looping = automation(
      {{"posture", "Reactive"}, {"expect", {"prefect.flow-run.*"}}},
      {{{"type", "run-deployment"}, {"deployment_id", deployment_id}}});
  looping["enabled"] = false;
  r = s.post("/api/automations/", looping);
  REQUIRE(r.status == 201);
  const std::string looping_target =
      "/api/automations/" + r.json_body().at("id").get<std::string>();
  const auto after_looping = position(s);
  CHECK(after_looping != before);
  r = send(s, "PATCH", looping_target, json{{"enabled", true}});
  REQUIRE(r.status == 422);
  body = r.json_body();
  CHECK(body.at("exception_detail").size() == 1);
  CHECK(body.at("exception_detail").at(0).at("loc") == json::array());
  CHECK(body.at("exception_detail").at(0).at("type") == "value_error");
  CHECK(body.at("exception_detail")
            .at(0)
            .at("msg")
            .get<std::string>()
            .starts_with("Value error, Running a selected deployment"));
  CHECK(body.at("request_body") == json{{"enabled", true}});
  CHECK(s.get(looping_target).json_body().at("enabled") == false);

  // Nothing above appended anything but the one accepted create.
  CHECK(position(s) == after_looping);
  CHECK(s.post("/api/automations/count", json::object()).body == "2");
}

TEST_CASE("run-deployment job variables are checked against the "
          "deployment's pool",
          "[integration][automations][job_variables]") {
  deployd_process s;
  const json tmpl = {
      {"job_configuration", {{"image", "{{ image }}"}}},
      {"variables",
       {{"type", "object"},
        {"properties",
         {{"image", {{"type", "string"}}}, {"cpu", {{"type", "integer"}}}}},
        {"required", {"image"}}}}};
  REQUIRE(s.post("/api/work_pools/", json{{"name", "k8s"},
                                          {"type", "kubernetes"},
                                          {"base_job_template", tmpl}})
              .status == 201);
  const std::string flow_id =
      s.post("/api/flows/", json{{"name", "etl"}}).json_body().at("id");
  auto r = s.post("/api/deployments/",
                  json{{"name", "d"},
                       {"flow_id", flow_id},
                       {"work_pool_name", "k8s"},
                       {"job_variables", {{"image", "python"}}}});
  REQUIRE(r.status == 201);
  const std::string d = r.json_body().at("id");
  auto with_jv = [&](const std::string& deployment, json jv) {
    auto body = client_trigger_body(deployment, "jv");
    body["actions"][0]["job_variables"] = std::move(jv);
    return body;
  };
  // The pool's `required` applies: no image.
  r = s.post("/api/automations/", with_jv(d, {{"cpu", 2}}));
  CHECK(r.status == 422);
  CHECK(r.json_body().at("detail").get<std::string>().starts_with(
      "Error creating automation: Validation failed. Failure reason: 'image' "
      "is a required property"));
  r = s.post("/api/automations/", with_jv(d, {{"image", 5}}));
  CHECK(r.status == 422);
  CHECK(r.json_body().at("detail").get<std::string>().starts_with(
      "Error creating automation: Validation failed for field 'image'."));
  CHECK(s.post("/api/automations/", with_jv(d, {{"image", "python:3.12"}}))
            .status == 201);
  // An unknown deployment is looked up only for non-empty job variables.
  r = s.post("/api/automations/",
             with_jv("00000000-0000-4000-8000-000000000001", {{"cpu", 1}}));
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Deployment not found."}});
  CHECK(s.post("/api/automations/",
               with_jv("00000000-0000-4000-8000-000000000001",
                       json::object()))
            .status == 201);
  CHECK(s.post("/api/automations/count", json::object()).body == "2");
}

TEST_CASE("the Python client's deploy path: owned-by delete on every deploy, "
          "then the triggers with owner_resource",
          "[integration][automations][client]") {
  deployd_process s;
  // RunnerDeployment.apply(): the flow, the deployment, then
  // _create_triggers even without triggers (the DELETE only).
  const std::string flow_id =
      s.post("/api/flows/", json{{"name", "etl"}}).json_body().at("id");
  auto r = s.post("/api/deployments/",
                  json{{"name", "nightly"}, {"flow_id", flow_id}});
  REQUIRE(r.status == 201);
  const std::string d = r.json_body().at("id");
  const std::string owned_by =
      "/api/automations/owned-by/prefect.deployment." + d;
  r = s.request("DELETE", owned_by);
  CHECK(r.status == 202);
  CHECK(r.body == "null");

  // An automation someone made by hand that runs this deployment: related,
  // not owned; redeploys must leave it alone.
  REQUIRE(s.post("/api/automations/",
                 client_trigger_body(d, "hand-made", false))
              .status == 201);

  // `prefect deploy` with two triggers: apply() (DELETE), then DELETE and
  // one POST per trigger; the client reads only `id` of each answer.
  const auto deploy = [&] {
    CHECK(s.request("DELETE", owned_by).status == 202);
    CHECK(s.request("DELETE", owned_by).status == 202);
    for (const auto* name : {"nightly__automation_1", "nightly__automation_2"}) {
      const auto created = s.post("/api/automations/",
                                  client_trigger_body(d, name));
      REQUIRE(created.status == 201);
      CHECK(created.json_body().at("id").is_string());
    }
  };
  deploy();
  const auto related = [&] {
    return names_of(
        s.get("/api/automations/related-to/prefect.deployment." + d)
            .json_body());
  };
  CHECK(related() ==
        json{"hand-made", "nightly__automation_1", "nightly__automation_2"});
  // A redeploy replaces the triggers instead of adding to them.
  deploy();
  CHECK(s.post("/api/automations/count", json::object()).body == "3");
  CHECK(related() ==
        json{"hand-made", "nightly__automation_1", "nightly__automation_2"});
  // Deleting the deployment does not delete its automations (no cascade).
  CHECK(s.request("DELETE", "/api/deployments/" + d).status == 204);
  CHECK(s.post("/api/automations/count", json::object()).body == "3");

  // The events feed: prefect.automation.created for each create (the
  // automation as payload), and nothing for owned-by deletions.
  std::map<std::string, int> announced;
  json created_payload;
  const auto feed = s.post("/api/events/filter",
                           json{{"limit", 50}, {"filter", {{"order", "ASC"}}}});
  INFO(feed.body);
  const auto feed_body = feed.json_body();
  for (const auto& e : feed_body.at("events")) {
    const std::string name = e.at("event");
    if (!name.starts_with("prefect.automation."))
      continue;
    ++announced[name];
    if (name == "prefect.automation.created" && created_payload.is_null()) {
      created_payload = e.at("payload");
      CHECK(e.at("resource").at("prefect.resource.id") ==
            "prefect.automation." + created_payload.at("id").get<std::string>());
      CHECK(e.at("resource").at("prefect.resource.name") ==
            created_payload.at("name"));
      CHECK(e.at("related") == json::array());
    }
  }
  CHECK(announced == std::map<std::string, int>{
                         {"prefect.automation.created", 5}});
  CHECK(created_payload.at("name") == "hand-made");
  CHECK_FALSE(created_payload.contains("owner_resource"));
}
