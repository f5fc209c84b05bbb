// The log is the truth: replay and verify rebuild the same read model from
// a log of thousands of mixed events, and `deployd events` prints it.
#include "storage/event_log.hpp"
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>
#include <sstream>

using namespace deployd::testing;

namespace {

// Server options whose data directory is `data` inside `dir`.
process_options data_dir_in(const temp_dir& dir) {
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  return options;
}

} // namespace

TEST_CASE("replay and verify reproduce the live read model after a mixed "
          "workload",
          "[integration][log]") {
  temp_dir dir;
  auto options = data_dir_in(dir);
  std::map<std::string, std::string> bodies; // deployment id -> last body
  {
    deployd_process server(options);
    std::vector<std::string> flows;
    for (int f = 0; f < 10; ++f) {
      const auto r =
          server.post("/api/flows/", json{{"name", "flow-" + std::to_string(f)},
                                          {"labels", {{"n", f}}}});
      REQUIRE(r.status == 201);
      flows.push_back(r.json_body().at("id").get<std::string>());
    }
    // 1,200 requests: creates, upserts that change fields, schedules and
    // concurrency limits that are created, resized and deleted.
    for (int i = 0; i < 1200; ++i) {
      json body = {{"name", "dep-" + std::to_string(i % 400)},
                   {"flow_id", flows[static_cast<std::size_t>(i % 10)]},
                   {"tags", {"t" + std::to_string(i % 7)}},
                   {"parameters", {{"i", i}}},
                   {"description", "round " + std::to_string(i / 400)}};
      if (i % 3 == 0)
        body["concurrency_limit"] = 1 + i % 5;
      if (i % 5 == 0)
        body["concurrency_limit"] = nullptr;
      if (i % 4 == 0)
        body["schedules"] = json::array(
            {{{"schedule", {{"interval", 60 + i}}}, {"slug", "s"}},
             {{"schedule", {{"cron", "0 9 * * 1-5"}}}, {"active", false}}});
      const auto r = server.post("/api/deployments/", body);
      REQUIRE((r.status == 201 || r.status == 200));
      bodies[r.json_body().at("id").get<std::string>()] = r.body;
    }
    // Patches (fields, schedules, limits), pauses, resumes and deletes.
    int n = 0;
    for (const auto& [id, body] : bodies) {
      const std::string path = "/api/deployments/" + id;
      switch (n++ % 6) {
      case 0:
        server.request("PATCH", path,
                       json{{"description", "patched"},
                            {"tags", {"p" + std::to_string(n % 3)}}}
                           .dump());
        break;
      case 1:
        server.request("POST", path + "/pause_deployment");
        break;
      case 2:
        server.request("PATCH", path,
                       json{{"concurrency_limit", 1 + n % 4},
                            {"schedules", {{{"schedule", {{"interval", n}}}}}}}
                           .dump());
        break;
      case 3:
        server.request("DELETE", path);
        break;
      case 4:
        server.request("POST", path + "/resume_deployment");
        break;
      default:
        break;
      }
    }
    const auto deleted = server.post(
        "/api/deployments/bulk_delete",
        json{{"deployments", {{"tags", {{"any_", {"t3"}}}}}}, {"limit", 20}});
    REQUIRE(deleted.status == 200);
    // Keep what is still there, as served now.
    for (auto it = bodies.begin(); it != bodies.end();) {
      const auto r = server.get("/api/deployments/" + it->first);
      if (r.status == 404) {
        it = bodies.erase(it);
      } else {
        it->second = r.body;
        ++it;
      }
    }
    CHECK(server.request("DELETE", "/api/flows/" + flows[9]).status == 204);
    for (auto it = bodies.begin(); it != bodies.end();)
      it = server.get("/api/deployments/" + it->first).status == 404
               ? bodies.erase(it)
               : std::next(it);
    CHECK(server.stop() == 0);
  }
  REQUIRE(bodies.size() > 200);

  check_verified(options.data_dir);

  const auto replayed = run_tool({"replay", "--data-dir", options.data_dir});
  INFO(replayed.out);
  REQUIRE(replayed.status == 0);

  deployd_process server(options);
  for (const auto& [id, body] : bodies)
    REQUIRE(server.get("/api/deployments/" + id).body == body);
}

TEST_CASE("deployd events prints each record with its envelope",
          "[integration][log]") {
  temp_dir dir;
  auto options = data_dir_in(dir);
  std::string deployment_id;
  {
    deployd_process server(options);
    const auto flow = server.post("/api/flows/", json{{"name", "f"}});
    const auto flow_id = flow.json_body().at("id").get<std::string>();
    const auto d = server.post("/api/deployments/",
                               json{{"name", "d"}, {"flow_id", flow_id}});
    deployment_id = d.json_body().at("id").get<std::string>();
    server.post(
        "/api/deployments/",
        json{{"name", "d"}, {"flow_id", flow_id}, {"description", "changed"}});
  }
  const auto all = run_tool({"events", "--data-dir", options.data_dir});
  REQUIRE(all.status == 0);
  std::istringstream lines(all.out);
  std::vector<json> records;
  for (std::string line; std::getline(lines, line);)
    records.push_back(json::parse(line));
  REQUIRE(records.size() == 3);
  CHECK(records[0].at("event") == "flow_created");
  CHECK(records[1].at("event") == "deployment_created");
  CHECK(records[2].at("event") == "deployment_updated");
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(records[i].at("position") == i + 1);
    CHECK(records[i].at("schema_version") == 1);
    CHECK(records[i].contains("command_id"));
    CHECK(records[i].contains("recorded_at"));
  }
  CHECK(records[2].at("version") == 2);
  CHECK(records[2].at("payload").at("changes").at("description") ==
        json{{"from", nullptr}, {"to", "changed"}});

  const auto stream = run_tool({"events", "--data-dir", options.data_dir,
                                "--stream", "deployment/" + deployment_id});
  CHECK(std::count(stream.out.begin(), stream.out.end(), '\n') == 2);
  const auto from =
      run_tool({"events", "--data-dir", options.data_dir, "--from", "3"});
  CHECK(std::count(from.out.begin(), from.out.end(), '\n') == 1);
}

TEST_CASE("verify and replay hold for pools, queues, limits and blocks",
          "[integration][log]") {
  temp_dir dir;
  auto options = data_dir_in(dir);
  std::map<std::string, std::string> bodies;
  {
    deployd_process server(options);
    const std::string flow =
        server.post("/api/flows/", json{{"name", "f"}}).json_body().at("id");
    for (int p = 0; p < 3; ++p)
      REQUIRE(server
                  .post("/api/work_pools/",
                        json{{"name", "pool-" + std::to_string(p)},
                             {"type", "process"}})
                  .status == 201);
    const auto limit = server.post("/api/v2/concurrency_limits/",
                                   json{{"name", "shared"}, {"limit", 3}});
    REQUIRE(limit.status == 201);
    const auto type = server
                          .post("/api/block_types/",
                                json{{"name", "Store"}, {"slug", "store"}})
                          .json_body();
    const auto schema =
        server
            .post("/api/block_schemas/", json{{"fields", {{"type", "object"}}},
                                              {"block_type_id", type.at("id")}})
            .json_body();
    const auto doc = server
                         .post("/api/block_documents/",
                               json{{"name", "doc"},
                                    {"data", json::object()},
                                    {"block_schema_id", schema.at("id")},
                                    {"block_type_id", type.at("id")}})
                         .json_body();
    for (int i = 0; i < 120; ++i) {
      json body = {{"name", "d" + std::to_string(i % 40)}, {"flow_id", flow}};
      if (i % 3 == 0)
        body["work_pool_name"] = "pool-" + std::to_string(i % 3);
      if (i % 4 == 0)
        body["work_queue_name"] = "q" + std::to_string(i % 5);
      if (i % 7 == 0)
        body["global_concurrency_limit_id"] = limit.json_body().at("id");
      if (i == 13)
        body["storage_document_id"] = doc.at("id");
      const auto r = server.post("/api/deployments/", body);
      REQUIRE((r.status == 201 || r.status == 200));
    }
    server.post("/api/work_pools/pool-1/queues",
                json{{"name", "extra"}, {"priority", 1}});
    server.request("PATCH", "/api/v2/concurrency_limits/shared",
                   R"({"limit": 7})");
    server.request("PATCH", "/api/work_pools/pool-2", R"({"is_paused": true})");
    server.request("DELETE", "/api/work_pools/pool-0");
    server.request("DELETE",
                   "/api/block_documents/" + doc.at("id").get<std::string>());
    server.request("DELETE", "/api/v2/concurrency_limits/shared");
    // A second type: a document of it updated, then the type deleted with
    // its schema, document and the deployment that used it.
    const auto type2 = server
                         .post("/api/block_types/",
                               json{{"name", "Store Two"}, {"slug", "store-two"}})
                         .json_body();
    const auto schema2 =
      server
        .post("/api/block_schemas/", json{{"fields", {{"type", "object"}, {"x", 1}}},
                                          {"block_type_id", type2.at("id")}})
        .json_body();
    const auto doc2 = server
                        .post("/api/block_documents/",
                              json{{"name", "doc-two"},
                                   {"data", {{"a", "1"}}},
                                   {"block_schema_id", schema2.at("id")},
                                   {"block_type_id", type2.at("id")}})
                        .json_body();
    REQUIRE(server
              .request("PATCH",
                       "/api/block_documents/" + doc2.at("id").get<std::string>(),
                       R"({"data": {"b": "2"}})")
              .status == 204);
    REQUIRE(server
              .post("/api/deployments/",
                    json{{"name", "on-doc-two"},
                         {"flow_id", flow},
                         {"infrastructure_document_id", doc2.at("id")}})
              .status == 201);
    REQUIRE(server
              .request("DELETE",
                       "/api/block_types/" + type2.at("id").get<std::string>())
              .status == 204);
    const auto all =
        server.post("/api/deployments/filter", json::object()).json_body();
    for (const auto& d : all)
      bodies[d.at("id")] = d.dump();
    CHECK(server.stop() == 0);
  }
  verify_then_replay(options.data_dir);
  deployd_process server(options);
  for (const auto& [id, body] : bodies)
    CHECK(server.get("/api/deployments/" + id).json_body() ==
          json::parse(body));
}

namespace {

// Starts a server on `data_dir`, creates `n` deployments of one flow tagged
// t0/t1/t2 in turn, stops it, and returns the bodies of every `keep_every`th.
std::map<std::string, std::string>
write_deployments(const std::string& data_dir, int n, int keep_every) {
  process_options options;
  options.data_dir = data_dir;
  std::map<std::string, std::string> bodies;
  deployd_process server(options);
  const std::string flow =
      server.post("/api/flows/", json{{"name", "f"}}).json_body().at("id");
  for (int i = 0; i < n; ++i) {
    const auto r = server.post("/api/deployments/",
                               json{{"name", "d" + std::to_string(i)},
                                    {"flow_id", flow},
                                    {"tags", {"t" + std::to_string(i % 3)}}});
    REQUIRE(r.status == 201);
    if (i % keep_every == 0)
      bodies[r.json_body().at("id")] = r.body;
  }
  CHECK(server.stop() == 0);
  return bodies;
}

} // namespace

TEST_CASE("a server whose projections lag the log catches up before serving",
          "[integration][log]") {
  temp_dir dir;
  auto options = data_dir_in(dir);
  const auto bodies = write_deployments(options.data_dir, 50, 1);
  {
    // Wipe the read model, as if it had never folded the log.
    deployd::storage::open_options open;
    open.data_dir = options.data_dir;
    auto log = deployd::storage::event_log::open(open);
    REQUIRE(log);
    REQUIRE((*log)->drop_projections());
    REQUIRE((*log)->projected_position() == deployd::events::log_position{0});
  }
  deployd_process server(options);
  for (const auto& [id, body] : bodies)
    CHECK(server.get("/api/deployments/" + id).body == body);
  CHECK(server
            .post("/api/deployments/count",
                  json{{"deployments", {{"tags", {{"any_", {"t1"}}}}}}})
            .body == "17");
}

TEST_CASE("a replay killed half-way leaves a log the next start rebuilds",
          "[integration][log]") {
  temp_dir dir;
  auto options = data_dir_in(dir);
  const auto bodies = write_deployments(options.data_dir, 1500, 100);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(run_tool({"replay", "--data-dir", options.data_dir}).status == 0);
  const auto full = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  // Kill replays at several points of their run (opening, clearing, the
  // bulk fold and its spills, building and ingesting the table files, the
  // flush before the position is written); each time the server must start
  // with the whole read model and verify must agree with it.
  int killed = 0;
  for (const double fraction :
       {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95}) {
    const auto after = std::chrono::milliseconds(
        static_cast<long>(static_cast<double>(full.count()) * fraction));
    if (run_tool_killed({"replay", "--data-dir", options.data_dir}, after))
      ++killed;
    INFO("killed after " << after.count() << " ms of " << full.count());
    {
      deployd_process server(options);
      for (const auto& [id, body] : bodies)
        CHECK(server.get("/api/deployments/" + id).body == body);
      CHECK(server.post("/api/deployments/count", json::object()).body ==
            "1500");
      CHECK(server
                .post("/api/deployments/count",
                      json{{"deployments", {{"tags", {{"any_", {"t1"}}}}}}})
                .body == "500");
      CHECK(server.stop() == 0);
    }
    REQUIRE(run_tool({"verify", "--data-dir", options.data_dir}).status == 0);
  }
  INFO("a full replay took " << full.count() << " ms");
  CHECK(killed >= 6);
}

TEST_CASE("deployd events --follow prints what a running server appends",
          "[integration][log]") {
  temp_dir dir;
  auto options = data_dir_in(dir);
  deployd_process server(options);
  REQUIRE(server.post("/api/flows/", json{{"name", "first"}}).status == 201);
  tool_process follow({"events", "--data-dir", options.data_dir, "--follow"});
  const auto first = follow.read_line(std::chrono::seconds(10));
  REQUIRE(first);
  const auto j1 = json::parse(*first);
  CHECK(j1["position"] == 1);
  CHECK(j1["event"] == "flow_created");
  CHECK(j1["payload"]["name"] == "first");
  // Written after the follower started: it appears within a moment.
  REQUIRE(server.post("/api/flows/", json{{"name", "second"}}).status == 201);
  const auto second = follow.read_line(std::chrono::seconds(10));
  REQUIRE(second);
  const auto j2 = json::parse(*second);
  CHECK(j2["position"] == 2);
  CHECK(j2["payload"]["name"] == "second");
  CHECK(follow.stop() == 0); // SIGTERM ends it cleanly
  // The server was never disturbed.
  CHECK(server.get("/api/health").status == 200);
}
