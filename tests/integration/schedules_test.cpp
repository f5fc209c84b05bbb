// Schedules end to end: validation and normalisation of the three kinds, the
// /deployments/{id}/schedules sub-resource, and slug rules.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

namespace {

struct fixture {
  deployd_process server;
  std::string flow_id;
  std::string id;

  fixture() {
    flow_id =
        server.post("/api/flows/", json{{"name", "etl"}}).json_body().at("id");
    id = server
             .post("/api/deployments/",
                   json{{"name", "d"}, {"flow_id", flow_id}})
             .json_body()
             .at("id");
  }

  std::string path() const {
    return "/api/deployments/" + id + "/schedules";
  }
};

const std::string interval_tag =
    "function-after[validate_timezone(), IntervalSchedule]";
const std::string cron_tag =
    "function-after[validate_timezone(), CronSchedule]";

} // namespace

TEST_CASE("schedules are normalised as the reference stores them",
          "[integration][schedules]") {
  fixture f;
  const auto r = f.server.post(
      f.path(),
      json::array(
          {{{"schedule", {{"interval", 86400}}},
            {"slug", "daily"},
            {"parameters", {{"full", true}}}},
           {{"schedule",
             {{"cron", "0 */6 * * *"}, {"timezone", "Europe/Berlin"}}},
            {"active", false},
            {"slug", "six-hourly"},
            {"max_scheduled_runs", 7}},
           {{"schedule", {{"cron", "@daily"}}}},
           {{"schedule", {{"rrule", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"}}}}}));
  INFO(r.body);
  REQUIRE(r.status == 201);
  const auto s = r.json_body();
  REQUIRE(s.size() == 4);
  CHECK(s[0].at("slug") == "daily");
  CHECK(s[0].at("schedule").at("interval") == 86400);
  CHECK(s[0].at("schedule").at("timezone") == "UTC");
  CHECK(s[0].at("schedule").at("anchor_date").is_string());
  CHECK(s[0].at("parameters") == json{{"full", true}});
  CHECK(s[0].at("deployment_id") == f.id);
  CHECK(s[1].at("schedule") == json{{"cron", "0 */6 * * *"},
                                    {"timezone", "Europe/Berlin"},
                                    {"day_or", true}});
  CHECK(s[1].at("active") == false);
  CHECK(s[1].at("max_scheduled_runs") == 7);
  CHECK(s[2].at("schedule").at("timezone").is_null());
  CHECK(s[3].at("schedule") ==
        json{{"rrule",
              "DTSTART:20200101T000000\nFREQ=WEEKLY;INTERVAL=2;BYDAY=MO"},
             {"timezone", "UTC"}});

  // GET lists them most recently written first.
  const auto listed = f.server.get(f.path()).json_body();
  REQUIRE(listed.size() == 4);
  CHECK(listed[0] == s[3]);
  CHECK(listed[3] == s[0]);
  CHECK(f.server.get("/api/deployments/" + f.id).json_body().at("schedules") ==
        listed);
  CHECK(f.server.post(f.path(), json::array()).body == "[]");
}

TEST_CASE("a schedule matching no kind reports each member's errors",
          "[integration][schedules][validation]") {
  fixture f;
  const json body = json::array({{{"schedule", {{"cron", "invalid cron"}}}}});
  const auto r = f.server.post(f.path(), body);
  REQUIRE(r.status == 422);
  const json input = {{"cron", "invalid cron"}};
  CHECK(
      r.json_body() ==
      json{{"exception_message", "Invalid request received."},
           {"exception_detail",
            json::array(
                {{{"type", "missing"},
                  {"loc", {"body", 0, "schedule", interval_tag, "interval"}},
                  {"msg", "Field required"},
                  {"input", input}},
                 {{"type", "extra_forbidden"},
                  {"loc", {"body", 0, "schedule", interval_tag, "cron"}},
                  {"msg", "Extra inputs are not permitted"},
                  {"input", "invalid cron"}},
                 {{"type", "value_error"},
                  {"loc", {"body", 0, "schedule", cron_tag, "cron"}},
                  {"msg", "Value error, Invalid cron string: \"invalid cron\""},
                  {"input", "invalid cron"},
                  {"ctx", {{"error", json::object()}}}},
                 {{"type", "missing"},
                  {"loc", {"body", 0, "schedule", "RRuleSchedule", "rrule"}},
                  {"msg", "Field required"},
                  {"input", input}},
                 {{"type", "extra_forbidden"},
                  {"loc", {"body", 0, "schedule", "RRuleSchedule", "cron"}},
                  {"msg", "Extra inputs are not permitted"},
                  {"input", "invalid cron"}}})},
           {"request_body", body}});

  SECTION("inside POST /deployments/ the location starts with schedules") {
    const auto d =
        f.server.post("/api/deployments/",
                      json{{"name", "x"},
                           {"flow_id", f.flow_id},
                           {"schedules", {{{"schedule", {{"interval", 0}}}}}}});
    REQUIRE(d.status == 422);
    const auto e = d.json_body().at("exception_detail")[0];
    CHECK(e.at("loc") == json::array({"body", "schedules", 0, "schedule",
                                      interval_tag, "interval"}));
    CHECK(e.at("msg") == "Value error, interval must be positive");
  }
  SECTION("an unknown time zone is reported at the member") {
    const auto d = f.server.post(
        f.path(),
        json::array(
            {{{"schedule", {{"cron", "0 9 * * *"}, {"timezone", "fake"}}}}}));
    REQUIRE(d.status == 422);
    const auto errors = d.json_body().at("exception_detail");
    REQUIRE(errors.size() == 6);
    CHECK(errors[2].at("loc") ==
          json::array({"body", 0, "schedule", cron_tag}));
    CHECK(errors[2].at("msg") ==
          "Value error, Invalid timezone: \"fake\" (specify in IANA tzdata "
          "format, for example, America/New_York)");
    // The RRule member validates its time zone by pattern.
    CHECK(errors[3].at("type") == "missing");
    CHECK(errors[4].at("type") == "string_pattern_mismatch");
    CHECK(errors[5].at("type") == "extra_forbidden");
  }
  SECTION("random and hashed cron fields are refused") {
    const auto d = f.server.post(
        f.path(), json::array({{{"schedule", {{"cron", "R 1 * * *"}}}}}));
    REQUIRE(d.status == 422);
    CHECK(d.body.find("Random and Hashed expressions are unsupported") !=
          std::string::npos);
  }
  SECTION("the body must be a list") {
    const auto d = f.server.post(f.path(), json::object());
    REQUIRE(d.status == 422);
    CHECK(d.json_body().at("exception_detail")[0].at("type") == "list_type");
  }
}

TEST_CASE("the schedules sub-resource edits schedules one by one",
          "[integration][schedules]") {
  fixture f;
  const auto created =
      f.server
          .post(f.path(), json::array({{{"schedule", {{"interval", 60}}},
                                        {"slug", "a"},
                                        {"parameters", {{"p", 1}}}}}))
          .json_body();
  const std::string sid = created[0].at("id");
  const std::string one = f.path() + "/" + sid;

  SECTION("PATCH writes non-null fields and always the parameters") {
    auto r = f.server.request("PATCH", one,
                              R"({"active": false, "slug": "new-slug"})");
    CHECK(r.status == 204);
    const auto s = f.server.get(f.path()).json_body()[0];
    CHECK(s.at("id") == sid);
    CHECK(s.at("active") == false);
    CHECK(s.at("slug") == "new-slug");
    CHECK(s.at("parameters") == json::object());
    CHECK(s.at("schedule").at("interval") == 60);
    r = f.server.request("PATCH", one, R"({"bogus": 1})");
    CHECK(r.status == 422);
    CHECK(r.json_body().at("exception_detail")[0].at("loc") ==
          json::array({"body", "bogus"}));
  }
  SECTION("a duplicate slug is a conflict") {
    auto r = f.server.post(
        f.path(),
        json::array({{{"schedule", {{"interval", 5}}}, {"slug", "a"}}}));
    CHECK(r.status == 409);
    CHECK(
        r.json_body() ==
        json{{"detail", "Schedule slugs must be unique within a deployment."}});
    r = f.server.post(
        f.path(),
        json::array({{{"schedule", {{"interval", 5}}}, {"slug", "b"}},
                     {{"schedule", {{"interval", 6}}}, {"slug", "b"}}}));
    CHECK(r.status == 409);
    CHECK(f.server.get(f.path()).json_body().size() == 1);
  }
  SECTION("unknown ids answer 404 with the period") {
    const std::string missing = "00000000-0000-4000-8000-000000000000";
    auto r = f.server.request("DELETE", f.path() + "/" + missing);
    CHECK(r.status == 404);
    CHECK(r.json_body() == json{{"detail", "Schedule not found."}});
    r = f.server.get("/api/deployments/" + missing + "/schedules");
    CHECK(r.json_body() == json{{"detail", "Deployment not found."}});
    r = f.server.post("/api/deployments/" + missing + "/schedules",
                      json::array());
    CHECK(r.json_body() == json{{"detail", "Deployment not found."}});
  }
  SECTION("DELETE removes one schedule") {
    CHECK(f.server.request("DELETE", one).status == 204);
    CHECK(f.server.get(f.path()).json_body() == json::array());
    CHECK(f.server.request("DELETE", one).status == 404);
  }
}
