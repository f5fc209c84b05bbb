#include "events/flow_run.hpp"
#include "events/python/json_text.hpp"
#include "events/time.hpp"

#include <catch2/catch.hpp>

using namespace deployd::events;

namespace {

const uuid run_id = uuid::v4_from(1, 1);

timestamp at(std::int64_t seconds) {
  return timestamp{1'800'000'000'000'000 + seconds * 1'000'000};
}

// A run document with the fields the rules and transforms read.
json run_in(const json& state_create, timestamp t, bool deployment = true) {
  json run{{"id", run_id.str()},
           {"deployment_id", deployment ? json("d") : json(nullptr)},
           {"empirical_policy", default_empirical_policy()},
           {"run_count", 0},
           {"expected_start_time", nullptr},
           {"next_scheduled_start_time", nullptr},
           {"start_time", nullptr},
           {"end_time", nullptr},
           {"total_run_time", 0.0},
           {"infrastructure_pid", nullptr},
           {"state_id", nullptr},
           {"state_type", nullptr},
           {"state_name", nullptr},
           {"state", nullptr}};
  apply_state(run, make_state(state_create, uuid::v4_from(2, 2), t, run_id),
              t);
  return run;
}

orchestration propose(const json& run, const json& create, timestamp t,
                      bool force = false) {
  return orchestrate(run, make_state(create, uuid::v4_from(3, 3), t, run_id),
                     force, t, uuid::v4_from(4, 4));
}

} // namespace

TEST_CASE("make_state fills every state detail and the default name",
          "[events][flow_run]") {
  const auto s = make_state(json{{"type", "SCHEDULED"},
                                 {"state_details", {{"bogus", 1}}}},
                            uuid::v4_from(5, 5), at(0), run_id);
  CHECK(s.at("name") == "Scheduled");
  CHECK(s.at("state_details").size() == 18);
  CHECK(!s.at("state_details").contains("bogus"));
  CHECK(s.at("state_details").at("scheduled_time") == format_timestamp(at(0)));
  CHECK(s.at("state_details").at("flow_run_id") == run_id.str());
  CHECK(make_state(json{{"type", "CANCELLING"}}, uuid{}, at(0), run_id)
            .at("name") == "Cancelling");
}

TEST_CASE("a repeated transition id is rejected, late marking only of "
          "scheduled runs, once",
          "[events][flow_run]") {
  auto run = run_in(json{{"type", "PENDING"},
                         {"state_details", {{"transition_id", "t1"}}}},
                    at(0));
  auto r = propose(run,
                   json{{"type", "RUNNING"},
                        {"state_details", {{"transition_id", "t1"}}}},
                   at(1));
  CHECK(r.status == "REJECT");
  CHECK(r.details.at("reason") ==
        "This run has already made this state transition.");
  CHECK(!r.write);

  r = propose(run, json{{"type", "SCHEDULED"}, {"name", "Late"}}, at(1));
  CHECK(r.status == "REJECT");
  CHECK(r.details.at("reason") == "Only scheduled flows can be marked late.");
  auto scheduled = run_in(json{{"type", "SCHEDULED"}}, at(0));
  r = propose(scheduled, json{{"type", "SCHEDULED"}, {"name", "Late"}}, at(20));
  CHECK(r.status == "ACCEPT");
  apply_state(scheduled, *r.write, at(20));
  CHECK(scheduled.at("state_name") == "Late");
  r = propose(scheduled, json{{"type", "SCHEDULED"}, {"name", "Late"}}, at(21));
  CHECK(r.details.at("reason") == "This flow run is already marked late.");
}

TEST_CASE("apply_state keeps the derived times of a run",
          "[events][flow_run]") {
  auto run = run_in(json{{"type", "SCHEDULED"}}, at(0));
  CHECK(run.at("expected_start_time") == format_timestamp(at(0)));
  apply_state(run, make_state(json{{"type", "RUNNING"}}, uuid{}, at(10), run_id),
              at(10));
  CHECK(run.at("start_time") == format_timestamp(at(10)));
  CHECK(run.at("next_scheduled_start_time").is_null());
  CHECK(run.at("run_count") == 1);
  // A state with a timestamp not after the current one moves 1 µs on.
  apply_state(run, make_state(json{{"type", "FAILED"}}, uuid{}, at(5), run_id),
              at(5));
  CHECK(run.at("state").at("timestamp") ==
        format_timestamp(timestamp{at(10).micros + 1}));
  CHECK(run.at("end_time") == run.at("state").at("timestamp"));
  CHECK(run.at("total_run_time").get<double>() == Approx(0.000001));
  // Leaving a terminal state clears end_time; the expected start stays.
  apply_state(run,
              make_state(json{{"type", "SCHEDULED"}, {"name", "AwaitingRetry"}},
                         uuid{}, at(30), run_id),
              at(30));
  CHECK(run.at("end_time").is_null());
  CHECK(run.at("expected_start_time") == format_timestamp(at(0)));
  CHECK(run.at("next_scheduled_start_time") == format_timestamp(at(30)));
  const auto rendered = render_flow_run(run, at(40));
  CHECK(rendered.at("estimated_start_time_delta").get<double>() ==
        Approx(10.0));
}

TEST_CASE("run ids are UUIDv7 in time order", "[events][flow_run]") {
  const auto a = uuid_v7(at(0), uuid::v4_from(9, 9));
  const auto b = uuid_v7(at(1), uuid::v4_from(1, 1));
  CHECK(a < b);
  CHECK(a.str().at(14) == '7');
  CHECK(run_name(a).find('-') != std::string::npos);
}

TEST_CASE("a schedule window takes dates until min_runs and min_time are "
          "both met, at most max_runs and none after the end",
          "[flow_run][schedule]") {
  const auto hourly = *schedule_from_json(
      json{{"interval", 3600}, {"anchor_date", "2026-11-28T00:00:00Z"},
           {"timezone", "UTC"}});
  const auto start = *parse_timestamp("2026-11-28T12:00:00Z");
  const auto far = timestamp{start.micros + 100LL * 86'400'000'000};
  auto hours = [&](const std::vector<timestamp>& dates) {
    std::vector<std::string> out;
    for (auto t : dates)
      out.push_back(format_timestamp(t).substr(11, 5));
    return out;
  };
  schedule_window w; // 3 runs, an hour ahead, 100 at most
  SECTION("the start itself is a date; three runs reach an hour ahead") {
    CHECK(hours(window_dates(hourly, start, far, w)) ==
          std::vector<std::string>{"12:00", "13:00", "14:00"});
  }
  SECTION("min_time beyond min_runs takes more") {
    w.min_time_micros = 5LL * 3'600'000'000;
    CHECK(window_dates(hourly, start, far, w).size() == 6);
  }
  SECTION("max_runs and the end cap it") {
    w.min_runs = 100;
    w.max_runs = 4;
    CHECK(window_dates(hourly, start, far, w).size() == 4);
    w.max_runs = 100;
    CHECK(hours(window_dates(hourly, start, *parse_timestamp("2026-11-28T13:30:00Z"),
                             w)) == std::vector<std::string>{"12:00", "13:00"});
  }
}

TEST_CASE("a scheduled run's key carries Python's str() of its date in the "
          "schedule's zone",
          "[flow_run][schedule]") {
  const auto id = uuid::v4_from(7, 7);
  const auto sid = uuid::v4_from(8, 8);
  const auto cron = *schedule_from_json(
      json{{"cron", "0 9 * * *"}, {"timezone", "America/New_York"}, {"day_or", true}});
  CHECK(scheduled_run_key(id, sid, cron, *parse_timestamp("2026-11-28T14:00:00Z")) ==
        "scheduled " + id.str() + " " + sid.str() + " 2026-11-28 09:00:00-05:00");
  const auto utc = *schedule_from_json(
      json{{"interval", 60}, {"anchor_date", "2026-01-01T00:00:00.5Z"},
           {"timezone", "UTC"}});
  CHECK(python_datetime_str(utc, *parse_timestamp("2026-08-22T00:00:00.500000Z")) ==
        "2026-08-22 00:00:00.500000+00:00");
  const auto kolkata = *schedule_from_json(
      json{{"cron", "0 9 * * *"}, {"timezone", "Asia/Kolkata"}, {"day_or", true}});
  CHECK(python_datetime_str(kolkata, *parse_timestamp("2026-08-22T03:30:00Z")) ==
        "2026-08-22 09:00:00+05:30");
}

TEST_CASE("a stored run renders from its text as from its document",
          "[events][flow_run][render]") {
  const auto now = at(0);
  json run = json::parse(R"({"id":"0193f0a0-0000-7000-8000-000000000001",
    "name":"a \"quoted\" run","flow_id":"0193f0a0-0000-7000-8000-000000000002",
    "work_queue_id":"0193f0a0-0000-7000-8000-000000000003",
    "work_queue_name":"default","parameters":{"estimated_run_time":[1,{"x":"}"}],
    "s":"\u00e9\\","n":1.5e-7,"big":12345678901234567890},"tags":["a"],
    "state_type":"SCHEDULED","state_name":"Scheduled","run_count":0,
    "expected_start_time":null,"start_time":null,"total_run_time":0.0,
    "estimated_run_time":0.0,"estimated_start_time_delta":0.0,
    "created_by":{"id":null,"type":"SCHEDULE","display_value":"x"},
    "work_pool_id":"0193f0a0-0000-7000-8000-000000000004",
    "work_pool_name":"pool","state":{"type":"SCHEDULED"},"job_variables":{}})");
  auto same = [&](const json& doc) {
    const auto stored = dump_json(doc);
    for (const bool worker : {false, true}) {
      std::string out = "x";
      INFO(stored << " worker " << worker);
      REQUIRE(append_rendered_flow_run(out, stored, now, worker));
      CHECK(out == "x" + dump_json(worker ? worker_flow_run(doc, now)
                                          : render_flow_run(doc, now)));
    }
  };
  same(run);
  run["expected_start_time"] = "2027-01-15T10:00:00.000000Z"; // late
  same(run);
  run["start_time"] = "2027-01-15T10:00:03.500000Z";
  run["state_type"] = "COMPLETED";
  run["total_run_time"] = 2.25;
  same(run);
  run["expected_start_time"] = format_timestamp(at(60)); // in the future
  run["start_time"] = nullptr;
  run["state_type"] = "SCHEDULED";
  same(run);
  // Escapes before quotes, brackets and keys inside strings and nested
  // values: only top-level members are members.
  run["parameters"] = json::parse(R"({"a\\\"b":"x\\","[":"]}{","c":[["}"],{"d":"\\\\"}],
    "work_pool_id":1,"estimated_start_time_delta":"\"estimated_run_time\":"})");
  same(run);
  // The pool members first, last, or next to each other, and `created_by`
  // followed by a member a worker item leaves out.
  json reordered = json::object();
  for (const char* k : {"work_pool_id", "work_pool_name"})
    reordered[k] = run.at(k);
  for (const auto& [k, v] : run.items())
    if (k != "work_pool_id" && k != "work_pool_name" && k != "work_queue_id")
      reordered[k] = v;
  reordered["work_queue_id"] = run.at("work_queue_id");
  same(reordered);
  json adjacent = json::object();
  for (const auto& [k, v] : run.items()) {
    if (k == "work_pool_id" || k == "work_pool_name" || k == "work_queue_id")
      continue;
    adjacent[k] = v;
    if (k == "created_by") {
      adjacent["work_queue_id"] = run.at("work_queue_id");
      adjacent["work_pool_name"] = run.at("work_pool_name");
      adjacent["work_pool_id"] = run.at("work_pool_id");
    }
  }
  same(adjacent);
  run["total_run_time"] = 1e-7;
  run["expected_start_time"] = "2027-01-15T10:00:00.000000Z";
  same(run);
  // RUNNING needs its state's time; a text that is not a run is refused.
  run["state_type"] = "RUNNING";
  std::string out;
  CHECK(!append_rendered_flow_run(out, dump_json(run), now));
  CHECK(!append_rendered_flow_run(out, "[1]", now));
  CHECK(!append_rendered_flow_run(out, R"({"id":1})", now));
  CHECK(!append_rendered_flow_run(out, R"({"id":)", now));
  CHECK(out.empty());
}
