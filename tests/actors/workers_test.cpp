#include "actors/command_support.hpp"
#include "actors/gateway.hpp"
#include "actors/projections.hpp"
#include "actors/replay.hpp"
#include "actors/workers.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"
#include "tests/support/run_commands.hpp"
#include "tests/support/temp_event_log.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace deployd;
using namespace deployd::actors;
using deployd::testing::run_commands;
using deployd::testing::temp_event_log;
using events::json;
using events::worker_status;

namespace {

constexpr std::int64_t second = 1'000'000;
const events::timestamp t0{1'795'000'000'000'000};

json pool_doc(const char* status, const char* type = "process") {
  return json{{"id", "a4d9e3f2-51d4-4f0e-8f44-0ad2d3f3c7a1"},
              {"created", "2026-11-18T12:00:00Z"},
              {"updated", "2026-11-18T12:00:00Z"},
              {"name", "pool"},
              {"type", type},
              {"status", status ? json(status) : json(nullptr)}};
}

events::worker online_worker(const std::string& name,
                             events::timestamp heartbeat,
                             std::optional<std::int64_t> interval) {
  events::worker w;
  w.id = events::uuid::v4_from(std::hash<std::string>{}(name), 7);
  w.created = heartbeat;
  w.updated = heartbeat;
  w.name = name;
  w.work_pool_id = events::uuid_field(pool_doc("READY"), "id");
  w.last_heartbeat_time = heartbeat;
  w.heartbeat_interval_seconds = interval;
  w.status = worker_status::online;
  return w;
}

struct env_fixture {
  events::random_ids ids{5};
  decision_env env{t0, ids};
};

// The pool status a `work_pool_updated` sets, if it is one.
std::optional<std::string> pool_status_set(const events::any_event& e) {
  const auto* u = std::get_if<events::resource_updated>(&e);
  if (!u || u->kind != events::resource_kind::work_pool ||
      !u->changes.contains("status"))
    return std::nullopt;
  return u->changes.at("status").at("to").get<std::string>();
}

// -- through a real RocksDB log ---------------------------------------------

struct log_fixture {
  temp_event_log t;
  events::stepping_clock clock{t0, 1000};
  events::random_ids ids{42};

  std::vector<command_result> run(std::vector<command> commands) {
    return run_commands(t.log(), std::move(commands), clock, ids);
  }
  command_result run_one(command c) {
    std::vector<command> list;
    list.push_back(std::move(c));
    return run(std::move(list)).front();
  }
  json pool(const std::string& name) {
    storage::log_reader r(t.log(), storage::read_tier::any);
    auto doc =
        find_resource(r, resource_name_key(events::resource_kind::work_pool,
                                           json{{"name", name}}));
    REQUIRE(doc);
    REQUIRE(*doc);
    return **doc;
  }
  std::vector<events::worker> workers(const std::string& pool_name) {
    storage::log_reader r(t.log(), storage::read_tier::any);
    auto found = workers_of(r, events::uuid_field(pool(pool_name), "id"));
    REQUIRE(found);
    return *found;
  }
  json page(const std::string& pool_name, const json& body) {
    storage::log_reader r(t.log(), storage::read_tier::any);
    auto text = worker_page(r, events::uuid_field(pool(pool_name), "id"),
                            worker_query_of(body));
    REQUIRE(text);
    return json::parse(*text);
  }
  void create_pool(const std::string& name, json extra = json::object()) {
    extra["name"] = name;
    if (!extra.contains("type"))
      extra["type"] = "process";
    REQUIRE(run_one(events::create_work_pool{extra}).result ==
            command_result::outcome::ok);
  }
  command_result heartbeat(const std::string& pool_name,
                           const std::string& worker,
                           std::optional<std::int64_t> interval = 30) {
    return run_one(
        events::record_worker_heartbeat{pool_name, worker, interval});
  }
};

} // namespace

TEST_CASE("a worker renders as the bytes of its JSON document, status last",
          "[actors][workers][render]") {
  auto w = online_worker("ProcessWorker \"5f0e\" \u00e9", t0, std::nullopt);
  for (auto status : {worker_status::online, worker_status::offline}) {
    w.status = status;
    const auto text = events::render_worker(w);
    CHECK(text == events::dump_json(events::to_json(w)));
    CHECK(worker_is_online(text) == (status == worker_status::online));
    CHECK(events::worker_from_json(json::parse(text)) == w);
  }
}

TEST_CASE("a first heartbeat creates the worker ONLINE, later ones record "
          "the time",
          "[actors][workers][decide]") {
  env_fixture f;
  const auto pool = pool_doc("READY");
  auto first = decide_heartbeat(pool, std::nullopt,
                                {"pool", "w1", std::int64_t{30}}, f.env);
  REQUIRE(first.size() == 1);
  const auto& created = std::get<events::worker_created>(first[0]).value;
  CHECK(created.name == "w1");
  CHECK(created.status == worker_status::online);
  CHECK(created.created == t0);
  CHECK(created.updated == t0);
  CHECK(created.last_heartbeat_time == t0);
  CHECK(created.heartbeat_interval_seconds == 30);
  CHECK(created.work_pool_id == events::uuid_field(pool, "id"));

  f.env.now = {t0.micros + 5 * second};
  auto later =
      decide_heartbeat(pool, created, {"pool", "w1", std::nullopt}, f.env);
  REQUIRE(later.size() == 1);
  const auto& beat = std::get<events::worker_heartbeat_recorded>(later[0]);
  CHECK(beat.id == created.id);
  CHECK(beat.time == f.env.now);
  CHECK_FALSE(beat.heartbeat_interval_seconds);
  // The same interval again is left out of the event; a new one is kept.
  auto same =
      decide_heartbeat(pool, created, {"pool", "w1", std::int64_t{30}}, f.env);
  CHECK_FALSE(std::get<events::worker_heartbeat_recorded>(same[0])
                  .heartbeat_interval_seconds);
  auto changed =
      decide_heartbeat(pool, created, {"pool", "w1", std::int64_t{60}}, f.env);
  CHECK(std::get<events::worker_heartbeat_recorded>(changed[0])
            .heartbeat_interval_seconds == 60);
}

TEST_CASE("a heartbeat makes only a NOT_READY pool READY",
          "[actors][workers][decide]") {
  env_fixture f;
  const events::record_worker_heartbeat cmd{"pool", "w", std::nullopt};
  auto from_not_ready =
      decide_heartbeat(pool_doc("NOT_READY"), std::nullopt, cmd, f.env);
  REQUIRE(from_not_ready.size() == 2);
  CHECK(pool_status_set(from_not_ready[1]) == "READY");
  // The status write refreshes `updated`, as the reference's UPDATE does.
  const auto& change = std::get<events::resource_updated>(from_not_ready[1]);
  CHECK(change.changes.at("updated").at("to") == events::format_timestamp(t0));
  CHECK(decide_heartbeat(pool_doc("READY"), std::nullopt, cmd, f.env).size() ==
        1);
  CHECK(decide_heartbeat(pool_doc("PAUSED"), std::nullopt, cmd, f.env).size() ==
        1);
  CHECK(decide_heartbeat(pool_doc(nullptr, "prefect-agent"), std::nullopt, cmd,
                         f.env)
            .size() == 1);
}

TEST_CASE("a heartbeat expires after more than interval x multiple seconds",
          "[actors][workers][decide]") {
  const events::sweep_workers rules{3, 30};
  const auto w = online_worker("w", t0, 10);
  CHECK_FALSE(heartbeat_expired(w, {t0.micros + 30 * second}, rules));
  CHECK(heartbeat_expired(w, {t0.micros + 30 * second + 1}, rules));
  SECTION("no interval: the fallback") {
    const auto none = online_worker("w", t0, std::nullopt);
    CHECK_FALSE(heartbeat_expired(none, {t0.micros + 90 * second}, rules));
    CHECK(heartbeat_expired(none, {t0.micros + 90 * second + 1}, rules));
  }
  SECTION("interval 0 is 0 (COALESCE), not the fallback") {
    const auto zero = online_worker("w", t0, 0);
    CHECK_FALSE(heartbeat_expired(zero, t0, rules));
    CHECK(heartbeat_expired(zero, {t0.micros + 1}, rules));
  }
  SECTION("a huge interval never overflows into expiry") {
    const auto huge =
        online_worker("w", t0, std::numeric_limits<std::int64_t>::max());
    CHECK_FALSE(
        heartbeat_expired(huge, {t0.micros + 1'000'000 * second}, rules));
  }
}

TEST_CASE("the sweep marks stale workers OFFLINE, then READY pools without "
          "an ONLINE worker NOT_READY",
          "[actors][workers][decide]") {
  const events::sweep_workers rules{3, 30};
  const events::timestamp now{t0.micros + 100 * second};
  SECTION("every worker stale: workers first, then the pool") {
    std::vector<pool_workers> pools{
        {pool_doc("READY"),
         {online_worker("a", t0, 30), online_worker("b", t0, std::nullopt)}}};
    const auto events = decide_sweep(pools, rules, now);
    REQUIRE(events.size() == 3);
    CHECK(std::get<events::worker_marked_offline>(events[0]).updated == now);
    CHECK(std::holds_alternative<events::worker_marked_offline>(events[1]));
    CHECK(pool_status_set(events[2]) == "NOT_READY");
  }
  SECTION("one worker still fresh: the pool stays READY") {
    std::vector<pool_workers> pools{
        {pool_doc("READY"),
         {online_worker("fresh", {now.micros - second}, 30),
          online_worker("stale", t0, 30)}}};
    const auto events = decide_sweep(pools, rules, now);
    REQUIRE(events.size() == 1);
    CHECK(std::get<events::worker_marked_offline>(events[0]).id ==
          online_worker("stale", t0, 30).id);
  }
  SECTION("a READY pool with no worker at all becomes NOT_READY") {
    const auto events = decide_sweep({{pool_doc("READY"), {}}}, rules, now);
    REQUIRE(events.size() == 1);
    CHECK(pool_status_set(events[0]) == "NOT_READY");
  }
  SECTION("OFFLINE workers, PAUSED and agent pools: nothing changes") {
    auto offline = online_worker("gone", t0, 30);
    offline.status = worker_status::offline;
    std::vector<pool_workers> pools{
        {pool_doc("PAUSED"), {online_worker("x", t0, 30)}},
        {pool_doc("NOT_READY"), {offline}},
        {pool_doc(nullptr, "prefect-agent"), {}}};
    const auto events = decide_sweep(pools, rules, now);
    // Only the paused pool's stale worker goes OFFLINE; no pool changes.
    REQUIRE(events.size() == 1);
    CHECK(std::holds_alternative<events::worker_marked_offline>(events[0]));
  }
  SECTION("nothing stale: no events") {
    std::vector<pool_workers> pools{
        {pool_doc("READY"), {online_worker("a", {now.micros - second}, 30)}}};
    CHECK(decide_sweep(pools, rules, now).empty());
  }
}

TEST_CASE("unpausing a pool makes it READY only with a stored-ONLINE worker",
          "[actors][workers][decide]") {
  auto offline = online_worker("b", t0, 30);
  offline.status = worker_status::offline;
  CHECK(status_after_pause_change(true, {online_worker("a", t0, 30)}) ==
        "PAUSED");
  CHECK(status_after_pause_change(false, {offline}) == "NOT_READY");
  CHECK(status_after_pause_change(
            false, {offline, online_worker("a", t0, 30)}) == "READY");
  CHECK(status_after_pause_change(false, {}) == "NOT_READY");
}

TEST_CASE("worker filters combine criteria as the reference's SQL does",
          "[actors][workers][filter]") {
  const events::timestamp at{t0.micros + 10 * second};
  auto matches = [&](const json& workers, worker_status s) {
    return worker_matches(worker_query_of(json{{"workers", workers}}), s, at);
  };
  CHECK(worker_matches(worker_query_of(json::object()), worker_status::offline,
                       at));
  CHECK(matches({{"status", {{"any_", {"ONLINE"}}}}}, worker_status::online));
  CHECK_FALSE(
      matches({{"status", {{"any_", {"ONLINE"}}}}}, worker_status::offline));
  // `any_: []` matches nothing; `not_any_: []` is no condition.
  CHECK_FALSE(
      matches({{"status", {{"any_", json::array()}}}}, worker_status::online));
  CHECK(matches({{"status", {{"not_any_", json::array()}}}},
                worker_status::online));
  CHECK_FALSE(matches({{"status", {{"not_any_", {"OFFLINE"}}}}},
                      worker_status::offline));
  // Heartbeat bounds are inclusive.
  const auto when = events::format_timestamp(at);
  CHECK(
      matches({{"last_heartbeat_time", {{"before_", when}, {"after_", when}}}},
              worker_status::online));
  CHECK_FALSE(
      matches({{"last_heartbeat_time",
                {{"after_", events::format_timestamp({at.micros + 1})}}}},
              worker_status::online));
  // or_: either criterion; a criterion with no condition is TRUE.
  const json either = {
      {"operator", "or_"},
      {"status", {{"any_", {"ONLINE"}}}},
      {"last_heartbeat_time",
       {{"after_", events::format_timestamp({at.micros + 1})}}}};
  CHECK(matches(either, worker_status::online));
  CHECK_FALSE(matches(either, worker_status::offline));
  CHECK(matches({{"operator", "or_"},
                 {"status", json::object()},
                 {"last_heartbeat_time",
                  {{"after_", events::format_timestamp({at.micros + 1})}}}},
                worker_status::offline));
}

TEST_CASE("heartbeats upsert by pool and name and keep a stored interval",
          "[actors][workers][fold]") {
  log_fixture f;
  f.create_pool("p");
  f.create_pool("q");
  REQUIRE(f.heartbeat("p", "test-worker").result ==
          command_result::outcome::ok);
  REQUIRE(f.heartbeat("p", "test-worker", std::nullopt).result ==
          command_result::outcome::ok);
  REQUIRE(f.heartbeat("p", "test-worker").result ==
          command_result::outcome::ok);
  REQUIRE(f.heartbeat("p", "another-worker", std::nullopt).result ==
          command_result::outcome::ok);
  // The same name in another pool is another worker.
  REQUIRE(f.heartbeat("q", "test-worker", 10).result ==
          command_result::outcome::ok);

  const auto workers = f.workers("p");
  REQUIRE(workers.size() == 2);
  // Most recent heartbeat first.
  CHECK(workers[0].name == "another-worker");
  CHECK_FALSE(workers[0].heartbeat_interval_seconds);
  CHECK(workers[1].name == "test-worker");
  CHECK(workers[1].heartbeat_interval_seconds == 30);
  CHECK(workers[1].status == worker_status::online);
  // `updated` stays at the first heartbeat; the heartbeat time moved.
  CHECK(workers[1].updated == workers[1].created);
  CHECK(workers[1].last_heartbeat_time > workers[1].created);
  CHECK(f.workers("q").size() == 1);
  CHECK(f.pool("p").at("status") == "READY");

  // limit / offset over the stored order.
  CHECK(f.page("p", {{"limit", 1}}).at(0).at("name") == "another-worker");
  CHECK(f.page("p", {{"offset", 1}}).at(0).at("name") == "test-worker");
  CHECK(f.page("p", {{"limit", 0}}) == json::array());
  CHECK(f.page("p", json::object()).at(1) ==
        json::parse(events::render_worker(workers[1])));
}

TEST_CASE("unknown pools and workers are rejected and write nothing",
          "[actors][workers][writer]") {
  log_fixture f;
  f.create_pool("p");
  const auto before = f.t.log().last_position();
  auto r = f.heartbeat("nope", "w");
  CHECK(r.result == command_result::outcome::rejected);
  CHECK(r.reason.subject == "Work pool \"nope\" not found.");
  r = f.run_one(events::delete_worker{"p", "w"});
  CHECK(r.result == command_result::outcome::rejected);
  CHECK(r.reason.subject == "Worker not found.");
  r = f.run_one(events::delete_worker{"nope", "w"});
  CHECK(r.reason.subject == "Work pool \"nope\" not found.");
  CHECK(f.t.log().last_position() == before);
}

TEST_CASE("deleting a worker leaves the pool READY until a sweep",
          "[actors][workers][writer]") {
  log_fixture f;
  f.create_pool("p");
  REQUIRE(f.heartbeat("p", "w", 0).result == command_result::outcome::ok);
  REQUIRE(f.run_one(events::delete_worker{"p", "w"}).result ==
          command_result::outcome::ok);
  CHECK(f.workers("p").empty());
  CHECK(f.pool("p").at("status") == "READY");
  REQUIRE(f.run_one(events::sweep_workers{}).result ==
          command_result::outcome::ok);
  CHECK(f.pool("p").at("status") == "NOT_READY");
  // A sweep with nothing to change appends nothing.
  const auto before = f.t.log().last_position();
  REQUIRE(f.run_one(events::sweep_workers{}).result ==
          command_result::outcome::ok);
  CHECK(f.t.log().last_position() == before);
}

TEST_CASE("PATCH is_paused sets the pool status from its stored workers",
          "[actors][workers][writer]") {
  log_fixture f;
  f.create_pool("p");
  REQUIRE(f.heartbeat("p", "w").result == command_result::outcome::ok);
  REQUIRE(
      f.run_one(events::update_work_pool{"p", {{"is_paused", true}}}).result ==
      command_result::outcome::ok);
  CHECK(f.pool("p").at("status") == "PAUSED");
  // A heartbeat does not unpause.
  REQUIRE(f.heartbeat("p", "w").result == command_result::outcome::ok);
  CHECK(f.pool("p").at("status") == "PAUSED");
  REQUIRE(
      f.run_one(events::update_work_pool{"p", {{"is_paused", false}}}).result ==
      command_result::outcome::ok);
  CHECK(f.pool("p").at("status") == "READY");
  // A PATCH without is_paused leaves the status alone.
  REQUIRE(
      f.run_one(events::update_work_pool{"p", {{"description", "x"}}}).result ==
      command_result::outcome::ok);
  CHECK(f.pool("p").at("status") == "READY");
}

TEST_CASE("a pool's workers are deleted with it, and replay reproduces "
          "every worker row",
          "[actors][workers][replay]") {
  log_fixture f;
  f.create_pool("p");
  f.create_pool("keep");
  for (int i = 0; i < 5; ++i)
    REQUIRE(f.heartbeat("p", "w" + std::to_string(i), i % 2 ? 0 : 30).result ==
            command_result::outcome::ok);
  REQUIRE(f.heartbeat("keep", "k", 0).result == command_result::outcome::ok);
  REQUIRE(f.heartbeat("keep", "stays").result == command_result::outcome::ok);
  REQUIRE(f.run_one(events::sweep_workers{}).result ==
          command_result::outcome::ok);
  std::size_t offline = 0;
  for (const auto& w : f.workers("p"))
    offline += w.status == worker_status::offline;
  CHECK(offline == 2);
  const auto keep_id = events::uuid_field(f.pool("keep"), "id");
  REQUIRE(f.run_one(events::delete_work_pool{"p"}).result ==
          command_result::outcome::ok);
  {
    storage::log_reader r(f.t.log(), storage::read_tier::any);
    std::size_t rows = 0;
    REQUIRE(r.scan(storage::table::worker_names, "",
                   [&](std::string_view key, std::string_view) {
                     CHECK(key.substr(0, 16) == id_key(keep_id));
                     ++rows;
                     return true;
                   }));
    CHECK(rows == 2);
  }
  const auto report = verify(f.t.log(), (f.t.dir() / "scratch").string());
  REQUIRE(report);
  CHECK(report->differences == 0);
  const auto before = f.page("keep", json::object());
  REQUIRE(replay(f.t.log()));
  CHECK(f.page("keep", json::object()) == before);
  CHECK(before.at(0).at("status") == "ONLINE");
  CHECK(before.at(1).at("status") == "OFFLINE");
}

TEST_CASE("the foreman's timer sweeps through the writer on its own",
          "[actors][workers][foreman]") {
  temp_event_log t;
  events::stepping_clock clock{t0, 1000};
  events::random_ids ids{42};
  std::mutex m;
  std::condition_variable cv;
  std::size_t answered = 0;
  auto reply = [&](command_result r) {
    REQUIRE(r.result == command_result::outcome::ok);
    std::lock_guard g{m};
    ++answered;
    cv.notify_all();
  };
  runtime_settings settings;
  settings.sweep_interval = std::chrono::milliseconds(5);
  runtime rt(t.log(), clock, ids, settings);
  rt.submit(events::create_work_pool{{{"name", "p"}, {"type", "process"}}},
            events::uuid::v4_from(1, 1), reply);
  // Interval 0: stale as soon as the clock moves past the heartbeat.
  rt.submit(events::record_worker_heartbeat{"p", "w", std::int64_t{0}},
            events::uuid::v4_from(2, 2), reply);
  {
    std::unique_lock lock{m};
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10),
                        [&] { return answered == 2; }));
  }
  // No request of ours marks the worker OFFLINE: only a timed sweep can.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string status;
  while (std::chrono::steady_clock::now() < deadline) {
    storage::log_reader r(t.log(), storage::read_tier::any);
    auto pool_id = pool_id_named(r, "p");
    REQUIRE(pool_id);
    REQUIRE(*pool_id);
    auto w = find_worker(r, **pool_id, "w");
    REQUIRE(w);
    REQUIRE(*w);
    if ((*w)->status == worker_status::offline) {
      status = "OFFLINE";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(status == "OFFLINE");
}
