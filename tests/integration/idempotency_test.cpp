// Idempotent retries end to end (issue 16 item 5): a write with an
// Idempotency-Key answers its first response again (status and body) and
// appends nothing; the same key with another request is a 422; the key
// survives a restart and `replay`; concurrent requests with one key create
// one thing; keys past the retention are forgotten and swept.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

using namespace deployd::testing;

namespace {

using headers = std::map<std::string, std::string>;

std::uint64_t head(const deployd_process& s) {
  return std::stoull(s.get("/api/health").headers.at("x-deployd-position"));
}

http_reply keyed(const deployd_process& s, const std::string& method,
                 const std::string& target, const std::optional<std::string>& body,
                 const std::string& key) {
  return s.request(method, target, body, headers{{"Idempotency-Key", key}});
}

std::size_t count_in(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("a retried write with its Idempotency-Key answers the first "
          "response again, across a restart and a replay",
          "[integration][idempotency]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  const auto run_body = json{{"name", "first-run"}}.dump();
  http_reply first_run;
  std::string deployment_path;
  std::uint64_t position = 0;
  {
    deployd_process s(options);
    const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
    const auto flow_id = flow.json_body().at("id").get<std::string>();
    const auto d = s.post("/api/deployments/",
                          json{{"name", "nightly"}, {"flow_id", flow_id}});
    deployment_path = "/api/deployments/" + d.json_body().at("id").get<std::string>();

    // Creating a run is not idempotent by itself: each POST makes one.
    first_run = keyed(s, "POST", deployment_path + "/create_flow_run",
                      run_body, "run-1");
    REQUIRE(first_run.status == 201);
    CHECK(first_run.headers.count("idempotent-replayed") == 0);
    position = head(s);
    const auto again = keyed(s, "POST", deployment_path + "/create_flow_run",
                             run_body, "run-1");
    CHECK(again.status == 201);
    CHECK(again.body == first_run.body);
    CHECK(again.headers.at("idempotent-replayed") == "true");
    CHECK(head(s) == position); // nothing appended

    // The same key with another body, path or method: 422, nothing written.
    const auto other = keyed(s, "POST", deployment_path + "/create_flow_run",
                             json{{"name", "other-run"}}.dump(), "run-1");
    CHECK(other.status == 422);
    CHECK(other.json_body().at("detail").get<std::string>().find(
              "different request") != std::string::npos);
    CHECK(keyed(s, "PATCH", deployment_path, json{{"paused", true}}.dump(),
                "run-1")
              .status == 422);
    CHECK(head(s) == position);

    // A 204 is given again as a 204; a rejection is not recorded.
    const auto patched =
        keyed(s, "PATCH", deployment_path, json{{"description", "x"}}.dump(),
              "patch-1");
    CHECK(patched.status == 204);
    const auto at = head(s);
    const auto repatched =
        keyed(s, "PATCH", deployment_path, json{{"description", "x"}}.dump(),
              "patch-1");
    CHECK(repatched.status == 204);
    CHECK(repatched.headers.at("idempotent-replayed") == "true");
    CHECK(head(s) == at);
    const auto missing = keyed(
        s, "DELETE", "/api/deployments/00000000-0000-4000-8000-000000000000",
        std::nullopt, "gone-1");
    CHECK(missing.status == 404);
    CHECK(head(s) == at);

    // Malformed keys are a 400.
    CHECK(keyed(s, "POST", "/api/flows/", json{{"name", "x"}}.dump(), "")
              .status == 400);
    CHECK(keyed(s, "POST", "/api/flows/", json{{"name", "x"}}.dump(),
                std::string(256, 'k'))
              .status == 400);
  }
  auto count_runs = [&](const deployd_process& s) {
    return s.post("/api/flow_runs/count", json::object()).body;
  };
  {
    deployd_process s(options); // restart
    const auto again = keyed(s, "POST", deployment_path + "/create_flow_run",
                             run_body, "run-1");
    CHECK(again.status == 201);
    CHECK(again.body == first_run.body);
    CHECK(head(s) == position + 2); // the PATCH and its key only
    CHECK(count_runs(s) == "1");
  }
  REQUIRE(run_tool({"replay", "--data-dir", options.data_dir}).status == 0);
  REQUIRE(run_tool({"verify", "--data-dir", options.data_dir}).status == 0);
  {
    deployd_process s(options);
    const auto again = keyed(s, "POST", deployment_path + "/create_flow_run",
                             run_body, "run-1");
    CHECK(again.status == 201);
    CHECK(again.body == first_run.body);
    CHECK(count_runs(s) == "1");
  }
  // The keys are in the log, with the answers they stand for.
  const auto log = run_tool({"events", "--data-dir", options.data_dir});
  CHECK(count_in(log.out, "\"idempotency_key_created\"") == 2);
}

TEST_CASE("concurrent requests with one Idempotency-Key create one thing",
          "[integration][idempotency]") {
  deployd_process s;
  const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
  const auto flow_id = flow.json_body().at("id").get<std::string>();
  const auto d = s.post("/api/deployments/",
                        json{{"name", "nightly"}, {"flow_id", flow_id}});
  const auto path = "/api/deployments/" +
                    d.json_body().at("id").get<std::string>() +
                    "/create_flow_run";
  constexpr int clients = 8;
  std::vector<http_reply> replies(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      replies[static_cast<std::size_t>(i)] =
          keyed(s, "POST", path, "{}", "one-run");
    });
  for (auto& t : threads)
    t.join();
  int replayed = 0;
  for (const auto& r : replies) {
    CHECK(r.status == 201);
    CHECK(r.body == replies[0].body);
    replayed += r.headers.count("idempotent-replayed") ? 1 : 0;
  }
  CHECK(replayed == clients - 1);
  CHECK(s.post("/api/flow_runs/count", json::object()).body == "1");
  // Variables: without a key the second create is a 409; with one, 201 again.
  const auto var = json{{"name", "v"}, {"value", 1}}.dump();
  CHECK(keyed(s, "POST", "/api/variables/", var, "var-1").status == 201);
  CHECK(keyed(s, "POST", "/api/variables/", var, "var-1").status == 201);
  CHECK(s.request("POST", "/api/variables/", var).status == 409);
}

TEST_CASE("idempotency keys past their retention are swept, then forgotten",
          "[integration][idempotency]") {
  temp_dir dir;
  // Every reading of the clock advances it by one second: a key kept for 3
  // seconds is past its retention after a few sweeps (each reads the
  // clock), without sleeping through a real retention.
  auto options = with_config(dir, "[events]\n"
                                   "idempotency_retention_seconds = 3\n"
                                   "retention_sweep_seconds = 0.05\n");
  options.data_dir = (dir.path() / "data").string();
  options.clock = "step:2026-11-28T12:00:00Z:1000000";
  {
    deployd_process s(options);
    const auto first = keyed(s, "POST", "/api/variables/",
                             json{{"name", "a"}, {"value", 1}}.dump(), "k");
    REQUIRE(first.status == 201);
    const auto recorded = head(s);
    // The sweep appends the key's deletion on its own (bounded wait).
    for (int i = 0; i < 400 && head(s) == recorded; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(head(s) == recorded + 1);
    // Forgotten: the key now stands for a new request.
    const auto again = keyed(s, "POST", "/api/variables/",
                             json{{"name", "b"}, {"value", 2}}.dump(), "k");
    CHECK(again.status == 201);
    CHECK(again.headers.count("idempotent-replayed") == 0);
  }
  const auto log = run_tool({"events", "--data-dir", options.data_dir});
  CHECK(count_in(log.out, "\"idempotency_key_deleted\"") == 1);
  CHECK(count_in(log.out, "\"idempotency_key_created\"") == 2);
  REQUIRE(run_tool({"verify", "--data-dir", options.data_dir}).status == 0);
}

TEST_CASE("with the wall clock a key answers until its retention ends, "
          "before any sweep has removed it",
          "[integration][idempotency]") {
  temp_dir dir;
  // No sweep within the test: the expired key is still stored, so the
  // writer must judge the retention when the retry arrives.
  auto options = with_config(dir, "[events]\n"
                                   "idempotency_retention_seconds = 1\n"
                                   "retention_sweep_seconds = 3600\n");
  options.clock = "system";
  deployd_process s(options);
  const auto body = json{{"name", "v"}, {"value", 1}}.dump();
  const auto first = keyed(s, "POST", "/api/variables/", body, "k");
  REQUIRE(first.status == 201);
  const auto at = head(s);
  const auto again = keyed(s, "POST", "/api/variables/", body, "k");
  CHECK(again.status == 201);
  CHECK(again.body == first.body);
  CHECK(again.headers.at("idempotent-replayed") == "true");
  CHECK(again.headers.at("x-deployd-position") ==
        first.headers.at("x-deployd-position"));
  const auto other = keyed(s, "POST", "/api/variables/",
                           json{{"name", "w"}, {"value", 2}}.dump(), "k");
  CHECK(other.status == 422);
  CHECK(head(s) == at);
  // Past the retention the key stands for nothing: the same request is a
  // new one, and the variable exists (409), not a replay.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  const auto late = keyed(s, "POST", "/api/variables/", body, "k");
  CHECK(late.status == 409);
  CHECK(late.headers.count("idempotent-replayed") == 0);
  CHECK(head(s) == at);
}

namespace {

// The value of a metric line `name value` in Prometheus text; -1 if absent.
double metric(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(name + " ", 0) == 0)
      return std::stod(line.substr(name.size() + 1));
  return -1;
}

// What a client can see of an answer: status, body, and the headers the
// write path sets.
std::string seen(const http_reply& r) {
  std::string out = std::to_string(r.status) + "\n" + r.body;
  for (const char* h : {"idempotent-replayed", "x-deployd-position",
                        "content-type", "etag"})
    if (const auto it = r.headers.find(h); it != r.headers.end())
      out += std::string("\n") + h + ": " + it->second;
  return out;
}

} // namespace

TEST_CASE("with the system clock a retry is answered from memory, exactly "
          "as the writer answers it after a restart",
          "[integration][idempotency]") {
  temp_dir dir;
  auto options = with_config(dir, "[events]\nretention_sweep_seconds = 3600\n");
  options.data_dir = (dir.path() / "data").string();
  options.clock = "system";
  struct write {
    std::string method, target, body, key;
  };
  std::vector<write> writes;
  std::vector<std::string> from_memory;
  std::uint64_t at = 0;
  {
    deployd_process s(options);
    const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
    const auto flow_id = flow.json_body().at("id").get<std::string>();
    const auto d = s.post("/api/deployments/",
                          json{{"name", "nightly"}, {"flow_id", flow_id}});
    const auto path =
      "/api/deployments/" + d.json_body().at("id").get<std::string>();
    writes = {
      {"POST", "/api/deployments/",
       json{{"name", "keyed"}, {"flow_id", flow_id}}.dump(), "create"},
      {"POST", path + "/create_flow_run", "{}", "run"},
      {"PATCH", path, json{{"description", "x"}}.dump(), "patch"},
      {"POST", "/api/variables/", json{{"name", "v"}, {"value", 1}}.dump(),
       "variable"},
      {"POST", "/api/flows/?x=1", json{{"name", "other"}}.dump(), "query"},
    };
    for (const auto& w : writes) {
      const auto first = keyed(s, w.method, w.target, w.body, w.key);
      REQUIRE(first.status / 100 == 2);
      CHECK(first.headers.count("idempotent-replayed") == 0);
    }
    at = head(s);
    for (const auto& w : writes) {
      const auto again = keyed(s, w.method, w.target, w.body, w.key);
      CHECK(again.headers.at("idempotent-replayed") == "true");
      from_memory.push_back(seen(again));
    }
    const auto text = s.get("/metrics").body;
    CHECK(metric(text, "deployd_idempotency_cache_hits_total") ==
          static_cast<double>(writes.size()));
    CHECK(metric(text, "deployd_idempotency_cache_entries") ==
          static_cast<double>(writes.size()));
    // Another body, path or method under a kept key is the writer's 422,
    // not the kept answer.
    CHECK(keyed(s, "POST", "/api/variables/",
                json{{"name", "w"}, {"value", 2}}.dump(), "variable")
            .status == 422);
    CHECK(keyed(s, "POST", "/api/flows/", json{{"name", "other"}}.dump(),
                "query")
            .status == 422);
    CHECK(keyed(s, "PUT", path, json{{"description", "x"}}.dump(), "patch")
            .status != 200);
    CHECK(head(s) == at);
    CHECK(metric(s.get("/metrics").body,
                 "deployd_idempotency_cache_hits_total") ==
          static_cast<double>(writes.size()));
  }
  {
    // After a restart memory is empty: the writer answers from the log,
    // and that answer is the one memory gave.
    deployd_process s(options);
    for (std::size_t i = 0; i < writes.size(); ++i) {
      const auto& w = writes[i];
      CHECK(seen(keyed(s, w.method, w.target, w.body, w.key)) ==
            from_memory[i]);
    }
    CHECK(metric(s.get("/metrics").body,
                 "deployd_idempotency_cache_hits_total") == 0);
    // ... and kept again: the next retries come from memory.
    for (std::size_t i = 0; i < writes.size(); ++i) {
      const auto& w = writes[i];
      CHECK(seen(keyed(s, w.method, w.target, w.body, w.key)) ==
            from_memory[i]);
    }
    CHECK(metric(s.get("/metrics").body,
                 "deployd_idempotency_cache_hits_total") ==
          static_cast<double>(writes.size()));
    CHECK(head(s) == at);
  }
}
