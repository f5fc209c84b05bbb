// Workers end to end: the exact request sequences `flow.deploy()` and a
// Prefect 3.8 worker's start-up send (workers-automations.md §1.6), the
// status transitions heartbeats and the timed sweep drive, bad input, and
// `deployd verify` / `replay` over a log with workers in it.
#include "tests/integration/harness.hpp"
#include "events/time.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

using namespace deployd::testing;

namespace {

const std::map<std::string, std::string> client_headers = {
    {"User-Agent", "prefect/3.8.3 (API 0.8.4)"},
    {"X-PREFECT-API-VERSION", "0.8.4"},
    {"Content-Type", "application/json"}};

// A process worker's default base job template, cut down.
const json process_template = {
    {"job_configuration", {{"command", "{{ command }}"}, {"env", "{{ env }}"}}},
    {"variables",
     {{"type", "object"},
      {"properties",
       {{"command", {{"type", "string"}}},
        {"env", {{"type", "object"}, {"default", json::object()}}}}}}}};

const json online_filter = {{"workers", {{"status", {{"any_", {"ONLINE"}}}}}},
                            {"offset", nullptr},
                            {"limit", nullptr}};

http_reply send(const deployd_process& server, const std::string& method,
                const std::string& target,
                const std::optional<json>& body = std::nullopt) {
  return server.request(method, target,
                        body ? std::optional<std::string>(body->dump())
                             : std::nullopt,
                        client_headers);
}

// What `flow.deploy(name=deployment, work_pool_name=pool)` sends once the
// client is up, answer by answer: it must not fail on the worker filter.
json flow_deploy(const deployd_process& server, const std::string& pool,
                 const std::string& flow, const std::string& deployment) {
  auto r = send(server, "GET", "/api/work_pools/" + pool);
  REQUIRE(r.status == 200);
  r = send(server, "POST", "/api/work_pools/" + pool + "/workers/filter",
           online_filter);
  INFO(r.body);
  REQUIRE(r.status == 200);
  const auto workers = r.json_body();
  REQUIRE(workers.is_array());
  r = send(server, "GET", "/api/deployments/name/" + flow + "/" + deployment);
  const bool exists = r.status == 200;
  if (!exists)
    CHECK(r.status == 404);
  r = send(server, "POST", "/api/flows/", json{{"name", flow}});
  REQUIRE((r.status == 201 || r.status == 200));
  const auto flow_id = r.json_body().at("id").get<std::string>();
  r = send(server, "POST", "/api/deployments/",
           json{{"name", deployment},
                {"flow_id", flow_id},
                {"schedules", json::array()},
                {"concurrency_limit", nullptr},
                {"concurrency_options", nullptr},
                {"enforce_parameter_schema", true},
                {"parameter_openapi_schema",
                 {{"title", "Parameters"},
                  {"type", "object"},
                  {"properties", json::object()}}},
                {"parameters", json::object()},
                {"tags", json::array()},
                {"labels", json::object()},
                {"work_queue_name", nullptr},
                {"work_pool_name", pool},
                {"storage_document_id", nullptr},
                {"infrastructure_document_id", nullptr},
                {"description", "None"},
                {"path", nullptr},
                {"entrypoint", "flows/etl.py:etl"},
                {"job_variables", json::object()},
                {"pull_steps",
                 {{{"prefect.deployments.steps.git_clone",
                    {{"repository", "https://example.invalid/etl.git"}}}}}},
                {"paused", false},
                {"version", nullptr}});
  INFO(r.body);
  REQUIRE(r.status == (exists ? 200 : 201));
  const auto created = r.json_body();
  CHECK(created.at("work_pool_name") == pool);
  CHECK(created.at("work_queue_name") == "default");
  // Triggers: the deployment's owned automations are deleted (202), then
  // its triggers, if any, created (tests/integration/automations_test.cpp).
  r = send(server, "DELETE",
           "/api/automations/owned-by/prefect.deployment." +
               created.at("id").get<std::string>());
  CHECK(r.status == 202);
  return workers;
}

// Polls `done` until it holds (the sweep runs on a timer), for at most 10 s.
bool eventually(const std::function<bool()>& done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool pool_reaches(const deployd_process& server, const std::string& pool,
                  const std::string& status) {
  return eventually([&] {
    return server.get("/api/work_pools/" + pool).json_body().at("status") ==
           status;
  });
}

const std::vector<std::string> response_keys = {"id",
                                                "created",
                                                "updated",
                                                "name",
                                                "work_pool_id",
                                                "last_heartbeat_time",
                                                "heartbeat_interval_seconds",
                                                "status"};

std::vector<std::string> keys_of(const json& object) {
  std::vector<std::string> out;
  for (const auto& [key, value] : object.items())
    out.push_back(key);
  return out;
}

} // namespace

TEST_CASE("flow.deploy() and a worker's start-up get the answers a 3.8 client "
          "expects",
          "[integration][workers]") {
  deployd_process server;
  // The client's start-up requests.
  CHECK(send(server, "GET", "/api/hello").status == 200);
  CHECK(send(server, "GET",
             "/api/csrf-token?client=bdcca4b2-55ea-40f1-a847-686e461a2696")
            .status == 422);

  // `prefect work-pool create my-pool --type process`, then flow.deploy():
  // no worker yet, so the filter answers [] (the client prints the hint).
  auto r = send(server, "POST", "/api/work_pools/",
                json{{"name", "my-pool"},
                     {"type", "process"},
                     {"base_job_template", process_template}});
  REQUIRE(r.status == 201);
  CHECK(r.json_body().at("status") == "NOT_READY");
  CHECK(flow_deploy(server, "my-pool", "etl", "nightly") == json::array());

  // `prefect worker start --pool auto-pool` (type process, pool missing).
  const std::string worker =
      "ProcessWorker 5f0e8a2c-1b7d-4e9a-a3c6-2d8f4b1e7c90";
  CHECK(send(server, "GET", "/api/work_pools/auto-pool").status == 404);
  // 1. The worker channel: a 404 to the upgrade makes the worker use REST
  //    for good (a 5xx would make it retry forever).
  r = server.request("GET", "/api/work_pools/auto-pool/workers/connect",
                     std::nullopt,
                     {{"Connection", "Upgrade"},
                      {"Upgrade", "websocket"},
                      {"Sec-WebSocket-Version", "13"},
                      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                      {"Sec-WebSocket-Protocol", "prefect"},
                      {"User-Agent", "prefect/3.8.3 (API 0.8.4)"}});
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Not Found"}});
  // 2. The pool: missing, so the worker creates it.
  CHECK(send(server, "GET", "/api/work_pools/auto-pool").status == 404);
  r = send(server, "POST", "/api/work_pools/",
           json{{"name", "auto-pool"},
                {"type", "process"},
                {"base_job_template", process_template}});
  REQUIRE(r.status == 201);
  const auto pool_id = r.json_body().at("id").get<std::string>();
  CHECK(r.json_body().at("status") == "NOT_READY");
  // 3. The heartbeat: 204, empty; the pool becomes READY.
  r = send(server, "POST", "/api/work_pools/auto-pool/workers/heartbeat",
           json{{"name", worker}, {"heartbeat_interval_seconds", 30}});
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(send(server, "GET", "/api/work_pools/auto-pool")
            .json_body()
            .at("status") == "READY");
  // The next sync (every heartbeat interval): pool read, heartbeat again.
  CHECK(send(server, "GET", "/api/work_pools/auto-pool").status == 200);
  r = send(server, "POST", "/api/work_pools/auto-pool/workers/heartbeat",
           json{{"name", worker}, {"heartbeat_interval_seconds", 30.0}});
  CHECK(r.status == 204);
  // The poll loop: an empty list of queue names means every queue; no runs.
  r = send(server, "POST", "/api/work_pools/auto-pool/get_scheduled_flow_runs",
           json{{"work_queue_names", json::array()},
                {"scheduled_before", "2026-11-28 12:00:10+00:00"}});
  CHECK(r.status == 200);
  CHECK(r.json_body() == json::array());

  // flow.deploy() to that pool now sees the worker, in WorkerResponse form.
  const auto workers = flow_deploy(server, "auto-pool", "etl", "hourly");
  REQUIRE(workers.size() == 1);
  const auto& w = workers.at(0);
  CHECK(keys_of(w) == response_keys);
  CHECK(w.at("name") == worker);
  CHECK(w.at("work_pool_id") == pool_id);
  CHECK(w.at("status") == "ONLINE");
  CHECK(w.at("heartbeat_interval_seconds") == 30);
  // `updated` stays at the first heartbeat; the heartbeat time moved on.
  CHECK(w.at("updated") == w.at("created"));
  CHECK(w.at("last_heartbeat_time") != w.at("created"));
  // `prefect deploy` asks the same after applying: same answer.
  CHECK(send(server, "POST", "/api/work_pools/auto-pool/workers/filter",
             online_filter)
            .json_body() == workers);
}

TEST_CASE("the worker filter orders by heartbeat, pages, and filters on the "
          "stored status",
          "[integration][workers]") {
  deployd_process server;
  REQUIRE(
      server.post("/api/work_pools/", json{{"name", "p"}, {"type", "process"}})
          .status == 201);
  for (const auto* name : {"a", "b", "c", "a"})
    REQUIRE(
        server.post("/api/work_pools/p/workers/heartbeat", json{{"name", name}})
            .status == 204);
  auto r = server.post("/api/work_pools/p/workers/filter", json::object());
  REQUIRE(r.status == 200);
  auto list = r.json_body();
  REQUIRE(list.size() == 3);
  CHECK(list[0].at("name") == "a");
  CHECK(list[1].at("name") == "c");
  CHECK(list[2].at("name") == "b");
  // No body at all is fine too.
  CHECK(
      server.request("POST", "/api/work_pools/p/workers/filter").json_body() ==
      list);
  CHECK(server.post("/api/work_pools/p/workers/filter", json{{"limit", 1}})
            .json_body() == json::array({list[0]}));
  CHECK(server
            .post("/api/work_pools/p/workers/filter",
                  json{{"limit", 1}, {"offset", 2}})
            .json_body() == json::array({list[2]}));
  // Heartbeat bounds are inclusive.
  CHECK(server
            .post("/api/work_pools/p/workers/filter",
                  json{{"workers",
                        {{"last_heartbeat_time",
                          {{"before_", list[1].at("last_heartbeat_time")}}}}}})
            .json_body() == json::array({list[1], list[2]}));
  CHECK(server
            .post("/api/work_pools/p/workers/filter",
                  json{{"workers", {{"status", {{"any_", {"OFFLINE"}}}}}}})
            .json_body() == json::array());
  CHECK(server
            .post("/api/work_pools/p/workers/filter",
                  json{{"workers", {{"status", {{"any_", json::array()}}}}}})
            .json_body() == json::array());
  // A name with a space, percent-encoded in the path.
  REQUIRE(server
              .post("/api/work_pools/p/workers/heartbeat",
                    json{{"name", "ProcessWorker 1"}})
              .status == 204);
  CHECK(server.request("DELETE", "/api/work_pools/p/workers/ProcessWorker%201")
            .status == 204);
  CHECK(server.post("/api/work_pools/p/workers/filter", json::object())
            .json_body()
            .size() == 3);
}

TEST_CASE("bad worker requests get the reference's errors and store nothing",
          "[integration][workers]") {
  deployd_process server;
  REQUIRE(
      server.post("/api/work_pools/", json{{"name", "p"}, {"type", "process"}})
          .status == 201);
  const auto missing_name = [](const json& echo) {
    return json{{"exception_message", "Invalid request received."},
                {"exception_detail",
                 {{{"type", "missing"},
                   {"loc", {"body", "name"}},
                   {"msg", "Field required"},
                   {"input", nullptr}}}},
                {"request_body", echo}};
  };
  auto r = server.post("/api/work_pools/p/workers/heartbeat", json::object());
  CHECK(r.status == 422);
  CHECK(r.json_body() == missing_name(json::object()));
  r = server.post("/api/work_pools/p/workers/heartbeat",
                  json{{"name", nullptr}});
  CHECK(r.json_body() == missing_name(json{{"name", nullptr}}));
  r = server.request("POST", "/api/work_pools/p/workers/heartbeat");
  CHECK(r.status == 422);
  CHECK(r.json_body() == missing_name(nullptr));
  r = server.post("/api/work_pools/p/workers/heartbeat",
                  json{{"name", "w"}, {"heartbeat_interval_seconds", 30.5}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail").at(0).at("type") ==
        "int_from_float");
  CHECK(r.json_body().at("exception_detail").at(0).at("loc") ==
        json{"body", "heartbeat_interval_seconds"});
  // Validation comes before the pool lookup (422, not 404).
  CHECK(server.post("/api/work_pools/nope/workers/heartbeat", json::object())
            .status == 422);
  r = server.post("/api/work_pools/nope/workers/heartbeat",
                  json{{"name", "w"}});
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Work pool \"nope\" not found."}});

  r = server.post("/api/work_pools/nope/workers/filter", json::object());
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Work pool \"nope\" not found."}});
  r = server.post("/api/work_pools/p/workers/filter", json{{"limit", 201}});
  CHECK(r.status == 422);
  CHECK(r.json_body() ==
        json{{"detail", "Invalid limit: must be less than or equal to 200."}});
  r = server.post("/api/work_pools/p/workers/filter", json{{"offset", -1}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail").at(0).at("loc") ==
        json{"body", "offset"});
  r = server.post("/api/work_pools/p/workers/filter",
                  json{{"workers", {{"name", {{"any_", {"w"}}}}}}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail").at(0).at("type") ==
        "extra_forbidden");
  r = server.post("/api/work_pools/p/workers/filter",
                  json{{"workers", {{"status", {{"any_", {"BUSY"}}}}}}});
  CHECK(r.status == 422);

  r = server.request("DELETE", "/api/work_pools/p/workers/ghost");
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Worker not found."}});
  r = server.request("DELETE", "/api/work_pools/nope/workers/ghost");
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Work pool \"nope\" not found."}});

  // Nothing was stored: no worker, and the pool is still NOT_READY.
  CHECK(server.post("/api/work_pools/p/workers/filter", json::object())
            .json_body() == json::array());
  CHECK(server.get("/api/work_pools/p").json_body().at("status") ==
        "NOT_READY");
  // A lax integer is accepted: "30" is 30.
  REQUIRE(server
              .post("/api/work_pools/p/workers/heartbeat",
                    json{{"name", "w"}, {"heartbeat_interval_seconds", "30"}})
              .status == 204);
  CHECK(server.post("/api/work_pools/p/workers/filter", json::object())
            .json_body()
            .at(0)
            .at("heartbeat_interval_seconds") == 30);
}

TEST_CASE("the timed sweep marks workers OFFLINE and pools NOT_READY, and "
          "verify and replay reproduce it",
          "[integration][workers]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  options.extra_args = {"--foreman-loop-seconds", "0.02"};
  json before;
  {
    deployd_process server(options);
    for (const auto* pool : {"fast", "slow", "paused"})
      REQUIRE(server
                  .post("/api/work_pools/",
                        json{{"name", pool}, {"type", "process"}})
                  .status == 201);
    // Interval 0: stale as soon as the (stepping) clock moves on.
    REQUIRE(server
                .post("/api/work_pools/fast/workers/heartbeat",
                      json{{"name", "w"}, {"heartbeat_interval_seconds", 0}})
                .status == 204);
    REQUIRE(server
                .post("/api/work_pools/slow/workers/heartbeat",
                      json{{"name", "w"}, {"heartbeat_interval_seconds", 30}})
                .status == 204);
    REQUIRE(server
                .post("/api/work_pools/paused/workers/heartbeat",
                      json{{"name", "w"}, {"heartbeat_interval_seconds", 0}})
                .status == 204);
    REQUIRE(server
                .request("PATCH", "/api/work_pools/paused",
                         json{{"is_paused", true}}.dump())
                .status == 204);
    // Only the sweep can take a pool from READY to NOT_READY.
    CHECK(pool_reaches(server, "fast", "NOT_READY"));
    const auto fast =
        server.post("/api/work_pools/fast/workers/filter", json::object())
            .json_body();
    CHECK(fast.at(0).at("status") == "OFFLINE");
    CHECK(fast.at(0).at("updated") != fast.at(0).at("created"));
    CHECK(server.get("/api/work_pools/slow").json_body().at("status") ==
          "READY");
    CHECK(server.get("/api/work_pools/paused").json_body().at("status") ==
          "PAUSED");
    // Unpausing with only an OFFLINE worker: NOT_READY.
    REQUIRE(eventually([&] {
      return server
                 .post("/api/work_pools/paused/workers/filter",
                       json{{"workers", {{"status", {{"any_", {"OFFLINE"}}}}}}})
                 .json_body()
                 .size() == 1;
    }));
    REQUIRE(server
                .request("PATCH", "/api/work_pools/paused",
                         json{{"is_paused", false}}.dump())
                .status == 204);
    CHECK(server.get("/api/work_pools/paused").json_body().at("status") ==
          "NOT_READY");
    REQUIRE(
        server
            .post("/api/work_pools/fast/workers/heartbeat", json{{"name", "w"}})
            .status == 204);
    // The heartbeat stored ONLINE (a sweep may already have taken it back:
    // the log below shows both), at a new time; a null interval kept 0.
    const auto again =
        server.post("/api/work_pools/fast/workers/filter", json::object())
            .json_body();
    CHECK(again.at(0).at("last_heartbeat_time") !=
          fast.at(0).at("last_heartbeat_time"));
    CHECK(again.at(0).at("heartbeat_interval_seconds") == 0);
    CHECK(pool_reaches(server, "fast", "NOT_READY"));
    // Deleting a pool deletes its workers.
    REQUIRE(server.request("DELETE", "/api/work_pools/slow").status == 204);
    before = server.post("/api/work_pools/fast/workers/filter", json::object())
                 .json_body();
    REQUIRE(server.stop() == 0);
  }
  check_verified(options.data_dir);
  const auto events = run_tool({"events", "--data-dir", options.data_dir});
  // OFFLINE twice for "fast" (before and after its second heartbeat), once
  // for "paused": the sweep only marks ONLINE workers.
  std::size_t offline = 0;
  for (auto at = events.out.find("\"worker_marked_offline\"");
       at != std::string::npos;
       at = events.out.find("\"worker_marked_offline\"", at + 1))
    ++offline;
  CHECK(offline == 3);
  CHECK(events.out.find("\"worker_deleted\"") != std::string::npos);
  REQUIRE(run_tool({"replay", "--data-dir", options.data_dir}).status == 0);
  options.extra_args.clear();
  deployd_process server(options);
  CHECK(server.post("/api/work_pools/fast/workers/filter", json::object())
            .json_body() == before);
}

TEST_CASE("the foreman marks deployments and queues NOT_READY once their "
          "polls are older than the timeouts, a queue polled since holding "
          "its deployments, with the reference's events",
          "[integration][workers][foreman]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  options.clock.clear(); // the timeouts are real seconds
  options.extra_args = {"--foreman-loop-seconds", "0.05"};
  constexpr std::int64_t timeout_micros = 3'000'000;
  options.extra_env = {
      {"PREFECT_SERVER_SERVICES_FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS",
       "3"},
      {"PREFECT_SERVER_SERVICES_FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS",
       "3"}};
  const json status_events = {
      {"filter",
       {{"event", {{"prefix", {"prefect.deployment.", "prefect.work-queue."}}}}}},
      {"limit", 50}};
  std::string a;
  std::string b;
  json events_before;
  {
    deployd_process s(options);
    REQUIRE(s.post("/api/work_pools/", json{{"name", "p"}, {"type", "process"}})
                .status == 201);
    REQUIRE(s.post("/api/work_pools/p/queues", json{{"name", "other"}})
                .status == 201);
    const std::string flow =
        s.post("/api/flows/", json{{"name", "f"}}).json_body().at("id");
    a = s.post("/api/deployments/", json{{"name", "a"},
                                         {"flow_id", flow},
                                         {"work_pool_name", "p"}})
            .json_body()
            .at("id");
    b = s.post("/api/deployments/", json{{"name", "b"}, {"flow_id", flow}})
            .json_body()
            .at("id");
    auto deployment = [&](const std::string& id) {
      return s.get("/api/deployments/" + id).json_body();
    };
    auto queue = [&](const std::string& name) {
      return s.get("/api/work_pools/p/queues/" + name).json_body();
    };
    // The pool's poll makes its queue and the deployment on it READY; the
    // runner's poll makes b READY.
    REQUIRE(s.post("/api/work_pools/p/get_scheduled_flow_runs",
                   json{{"work_queue_names", {"default"}}})
                .status == 200);
    REQUIRE(s.post("/api/deployments/get_scheduled_flow_runs",
                   json{{"deployment_ids", {b}}})
                .status == 200);
    REQUIRE(eventually([&] {
      return deployment(a).at("status") == "READY" &&
             deployment(b).at("status") == "READY" &&
             queue("default").at("status") == "READY";
    }));
    // a moves to the other queue and "default" is polled alone (more than
    // a second later: polls within a second are coalesced), then a comes
    // back: its queue was polled after it.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    REQUIRE(s.request("PATCH", "/api/deployments/" + a,
                      json{{"work_pool_name", "p"},
                           {"work_queue_name", "other"}}.dump())
                .status == 204);
    const auto a_polled = deployment(a).at("last_polled");
    REQUIRE(s.post("/api/work_pools/p/get_scheduled_flow_runs",
                   json{{"work_queue_names", {"default"}}})
                .status == 200);
    REQUIRE(eventually(
        [&] { return queue("default").at("last_polled") != a_polled; }));
    REQUIRE(s.request("PATCH", "/api/deployments/" + a,
                      json{{"work_pool_name", "p"},
                           {"work_queue_name", "default"}}.dump())
                .status == 204);
    CHECK(deployment(a).at("last_polled") == a_polled);
    CHECK(deployment(a).at("status") == "READY");
    // Both go, b first; then the queue.
    REQUIRE(eventually([&] {
      return deployment(a).at("status") == "NOT_READY" &&
             queue("default").at("status") == "NOT_READY";
    }));
    CHECK(deployment(b).at("status") == "NOT_READY");
    CHECK(queue("other").at("status") == "NOT_READY"); // never polled
    CHECK(queue("other").at("last_polled").is_null());

    const auto feed = s.post("/api/events/filter", status_events)
                          .json_body()
                          .at("events");
    std::map<std::string, std::vector<json>> by_key;
    for (const auto& e : feed) {
      const std::string name = e.at("event");
      if (name.ends_with("ready"))
        by_key[name + " " +
               e.at("resource").at("prefect.resource.name").get<std::string>()]
            .push_back(e);
    }
    REQUIRE(by_key["prefect.deployment.ready a"].size() == 1);
    REQUIRE(by_key["prefect.deployment.ready b"].size() == 1);
    REQUIRE(by_key["prefect.deployment.not-ready a"].size() == 1);
    REQUIRE(by_key["prefect.deployment.not-ready b"].size() == 1);
    REQUIRE(by_key["prefect.work-queue.ready default"].size() == 1);
    REQUIRE(by_key["prefect.work-queue.not-ready default"].size() == 1);
    CHECK(by_key["prefect.work-queue.not-ready other"].empty());
    auto micros_of = [](const json& t) {
      return deployd::events::parse_timestamp(t.get<std::string>())->micros;
    };
    const auto not_ready_a = by_key["prefect.deployment.not-ready a"][0];
    const auto when_a = micros_of(not_ready_a.at("occurred"));
    const auto when_b =
        micros_of(by_key["prefect.deployment.not-ready b"][0].at("occurred"));
    const auto queue_polled = micros_of(queue("default").at("last_polled"));
    // a waited for its queue's poll to age too, b did not wait for a.
    CHECK(when_a - micros_of(a_polled) >= timeout_micros);
    CHECK(when_a - queue_polled >= timeout_micros);
    CHECK(when_b < when_a);
    CHECK(micros_of(by_key["prefect.work-queue.not-ready default"][0].at(
              "occurred")) -
              queue_polled >=
          timeout_micros);
    // The event's shape (deployments-api.md §14, events-api.md).
    CHECK(not_ready_a.at("resource") ==
          json{{"prefect.resource.id", "prefect.deployment." + a},
               {"prefect.resource.name", "a"}});
    const auto related = not_ready_a.at("related");
    REQUIRE(related.size() == 3);
    CHECK(related[0].at("prefect.resource.role") == "flow");
    CHECK(related[1].at("prefect.resource.role") == "work-queue");
    CHECK(related[1].at("prefect.resource.name") == "default");
    CHECK(related[2].at("prefect.resource.role") == "work-pool");
    CHECK(not_ready_a.at("payload") == json::object());
    const auto queue_event = by_key["prefect.work-queue.not-ready default"][0];
    CHECK(queue_event.at("related").at(0).at("prefect.resource.role") ==
          "work-pool");

    // A poll after NOT_READY is announced again; repeated polls of a READY
    // deployment are not.
    for (int i = 0; i < 3; ++i)
      REQUIRE(s.post("/api/deployments/get_scheduled_flow_runs",
                     json{{"deployment_ids", {b}}})
                  .status == 200);
    REQUIRE(eventually([&] { return deployment(b).at("status") == "READY"; }));
    events_before = s.post("/api/events/filter", status_events)
                        .json_body()
                        .at("events");
    std::size_t ready_b = 0;
    for (const auto& e : events_before)
      ready_b += e.at("event") == "prefect.deployment.ready" &&
                 e.at("resource").at("prefect.resource.name") == "b";
    CHECK(ready_b == 2);
    REQUIRE(s.stop() == 0);
  }
  verify_then_replay(options.data_dir);
  options.extra_args = {"--foreman-loop-seconds", "3600"};
  deployd_process s(options);
  CHECK(s.get("/api/deployments/" + a).json_body().at("status") ==
        "NOT_READY");
  CHECK(s.post("/api/events/filter", status_events)
            .json_body()
            .at("events") == events_before);
}
