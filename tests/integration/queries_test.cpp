// POST /api/deployments/filter, /count, /paginate and the flow queries, end
// to end: every operator, sort, offset/limit rule and the body errors.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

namespace {

struct fixture {
  deployd_process server;
  std::string etl;                        // flow "etl"
  std::string reports;                    // flow "Reports"
  std::map<std::string, std::string> ids; // deployment name -> id

  fixture() {
    etl = server.post("/api/flows/", json{{"name", "etl"}, {"tags", {"core"}}})
              .json_body()
              .at("id");
    reports = server.post("/api/flows/", json{{"name", "Reports"}})
                  .json_body()
                  .at("id");
    add("nightly", etl, {"prod", "etl"}, false, "q1");
    add("hourly", etl, {"prod"}, true, nullptr);
    add("Adhoc", reports, json::array(), false, "q2");
    add("weekly-report", reports, {"reporting"}, true, "q1");
  }

  void add(const std::string& name, const std::string& flow, json tags,
           bool paused, json queue) {
    json body = {{"name", name},
                 {"flow_id", flow},
                 {"tags", tags},
                 {"paused", paused},
                 {"work_queue_name", queue}};
    const auto r = server.post("/api/deployments/", body);
    REQUIRE(r.status == 201);
    ids[name] = r.json_body().at("id");
  }

  std::vector<std::string>
  names(const json& body, const std::string& path = "/api/deployments/filter") {
    const auto r = server.post(path, body);
    INFO(r.body);
    REQUIRE(r.status == 200);
    std::vector<std::string> out;
    for (const auto& d : r.json_body())
      out.push_back(d.at("name"));
    return out;
  }

  using list = std::vector<std::string>;
};

} // namespace

TEST_CASE("deployment filters apply every operator of the reference",
          "[integration][queries]") {
  fixture f;
  using list = fixture::list;
  SECTION("an empty or absent body lists everything in byte order") {
    CHECK(f.names(json::object()) ==
          list{"Adhoc", "hourly", "nightly", "weekly-report"});
    const auto r = f.server.request("POST", "/api/deployments/filter");
    REQUIRE(r.status == 200);
    CHECK(r.json_body().size() == 4);
  }
  SECTION("sorts, offset and limit") {
    CHECK(f.names({{"sort", "NAME_DESC"}}) ==
          list{"weekly-report", "nightly", "hourly", "Adhoc"});
    CHECK(f.names({{"sort", "CREATED_DESC"}}) ==
          list{"weekly-report", "Adhoc", "hourly", "nightly"});
    f.server.request("PATCH", "/api/deployments/" + f.ids["hourly"],
                     R"({"description":"touched"})");
    CHECK(f.names({{"sort", "UPDATED_DESC"}, {"limit", 1}}) == list{"hourly"});
    CHECK(f.names({{"offset", 1}, {"limit", 2}}) == list{"hourly", "nightly"});
    CHECK(f.names({{"limit", 0}}).empty());
    CHECK(f.names({{"sort", nullptr}, {"limit", nullptr}}).size() == 4);
  }
  SECTION("id and name criteria") {
    CHECK(
        f.names({{"deployments",
                  {{"id", {{"any_", {f.ids["nightly"], f.ids["Adhoc"]}}}}}}}) ==
        list{"Adhoc", "nightly"});
    CHECK(f.names({{"deployments", {{"id", {{"any_", json::array()}}}}}})
              .empty());
    CHECK(f.names({{"deployments",
                    {{"id", {{"not_any_", {f.ids["nightly"]}}}}}}}) ==
          list{"Adhoc", "hourly", "weekly-report"});
    CHECK(f.names(
              {{"deployments", {{"name", {{"any_", {"hourly", "nope"}}}}}}}) ==
          list{"hourly"});
    CHECK(f.names({{"deployments", {{"name", {{"like_", "LY"}}}}}}) ==
          list{"hourly", "nightly", "weekly-report"});
    CHECK(f.names({{"deployments", {{"name", {{"like_", "ou%ly"}}}}}}) ==
          list{"hourly"});
    CHECK(f.names({{"deployments", {{"name", {{"like_", "_dhoc"}}}}}}) ==
          list{"Adhoc"});
    CHECK(f.names({{"deployments",
                    {{"flow_or_deployment_name", {{"like_", "report"}}}}}}) ==
          list{"Adhoc", "weekly-report"});
  }
  SECTION("paused, tags and work queue names") {
    CHECK(f.names({{"deployments", {{"paused", {{"eq_", true}}}}}}) ==
          list{"hourly", "weekly-report"});
    CHECK(f.names({{"deployments", {{"tags", {{"all_", {"prod", "etl"}}}}}}}) ==
          list{"nightly"});
    CHECK(f.names({{"deployments", {{"tags", {{"all_", json::array()}}}}}})
              .size() == 4);
    CHECK(f.names({{"deployments",
                    {{"tags", {{"any_", {"etl", "reporting"}}}}}}}) ==
          list{"nightly", "weekly-report"});
    CHECK(f.names({{"deployments", {{"tags", {{"any_", json::array()}}}}}})
              .empty());
    CHECK(f.names({{"deployments", {{"tags", {{"is_null_", true}}}}}}) ==
          list{"Adhoc"});
    CHECK(f.names({{"deployments",
                    {{"tags",
                      {{"operator", "or_"},
                       {"all_", {"reporting"}},
                       {"is_null_", true}}}}}}) ==
          list{"Adhoc", "weekly-report"});
    CHECK(
        f.names({{"deployments", {{"work_queue_name", {{"any_", {"q1"}}}}}}}) ==
        list{"nightly", "weekly-report"});
  }
  SECTION("a lone tag is answered from the tag index, in name order") {
    // This query walks the tag index without reading summaries: the index
    // must follow tag changes and deletes exactly.
    CHECK(f.names({{"deployments", {{"tags", {{"all_", {"prod"}}}}}}}) ==
          list{"hourly", "nightly"});
    CHECK(f.names({{"deployments", {{"tags", {{"any_", {"prod"}}}}}},
                   {"sort", "NAME_DESC"}}) == list{"nightly", "hourly"});
    CHECK(f.names({{"deployments", {{"tags", {{"all_", {"prod"}}}}}},
                   {"offset", 1},
                   {"limit", 1}}) == list{"nightly"});
    REQUIRE(f.server
                .request("PATCH", "/api/deployments/" + f.ids["Adhoc"],
                         R"({"tags":["prod"]})")
                .status == 204);
    REQUIRE(f.server
                .request("PATCH", "/api/deployments/" + f.ids["nightly"],
                         R"({"tags":["etl"]})")
                .status == 204);
    REQUIRE(f.server.request("DELETE", "/api/deployments/" + f.ids["hourly"])
                .status == 204);
    CHECK(f.names({{"deployments", {{"tags", {{"all_", {"prod"}}}}}}}) ==
          list{"Adhoc"});
    CHECK(f.server
              .post("/api/deployments/count",
                    json{{"deployments", {{"tags", {{"any_", {"etl"}}}}}}})
              .body == "1");
    // Anything beside the tag goes through the summaries.
    CHECK(f.names({{"deployments",
                    {{"tags", {{"all_", {"prod"}}}},
                     {"paused", {{"eq_", true}}}}}})
              .empty());
  }
  SECTION("or_ combines criteria; empty criteria match everything") {
    CHECK(f.names({{"deployments",
                    {{"operator", "or_"},
                     {"name", {{"like_", "adhoc"}}},
                     {"tags", {{"any_", {"etl"}}}}}}}) ==
          list{"Adhoc", "nightly"});
    CHECK(f.names({{"deployments",
                    {{"operator", "or_"},
                     {"name", {{"any_", nullptr}, {"like_", nullptr}}},
                     {"paused", {{"eq_", true}}}}}})
              .size() == 4);
  }
  SECTION("related filters: flows, runs and queues") {
    CHECK(f.names({{"flows", {{"name", {{"any_", {"Reports"}}}}}}}) ==
          list{"Adhoc", "weekly-report"});
    CHECK(f.names({{"flows", {{"tags", {{"all_", {"core"}}}}}},
                   {"deployments", {{"paused", {{"eq_", false}}}}}}) ==
          list{"nightly"});
    CHECK(f.names({{"flow_runs", json::object()}}).empty());
    // A work_queue_name alone links to a queue of the default-agent-pool.
    CHECK(f.names({{"work_pools", json::object()}}) ==
          list{"Adhoc", "nightly", "weekly-report"});
    CHECK(
        f.names({{"work_pools", {{"name", {{"any_", {"default-agent-pool"}}}}}},
                 {"work_pool_queues", {{"name", {{"any_", {"q2"}}}}}}}) ==
        list{"Adhoc"});
    CHECK(
        f.names({{"work_pool_queues", {{"name", {{"startswith_", {"Q"}}}}}}}) ==
        list{"Adhoc", "nightly", "weekly-report"});
    CHECK(
        f.names({{"work_pools", {{"type", {{"any_", {"process"}}}}}}}).empty());
  }
  SECTION("the Python client's fully expanded filter is accepted") {
    const json body = {{"flows", nullptr},
                       {"flow_runs", nullptr},
                       {"task_runs", nullptr},
                       {"deployments",
                        {{"operator", "and_"},
                         {"id", nullptr},
                         {"name", {{"any_", {"nightly"}}, {"like_", nullptr}}},
                         {"tags", nullptr},
                         {"work_queue_name", nullptr},
                         {"concurrency_limit", nullptr}}},
                       {"work_pools", nullptr},
                       {"work_pool_queues", nullptr},
                       {"limit", nullptr},
                       {"offset", 0},
                       {"sort", nullptr}};
    CHECK(f.names(body) == list{"nightly"});
  }
  SECTION("a filtered deployment comes back exactly as GET returns it") {
    const auto r = f.server.post(
        "/api/deployments/filter",
        json{{"deployments", {{"name", {{"any_", {"nightly"}}}}}}});
    CHECK(r.json_body()[0] ==
          f.server.get("/api/deployments/" + f.ids["nightly"]).json_body());
  }
}

TEST_CASE("count and paginate agree with filter", "[integration][queries]") {
  fixture f;
  CHECK(f.server.post("/api/deployments/count", json::object()).body == "4");
  CHECK(f.server
            .post("/api/deployments/count",
                  json{{"deployments", {{"paused", {{"eq_", true}}}}},
                       {"limit", 1}})
            .body == "2");
  const auto page =
      f.server.post("/api/deployments/paginate",
                    json{{"page", 2},
                         {"limit", 1},
                         {"deployments", {{"paused", {{"eq_", false}}}}}});
  REQUIRE(page.status == 200);
  const auto p = page.json_body();
  CHECK(p.at("count") == 2);
  CHECK(p.at("limit") == 1);
  CHECK(p.at("pages") == 2);
  CHECK(p.at("page") == 2);
  REQUIRE(p.at("results").size() == 1);
  CHECK(p.at("results")[0].at("name") == "nightly");
  const auto zero =
      f.server.post("/api/deployments/paginate", json{{"limit", 0}})
          .json_body();
  CHECK(zero.at("pages") == 0);
  CHECK(zero.at("results") == json::array());
  const auto past =
      f.server.post("/api/deployments/paginate", json{{"page", 9}}).json_body();
  CHECK(past.at("results") == json::array());
  CHECK(past.at("count") == 4);
}

TEST_CASE("query bodies are validated like the reference",
          "[integration][queries][validation]") {
  fixture f;
  auto post = [&](const json& body) {
    return f.server.post("/api/deployments/filter", body);
  };
  auto r = post({{"limit", 201}, {"offset", -5}});
  CHECK(r.status == 422);
  CHECK(r.json_body() ==
        json{{"detail", "Invalid limit: must be less than or equal to 200."}});
  r = post({{"limit", -1}});
  CHECK(r.json_body() ==
        json{{"detail", "Invalid limit: must be greater than or equal to 0."}});
  r = post({{"offset", -1}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail") ==
        json::array({{{"type", "greater_than_equal"},
                      {"loc", {"body", "offset"}},
                      {"msg", "Input should be greater than or equal to 0"},
                      {"input", -1},
                      {"ctx", {{"ge", 0}}}}}));
  r = post({{"sort", "NOPE"}});
  CHECK(r.json_body().at("exception_detail")[0].at("msg") ==
        "Input should be 'CREATED_DESC', 'UPDATED_DESC', 'NAME_ASC' or "
        "'NAME_DESC'");
  r = post({{"deployments", {{"name", {{"bogus", 1}}}}}});
  CHECK(r.json_body().at("exception_detail")[0].at("loc") ==
        json::array({"body", "deployments", "name", "bogus"}));
  CHECK(post({{"whatever", 1}}).status == 200);
  // Count bodies have no limit: the reference ignores one, even negative.
  for (const char* path : {"/api/deployments/count", "/api/flows/count"}) {
    r = f.server.post(path, json{{"limit", -1}});
    CHECK(r.status == 200);
    CHECK(f.server.post(path, json{{"limit", 500}}).body == r.body);
  }
  r = f.server.post("/api/deployments/paginate", json{{"page", 0}});
  CHECK(r.json_body().at("exception_detail")[0].at("ctx") == json{{"ge", 1}});
  r = f.server.post("/api/deployments/bulk_delete", json{{"limit", 51}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("exception_detail")[0].at("ctx") == json{{"le", 50}});
}

TEST_CASE("flow queries filter on flows and on their deployments",
          "[integration][queries][flows]") {
  fixture f;
  f.server.post("/api/flows/", json{{"name", "lonely"}});
  using list = fixture::list;
  const std::string path = "/api/flows/filter";
  CHECK(f.names(json::object(), path) == list{"Reports", "etl", "lonely"});
  CHECK(f.names({{"sort", "NAME_DESC"}}, path) ==
        list{"lonely", "etl", "Reports"});
  CHECK(f.names({{"flows", {{"deployment", {{"is_null_", true}}}}}}, path) ==
        list{"lonely"});
  CHECK(f.names({{"flows", {{"name", {{"like_", "E"}}}}}}, path) ==
        list{"Reports", "etl", "lonely"});
  CHECK(f.names({{"deployments", {{"tags", {{"any_", {"reporting"}}}}}}},
                path) == list{"Reports"});
  CHECK(f.server.post("/api/flows/count", json::object()).body == "3");
  // Work pools: flows with a deployment whose work queue is in a matching
  // pool, the same deployment matching the deployment filter too.
  CHECK(f.names({{"work_pools", json::object()}}, path) == list{"Reports", "etl"});
  CHECK(f.names({{"work_pools", {{"name", {{"any_", {"default-agent-pool"}}}}}}},
                path) == list{"Reports", "etl"});
  CHECK(f.names({{"work_pools", {{"type", {{"any_", {"process"}}}}}}}, path)
            .empty());
  CHECK(f.names({{"work_pools", json::object()},
                 {"deployments", {{"name", {{"any_", {"Adhoc"}}}}}}},
                path) == list{"Reports"});
  CHECK(f.server.post("/api/flows/count", json{{"work_pools", json::object()}})
            .body == "2");
  const auto page =
      f.server.post("/api/flows/paginate", json{{"limit", 2}}).json_body();
  CHECK(page.at("pages") == 2);
  CHECK(page.at("count") == 3);
}
