// Prefect's events API against the real binary: the feed derived from the
// log, pages and their tokens, count-by, client events and their errors.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace deployd::testing;

namespace {

std::string id_of(const http_reply& r) {
  return r.json_body().at("id").get<std::string>();
}

// Creates a flow, a pool and a deployment in it, then patches it.
std::string populate(const deployd_process& server) {
  const auto flow = server.post("/api/flows/", json{{"name", "etl"}});
  REQUIRE(flow.status == 201);
  REQUIRE(server
              .post("/api/work_pools/",
                    json{{"name", "pool1"}, {"type", "process"}})
              .status == 201);
  const auto d =
      server.post("/api/deployments/", json{{"name", "nightly"},
                                            {"flow_id", id_of(flow)},
                                            {"work_pool_name", "pool1"}});
  REQUIRE(d.status == 201);
  const auto id = id_of(d);
  REQUIRE(server
              .request("PATCH", "/api/deployments/" + id,
                       R"({"description":"patched"})",
                       {{"Content-Type", "application/json"}})
              .status == 204);
  return id;
}

// The path and query of an absolute next_page link.
std::string path_of(const std::string& url) {
  const auto at = url.find("/api/");
  REQUIRE(at != std::string::npos);
  return url.substr(at);
}

std::vector<json> all_events(const deployd_process& server) {
  const auto r = server.post("/api/events/filter", json{{"limit", 50}});
  REQUIRE(r.status == 200);
  return r.json_body().at("events").get<std::vector<json>>();
}

json client_event(const std::string& id, const std::string& name) {
  return {{"occurred", "2026-11-28T11:00:00Z"},
          {"event", name},
          {"resource", {{"prefect.resource.id", "my.thing.1"}}},
          {"id", id}};
}

} // namespace

TEST_CASE("the events API pages through the feed of the log",
          "[integration][events]") {
  deployd_process server;
  const auto deployment = populate(server);

  const auto everything = all_events(server);
  std::vector<std::string> names;
  for (const auto& e : everything)
    names.push_back(e.at("event").get<std::string>());
  // Newest first.
  CHECK(names == std::vector<std::string>{
                     "prefect.deployment.updated", "prefect.deployment.created",
                     "prefect.work-queue.created",
                     "prefect.work-pool.not-ready", "prefect.work-pool.created",
                     "prefect.flow.created"});
  const auto& updated = everything[0];
  CHECK(updated.at("resource").at("prefect.resource.id") ==
        "prefect.deployment." + deployment);
  CHECK(updated.at("payload").at("updates").at("description").at("to") ==
        "patched");
  for (const auto& e : everything) {
    CHECK(e.at("occurred").get<std::string>().ends_with("Z"));
    CHECK(e.at("received").get<std::string>().ends_with("Z"));
    CHECK(e.contains("follows"));
  }

  // Two at a time: three pages, the total fixed by the first.
  auto page = server.post("/api/events/filter", json{{"limit", 2}});
  REQUIRE(page.status == 200);
  std::vector<json> paged;
  int pages = 0;
  while (true) {
    const auto body = page.json_body();
    CHECK(body.at("total") == 6);
    for (const auto& e : body.at("events"))
      paged.push_back(e);
    ++pages;
    if (body.at("next_page").is_null())
      break;
    const auto link = body.at("next_page").get<std::string>();
    CHECK(link.starts_with("http://"));
    const auto token = link.substr(link.find("page-token=") + 11);
    CHECK(token.find_first_of("+/=%") == std::string::npos);
    // A later event must not shift the pages of a query under way.
    if (pages == 1)
      REQUIRE(server.post("/api/flows/", json{{"name", "late"}}).status == 201);
    page = server.get(path_of(link));
    REQUIRE(page.status == 200);
  }
  CHECK(pages == 3);
  CHECK(paged == everything);

  SECTION("filters") {
    const auto by_resource = server.post(
        "/api/events/filter",
        json{{"filter",
              {{"resource", {{"id", {"prefect.deployment." + deployment}}}}}}});
    REQUIRE(by_resource.status == 200);
    CHECK(by_resource.json_body().at("total") == 2);
    const auto related = server.post(
        "/api/events/filter",
        json{{"filter",
              {{"related", {{"role", {"work-pool"}}}}, {"order", "ASC"}}}});
    REQUIRE(related.json_body().at("total") == 3);
    CHECK(related.json_body().at("events")[0].at("event") ==
          "prefect.work-queue.created");
  }

  SECTION("count-by") {
    const auto by_event =
        server.post("/api/events/count-by/event",
                    json{{"filter", json::object()}, {"limit", 10}});
    REQUIRE(by_event.status == 200);
    CHECK(by_event.json_body().size() == 6);
    const auto by_time =
        server.post("/api/events/count-by/time",
                    json{{"filter",
                          {{"occurred",
                            {{"since", "2026-11-28T00:00:00Z"},
                             {"until", "2026-11-28T23:59:59Z"}}}}},
                         {"time_unit", "hour"},
                         {"time_interval", 1}});
    REQUIRE(by_time.status == 200);
    const auto buckets = by_time.json_body();
    REQUIRE(buckets.size() == 24);
    CHECK(buckets[12].at("count") == 7);
    CHECK(buckets[12].at("label") == "2026-11-28T12:00:00+00:00");
    CHECK(buckets[12].at("end_time") == "2026-11-28T12:59:59.999999Z");
  }
}

TEST_CASE("events API errors have the reference's shapes",
          "[integration][events]") {
  deployd_process server;
  const auto big = server.post("/api/events/filter", json{{"limit", 51}});
  CHECK(big.status == 422);
  CHECK(big.json_body().at("exception_detail")[0].at("type") ==
        "less_than_equal");
  const auto extra = server.post(
      "/api/events/filter", json{{"filter", {{"resource", {{"bogus", 1}}}}}});
  CHECK(extra.status == 422);
  CHECK(extra.json_body().at("exception_detail")[0].at("loc") ==
        json{"body", "filter", "resource", "bogus"});
  CHECK(server.get("/api/events/filter/next?page-token=nope").status == 403);
  CHECK(server.get("/api/events/filter/next?page-token=e30").status == 403);
  const auto missing = server.get("/api/events/filter/next");
  CHECK(missing.status == 422);
  CHECK(missing.json_body().at("exception_detail")[0].at("loc") ==
        json{"query", "page-token"});
  const auto countable = server.post("/api/events/count-by/month",
                                     json{{"filter", json::object()}});
  CHECK(countable.status == 422);
  CHECK(countable.json_body().at("exception_detail")[0].at("type") == "enum");
  const auto no_filter =
      server.post("/api/events/count-by/event", json::object());
  CHECK(no_filter.status == 422);
  const auto buckets =
      server.post("/api/events/count-by/time",
                  json{{"filter", json::object()}, {"time_unit", "hour"}});
  CHECK(buckets.status == 422);
  CHECK(buckets.json_body().at("detail").get<std::string>().starts_with(
      "The given interval would create"));
  const auto tiny =
      server.post("/api/events/count-by/time",
                  json{{"filter", json::object()}, {"time_interval", 0.009}});
  CHECK(tiny.status == 422);
  CHECK(tiny.json_body().at("exception_detail")[0].at("type") ==
        "greater_than_equal");
}

TEST_CASE("client events: stored before the 204, once per id, rejected whole "
          "when one is invalid",
          "[integration][events]") {
  deployd_process server;
  const std::string id = "0192f5e0-0000-7000-8000-000000000001";
  auto r = server.post("/api/events", json::array({client_event(id, "first")}));
  REQUIRE(r.status == 204);
  CHECK(r.body.empty());
  // The same id again (a client re-sending): the first copy stays.
  r = server.post(
      "/api/events",
      json::array(
          {client_event(id, "second"),
           client_event("0192f5e0-0000-7000-8000-000000000002", "third")}));
  REQUIRE(r.status == 204);
  auto list = all_events(server);
  REQUIRE(list.size() == 2);
  CHECK(list[0].at("event") == "third");
  CHECK(list[1].at("event") == "first");

  auto bad = client_event("0192f5e0-0000-7000-8000-000000000003", "bad");
  bad["resource"] = {{"prefect.resource.name", "no id"}};
  r = server.post(
      "/api/events",
      json::array(
          {client_event("0192f5e0-0000-7000-8000-000000000004", "fine"), bad}));
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail")[0].at("loc") ==
        json{"body", 1, "resource"});
  CHECK(all_events(server).size() == 2);
  CHECK(server.post("/api/events", json{{"not", "a list"}}).status == 422);
  CHECK(server.post("/api/events", json::array()).status == 204);

  // Durable: a restart (and a replay) keeps them and the announced ids.
  const auto before = all_events(server);
  const auto data = server.data_dir();
  process_options options;
  options.data_dir = data;
  server.stop();
  REQUIRE(run_tool({"replay", "--data-dir", data}).status == 0);
  check_verified(data);
  deployd_process again(options);
  CHECK(all_events(again) == before);
}

TEST_CASE("announced event ids survive a replay", "[integration][events]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::vector<json> before;
  {
    deployd_process server(options);
    populate(server);
    before = all_events(server);
  }
  REQUIRE(run_tool({"replay", "--data-dir", options.data_dir}).status == 0);
  deployd_process server(options);
  CHECK(all_events(server) == before);
}

TEST_CASE("the retention sweep drops client events older than the setting",
          "[integration][events]") {
  temp_dir dir;
  auto options = with_config(dir, "[events]\nretention_seconds = 86400\n"
                                  "retention_sweep_seconds = 0.05\n");
  deployd_process server(options);
  auto old_event = client_event("0192f5e0-0000-7000-8000-000000000011", "old");
  old_event["occurred"] = "2020-01-01T00:00:00Z";
  // The server's clock is the test's step clock (2026-11-28T12:00:00Z).
  auto recent = client_event("0192f5e0-0000-7000-8000-000000000012", "recent");
  REQUIRE(server.post("/api/events", json::array({old_event, recent})).status ==
          204);
  json filter = {{"filter",
                  {{"occurred",
                    {{"since", "2000-01-01T00:00:00Z"},
                     {"until", "2100-01-01T00:00:00Z"}}}}}};
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) {
    names.clear();
    const auto answer = server.post("/api/events/filter", filter).json_body();
    for (const auto& e : answer.at("events"))
      names.push_back(e.at("event").get<std::string>());
    if (names.size() == 1)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(names == std::vector<std::string>{"recent"});
  const auto data = server.data_dir();
  server.stop();
  CHECK(run_tool({"verify", "--data-dir", data}).status == 0);
}
