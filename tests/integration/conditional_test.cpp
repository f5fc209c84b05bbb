// Conditional writes end to end (issue 16 item 4): the ETag of every GET of
// a single resource is its stream version; If-Match on PATCH, DELETE,
// pause/resume and schedule changes answers 412 when the stream moved on
// and appends nothing (the log position and `deployd events` prove it);
// If-None-Match: * on POST /api/deployments/ creates only.
#include "tests/integration/harness.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <tuple>

using namespace deployd::testing;

namespace {

using headers = std::map<std::string, std::string>;

std::uint64_t position_of(const http_reply& r) {
  return std::stoull(r.headers.at("x-deployd-position"));
}

// The log position the server has applied (a GET reports it).
std::uint64_t head(const deployd_process& s) {
  return position_of(s.get("/api/health"));
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

TEST_CASE("GETs of single resources carry the stream version as a strong "
          "ETag, and If-None-Match on a GET answers 304",
          "[integration][conditional]") {
  deployd_process s;
  const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
  const auto flow_id = flow.json_body().at("id").get<std::string>();
  const auto created = s.post("/api/deployments/",
                              json{{"name", "nightly"}, {"flow_id", flow_id}});
  REQUIRE(created.status == 201);
  const auto id = created.json_body().at("id").get<std::string>();

  auto by_id = s.get("/api/deployments/" + id);
  REQUIRE(by_id.status == 200);
  CHECK(by_id.headers.at("etag") == "\"1\"");
  CHECK(s.get("/api/deployments/name/etl/nightly").headers.at("etag") ==
        "\"1\"");
  CHECK(s.get("/api/flows/" + flow_id).headers.at("etag") == "\"1\"");
  CHECK(s.get("/api/flows/name/etl").headers.at("etag") == "\"1\"");

  REQUIRE(s.request("PATCH", "/api/deployments/" + id,
                    json{{"description", "x"}}.dump())
              .status == 204);
  by_id = s.get("/api/deployments/" + id);
  CHECK(by_id.headers.at("etag") == "\"2\"");
  CHECK(s.get("/api/deployments/name/etl/nightly").headers.at("etag") ==
        "\"2\"");

  SECTION("304 when If-None-Match names the current tag") {
    const auto same = s.request("GET", "/api/deployments/" + id, std::nullopt,
                                headers{{"If-None-Match", "\"2\""}});
    CHECK(same.status == 304);
    CHECK(same.body.empty());
    CHECK(same.headers.at("etag") == "\"2\"");
    const auto old = s.request("GET", "/api/deployments/" + id, std::nullopt,
                               headers{{"If-None-Match", "\"1\""}});
    CHECK(old.status == 200);
  }
  SECTION("work pools, queues, variables, limits and flow runs too") {
    REQUIRE(s.post("/api/work_pools/", json{{"name", "pool"}}).status == 201);
    CHECK(s.get("/api/work_pools/pool").headers.at("etag") == "\"1\"");
    const auto queue = s.get("/api/work_pools/pool/queues/default");
    REQUIRE(queue.status == 200);
    CHECK(queue.headers.count("etag") == 1);
    const auto qid = queue.json_body().at("id").get<std::string>();
    CHECK(s.get("/api/work_queues/" + qid).headers.at("etag") ==
          queue.headers.at("etag"));
    const auto var =
        s.post("/api/variables/", json{{"name", "v"}, {"value", 1}});
    REQUIRE(var.status == 201);
    const auto vid = var.json_body().at("id").get<std::string>();
    CHECK(s.get("/api/variables/" + vid).headers.at("etag") == "\"1\"");
    CHECK(s.get("/api/variables/name/v").headers.at("etag") == "\"1\"");
    REQUIRE(s.post("/api/v2/concurrency_limits/",
                   json{{"name", "lim"}, {"limit", 2}})
                .status == 201);
    CHECK(s.get("/api/v2/concurrency_limits/lim").headers.at("etag") ==
          "\"1\"");
    const auto run = s.post("/api/deployments/" + id + "/create_flow_run",
                            json::object());
    REQUIRE(run.status == 201);
    const auto rid = run.json_body().at("id").get<std::string>();
    CHECK(s.get("/api/flow_runs/" + rid).headers.at("etag") == "\"1\"");
  }
  SECTION("a 404 has no ETag") {
    const auto missing =
        s.get("/api/deployments/00000000-0000-4000-8000-000000000000");
    CHECK(missing.status == 404);
    CHECK(missing.headers.count("etag") == 0);
  }
}

TEST_CASE("a deployment's ETag stays its stream's version when a shared "
          "limit's change re-renders it, and through a replay",
          "[integration][conditional]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::string first;
  std::string second;
  {
    deployd_process s(options);
    const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
    const auto flow_id = flow.json_body().at("id").get<std::string>();
    const auto a = s.post("/api/deployments/", json{{"name", "a"},
                                                    {"flow_id", flow_id},
                                                    {"concurrency_limit", 2}});
    REQUIRE(a.status == 201);
    first = a.json_body().at("id").get<std::string>();
    const auto limit = a.json_body().at("global_concurrency_limit");
    const auto b = s.post(
        "/api/deployments/",
        json{{"name", "b"},
             {"flow_id", flow_id},
             {"global_concurrency_limit_id", limit.at("id")}});
    REQUIRE(b.status == 201);
    second = b.json_body().at("id").get<std::string>();
    REQUIRE(s.request("PATCH", "/api/deployments/" + second,
                      json{{"description", "x"}}.dump(),
                      headers{{"If-Match", "\"1\""}})
                .status == 204);

    // The limit's change re-renders both deployments; their streams, and
    // so their tags, stay where they were.
    REQUIRE(s.request("PATCH",
                      "/api/v2/concurrency_limits/" +
                          limit.at("id").get<std::string>(),
                      json{{"limit", 9}}.dump())
                .status == 204);
    for (const auto& [id, tag] :
         {std::pair{first, "\"1\""}, std::pair{second, "\"2\""}}) {
      const auto got = s.get("/api/deployments/" + id);
      CHECK(got.json_body().at("global_concurrency_limit").at("limit") == 9);
      CHECK(got.headers.at("etag") == tag);
    }
    CHECK(s.get("/api/deployments/name/etl/b").headers.at("etag") ==
          "\"2\"");
    const auto same =
        s.request("GET", "/api/deployments/" + second, std::nullopt,
                  headers{{"If-None-Match", "\"2\""}});
    CHECK(same.status == 304);
    CHECK(same.headers.at("etag") == "\"2\"");
    // The tag a GET gave is the one If-Match compares.
    CHECK(s.request("PATCH", "/api/deployments/" + second,
                    json{{"description", "y"}}.dump(),
                    headers{{"If-Match", "\"2\""}})
              .status == 204);
    CHECK(s.get("/api/deployments/" + second).headers.at("etag") ==
          "\"3\"");
    const auto listed = s.post("/api/deployments/filter", json::object());
    REQUIRE(listed.status == 200);
    CHECK(listed.json_body().size() == 2);
    CHECK(listed.json_body()[0].at("global_concurrency_limit").at("limit") ==
          9);
    CHECK(s.stop() == 0);
  }
  verify_then_replay(options.data_dir);
  deployd_process s(options);
  CHECK(s.get("/api/deployments/" + first).headers.at("etag") == "\"1\"");
  CHECK(s.get("/api/deployments/" + second).headers.at("etag") == "\"3\"");
  CHECK(s.get("/api/deployments/" + second)
            .json_body()
            .at("global_concurrency_limit")
            .at("limit") == 9);
}

TEST_CASE("If-Match guards PATCH, DELETE, pause/resume and schedule changes, "
          "a 412 appends nothing",
          "[integration][conditional]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::string id;
  std::uint64_t before_stale = 0;
  {
    deployd_process s(options);
    const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
    const auto flow_id = flow.json_body().at("id").get<std::string>();
    const auto created = s.post(
        "/api/deployments/",
        json{{"name", "nightly"},
             {"flow_id", flow_id},
             {"schedules", json::array({{{"schedule", {{"interval", 60}}}}})}});
    REQUIRE(created.status == 201);
    id = created.json_body().at("id").get<std::string>();
    const auto path = "/api/deployments/" + id;
    const auto schedule_id =
        created.json_body().at("schedules")[0].at("id").get<std::string>();

    // Matching tag: the write happens and the tag moves on.
    auto ok = s.request("PATCH", path, json{{"description", "a"}}.dump(),
                        headers{{"If-Match", "\"1\""}});
    CHECK(ok.status == 204);
    CHECK(s.get(path).headers.at("etag") == "\"2\"");
    // A list naming the current version matches too.
    ok = s.request("PATCH", path, json{{"description", "b"}}.dump(),
                   headers{{"If-Match", "\"7\", \"2\""}});
    CHECK(ok.status == 204);

    before_stale = head(s);
    // Stale tags: 412, with nothing appended.
    const auto stale = s.request("PATCH", path,
                                 json{{"description", "lost"}}.dump(),
                                 headers{{"If-Match", "\"2\""}});
    CHECK(stale.status == 412);
    CHECK(stale.json_body().at("detail").get<std::string>().find(
              "version 3") != std::string::npos);
    for (const auto& [method, target, body] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"DELETE", path, ""},
             {"POST", path + "/pause_deployment", ""},
             {"POST", path + "/resume_deployment", ""},
             {"POST", path + "/schedules",
              json::array({{{"schedule", {{"interval", 120}}}}}).dump()},
             {"PATCH", path + "/schedules/" + schedule_id,
              json{{"active", false}}.dump()},
             {"DELETE", path + "/schedules/" + schedule_id, ""}}) {
      INFO(method << " " << target);
      const auto r =
          s.request(method, target,
                    body.empty() ? std::nullopt : std::optional(body),
                    headers{{"If-Match", "\"1\""}});
      CHECK(r.status == 412);
      // A weak tag never matches a write (strong comparison).
      CHECK(s.request(method, target,
                      body.empty() ? std::nullopt : std::optional(body),
                      headers{{"If-Match", "W/\"3\""}})
                .status == 412);
    }
    CHECK(head(s) == before_stale);
    CHECK(s.get(path).json_body().at("description") == "b");

    // Malformed tags are a 400, also with nothing written.
    const auto bad = s.request("PATCH", path, json{{"description", "z"}}.dump(),
                               headers{{"If-Match", "3"}});
    CHECK(bad.status == 400);
    // If-Match: * needs the resource to exist.
    CHECK(s.request("PATCH",
                    "/api/deployments/00000000-0000-4000-8000-000000000000",
                    json{{"description", "z"}}.dump(),
                    headers{{"If-Match", "*"}})
              .status == 412);
    CHECK(head(s) == before_stale);

    // The current tag lets each of them through.
    CHECK(s.request("POST", path + "/pause_deployment", std::nullopt,
                    headers{{"If-Match", "\"3\""}})
              .status == 200);
    CHECK(s.request("PATCH", path + "/schedules/" + schedule_id,
                    json{{"active", false}}.dump(),
                    headers{{"If-Match", s.get(path).headers.at("etag")}})
              .status == 204);
    CHECK(s.request("DELETE", path, std::nullopt,
                    headers{{"If-Match", s.get(path).headers.at("etag")}})
              .status == 204);
  }
  // The log holds exactly the accepted writes: flow, create, 2 patches,
  // pause, schedule change, delete.
  const auto all = run_tool({"events", "--data-dir", options.data_dir,
                             "--stream", "deployment/" + id});
  REQUIRE(all.status == 0);
  CHECK(lines(all.out) == 6);
}

TEST_CASE("If-None-Match: * on POST /api/deployments/ creates only",
          "[integration][conditional]") {
  deployd_process s;
  const auto flow = s.post("/api/flows/", json{{"name", "etl"}});
  const auto flow_id = flow.json_body().at("id").get<std::string>();
  const auto body = json{{"name", "nightly"}, {"flow_id", flow_id}}.dump();
  const auto first = s.request("POST", "/api/deployments/", body,
                               headers{{"If-None-Match", "*"}});
  CHECK(first.status == 201);
  const auto at = head(s);
  const auto again = s.request(
      "POST", "/api/deployments/",
      json{{"name", "nightly"}, {"flow_id", flow_id}, {"description", "up"}}
          .dump(),
      headers{{"If-None-Match", "*"}});
  CHECK(again.status == 412);
  CHECK(again.json_body().at("detail").get<std::string>().find(
            "already exists") != std::string::npos);
  CHECK(head(s) == at);
  // Without the header the same body is the reference's upsert.
  CHECK(s.request("POST", "/api/deployments/", body).status == 200);
  // On a route that changes no single resource the tags are refused.
  CHECK(s.request("POST", "/api/deployments/bulk_delete", "{}",
                  headers{{"If-Match", "\"1\""}})
            .status == 400);
}
