// History and time travel end to end (issue 16 item 3): the history of a
// deployment's and a flow's stream, and `.../at?version=N|time=T` rendered
// exactly as GET answered then (404 before, 410 after deletion), the same
// after `replay`.
#include "tests/integration/harness.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace deployd::testing;

TEST_CASE("the history and past states of a deployment and a flow",
          "[integration][history]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::string id, flow_id, history;
  std::vector<std::string> bodies; // GET answers after each version
  std::vector<std::string> times;  // recorded_at of each version
  {
    deployd_process s(options);
    REQUIRE(s.post("/api/work_pools/", json{{"name", "pool"}}).status == 201);
    const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
    flow_id = flow.json_body().at("id").get<std::string>();
    const auto created = s.post(
        "/api/deployments/", json{{"name", "nightly"},
                                  {"flow_id", flow_id},
                                  {"work_pool_name", "pool"},
                                  {"concurrency_limit", 2}});
    REQUIRE(created.status == 201);
    id = created.json_body().at("id").get<std::string>();
    const auto path = "/api/deployments/" + id;
    bodies.push_back(s.get(path).body);
    REQUIRE(s.request("PATCH", path, json{{"description", "one"}}.dump())
                .status == 204);
    bodies.push_back(s.get(path).body);
    // A change of the linked limit (another stream) shows in GET: a past
    // version renders the limit as it was then.
    REQUIRE(s.request("PATCH", path, json{{"concurrency_limit", 5}}.dump())
                .status == 204);
    bodies.push_back(s.get(path).body);
    REQUIRE(s.request("PATCH", path, json{{"tags", {"a", "b"}}}.dump())
                .status == 204);
    bodies.push_back(s.get(path).body);

    const auto h = s.get("/api/deployd/deployments/" + id + "/history");
    REQUIRE(h.status == 200);
    history = h.body;
    const auto list = h.json_body();
    REQUIRE(list.size() == bodies.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      CHECK(list[i].at("version") == i + 1);
      times.push_back(list[i].at("recorded_at").get<std::string>());
    }
    CHECK(list[0].at("event") == "deployment_created");
    CHECK(list[0].at("changes").at("name").at("to") == "nightly");
    CHECK(list[1].at("event") == "deployment_updated");
    CHECK(list[1].at("changes").at("description") ==
          json{{"from", nullptr}, {"to", "one"}});
    CHECK(list[1].at("position") > list[0].at("position"));

    for (std::size_t v = 1; v <= bodies.size(); ++v) {
      INFO("version " << v);
      const auto at = s.get("/api/deployd/deployments/" + id +
                            "/at?version=" + std::to_string(v));
      CHECK(at.status == 200);
      CHECK(at.body == bodies[v - 1]);
      const auto by_time = s.get("/api/deployd/deployments/" + id +
                                 "/at?time=" + times[v - 1]);
      CHECK(by_time.body == bodies[v - 1]);
    }
    CHECK(s.get("/api/deployd/deployments/" + id +
                "/at?time=2000-01-01T00:00:00Z")
              .status == 404);
    CHECK(s.get("/api/deployd/deployments/" + id + "/at").status == 422);
    CHECK(s.get("/api/deployd/deployments/" + id + "/at?version=0").status ==
          422);
    CHECK(s.get("/api/deployd/deployments/" + id + "/at?time=yesterday")
              .status == 422);
    CHECK(s.get("/api/deployd/deployments/"
                "00000000-0000-4000-8000-000000000000/history")
              .status == 404);

    REQUIRE(s.request("DELETE", path).status == 204);
    const auto gone = s.get("/api/deployd/deployments/" + id + "/at?version=5");
    CHECK(gone.status == 410);
    CHECK(gone.json_body().at("version") == 5);
    CHECK(gone.json_body().at("last").dump() ==
          json::parse(bodies.back()).dump());
    CHECK(s.get("/api/deployd/deployments/" + id + "/at?version=2").body ==
          bodies[1]);
    history = s.get("/api/deployd/deployments/" + id + "/history").body;

    // Flows: the same two routes.
    const auto fh = s.get("/api/deployd/flows/" + flow_id + "/history");
    REQUIRE(fh.status == 200);
    CHECK(fh.json_body()[0].at("event") == "flow_created");
    CHECK(s.get("/api/deployd/flows/" + flow_id + "/at?version=1").body ==
          s.get("/api/flows/" + flow_id).body);
  }
  // The same history and past states after a replay.
  REQUIRE(run_tool({"replay", "--data-dir", options.data_dir}).status == 0);
  {
    deployd_process s(options);
    CHECK(s.get("/api/deployd/deployments/" + id + "/history").body ==
          history);
    for (std::size_t v = 1; v <= bodies.size(); ++v)
      CHECK(s.get("/api/deployd/deployments/" + id +
                  "/at?version=" + std::to_string(v))
                .body == bodies[v - 1]);
  }
  // The same from the command line.
  const auto lines = run_tool(
      {"history", "--data-dir", options.data_dir, "--deployment", id});
  REQUIRE(lines.status == 0);
  CHECK(std::count(lines.out.begin(), lines.out.end(), '\n') == 5);
  const auto v2 = run_tool({"history", "--data-dir", options.data_dir,
                            "--deployment", id, "--version", "2"});
  CHECK(v2.status == 0);
  CHECK(v2.out == bodies[1] + "\n");
  const auto t0 = run_tool({"history", "--data-dir", options.data_dir,
                            "--deployment", id, "--at", times[0]});
  CHECK(t0.out == bodies[0] + "\n");
  CHECK(run_tool({"history", "--data-dir", options.data_dir, "--deployment",
                  id, "--at", "2000-01-01T00:00:00Z"})
            .status == 1);
}
