// Auto-scheduled runs end to end (flow-runs.md §3.3, §3.4, §11, §12;
// related-resources.md §2.5-2.7; deployments-api.md §9.3, §10, §12):
// `POST /deployments/{id}/schedule`, the runs that pausing, PATCHing,
// upserting and changing schedules remove (in the same command as the
// change), the scheduler service (idempotent across passes and restarts,
// paused deployments skipped) and the late-runs service; `deployd verify`
// after each.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <thread>

using namespace deployd::testing;

namespace {

// The server's clock starts at 2026-11-28T12:00:00Z (harness default).
constexpr const char* hourly_anchor = "2026-11-28T00:00:00Z";

struct scheduled_deployment {
  const deployd_process& s;
  std::string flow_id;
  std::string id;
  std::string schedule_id;

  scheduled_deployment(const deployd_process& server, const std::string& name,
                       json extra = json::object())
      : s(server) {
    flow_id = s.post("/api/flows/", json{{"name", "etl"}})
                  .json_body()
                  .at("id")
                  .get<std::string>();
    json body{{"name", name},
              {"flow_id", flow_id},
              {"tags", {"prod"}},
              {"parameters", {{"x", 1}, {"y", 2}}},
              {"schedules",
               {{{"schedule",
                  {{"interval", 3600}, {"anchor_date", hourly_anchor}}},
                 {"parameters", {{"y", 3}}}}}}};
    for (const auto& [k, v] : extra.items())
      body[k] = v;
    auto r = s.post("/api/deployments/", body);
    INFO(r.body);
    REQUIRE(r.status == 201);
    const auto d = r.json_body();
    id = d.at("id").get<std::string>();
    if (!d.at("schedules").empty())
      schedule_id = d.at("schedules").at(0).at("id").get<std::string>();
  }

  http_reply schedule(const json& body) const {
    return s.post("/api/deployments/" + id + "/schedule", body);
  }

  // This deployment's runs, by expected start time.
  json runs() const {
    auto r = s.post(
        "/api/flow_runs/filter",
        json{{"flow_runs", {{"deployment_id", {{"any_", {id}}}}}},
             {"sort", "EXPECTED_START_TIME_ASC"}});
    REQUIRE(r.status == 200);
    return r.json_body();
  }

  std::vector<std::string> times() const {
    std::vector<std::string> out;
    for (const auto& run : runs())
      out.push_back(run.at("expected_start_time").get<std::string>());
    return out;
  }
};

// Waits (at most 20 s) until `done` holds.
template <class Pred>
bool eventually(Pred done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

void verify_clean(const std::string& data_dir) {
  check_verified(data_dir);
}

std::vector<json> log_records(const std::string& data_dir) {
  const auto all = run_tool({"events", "--data-dir", data_dir});
  REQUIRE(all.status == 0);
  std::istringstream lines(all.out);
  std::vector<json> records;
  for (std::string line; std::getline(lines, line);)
    records.push_back(json::parse(line));
  return records;
}

} // namespace

TEST_CASE("POST /deployments/{id}/schedule makes the auto-scheduled runs once",
          "[integration][scheduler]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  {
    deployd_process s(options);
    scheduled_deployment d(s, "hourly", json{{"paused", true}});
    // Defaults: at least 3 runs and an hour ahead; paused is not checked.
    auto r = d.schedule(json::object());
    REQUIRE(r.status == 200);
    CHECK(r.body == "null");
    CHECK(d.times() == std::vector<std::string>{"2026-11-28T13:00:00Z",
                                                "2026-11-28T14:00:00Z",
                                                "2026-11-28T15:00:00Z"});
    const auto run = d.runs().at(0);
    CHECK(run.at("auto_scheduled") == true);
    CHECK(run.at("tags") == json{"auto-scheduled", "prod"});
    CHECK(run.at("parameters") == json{{"x", 1}, {"y", 3}});
    CHECK(run.at("idempotency_key") ==
          "scheduled " + d.id + " " + d.schedule_id +
              " 2026-11-28 13:00:00+00:00");
    CHECK(run.at("created_by") == json{{"id", d.schedule_id},
                                       {"type", "SCHEDULE"},
                                       {"display_value", "IntervalSchedule"}});
    CHECK(run.at("state").at("name") == "Scheduled");
    CHECK(run.at("state").at("message") == "Flow run scheduled");
    CHECK(run.at("state").at("state_details").at("scheduled_time") ==
          "2026-11-28T13:00:00Z");
    CHECK(run.at("next_scheduled_start_time") == "2026-11-28T13:00:00Z");
    CHECK(run.at("labels").at("prefect.deployment.id") == d.id);
    CHECK(run.at("job_variables") == json::object());

    // The same window again creates nothing.
    REQUIRE(d.schedule(json::object()).status == 200);
    CHECK(d.runs().size() == 3);

    // A window with a space-separated start (the Python client's str()),
    // an end, and more runs wanted than fit: 12:00 through 18:00, the
    // existing three kept.
    r = d.schedule(json{{"start_time", "2026-11-28 12:00:00+00:00"},
                        {"end_time", "2026-11-28 18:00:00.000000+00:00"},
                        {"min_runs", 100}});
    REQUIRE(r.status == 200);
    CHECK(d.times().size() == 7);
    CHECK(d.times().front() == "2026-11-28T12:00:00Z");
    CHECK(d.times().back() == "2026-11-28T18:00:00Z");
    std::set<std::string> keys;
    for (const auto& run_doc : d.runs())
      keys.insert(run_doc.at("idempotency_key").get<std::string>());
    CHECK(keys.size() == 7);

    // Backfill into the past; max_runs caps it.
    r = d.schedule(json{{"start_time", "2026-11-27T12:00:00Z"},
                        {"end_time", "2026-11-28T11:00:00Z"},
                        {"min_runs", 100},
                        {"max_runs", 5}});
    REQUIRE(r.status == 200);
    CHECK(d.runs().size() == 12);
    CHECK(d.times().front() == "2026-11-27T12:00:00Z");

    // A cron schedule in New York: the key's date carries its offset.
    auto added = s.post("/api/deployments/" + d.id + "/schedules",
                        json::array({json{{"schedule",
                                           {{"cron", "0 9 * * *"},
                                            {"timezone", "America/New_York"}}},
                                          {"slug", "morning"}}}));
    REQUIRE(added.status == 201);
    const auto cron_id = added.json_body().at(0).at("id").get<std::string>();
    r = d.schedule(json{{"min_runs", 1}, {"max_runs", 1}});
    REQUIRE(r.status == 200);
    bool found = false;
    for (const auto& run_doc : d.runs())
      if (run_doc.at("idempotency_key") ==
          "scheduled " + d.id + " " + cron_id + " 2026-11-28 09:00:00-05:00") {
        found = true;
        CHECK(run_doc.at("expected_start_time") == "2026-11-28T14:00:00Z");
        CHECK(run_doc.at("created_by").at("display_value") == "morning");
      }
    CHECK(found);

    // Unknown deployment: 200 null, nothing made. Bad body: 422.
    const auto before = s.post("/api/flow_runs/count", json::object()).body;
    r = s.post("/api/deployments/00000000-0000-4000-8000-000000000000/schedule",
               json::object());
    CHECK(r.status == 200);
    CHECK(r.body == "null");
    r = d.schedule(json{{"min_runs", "many"}});
    CHECK(r.status == 422);
    CHECK(r.json_body().at("exception_detail").at(0).at("loc") ==
          json{"body", "min_runs"});
    CHECK(s.post("/api/flow_runs/count", json::object()).body == before);
    REQUIRE(s.stop() == 0);
  }
  verify_clean(options.data_dir);
  const auto replayed = run_tool({"replay", "--data-dir", options.data_dir});
  CHECK(replayed.status == 0);
  verify_clean(options.data_dir);
}

TEST_CASE("pause, PATCH, upsert and schedule changes remove the runs the "
          "reference removes, in the command that changes the deployment",
          "[integration][scheduler]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::string paused_id;
  {
    deployd_process s(options);
    scheduled_deployment d(s, "hourly");
    // Past (backfilled) and future auto runs, a manual scheduled run, and
    // an auto run that has moved on to PENDING.
    const auto fill = [&] {
      REQUIRE(d.schedule(json{{"start_time", "2026-11-28T09:00:00Z"},
                              {"end_time", "2026-11-28T15:00:00Z"},
                              {"min_runs", 100}})
                  .status == 200);
    };
    fill();
    REQUIRE(d.runs().size() == 7);
    const auto moved = d.runs().back().at("id").get<std::string>();
    const auto manual =
        s.post("/api/deployments/" + d.id + "/create_flow_run",
               json{{"state",
                     {{"type", "SCHEDULED"},
                      {"state_details",
                       {{"scheduled_time", "2026-11-28T20:00:00Z"}}}}}})
            .json_body()
            .at("id")
            .get<std::string>();
    REQUIRE(s.post("/api/flow_runs/" + moved + "/set_state",
                   json{{"state", {{"type", "PENDING"}}}, {"force", true}})
                .status == 201);
    auto auto_scheduled_left = [&] {
      std::vector<std::string> out;
      for (const auto& run : d.runs())
        if (run.at("auto_scheduled") == true &&
            run.at("state_type") == "SCHEDULED")
          out.push_back(run.at("expected_start_time").get<std::string>());
      return out;
    };
    const std::vector<std::string> past{"2026-11-28T09:00:00Z",
                                        "2026-11-28T10:00:00Z",
                                        "2026-11-28T11:00:00Z",
                                        "2026-11-28T12:00:00Z"};

    SECTION("PATCH removes only future auto-scheduled runs") {
      REQUIRE(s.request("PATCH", "/api/deployments/" + d.id,
                        json{{"description", "x"}}.dump(),
                        {{"content-type", "application/json"}})
                  .status == 204);
      CHECK(auto_scheduled_left() == past);
    }
    SECTION("an upsert removes only future auto-scheduled runs") {
      REQUIRE(s.post("/api/deployments/",
                     json{{"name", "hourly"}, {"flow_id", d.flow_id}})
                  .status == 200);
      CHECK(auto_scheduled_left() == past);
    }
    SECTION("a schedule PATCH removes future ones, its DELETE all of them") {
      const auto path =
          "/api/deployments/" + d.id + "/schedules/" + d.schedule_id;
      REQUIRE(s.request("PATCH", path, json{{"active", false}}.dump(),
                        {{"content-type", "application/json"}})
                  .status == 204);
      CHECK(auto_scheduled_left() == past);
      REQUIRE(s.request("DELETE", path).status == 204);
      CHECK(auto_scheduled_left().empty());
    }
    SECTION("pause removes every auto-scheduled never-run run, in one "
            "command, and again when already paused") {
      REQUIRE(s.post("/api/deployments/" + d.id + "/pause_deployment",
                     json::object())
                  .status == 200);
      CHECK(auto_scheduled_left().empty());
      fill();
      REQUIRE(s.post("/api/deployments/" + d.id + "/pause_deployment",
                     json::object())
                  .status == 200);
      CHECK(auto_scheduled_left().empty());
      paused_id = d.id;
    }
    // Manual runs and runs that moved on survive all of these.
    CHECK(s.get("/api/flow_runs/" + manual).status == 200);
    CHECK(s.get("/api/flow_runs/" + moved).status == 200);
    REQUIRE(s.stop() == 0);
  }
  if (!paused_id.empty()) {
    // The pause's deployment event and its run deletions are one command.
    const auto records = log_records(options.data_dir);
    std::string pause_command;
    for (const auto& r : records)
      if (r.at("event") == "deployment_updated" &&
          r.at("stream") == "deployment/" + paused_id &&
          r.at("payload").at("changes").contains("paused"))
        pause_command = r.at("command_id").get<std::string>();
    REQUIRE(!pause_command.empty());
    std::size_t deleted_with_pause = 0;
    for (const auto& r : records)
      if (r.at("event") == "flow_run_deleted" &&
          r.at("command_id") == pause_command)
        ++deleted_with_pause;
    CHECK(deleted_with_pause == 6);
  }
  verify_clean(options.data_dir);
}

TEST_CASE("the scheduler service fills deployments once, across passes and "
          "restarts, and skips paused ones",
          "[integration][scheduler]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  options.background_services = true;
  // Every pass wants more runs than it may make (min 10, max 5), so every
  // pass regenerates the same five dates: only the idempotency keys keep
  // them from being made twice. The recent-deployments loop is slow here,
  // so runs come from the main loop.
  options.extra_env = {
      {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "0.1"},
      {"PREFECT_API_SERVICES_SCHEDULER_MIN_RUNS", "10"},
      {"PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS", "5"},
      {"PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS",
       "3600"},
      {"PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "false"}};
  std::string first_id;
  std::vector<std::string> first_times;
  {
    deployd_process s(options);
    scheduled_deployment paused(s, "paused", json{{"paused", true}});
    scheduled_deployment d(s, "hourly");
    first_id = d.id;
    REQUIRE(eventually([&] { return d.runs().size() >= 5; }));
    first_times = d.times();
    CHECK(first_times ==
          std::vector<std::string>{"2026-11-28T13:00:00Z",
                                   "2026-11-28T14:00:00Z",
                                   "2026-11-28T15:00:00Z",
                                   "2026-11-28T16:00:00Z",
                                   "2026-11-28T17:00:00Z"});
    // Later passes (proven by a new deployment getting its runs) add none.
    scheduled_deployment later(s, "later");
    REQUIRE(eventually([&] { return later.runs().size() == 5; }));
    CHECK(d.runs().size() == 5);
    CHECK(paused.runs().empty());
    // The main loop reads only the deployments in `scheduled_deployments`
    // (not paused, an active schedule), which the folds keep current: a
    // resumed deployment and one given its first schedule after creation
    // get their runs; one whose only schedule is inactive gets none.
    const json hourly{{"interval", 3600}, {"anchor_date", hourly_anchor}};
    scheduled_deployment bare(s, "bare", json{{"schedules", json::array()}});
    scheduled_deployment inactive(
        s, "inactive",
        json{{"schedules",
              json::array({{{"schedule", hourly}, {"active", false}}})}});
    REQUIRE(s.request("POST", "/api/deployments/" + paused.id +
                                  "/resume_deployment")
                .status == 200);
    const auto added =
        s.post("/api/deployments/" + bare.id + "/schedules",
               json::array({{{"schedule", hourly}}}));
    INFO(added.body);
    REQUIRE(added.status == 201);
    REQUIRE(eventually([&] {
      return paused.runs().size() == 5 && bare.runs().size() == 5;
    }));
    CHECK(inactive.runs().empty());
    REQUIRE(s.stop() == 0);
  }
  {
    // A restart half an hour later: the same dates, nothing new.
    options.clock = "step:2026-11-28T12:30:00Z:1000";
    options.id_seed = 43;
    deployd_process s(options);
    scheduled_deployment after_restart(s, "after-restart");
    REQUIRE(eventually([&] { return after_restart.runs().size() == 5; }));
    const auto count = s.post(
        "/api/flow_runs/count",
        json{{"flow_runs", {{"deployment_id", {{"any_", {first_id}}}}}}});
    CHECK(count.body == "5");
    CHECK(s.post("/api/flow_runs/count", json::object()).body == "25");
    REQUIRE(s.stop() == 0);
  }
  verify_clean(options.data_dir);
}

TEST_CASE("the scheduler's needs-runs test counts each schedule's own runs",
          "[integration][scheduler]") {
  // The needs-runs test reads a schedule's own future runs: a second
  // schedule added after the first has its runs must still be seen to need
  // runs, and neither gets runs twice.
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  options.background_services = true;
  options.extra_env = {
      {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "0.1"},
      {"PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS", "3"},
      {"PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS", "5"},
      {"PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS",
       "3600"},
      {"PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "false"}};
  {
    deployd_process s(options);
    // min 3 runs: a schedule's window ends after its third date (an hour
    // ahead), so each schedule has 3 runs and then needs none.
    scheduled_deployment d(s, "two-schedules");
    REQUIRE(eventually([&] { return d.runs().size() >= 3; }));
    const auto added = s.post(
        "/api/deployments/" + d.id + "/schedules",
        json::array({{{"schedule",
                       {{"interval", 3600},
                        {"anchor_date", "2026-11-28T00:30:00Z"}}},
                      {"slug", "half-past"}}}));
    INFO(added.body);
    REQUIRE(added.status == 201);
    const auto second = added.json_body().at(0).at("id").get<std::string>();
    REQUIRE(eventually([&] { return d.runs().size() >= 6; }));
    // Later passes (proven by a new deployment getting its runs) add none.
    scheduled_deployment later(s, "later");
    REQUIRE(eventually([&] { return later.runs().size() == 3; }));
    const auto runs = d.runs();
    CHECK(runs.size() == 6);
    std::multiset<std::string> by_schedule;
    for (const auto& run : runs)
      by_schedule.insert(run.at("created_by").at("id").get<std::string>());
    CHECK(by_schedule.count(d.schedule_id) == 3);
    CHECK(by_schedule.count(second) == 3);
    // Pausing removes them all (the same rows, read for removal).
    REQUIRE(s.post("/api/deployments/" + d.id + "/pause_deployment",
                   json::object())
                .status == 200);
    CHECK(d.runs().empty());
    REQUIRE(s.stop() == 0);
  }
  verify_clean(options.data_dir);
}

TEST_CASE("the late-runs service marks Scheduled runs past their time Late",
          "[integration][scheduler]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  options.background_services = true;
  options.extra_env = {
      {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED", "false"},
      {"PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS", "0.1"},
      {"PREFECT_API_SERVICES_LATE_RUNS_AFTER_SECONDS", "15"}};
  {
    deployd_process s(options);
    scheduled_deployment d(s, "hourly", json{{"schedules", json::array()}});
    auto create = [&](const char* at) {
      return s
          .post("/api/deployments/" + d.id + "/create_flow_run",
                json{{"state",
                      {{"type", "SCHEDULED"},
                       {"state_details", {{"scheduled_time", at}}}}}})
          .json_body()
          .at("id")
          .get<std::string>();
    };
    // The server's clock is at 12:00:00 and a few milliseconds.
    const auto late = create("2026-11-28T11:59:40Z");
    const auto recent = create("2026-11-28T11:59:50Z");
    const auto future = create("2026-11-28T13:00:00Z");
    REQUIRE(eventually([&] {
      return s.get("/api/flow_runs/" + late).json_body().at("state_name") ==
             "Late";
    }));
    const auto run = s.get("/api/flow_runs/" + late).json_body();
    CHECK(run.at("state_type") == "SCHEDULED");
    CHECK(run.at("state").at("state_details").at("scheduled_time") ==
          "2026-11-28T11:59:40Z");
    CHECK(s.get("/api/flow_runs/" + recent).json_body().at("state_name") ==
          "Scheduled");
    CHECK(s.get("/api/flow_runs/" + future).json_body().at("state_name") ==
          "Scheduled");
    // Late runs still count as scheduled for workers.
    const auto polled = s.post(
        "/api/deployments/get_scheduled_flow_runs",
        json{{"deployment_ids", {d.id}}});
    CHECK(polled.json_body().size() == 3);
    // The Late state is announced like any orchestrated state, after the
    // Scheduled one the run was created with (events-api §9.5).
    const auto events = feed_events(s, "prefect.flow-run.");
    std::vector<std::string> announced;
    json last;
    for (const auto& e : events)
      if (e.at("resource").at("prefect.resource.id") ==
          "prefect.flow-run." + late) {
        announced.push_back(e.at("event").get<std::string>());
        last = e;
      }
    CHECK(announced == std::vector<std::string>{"prefect.flow-run.Scheduled",
                                                "prefect.flow-run.Late"});
    CHECK(last.value("id", "") == run.at("state_id"));
    REQUIRE(s.stop() == 0);
  }
  verify_clean(options.data_dir);
}

TEST_CASE("the flow_runs sub-filter of deployment and flow queries matches "
          "real runs, task_runs matches nothing (there are none)",
          "[integration][scheduler][queries]") {
  deployd_process s;
  scheduled_deployment with_runs(s, "with-runs");
  scheduled_deployment without(s, "without");
  REQUIRE(with_runs.schedule(json::object()).status == 200);
  const auto other_flow = s.post("/api/flows/", json{{"name", "other"}})
                              .json_body()
                              .at("id")
                              .get<std::string>();
  auto names = [](const json& list) {
    std::vector<std::string> out;
    for (const auto& item : list)
      out.push_back(item.at("name").get<std::string>());
    return out;
  };
  const json scheduled{{"state", {{"type", {{"any_", {"SCHEDULED"}}}}}}};
  auto r = s.post("/api/deployments/filter", json{{"flow_runs", scheduled}});
  REQUIRE(r.status == 200);
  CHECK(names(r.json_body()) == std::vector<std::string>{"with-runs"});
  CHECK(s.post("/api/deployments/count", json{{"flow_runs", scheduled}}).body ==
        "1");
  // Any run at all: `{}`.
  CHECK(names(s.post("/api/deployments/filter",
                     json{{"flow_runs", json::object()}})
                  .json_body()) == std::vector<std::string>{"with-runs"});
  CHECK(s.post("/api/deployments/filter",
               json{{"flow_runs",
                     {{"state", {{"type", {{"any_", {"RUNNING"}}}}}}}}})
            .json_body() == json::array());
  CHECK(s.post("/api/deployments/filter", json{{"task_runs", json::object()}})
            .json_body() == json::array());
  // Flows: the etl flow has the runs, the other flow none.
  r = s.post("/api/flows/filter", json{{"flow_runs", scheduled}});
  REQUIRE(r.status == 200);
  CHECK(names(r.json_body()) == std::vector<std::string>{"etl"});
  CHECK(s.post("/api/flows/count", json{{"flow_runs", json::object()}}).body ==
        "1");
  CHECK(s.post("/api/flows/filter", json{{"task_runs", json::object()}})
            .json_body() == json::array());
  CHECK(!other_flow.empty());
}
