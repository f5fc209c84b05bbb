// Flow runs end to end (flow-runs.md §3-§8, related-resources.md §5): runs
// created from deployments and ad hoc, the worker's path through set_state
// (Scheduled → Pending → Running → terminal) with the orchestration
// answers of §7, reads, filters, PATCH and DELETE, what workers and runners
// poll and the deployment READY / last_polled a poll causes, and
// `deployd verify` / `replay` over a log with runs.
#include "tests/integration/harness.hpp"

#include "events/time.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace deployd::testing;

namespace {

struct fixture {
  deployd_process& s;
  std::string flow_id;
  std::string deployment_id;

  explicit fixture(deployd_process& server, json extra = json::object())
      : s(server) {
    REQUIRE(s.post("/api/work_pools/", json{{"name", "pool"}, {"type", "process"}})
                .status == 201);
    flow_id = s.post("/api/flows/", json{{"name", "etl"}})
                  .json_body()
                  .at("id")
                  .get<std::string>();
    json body{{"name", "d"},
              {"flow_id", flow_id},
              {"work_pool_name", "pool"},
              {"version", "1.0"},
              {"tags", {"prod"}},
              {"parameters", {{"x", "a"}, {"y", 2}}},
              {"enforce_parameter_schema", false}};
    for (const auto& [k, v] : extra.items())
      body[k] = v;
    auto r = s.post("/api/deployments/", body);
    INFO(r.body);
    REQUIRE(r.status == 201);
    deployment_id = r.json_body().at("id").get<std::string>();
  }

  http_reply create(const json& body) const {
    return s.post("/api/deployments/" + deployment_id + "/create_flow_run",
                  body);
  }

  http_reply set_state(const std::string& run, const json& state,
                       bool force = false) const {
    return s.post("/api/flow_runs/" + run + "/set_state",
                  json{{"state", state}, {"force", force}});
  }
};

std::vector<std::string> keys_of(const json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items())
    out.push_back(k);
  return out;
}

} // namespace

TEST_CASE("a worker's path: create_flow_run, poll, Pending, Running, Completed",
          "[integration][flow_runs]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  json kept;
  std::string run_id;
  {
    deployd_process s(options);
    fixture f(s);
    REQUIRE(s.post("/api/variables/", json{{"name", "v"}, {"value", 5}})
                .status == 201);
    auto r = f.create(json{{"parameters",
                            {{"x", "hello"},
                             {"z",
                              {{"__prefect_kind", "workspace_variable"},
                               {"variable_name", "v"}}}}},
                           {"tags", {"manual"}}});
    INFO(r.body);
    REQUIRE(r.status == 201);
    const auto run = r.json_body();
    run_id = run.at("id").get<std::string>();
    CHECK(keys_of(run) ==
          std::vector<std::string>{
              "id", "created", "updated", "name", "flow_id", "state_id",
              "deployment_id", "deployment_version", "work_queue_id",
              "work_queue_name", "flow_version", "parameters",
              "idempotency_key", "context", "empirical_policy", "tags",
              "labels", "parent_task_run_id", "state_type", "state_name",
              "run_count", "expected_start_time", "next_scheduled_start_time",
              "start_time", "end_time", "total_run_time", "estimated_run_time",
              "estimated_start_time_delta", "auto_scheduled",
              "infrastructure_document_id", "infrastructure_pid", "created_by",
              "work_pool_id", "work_pool_name", "state", "job_variables"});
    CHECK(run_id.at(14) == '7'); // UUIDv7
    CHECK(run.at("parameters") == json{{"x", "hello"}, {"y", 2}, {"z", 5}});
    CHECK(run.at("tags") == json{"manual", "prod"});
    CHECK(run.at("labels") ==
          json{{"prefect.flow.id", f.flow_id},
               {"prefect.deployment.id", f.deployment_id}});
    CHECK(run.at("state_type") == "SCHEDULED");
    CHECK(run.at("state_name") == "Scheduled");
    CHECK(run.at("state").at("state_details").size() == 18);
    CHECK(run.at("state").at("state_details").at("flow_run_id") == run_id);
    CHECK(run.at("expected_start_time") ==
          run.at("state").at("state_details").at("scheduled_time"));
    CHECK(run.at("next_scheduled_start_time") == run.at("expected_start_time"));
    CHECK(run.at("deployment_version") == "1.0");
    CHECK(run.at("work_queue_name") == "default");
    CHECK(run.at("work_pool_name") == "pool");
    CHECK(run.at("empirical_policy") ==
          json{{"max_retries", 0}, {"retry_delay_seconds", 0.0},
               {"retries", nullptr}, {"retry_delay", nullptr},
               {"pause_keys", json::array()}, {"resuming", false},
               {"retry_type", nullptr}});
    const auto read = s.get("/api/flow_runs/" + run_id).json_body();
    CHECK(read.at("state") == run.at("state"));
    CHECK(read.at("name") == run.at("name"));

    // What the worker polls: the run, in a WorkerFlowRunResponse.
    r = s.post("/api/work_pools/pool/get_scheduled_flow_runs", json::object());
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto polled = r.json_body();
    REQUIRE(polled.size() == 1);
    CHECK(keys_of(polled.at(0)) == std::vector<std::string>{
                                       "work_pool_id", "work_queue_id",
                                       "flow_run"});
    CHECK(polled.at(0).at("flow_run").at("id") == run_id);
    CHECK(!polled.at(0).at("flow_run").contains("work_pool_name"));
    CHECK(polled.at(0).at("work_queue_id") == run.at("work_queue_id"));
    CHECK(s.post("/api/work_pools/pool/get_scheduled_flow_runs",
                 json{{"scheduled_before", "2000-01-01 00:00:00+00:00"}})
              .json_body() == json::array());
    CHECK(s.post("/api/work_pools/pool/get_scheduled_flow_runs",
                 json{{"work_queue_names", {"default"}}})
              .json_body()
              .size() == 1);
    r = s.post("/api/work_pools/nope/get_scheduled_flow_runs", json::object());
    CHECK(r.status == 404);
    CHECK(r.json_body() == json{{"detail", "Work pool \"nope\" not found."}});
    r = s.post("/api/work_pools/pool/get_scheduled_flow_runs",
               json{{"work_queue_names", {"missing"}}});
    CHECK(r.status == 404);
    CHECK(r.json_body() ==
          json{{"detail", "Work pool queue 'pool/missing' not found."}});
    // The runner's poll.
    r = s.post("/api/deployments/get_scheduled_flow_runs",
               json{{"deployment_ids", {f.deployment_id}}});
    REQUIRE(r.status == 200);
    CHECK(r.json_body().size() == 1);
    CHECK(s.post("/api/deployments/get_scheduled_flow_runs", json::object())
              .status == 422);
    // The poll marks the deployment READY (asynchronously, but submitted to
    // the writer before the answer left: any later write is a barrier).
    REQUIRE(s.post("/api/variables/", json{{"name", "barrier"}, {"value", 1}})
                .status == 201);
    const auto d = s.get("/api/deployments/" + f.deployment_id).json_body();
    CHECK(d.at("status") == "READY");
    CHECK(d.at("last_polled").is_string());

    // Scheduled → Pending: 201 ACCEPT; a second Pending is ABORTed (200).
    r = f.set_state(run_id, json{{"type", "PENDING"}});
    INFO(r.body);
    CHECK(r.status == 201);
    auto result = r.json_body();
    CHECK(keys_of(result) ==
          std::vector<std::string>{"state", "status", "details"});
    CHECK(result.at("status") == "ACCEPT");
    CHECK(result.at("details") == json{{"type", "accept_details"}});
    CHECK(result.at("state").at("type") == "PENDING");
    CHECK(result.at("state").at("name") == "Pending");
    CHECK(result.at("state").at("state_details").at("scheduled_time") ==
          run.at("state").at("state_details").at("scheduled_time"));
    r = f.set_state(run_id, json{{"type", "PENDING"}});
    CHECK(r.status == 200);
    result = r.json_body();
    CHECK(result.at("status") == "ABORT");
    CHECK(result.at("details") ==
          json{{"type", "abort_details"},
               {"reason", "This run is in a PENDING state and cannot "
                          "transition to a PENDING state."}});
    CHECK(result.at("state").at("type") == "PENDING");
    r = f.set_state(run_id, json{{"type", "PENDING"}, {"name", "Submitting"}});
    CHECK(r.status == 201);
    CHECK(r.json_body().at("state").at("name") == "Submitting");
    // Not polled any more.
    CHECK(s.post("/api/work_pools/pool/get_scheduled_flow_runs", json::object())
              .json_body() == json::array());
    // The worker records its infrastructure.
    r = s.request("PATCH", "/api/flow_runs/" + run_id,
                  json{{"infrastructure_pid", "4242"}}.dump());
    CHECK(r.status == 204);

    r = f.set_state(run_id, json{{"type", "RUNNING"}});
    CHECK(r.status == 201);
    auto now_run = s.get("/api/flow_runs/" + run_id).json_body();
    CHECK(now_run.at("state_type") == "RUNNING");
    CHECK(now_run.at("run_count") == 1);
    CHECK(now_run.at("start_time") == now_run.at("state").at("timestamp"));
    CHECK(now_run.at("next_scheduled_start_time").is_null());
    CHECK(now_run.at("infrastructure_pid") == "4242");
    CHECK(now_run.at("expected_start_time") == run.at("expected_start_time"));

    r = f.set_state(run_id, json{{"type", "COMPLETED"}});
    CHECK(r.status == 201);
    CHECK(r.json_body().at("status") == "ACCEPT");
    now_run = s.get("/api/flow_runs/" + run_id).json_body();
    CHECK(now_run.at("state_type") == "COMPLETED");
    CHECK(now_run.at("end_time") == now_run.at("state").at("timestamp"));
    CHECK(now_run.at("total_run_time").get<double>() > 0.0);
    CHECK(now_run.at("estimated_run_time") == now_run.at("total_run_time"));

    r = f.set_state(run_id, json{{"type", "CRASHED"}});
    CHECK(r.status == 200);
    CHECK(r.json_body().at("status") == "ABORT");
    CHECK(r.json_body().at("details").at("reason") ==
          "Run is already in terminal state COMPLETED.");
    kept = s.get("/api/flow_runs/" + run_id).json_body();
    REQUIRE(s.stop() == 0);
  }
  verify_then_replay(options.data_dir);
  deployd_process s(options);
  auto again = s.get("/api/flow_runs/" + run_id).json_body();
  kept.erase("estimated_start_time_delta");
  again.erase("estimated_start_time_delta");
  CHECK(again == kept);
}

TEST_CASE("set_state waits for the scheduled time, forces, bypasses cancel "
          "and retries",
          "[integration][flow_runs]") {
  deployd_process s;
  fixture f(s);
  auto r = f.create(json{{"state",
                          {{"type", "SCHEDULED"},
                           {"state_details",
                            {{"scheduled_time", "2030-01-01T00:00:00Z"}}}}}});
  REQUIRE(r.status == 201);
  const auto late = r.json_body();
  const auto id = late.at("id").get<std::string>();
  CHECK(late.at("next_scheduled_start_time") == "2030-01-01T00:00:00Z");
  CHECK(late.at("expected_start_time") == "2030-01-01T00:00:00Z");
  CHECK(f.set_state(id, json{{"type", "PENDING"}}).status == 201);
  r = f.set_state(id, json{{"type", "RUNNING"}});
  CHECK(r.status == 200);
  auto result = r.json_body();
  CHECK(result.at("status") == "WAIT");
  CHECK(result.at("details").at("type") == "wait_details");
  CHECK(result.at("details").at("reason") == "Scheduled time is in the future");
  CHECK(result.at("details").at("delay_seconds").is_number_integer());
  CHECK(result.at("details").at("delay_seconds").get<std::int64_t>() > 0);
  CHECK(result.at("state").at("type") == "PENDING");
  r = f.set_state(id, json{{"type", "RUNNING"}}, true);
  CHECK(r.status == 201);
  CHECK(r.json_body().at("status") == "ACCEPT");

  // Scheduled → Cancelling without infrastructure: Cancelled instead.
  const auto other = f.create(json::object()).json_body().at("id").get<std::string>();
  r = f.set_state(other, json{{"type", "CANCELLING"}});
  CHECK(r.status == 201);
  result = r.json_body();
  CHECK(result.at("status") == "REJECT");
  CHECK(result.at("details") ==
        json{{"type", "reject_details"},
             {"reason", "Scheduled flow run has no infrastructure to terminate."}});
  CHECK(result.at("state").at("type") == "CANCELLED");
  CHECK(s.get("/api/flow_runs/" + other).json_body().at("state_type") ==
        "CANCELLED");
  // Cancelling → anything but Cancelled is rejected.
  const auto third = f.create(json::object()).json_body().at("id").get<std::string>();
  CHECK(f.set_state(third, json{{"type", "PENDING"}}).status == 201);
  CHECK(f.set_state(third, json{{"type", "CANCELLING"}}).status == 201);
  r = f.set_state(third, json{{"type", "RUNNING"}});
  CHECK(r.status == 200);
  CHECK(r.json_body().at("status") == "REJECT");
  CHECK(r.json_body().at("state").at("type") == "CANCELLING");
  CHECK(f.set_state(third, json{{"type", "CANCELLED"}}).status == 201);

  // Ad-hoc runs start Pending; RUNNING → FAILED with retries left is
  // rejected to AwaitingRetry.
  r = s.post("/api/flow_runs/",
             json{{"flow_id", f.flow_id},
                  {"empirical_policy", {{"retries", 1}, {"retry_delay", 0}}}});
  INFO(r.body);
  REQUIRE(r.status == 201);
  const auto adhoc = r.json_body().at("id").get<std::string>();
  CHECK(r.json_body().at("state_type") == "PENDING");
  CHECK(f.set_state(adhoc, json{{"type", "RUNNING"}}).status == 201);
  r = f.set_state(adhoc, json{{"type", "FAILED"}, {"message", "boom"}});
  CHECK(r.status == 201);
  result = r.json_body();
  CHECK(result.at("status") == "REJECT");
  CHECK(result.at("details").at("reason") == "Retrying");
  CHECK(result.at("state").at("name") == "AwaitingRetry");
  CHECK(result.at("state").at("type") == "SCHEDULED");
  CHECK(s.get("/api/flow_runs/" + adhoc).json_body().at("empirical_policy").at(
            "retry_type") == "in_process");
  CHECK(f.set_state(adhoc, json{{"type", "RUNNING"}}).status == 201);
  r = f.set_state(adhoc, json{{"type", "FAILED"}});
  CHECK(r.json_body().at("status") == "ACCEPT");
  const auto failed = s.get("/api/flow_runs/" + adhoc).json_body();
  CHECK(failed.at("run_count") == 2);
  CHECK(failed.at("state_type") == "FAILED");
  // A run without a deployment cannot be rescheduled.
  r = f.set_state(adhoc, json{{"type", "SCHEDULED"}});
  CHECK(r.json_body().at("status") == "ABORT");

  // Errors: unknown run, bad bodies.
  const std::string ghost = "00000000-0000-4000-8000-000000000000";
  r = f.set_state(ghost, json{{"type", "PENDING"}});
  CHECK(r.status == 404);
  CHECK(r.json_body() ==
        json{{"exception_message", "Flow run with id " + ghost + " not found"}});
  r = f.set_state(id, json{{"type", "PENDING"}, {"timestamp", "2026-01-01"}});
  CHECK(r.status == 422);
  r = f.set_state(id, json{{"type", "NOPE"}});
  CHECK(r.status == 422);
  CHECK(s.post("/api/flow_runs/" + id + "/set_state", json::object()).status ==
        422);
}

TEST_CASE("flow runs are filtered, counted, paged, patched and deleted, "
          "idempotency, bulk and create errors",
          "[integration][flow_runs]") {
  deployd_process s;
  fixture f(s);
  auto r = f.create(json{{"name", "b-run"}, {"idempotency_key", "k"}});
  REQUIRE(r.status == 201);
  const auto first = r.json_body();
  r = f.create(json{{"name", "other"}, {"idempotency_key", "k"}});
  CHECK(r.status == 200);
  CHECK(r.json_body().at("id") == first.at("id"));
  CHECK(r.json_body().at("name") == "b-run");
  const auto second = f.create(json{{"name", "a-run"}}).json_body();
  const auto third = f.create(json{{"name", "c-run"}}).json_body();
  CHECK(f.set_state(third.at("id"), json{{"type", "PENDING"}}).status == 201);

  auto names = [&](const json& body) {
    json out = json::array();
    for (const auto& run : s.post("/api/flow_runs/filter", body).json_body())
      out.push_back(run.at("name"));
    return out;
  };
  CHECK(names(json::object()) == json{"c-run", "a-run", "b-run"}); // ID_DESC
  CHECK(names({{"sort", "NAME_ASC"}}) == json{"a-run", "b-run", "c-run"});
  CHECK(names({{"flow_runs", {{"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}}},
               {"sort", "NAME_DESC"}}) == json{"b-run", "a-run"});
  CHECK(names({{"flow_runs", {{"name", {{"like_", "C-R"}}}}}}) ==
        json{"c-run"});
  CHECK(names({{"deployments", {{"id", {{"any_", {f.deployment_id}}}}}},
               {"limit", 1},
               {"offset", 1}}) == json{"a-run"});
  CHECK(names({{"work_pools", {{"name", {{"any_", {"elsewhere"}}}}}}}) ==
        json::array());
  CHECK(s.post("/api/flow_runs/count",
               json{{"flow_runs",
                     {{"state", {{"type", {{"any_", {"PENDING"}}}}}}}}})
            .body == "1");
  CHECK(s.request("POST", "/api/flow_runs/count").body == "3");
  r = s.post("/api/flow_runs/paginate", json{{"limit", 2}, {"page", 2}});
  CHECK(r.json_body().at("count") == 3);
  CHECK(r.json_body().at("pages") == 2);
  CHECK(r.json_body().at("results").size() == 1);
  CHECK(s.post("/api/flow_runs/filter", json{{"limit", 201}}).status == 422);
  CHECK(s.post("/api/flow_runs/filter", json{{"sort", "NOPE"}}).status == 422);

  // PATCH and DELETE.
  const auto target = "/api/flow_runs/" + second.at("id").get<std::string>();
  r = s.request("PATCH", target, json{{"name", "renamed"}, {"tags", {"t"}}}.dump());
  CHECK(r.status == 204);
  auto got = s.get(target).json_body();
  CHECK(got.at("name") == "renamed");
  CHECK(got.at("tags") == json{"t"});
  CHECK(s.request("PATCH", target, json{{"state_type", "X"}}.dump()).status ==
        422);
  const std::string ghost = "/api/flow_runs/00000000-0000-4000-8000-000000000000";
  const json not_found{{"detail", "Flow run not found"}};
  CHECK(s.get(ghost).json_body() == not_found);
  r = s.request("PATCH", ghost, json{{"name", "x"}}.dump());
  CHECK(r.status == 404);
  CHECK(r.json_body() == not_found);
  r = s.request("DELETE", target);
  CHECK(r.status == 204);
  CHECK(s.get(target).status == 404);
  CHECK(s.request("DELETE", target).json_body() == not_found);
  CHECK(s.get("/api/flow_runs/not-a-uuid").status == 404);

  // Create errors.
  r = s.post("/api/deployments/00000000-0000-4000-8000-000000000000/"
             "create_flow_run",
             json::object());
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Deployment not found"}});
  r = f.create(json{{"extra", 1}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail").at(0).at("type") ==
        "extra_forbidden");
  r = f.create(json{{"parameters",
                     {{"p", {{"__prefect_kind", "json"}, {"value", "{bad"}}}}}});
  CHECK(r.status == 400);
  CHECK(r.json_body().at("detail").get<std::string>().starts_with(
      "Error hydrating flow run parameters: Invalid JSON: "));
  r = s.post("/api/flow_runs/", json{{"flow_id", "00000000-0000-4000-8000-000000000000"}});
  CHECK(r.status == 409);
  // A queue override creates the queue in the deployment's pool.
  r = f.create(json{{"work_queue_name", "fast"}});
  REQUIRE(r.status == 201);
  CHECK(r.json_body().at("work_queue_name") == "fast");
  CHECK(s.get("/api/work_pools/pool/queues/fast").status == 200);
  CHECK(s.post("/api/flow_runs/count", json::object()).body == "3");

  // Bulk.
  const auto bulk = "/api/deployments/" + f.deployment_id + "/create_flow_run/bulk";
  r = s.request("POST", bulk, "[]");
  CHECK(r.status == 200);
  CHECK(r.json_body() == json{{"results", json::array()}});
  r = s.request("POST", bulk, json(std::vector<json>(101, json::object())).dump());
  CHECK(r.status == 400);
  CHECK(r.json_body() ==
        json{{"detail", "Cannot create more than 100 flow runs at once."}});
  r = s.request("POST",
                "/api/deployments/00000000-0000-4000-8000-000000000000/"
                "create_flow_run/bulk",
                "[]");
  CHECK(r.status == 404);
  r = s.request(
      "POST", bulk,
      json::array({json{{"name", "bulk-1"}},
                   json{{"parameters",
                         {{"v", {{"__prefect_kind", "workspace_variable"},
                                 {"variable_name", "nope"}}}}}},
                   json{{"idempotency_key", "k"}}})
          .dump());
  INFO(r.body);
  CHECK(r.status == 200);
  const auto results = r.json_body().at("results");
  REQUIRE(results.size() == 3);
  CHECK(results.at(0).at("status") == "CREATED");
  CHECK(results.at(1) ==
        json{{"flow_run_id", nullptr},
             {"status", "FAILED"},
             {"error", "Error hydrating flow run parameters: Variable 'nope' "
                       "not found in workspace."}});
  CHECK(results.at(2).at("flow_run_id") == first.at("id"));
  CHECK(s.request("POST", bulk, json::array({json{{"extra", 1}}}).dump())
            .status == 422);
  CHECK(s.post("/api/flow_runs/count", json::object()).body == "4");

  // work_queue_check: 404 for an unknown deployment, a list otherwise.
  CHECK(s.get("/api/deployments/" + f.deployment_id + "/work_queue_check")
            .json_body() == json::array());
  CHECK(s.get("/api/deployments/00000000-0000-4000-8000-000000000000/"
              "work_queue_check")
            .json_body() == json{{"detail", "Deployment not found"}});
}

TEST_CASE("deleting a deployment deletes its scheduled never-run runs, "
          "deleting the flow deletes all its runs",
          "[integration][flow_runs][delete]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  {
    deployd_process s(options);
    fixture f(s);
    const auto scheduled = f.create(json::object()).json_body().at("id").get<std::string>();
    const auto pending = f.create(json::object()).json_body().at("id").get<std::string>();
    REQUIRE(f.set_state(pending, json{{"type", "PENDING"}}).status == 201);
    const auto adhoc = s.post("/api/flow_runs/", json{{"flow_id", f.flow_id}})
                           .json_body()
                           .at("id")
                           .get<std::string>();
    REQUIRE(s.request("DELETE", "/api/deployments/" + f.deployment_id).status ==
            204);
    CHECK(s.get("/api/flow_runs/" + scheduled).status == 404);
    CHECK(s.get("/api/flow_runs/" + pending).status == 200);
    CHECK(s.get("/api/flow_runs/" + adhoc).status == 200);
    REQUIRE(s.request("DELETE", "/api/flows/" + f.flow_id).status == 204);
    CHECK(s.get("/api/flow_runs/" + pending).status == 404);
    CHECK(s.get("/api/flow_runs/" + adhoc).status == 404);
    CHECK(s.post("/api/flow_runs/count", json::object()).body == "0");
    REQUIRE(s.stop() == 0);
  }
  check_verified(options.data_dir);
}

TEST_CASE("polls and run queries read the run index: it follows state "
          "changes, queue limits, deletions, verify and replay",
          "[integration][flow_runs][run_index]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::string d1;
  std::string d2;
  std::map<std::string, std::string> id; // run name -> id
  auto names_of = [&](const json& runs) {
    std::map<std::string, std::string> name_of;
    for (const auto& [n, i] : id)
      name_of[i] = n;
    std::vector<std::string> out;
    for (const auto& run : runs) {
      const json& r = run.contains("flow_run") ? run.at("flow_run") : run;
      out.push_back(name_of[r.at("id").get<std::string>()]);
    }
    return out;
  };
  using names = std::vector<std::string>;
  // What the index answers; the same after verify and replay.
  auto answers = [&](deployd_process& s) {
    json out = json::object();
    out["deployments"] = names_of(
        s.post("/api/deployments/get_scheduled_flow_runs",
               json{{"deployment_ids", {d1, d2, d1}}})
            .json_body());
    out["pool"] = names_of(
        s.post("/api/work_pools/pool/get_scheduled_flow_runs", json::object())
            .json_body());
    out["newest"] = names_of(s.post("/api/flow_runs/filter", json::object())
                                 .json_body());
    out["count"] = s.post("/api/flow_runs/count", json::object()).body;
    out["scheduled"] =
        s.post("/api/flow_runs/count",
               json{{"flow_runs", {{"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}}}})
            .body;
    out["of d1"] =
        s.post("/api/flow_runs/count",
               json{{"flow_runs", {{"deployment_id", {{"any_", {d1}}}}}}})
            .body;
    return out;
  };
  json kept;
  {
    deployd_process s(options);
    fixture f(s);
    d1 = f.deployment_id;
    REQUIRE(s.post("/api/work_pools/pool/queues",
                   json{{"name", "second"}, {"priority", 2}, {"concurrency_limit", 1}})
                .status == 201);
    auto r = s.post("/api/deployments/",
                    json{{"name", "d2"},
                         {"flow_id", f.flow_id},
                         {"work_pool_name", "pool"},
                         {"work_queue_name", "second"}});
    REQUIRE(r.status == 201);
    d2 = r.json_body().at("id").get<std::string>();
    auto at = [&](const std::string& deployment, const std::string& name,
                  const std::string& time) {
      auto created = s.post(
          "/api/deployments/" + deployment + "/create_flow_run",
          json{{"name", name},
               {"state",
                {{"type", "SCHEDULED"},
                 {"state_details", {{"scheduled_time", time}}}}}});
      INFO(created.body);
      REQUIRE(created.status == 201);
      id[name] = created.json_body().at("id").get<std::string>();
    };
    at(d1, "a", "2030-01-01T03:00:00Z");
    at(d1, "b", "2030-01-01T01:00:00Z");
    at(d2, "c", "2030-01-01T02:00:00Z");
    at(d2, "e", "2030-01-01T01:00:00Z"); // due with b: b was read first
    at(d1, "g", "2030-01-01T05:00:00Z");
    auto by_deployments = [&](json body) {
      body["deployment_ids"] = {d1, d2, d1};
      auto polled = s.post("/api/deployments/get_scheduled_flow_runs", body);
      REQUIRE(polled.status == 200);
      return names_of(polled.json_body());
    };
    auto by_pool = [&](const json& body) {
      auto polled = s.post("/api/work_pools/pool/get_scheduled_flow_runs", body);
      REQUIRE(polled.status == 200);
      return names_of(polled.json_body());
    };
    CHECK(by_deployments(json::object()) == names{"b", "e", "c", "a", "g"});
    CHECK(by_deployments({{"limit", 3}}) == names{"b", "e", "c"});
    CHECK(by_deployments({{"scheduled_before", "2030-01-01T02:00:00Z"}}) ==
          names{"b", "e", "c"});
    CHECK(by_deployments({{"scheduled_before", "2000-01-01T00:00:00Z"}}).empty());
    CHECK(by_deployments({{"limit", 0}}).empty());
    // Queue `default` (priority 1) before `second` (priority 2, one slot).
    CHECK(by_pool(json::object()) == names{"b", "a", "g", "e"});
    CHECK(by_pool({{"limit", 2}}) == names{"b", "a"});
    CHECK(by_pool({{"scheduled_after", "2030-01-01T02:00:00Z"}}) ==
          names{"a", "g", "c"});
    CHECK(by_pool({{"scheduled_after", "2030-01-01T02:00:00Z"},
                   {"scheduled_before", "2030-01-01T03:00:00Z"}}) ==
          names{"a", "c"});
    CHECK(by_pool({{"work_queue_names", {"second"}}}) == names{"e"});

    // Scheduled -> Pending: out of both polls; a Pending run holds a slot.
    REQUIRE(f.set_state(id["b"], json{{"type", "PENDING"}}).status == 201);
    CHECK(by_deployments(json::object()) == names{"e", "c", "a", "g"});
    CHECK(by_pool(json::object()) == names{"a", "g", "e"});
    REQUIRE(f.set_state(id["e"], json{{"type", "PENDING"}}).status == 201);
    CHECK(by_deployments(json::object()) == names{"c", "a", "g"});
    CHECK(by_pool(json::object()) == names{"a", "g"}); // `second` is full
    REQUIRE(s.request("PATCH", "/api/work_pools/pool",
                      json{{"concurrency_limit", 3}}.dump())
                .status == 204);
    CHECK(by_pool(json::object()) == names{"a"}); // b and e hold two
    REQUIRE(s.request("PATCH", "/api/work_pools/pool",
                      json{{"concurrency_limit", nullptr}}.dump())
                .status == 204);
    CHECK(by_pool(json::object()) == names{"a", "g"});
    // Back to Scheduled (a new time): polled again, in its new place.
    REQUIRE(f.set_state(id["b"],
                        json{{"type", "SCHEDULED"},
                             {"state_details",
                              {{"scheduled_time", "2030-01-01T04:00:00Z"}}}},
                        true)
                .status == 201);
    CHECK(by_deployments(json::object()) == names{"c", "a", "b", "g"});
    CHECK(by_pool(json::object()) == names{"a", "b", "g"});

    // Counts and pages from the rows, against the same filters read
    // through every run (an `or_` the index cannot answer).
    auto count = [&](const json& body) {
      return s.post("/api/flow_runs/count", body).body;
    };
    auto scanned = [&](json flow_runs) {
      flow_runs["operator"] = "or_";
      flow_runs["name"] = {{"any_", {"no such run"}}};
      return count(json{{"flow_runs", flow_runs}});
    };
    const json scheduled{{"state", {{"type", {{"any_", {"SCHEDULED", "PENDING"}}}}}}};
    const json of_d2{{"deployment_id", {{"any_", {d2}}}}};
    CHECK(count(json::object()) == "5");
    CHECK(count({{"flow_runs", scheduled}}) == "5");
    CHECK(count({{"flow_runs", scheduled}}) == scanned(scheduled));
    CHECK(count({{"flow_runs", of_d2}}) == "2");
    CHECK(count({{"flow_runs", of_d2}}) == scanned(of_d2));
    // The kept counts by state type (`n` rows) against the runs read.
    for (const auto* type : {"SCHEDULED", "PENDING", "RUNNING", "COMPLETED"}) {
      const json one{{"state", {{"type", {{"any_", {type}}}}}}};
      INFO(type);
      CHECK(count({{"flow_runs", one}}) == scanned(one));
    }
    CHECK(count({{"deployments", {{"id", {{"any_", {d1}}}}}}}) == "3");
    CHECK(count({{"deployments", {{"id", {{"any_", {d1}}}}}},
                 {"flow_runs", {{"name", {{"any_", {"a", "e"}}}}}}}) == "1");
    auto newest = [&](const json& body) {
      return names_of(s.post("/api/flow_runs/filter", body).json_body());
    };
    CHECK(newest(json::object()) == names{"g", "e", "c", "b", "a"});
    CHECK(newest({{"offset", 1}, {"limit", 2}}) == names{"e", "c"});
    {
      // One state type: read newest first from its rows, as through
      // every run (the `or_` the rows cannot answer).
      const json one{{"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}};
      json every = one;
      every["operator"] = "or_";
      every["name"] = {{"any_", {"no such run"}}};
      for (const auto offset : {0, 1, 3})
        CHECK(newest({{"flow_runs", one}, {"offset", offset}}) ==
              newest({{"flow_runs", every}, {"offset", offset}}));
      CHECK(newest({{"flow_runs", one}, {"limit", 2}}) ==
            newest({{"flow_runs", every}, {"limit", 2}}));
    }
    CHECK(newest({{"flow_runs", of_d2}, {"offset", 1}}) == names{"c"});
    {
      // Several state types or deployments: their rows merged newest first,
      // exactly (no run read but the page's) or with a criterion the rows
      // cannot answer, at every offset and limit; the page's bytes are the
      // runs' own GET answers.
      const names all{"g", "e", "c", "b", "a"};
      const json two{{"state", {{"type", {{"any_", {"PENDING", "SCHEDULED"}}}}}}};
      const json both{{"deployment_id", {{"any_", {d2, d1}}}}};
      json named = two;
      named["name"] = {{"any_", {"a", "e", "g"}}};
      json scheduled_only{{"state", {{"type", {{"any_", {"SCHEDULED", "RUNNING"}}}}}}};
      for (std::size_t offset = 0; offset <= all.size(); ++offset)
        for (std::size_t limit = 1; limit <= 3; ++limit) {
          INFO("offset " << offset << " limit " << limit);
          auto slice = [&](const names& from) {
            names out;
            for (std::size_t i = offset; i < from.size() && out.size() < limit; ++i)
              out.push_back(from[i]);
            return out;
          };
          auto page = [&](const json& filter) {
            return newest({{"flow_runs", filter}, {"offset", offset}, {"limit", limit}});
          };
          CHECK(page(two) == slice(all));
          CHECK(page(both) == slice(all));
          CHECK(page(named) == slice({"g", "e", "a"}));
          CHECK(page(scheduled_only) == slice({"g", "c", "b", "a"}));
        }
      std::string expected = "[";
      for (const auto& n : all) {
        auto one = s.get("/api/flow_runs/" + id[n]);
        REQUIRE(one.status == 200);
        expected += (expected.size() > 1 ? "," : "") + one.body;
      }
      CHECK(s.post("/api/flow_runs/filter", json{{"flow_runs", two}}).body ==
            expected + "]");
    }
    CHECK(newest({{"flow_runs", of_d2}, {"sort", "NAME_DESC"}}) ==
          names{"e", "c"});
    r = s.post("/api/flow_runs/paginate",
               json{{"deployments", {{"id", {{"any_", {d1}}}}}},
                    {"limit", 2},
                    {"page", 2}});
    CHECK(r.json_body().at("count") == 3);
    CHECK(names_of(r.json_body().at("results")) == names{"a"});

    // Deleting d2 deletes its scheduled never-run run (c): its poll is
    // empty; its Pending run (e) stays.
    REQUIRE(s.request("DELETE", "/api/deployments/" + d2).status == 204);
    CHECK(s.post("/api/deployments/get_scheduled_flow_runs",
                 json{{"deployment_ids", {d2}}})
              .json_body() == json::array());
    CHECK(count({{"flow_runs", of_d2}}) == scanned(of_d2));
    CHECK(by_pool(json::object()) == names{"a", "b", "g"});
    // The kept counts by state type (`n` rows) against the runs read.
    for (const auto* type : {"SCHEDULED", "PENDING", "RUNNING", "COMPLETED"}) {
      const json one{{"state", {{"type", {{"any_", {type}}}}}}};
      INFO(type);
      CHECK(count({{"flow_runs", one}}) == scanned(one));
    }
    kept = answers(s);
    CHECK(kept.at("count") == "4");
    REQUIRE(s.stop() == 0);
  }
  verify_then_replay(options.data_dir);
  deployd_process s(options);
  CHECK(answers(s) == kept);
}

TEST_CASE("run pages in every other sort walked from the rows answer as the "
          "documents sorted",
          "[integration][flow_runs][run_index]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  deployd_process s(options);
  fixture f(s);
  // Ties on every key: equal names, equal times, nulls (end_time of the
  // scheduled runs, next_scheduled_start_time of the completed ones).
  const std::vector<std::pair<std::string, std::string>> made{
      {"x", "2030-01-01T01:00:00Z"}, {"x", "2030-01-01T01:00:00Z"},
      {"y", "2030-01-01T00:30:00Z"}, {"a", "2030-01-01T01:00:00Z"},
      {"y", "2030-01-01T02:00:00Z"}, {"b", "2030-01-01T02:00:00Z"},
      {"x", "2029-06-01T00:00:00Z"}};
  std::vector<std::string> ids;
  for (const auto& [name, time] : made) {
    // Idempotency keys descending: the name-key order is the reverse of
    // the ids' (creation) order, and ties go by id either way.
    auto r = f.create(json{{"name", name},
                           {"idempotency_key", "k" + std::to_string(9 - ids.size())},
                           {"state",
                            {{"type", "SCHEDULED"},
                             {"state_details", {{"scheduled_time", time}}}}}});
    REQUIRE(r.status == 201);
    ids.push_back(r.json_body().at("id").get<std::string>());
  }
  for (const std::size_t i : {4u, 5u})
    REQUIRE(f.set_state(ids[i], json{{"type", "COMPLETED"}}, true).status == 201);
  REQUIRE(f.create(json{{"name", "b"}}).status == 201); // due now
  auto page = [&](json body) {
    auto r = s.post("/api/flow_runs/filter", body);
    REQUIRE(r.status == 200);
    std::vector<std::string> out;
    for (const auto& run : r.json_body())
      out.push_back(run.at("id").get<std::string>());
    return out;
  };
  // Every run (the sort's rows walked) against the deployment's (fewer
  // than `few_candidates`: sorted as documents); a name filter the rows
  // cannot answer, both ways.
  const json by_deployment{{"id", {{"any_", {f.deployment_id}}}}};
  const json by_name{{"name", {{"any_", {"x", "b"}}}}};
  for (const char* sort :
       {"START_TIME_ASC", "START_TIME_DESC", "EXPECTED_START_TIME_ASC",
        "EXPECTED_START_TIME_DESC", "NEXT_SCHEDULED_START_TIME_ASC",
        "END_TIME_DESC", "NAME_ASC", "NAME_DESC"})
    for (const int offset : {0, 1, 3, 7})
      for (const int limit : {1, 2, 5, 10}) {
        INFO(sort << " offset " << offset << " limit " << limit);
        const json common{{"sort", sort}, {"offset", offset}, {"limit", limit}};
        json texts = common;
        json docs = common;
        docs["deployments"] = by_deployment;
        const auto got = page(texts);
        CHECK(got.size() == static_cast<std::size_t>(
                                std::max(0, std::min(limit, 8 - offset))));
        CHECK(got == page(docs));
        texts["flow_runs"] = by_name;
        docs["flow_runs"] = by_name;
        CHECK(page(texts) == page(docs));
      }
  for (const json& extra : {json::object(), json{{"flow_runs", by_name}}}) {
    json texts{{"sort", "EXPECTED_START_TIME_DESC"}, {"limit", 3}, {"page", 2}};
    for (const auto& [k, v] : extra.items())
      texts[k] = v;
    json docs = texts;
    docs["deployments"] = by_deployment;
    auto a = s.post("/api/flow_runs/paginate", texts).json_body();
    auto b = s.post("/api/flow_runs/paginate", docs).json_body();
    CHECK(a.at("count") == b.at("count"));
    CHECK(a.at("pages") == b.at("pages"));
    std::vector<std::string> x;
    std::vector<std::string> y;
    for (const auto& run : a.at("results"))
      x.push_back(run.at("id").get<std::string>());
    for (const auto& run : b.at("results"))
      y.push_back(run.at("id").get<std::string>());
    CHECK(x == y);
  }
}

namespace {

// A run's time member in µs (nothing for null).
std::optional<std::int64_t> run_time(const json& run, const char* field) {
  const auto& v = run.at(field);
  if (!v.is_string())
    return std::nullopt;
  const auto t = deployd::events::parse_timestamp(v.get<std::string>());
  return t ? std::optional<std::int64_t>(t->micros) : std::nullopt;
}

// `runs` in a sort as flow-runs.md §4.2 and the README say: nulls first
// ascending, names by their bytes, ties by id ascending; a descending sort
// is the exact reverse of the ascending one.
std::vector<std::string> time_sorted(std::vector<json> runs,
                                     const std::string& sort) {
  const auto by_id = [](const json& a, const json& b) {
    return a.at("id").get<std::string>() < b.at("id").get<std::string>();
  };
  if (sort.starts_with("NAME_"))
    std::sort(runs.begin(), runs.end(), [&](const json& a, const json& b) {
      const auto& x = a.at("name").get_ref<const std::string&>();
      const auto& y = b.at("name").get_ref<const std::string&>();
      return x != y ? x < y : by_id(a, b);
    });
  auto key = [&](const json& run) {
    if (sort.starts_with("START_TIME_")) {
      auto t = run_time(run, "start_time");
      return t ? t : run_time(run, "expected_start_time");
    }
    if (sort.starts_with("EXPECTED_START_TIME_"))
      return run_time(run, "expected_start_time");
    if (sort.starts_with("NEXT_SCHEDULED"))
      return run_time(run, "next_scheduled_start_time");
    return run_time(run, "end_time");
  };
  if (!sort.starts_with("NAME_"))
    std::sort(runs.begin(), runs.end(), [&](const json& a, const json& b) {
      const auto x = key(a);
      const auto y = key(b);
      if (x != y)
        return !x || (y && *x < *y);
      return by_id(a, b);
    });
  std::vector<std::string> out;
  for (const auto& run : runs)
    out.push_back(run.at("id").get<std::string>());
  if (sort.ends_with("_DESC"))
    std::reverse(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("pages in time order walk the time rows and answer as every run "
          "sorted, across state changes, renames and deletes",
          "[integration][flow_runs][run_index]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  const json hourly{
      {{"schedule", {{"interval", 3600}, {"anchor_date", "2030-01-01T00:00:00Z"}}}}};
  std::vector<std::string> kept;
  auto all_runs = [](deployd_process& s) {
    std::vector<json> runs;
    for (int offset = 0;; offset += 200) {
      auto r = s.post("/api/flow_runs/filter",
                      json{{"limit", 200}, {"offset", offset}});
      REQUIRE(r.status == 200);
      const auto page = r.json_body();
      for (const auto& run : page)
        runs.push_back(run);
      if (page.size() < 200)
        return runs;
    }
  };
  const std::vector<std::string> sorts{
      "EXPECTED_START_TIME_DESC", "EXPECTED_START_TIME_ASC", "START_TIME_DESC",
      "START_TIME_ASC", "NEXT_SCHEDULED_START_TIME_ASC", "END_TIME_DESC",
      "NAME_ASC", "NAME_DESC"};
  std::string d0;
  std::vector<std::string> adhoc_names;
  // Every sort, filter, offset and limit against the runs read newest first
  // and sorted here; the filters: none (the rows alone), one the rows cannot
  // answer (every run read and tested), a state type most runs are in, a
  // deployment with more than 256 runs (its rows first), that deployment
  // and a state, few runs (sorted as documents), names.
  auto check_pages = [&](deployd_process& s) {
    const auto runs = all_runs(s);
    const auto total = static_cast<int>(runs.size());
    using predicate = std::function<bool(const json&)>;
    const std::vector<std::pair<json, predicate>> filters{
        {json::object(), [](const json&) { return true; }},
        {json{{"flow_runs", {{"parent_task_run_id", {{"is_null_", true}}}}}},
         [](const json&) { return true; }},
        {json{{"flow_runs", {{"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}}}},
         [](const json& r) { return r.at("state_type") == "SCHEDULED"; }},
        {json{{"deployments", {{"id", {{"any_", {d0}}}}}}},
         [&](const json& r) { return r.at("deployment_id") == d0; }},
        {json{{"flow_runs",
               {{"deployment_id", {{"any_", {d0}}}},
                {"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}}}},
         [&](const json& r) {
           return r.at("deployment_id") == d0 && r.at("state_type") == "SCHEDULED";
         }},
        {json{{"flow_runs",
               {{"state", {{"type", {{"any_", {"RUNNING", "COMPLETED", "PENDING"}}}}}}}}},
         [](const json& r) {
           return r.at("state_type") == "RUNNING" ||
                  r.at("state_type") == "COMPLETED" || r.at("state_type") == "PENDING";
         }},
        {json{{"flow_runs", {{"name", {{"any_", adhoc_names}}}}}},
         [&](const json& r) {
           return std::find(adhoc_names.begin(), adhoc_names.end(),
                            r.at("name").get<std::string>()) != adhoc_names.end();
         }}};
    for (const auto& [filter, matches] : filters) {
      std::vector<json> matching;
      for (const auto& run : runs)
        if (matches(run))
          matching.push_back(run);
      const auto n = static_cast<int>(matching.size());
      for (const auto& sort : sorts) {
        const auto expected = time_sorted(matching, sort);
        for (const int offset : {0, 1, 299, n - 3, total + 5})
          for (const int limit : {1, 50, 200}) {
            if (offset < 0)
              continue;
            INFO(filter.dump() << " " << sort << " offset " << offset
                               << " limit " << limit);
            json body = filter;
            body["sort"] = sort;
            body["offset"] = offset;
            body["limit"] = limit;
            auto r = s.post("/api/flow_runs/filter", body);
            REQUIRE(r.status == 200);
            std::vector<std::string> got;
            for (const auto& run : r.json_body())
              got.push_back(run.at("id").get<std::string>());
            const auto from = std::min(offset, n);
            const auto to = std::min(offset + limit, n);
            CHECK(got == std::vector<std::string>(expected.begin() + from,
                                                  expected.begin() + to));
          }
        json body = filter;
        body["sort"] = sort;
        body["limit"] = 50;
        body["page"] = 2;
        auto r = s.post("/api/flow_runs/paginate", body);
        REQUIRE(r.status == 200);
        const auto page = r.json_body();
        INFO(filter.dump() << " " << sort << " paginate");
        CHECK(page.at("count") == n);
        std::vector<std::string> got;
        for (const auto& run : page.at("results"))
          got.push_back(run.at("id").get<std::string>());
        CHECK(got == std::vector<std::string>(
                         expected.begin() + std::min(50, n),
                         expected.begin() + std::min(100, n)));
      }
    }
    return runs;
  };
  {
    deployd_process s(options);
    fixture f(s, json{{"schedules", hourly}});
    d0 = f.deployment_id;
    // d0: 300 runs; 8 more deployments, 100 each, due at the same hours
    // (ties on every expected start time).
    REQUIRE(s.post("/api/deployments/" + d0 + "/schedule",
                   json{{"start_time", "2030-01-01T00:00:00Z"},
                        {"min_runs", 300},
                        {"max_runs", 300}})
                .status == 200);
    for (int i = 0; i < 8; ++i) {
      auto r = s.post("/api/deployments/",
                      json{{"name", "d" + std::to_string(i + 1)},
                           {"flow_id", f.flow_id},
                           {"work_pool_name", "pool"},
                           {"schedules", hourly}});
      REQUIRE(r.status == 201);
      REQUIRE(s.post("/api/deployments/" +
                         r.json_body().at("id").get<std::string>() + "/schedule",
                     json{{"start_time", "2030-01-01T00:00:00Z"},
                          {"min_runs", 100},
                          {"max_runs", 100}})
                  .status == 200);
    }
    // Ad hoc runs: Pending ones (expected start time: now), and Scheduled
    // ones at an hour the deployments' runs are due too.
    for (int i = 0; i < 6; ++i) {
      adhoc_names.push_back("adhoc-" + std::to_string(i));
      json state = i % 2 ? json{{"type", "PENDING"}}
                         : json{{"type", "SCHEDULED"},
                                {"state_details",
                                 {{"scheduled_time", "2030-01-02T00:00:00Z"}}}};
      REQUIRE(f.create(json{{"name", adhoc_names.back()}, {"state", state}})
                  .status == 201);
    }
    auto runs = check_pages(s);
    REQUIRE(runs.size() == 1106);
    // Runs start and end between pages: START_TIME_* and END_TIME_DESC
    // move them, the state filters gain and lose them; some go back to
    // SCHEDULED at an hour other runs are due too (NEXT_SCHEDULED_...).
    for (std::size_t i = 0; i < runs.size(); i += 37) {
      const auto id = runs[i].at("id").get<std::string>();
      REQUIRE(f.set_state(id, json{{"type", "RUNNING"}}, true).status == 201);
      if (i % 3 == 0)
        REQUIRE(f.set_state(id, json{{"type", "COMPLETED"}}, true).status == 201);
      else if (i % 3 == 1)
        REQUIRE(f.set_state(id,
                            json{{"type", "SCHEDULED"},
                                 {"state_details",
                                  {{"scheduled_time", "2030-01-01T05:00:00Z"}}}},
                            true)
                    .status == 201);
    }
    runs = check_pages(s);
    // Renames (PATCH): a third of the runs share six names, among them
    // one a prefix of others, two with a zero byte, one upper case.
    const std::vector<std::string> shared{"same", "same-a", "Same",
                                          std::string("same\0z", 6),
                                          std::string("same\0", 5), "a"};
    for (std::size_t i = 0; i < runs.size(); i += 3)
      REQUIRE(s.request("PATCH",
                        "/api/flow_runs/" + runs[i].at("id").get<std::string>(),
                        json{{"name", shared[i / 3 % shared.size()]}}.dump())
                  .status == 204);
    // One renamed back and forth (its old `m` row must go).
    const auto moved = "/api/flow_runs/" + runs[1].at("id").get<std::string>();
    REQUIRE(s.request("PATCH", moved, json{{"name", "zzz"}}.dump()).status == 204);
    REQUIRE(s.request("PATCH", moved, json{{"name", "same"}}.dump()).status == 204);
    runs = check_pages(s);
    // Deleted runs leave every order.
    for (std::size_t i = 5; i < runs.size(); i += 41)
      REQUIRE(s.request("DELETE", "/api/flow_runs/" +
                                      runs[i].at("id").get<std::string>())
                  .status == 204);
    runs = check_pages(s);
    for (const auto& run : runs)
      kept.push_back(run.dump());
    REQUIRE(s.stop() == 0);
  }
  verify_then_replay(options.data_dir);
  deployd_process s(options);
  const auto runs = check_pages(s);
  CHECK(runs.size() == kept.size());
}

TEST_CASE("a page and its count are read from one snapshot while runs "
          "change state",
          "[integration][flow_runs][run_index]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  deployd_process s(options);
  fixture f(s, json{{"schedules",
                     {{{"schedule",
                        {{"interval", 3600},
                         {"anchor_date", "2030-01-01T00:00:00Z"}}}}}}});
  REQUIRE(s.post("/api/deployments/" + f.deployment_id + "/schedule",
                 json{{"start_time", "2030-01-01T00:00:00Z"},
                      {"min_runs", 330},
                      {"max_runs", 330}})
              .status == 200);
  auto listed = s.post("/api/flow_runs/filter", json{{"limit", 60}});
  REQUIRE(listed.status == 200);
  std::vector<std::string> flipped;
  for (const auto& run : listed.json_body())
    flipped.push_back(run.at("id").get<std::string>());
  REQUIRE(flipped.size() == 60);
  // 60 runs go PENDING and back to SCHEDULED while pages are read: 270 to
  // 330 SCHEDULED runs (more than 256: the rows are walked), so page 2 of
  // 200 holds exactly count - 200 of them when page and count agree.
  std::atomic<bool> done{false};
  std::atomic<int> flips{0};
  std::thread writer([&] {
    for (std::size_t i = 0; !done; ++i) {
      const auto& id = flipped[i % flipped.size()];
      const bool back = i / flipped.size() % 2 == 1;
      const json state =
          back ? json{{"type", "SCHEDULED"},
                      {"state_details",
                       {{"scheduled_time", "2030-01-01T00:00:00Z"}}}}
               : json{{"type", "PENDING"}};
      if (f.set_state(id, state, true).status == 201)
        ++flips;
    }
  });
  int mismatches = 0;
  int pages = 0;
  for (int i = 0; i < 400; ++i) {
    static const char* const sorts[] = {"NAME_ASC", "EXPECTED_START_TIME_DESC",
                                        "END_TIME_DESC", "ID_DESC"};
    auto r = s.post("/api/flow_runs/paginate",
                    json{{"flow_runs", {{"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}}},
                         {"sort", sorts[i % 4]},
                         {"limit", 200},
                         {"page", 2}});
    if (r.status != 200)
      break;
    const auto page = r.json_body();
    ++pages;
    if (static_cast<std::int64_t>(page.at("results").size()) !=
        page.at("count").get<std::int64_t>() - 200)
      ++mismatches;
  }
  done = true;
  writer.join();
  INFO(flips.load() << " state changes during " << pages << " pages");
  CHECK(pages == 400);
  CHECK(flips.load() > 0);
  CHECK(mismatches == 0);
}

TEST_CASE("a poll of several deployments merges their due runs at every "
          "limit, soonest first",
          "[integration][flow_runs][run_index]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  deployd_process s(options);
  // Hourly and every 90 minutes: due together every 3 hours (ties, broken
  // by the runs' name keys), 20 runs each; a third deployment with none.
  fixture f(s, json{{"schedules",
                     {{{"schedule",
                        {{"interval", 3600}, {"anchor_date", "2030-01-01T00:00:00Z"}}}}}}});
  std::vector<std::string> ids{f.deployment_id};
  for (const auto& [name, interval] :
       std::vector<std::pair<std::string, int>>{{"d2", 5400}, {"d3", 0}}) {
    json body{{"name", name}, {"flow_id", f.flow_id}, {"work_pool_name", "pool"}};
    if (interval)
      body["schedules"] = {{{"schedule",
                             {{"interval", interval},
                              {"anchor_date", "2030-01-01T00:00:00Z"}}}}};
    auto r = s.post("/api/deployments/", body);
    REQUIRE(r.status == 201);
    ids.push_back(r.json_body().at("id").get<std::string>());
  }
  for (const auto& id : ids)
    REQUIRE(s.post("/api/deployments/" + id + "/schedule",
                   json{{"start_time", "2030-01-01T00:00:00Z"},
                        {"min_runs", 20},
                        {"max_runs", 20}})
                .status == 200);
  auto poll = [&](const json& extra) {
    json body{{"deployment_ids", ids}};
    for (const auto& [k, v] : extra.items())
      body[k] = v;
    auto r = s.post("/api/deployments/get_scheduled_flow_runs", body);
    REQUIRE(r.status == 200);
    std::vector<std::string> out;
    for (const auto& run : r.json_body())
      out.push_back(run.at("id").get<std::string>() + " " +
                    run.at("next_scheduled_start_time").get<std::string>());
    return out;
  };
  const auto all = poll({{"limit", 200}});
  REQUIRE(all.size() == 40);
  for (std::size_t i = 1; i < all.size(); ++i)
    CHECK(all[i - 1].substr(37) <= all[i].substr(37));
  for (const int limit : {1, 7, 9, 17, 25, 39, 40, 41}) {
    INFO("limit " << limit);
    const auto page = poll({{"limit", limit}});
    CHECK(page == std::vector<std::string>(
                      all.begin(), all.begin() + std::min<int>(limit, 40)));
  }
  // Due by 10:30: 11 hourly runs (00:00-10:00) and 8 of the other (to 10:30).
  const auto due = poll({{"limit", 200}, {"scheduled_before", "2030-01-01T10:30:00Z"}});
  CHECK(due == std::vector<std::string>(all.begin(), all.begin() + 19));
  for (const int limit : {5, 18})
    CHECK(poll({{"limit", limit}, {"scheduled_before", "2030-01-01T10:30:00Z"}}) ==
          std::vector<std::string>(due.begin(), due.begin() + limit));
}

namespace {

// The feed's flow-run state events, oldest first.
json flow_run_events(const deployd_process& s) {
  return feed_events(s, "prefect.flow-run.");
}

} // namespace

TEST_CASE("each state a run gets through orchestration is a prefect.flow-run "
          "event with the state's id, and runs the scheduler inserts announce "
          "nothing (events-api §9.5)",
          "[integration][flow_runs][events]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  json before;
  {
    deployd_process s(options);
    fixture f(s, json{{"schedules",
                       {{{"schedule",
                          {{"interval", 3600},
                           {"anchor_date", "2026-11-28T00:00:00Z"}}}}}}});
    auto r = f.create(json{{"tags", {"manual", "prod"}}});
    REQUIRE(r.status == 201);
    const auto run_id = r.json_body().at("id").get<std::string>();
    json states = json::array({r.json_body().at("state")});
    for (const char* type : {"PENDING", "RUNNING", "COMPLETED"}) {
      if (std::string_view(type) == "COMPLETED") {
        // A proposal the rules turn down writes no state and announces
        // nothing: only Scheduled runs may be marked late.
        r = f.set_state(run_id, json{{"type", "SCHEDULED"}, {"name", "Late"}});
        REQUIRE(r.status == 200);
        REQUIRE(r.json_body().at("status") == "REJECT");
      }
      r = f.set_state(run_id, json{{"type", type}, {"message", "m"}});
      INFO(r.body);
      REQUIRE(r.status == 201);
      states.push_back(r.json_body().at("state"));
    }
    // Runs the scheduler inserts get their state directly: no event.
    REQUIRE(s.post("/api/deployments/" + f.deployment_id + "/schedule",
                   json::object())
                .status == 200);
    REQUIRE(s.post("/api/flow_runs/count", json::object()).json_body() > 1);

    const auto events = flow_run_events(s);
    REQUIRE(events.size() == 4);
    const std::vector<std::string> names = {"Scheduled", "Pending", "Running",
                                            "Completed"};
    for (std::size_t i = 0; i < 4; ++i) {
      const auto& e = events.at(i);
      const auto& state = states.at(i);
      INFO(e.dump());
      CHECK(e.at("event") == "prefect.flow-run." + names[i]);
      CHECK(e.at("id") == state.at("id"));
      CHECK(e.at("occurred") == state.at("timestamp"));
      CHECK(e.at("follows") ==
            (i == 0 ? json(nullptr) : states.at(i - 1).at("id")));
      const auto& resource = e.at("resource");
      CHECK(keys_of(resource) ==
            std::vector<std::string>{
                "prefect.resource.id", "prefect.resource.name",
                "prefect.run-count", "prefect.state-message",
                "prefect.state-name", "prefect.state-timestamp",
                "prefect.state-type"});
      CHECK(resource.at("prefect.resource.id") == "prefect.flow-run." + run_id);
      CHECK(resource.at("prefect.state-name") == names[i]);
      CHECK(resource.at("prefect.state-type") == state.at("type"));
      CHECK(resource.at("prefect.state-message") == (i == 0 ? "" : "m"));
      CHECK(resource.at("prefect.run-count") == (i < 2 ? "0" : "1"));
      const auto stamp = resource.at("prefect.state-timestamp").get<std::string>();
      CHECK(stamp.ends_with("+00:00"));
      CHECK(stamp.substr(0, 19) ==
            state.at("timestamp").get<std::string>().substr(0, 19));
      CHECK(e.at("payload").at("intended").at("to") == state.at("type"));
      CHECK(e.at("payload").at("intended").at("from") ==
            (i == 0 ? json(nullptr) : states.at(i - 1).at("type")));
    }
    CHECK(events.at(0).at("payload") ==
          json{{"intended", {{"from", nullptr}, {"to", "SCHEDULED"}}},
               {"initial_state", nullptr},
               {"validated_state", {{"type", "SCHEDULED"}, {"name", "Scheduled"}}}});
    CHECK(events.at(2).at("payload").at("initial_state") ==
          json{{"type", "PENDING"}, {"name", "Pending"}, {"message", "m"}});
    const auto& related = events.at(0).at("related");
    std::vector<std::string> ids, roles;
    for (const auto& rel : related) {
      ids.push_back(rel.at("prefect.resource.id").get<std::string>());
      roles.push_back(rel.at("prefect.resource.role").get<std::string>());
    }
    const auto run = s.get("/api/flow_runs/" + run_id).json_body();
    CHECK(ids == std::vector<std::string>{
                     "prefect.flow." + f.flow_id,
                     "prefect.deployment." + f.deployment_id,
                     "prefect.work-queue." +
                         run.at("work_queue_id").get<std::string>(),
                     "prefect.work-pool." +
                         run.at("work_pool_id").get<std::string>(),
                     "prefect.tag.manual", "prefect.tag.prod"});
    CHECK(roles == std::vector<std::string>{"flow", "deployment", "work-queue",
                                            "work-pool", "tag", "tag"});
    CHECK(keys_of(related.at(3)) ==
          std::vector<std::string>{"prefect.resource.id",
                                   "prefect.resource.role",
                                   "prefect.resource.name",
                                   "prefect.work-pool.type"});
    CHECK(related.at(3).at("prefect.work-pool.type") == "process");
    CHECK(related.at(0).at("prefect.resource.name") == "etl");
    before = events;
  }
  // The same events, ids and bytes after a replay.
  REQUIRE(run_tool({"replay", "--data-dir", options.data_dir}).status == 0);
  deployd_process s(options);
  CHECK(flow_run_events(s) == before);
}
