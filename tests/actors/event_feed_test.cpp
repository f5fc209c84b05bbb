#include "actors/event_feed.hpp"
#include "actors/event_queries.hpp"
#include "actors/replay.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"
#include "tests/support/run_commands.hpp"
#include "tests/support/temp_event_log.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using deployd::testing::run_commands;
using deployd::testing::temp_event_log;
using events::json;

namespace {

// Every event of the feed, oldest first (a window wide enough for any test
// clock).
std::vector<json> feed(storage::event_log& log,
                       const json& filter = json::object()) {
  json f = filter;
  f["occurred"] = {{"since", "2000-01-01T00:00:00Z"},
                   {"until", "2100-01-01T00:00:00Z"}};
  f["order"] = "ASC";
  const auto parsed = events::parse_event_filter(f, {0});
  storage::log_reader r(log, storage::read_tier::any);
  auto page = actors::read_events(r, parsed, 0, 1000, true);
  REQUIRE(page);
  std::vector<json> out;
  for (const auto& text : page->events)
    out.push_back(events::parse_json(text));
  return out;
}

std::vector<std::string> names(const std::vector<json>& list) {
  std::vector<std::string> out;
  for (const auto& e : list)
    out.push_back(e.at("event").get<std::string>());
  return out;
}

events::uuid id_of(const actors::command_result& r) {
  return events::uuid_field(json::parse(r.body), "id");
}

events::prefect_event client_event(const std::string& id_text,
                                   const std::string& name,
                                   events::timestamp occurred,
                                   const std::string& resource) {
  events::prefect_event e;
  e.id = *events::uuid::parse(id_text);
  e.event = name;
  e.occurred = occurred;
  e.resource = {{"prefect.resource.id", resource}};
  return e;
}

struct world {
  events::uuid flow;
  events::uuid deployment;
};

world build(storage::event_log& log) {
  auto flow =
      run_commands(log, {events::create_flow{"etl", {"t"}, json::object()}});
  world w;
  w.flow = id_of(flow[0]);
  auto pool = run_commands(log, {events::create_work_pool{
                                    {{"name", "pool1"}, {"type", "process"}}}});
  REQUIRE(pool[0].result == actors::command_result::outcome::ok);
  events::create_deployment c;
  c.name = "nightly";
  c.flow_id = w.flow;
  c.work_pool_name = {true, "pool1"};
  auto d = run_commands(log, {c});
  REQUIRE(d[0].result == actors::command_result::outcome::ok);
  w.deployment = id_of(d[0]);
  return w;
}

} // namespace

TEST_CASE("each domain event announces the Prefect events the reference emits",
          "[actors][events]") {
  temp_event_log t;
  const auto w = build(t.log());
  events::update_deployment patch;
  patch.id = w.deployment;
  patch.description = {true, "patched"};
  patch.tags = std::vector<std::string>{"x"};
  // The pause endpoint announces nothing; a PATCH of `paused` does.
  events::update_deployment pause_patch;
  pause_patch.id = w.deployment;
  pause_patch.paused = true;
  auto results = run_commands(
      t.log(),
      {patch, events::set_deployment_paused{w.deployment, true},
       events::set_deployment_paused{w.deployment, false}, pause_patch,
       events::update_flow{w.flow, {{"a"}}}, events::delete_flow{w.flow}});
  for (const auto& r : results)
    REQUIRE(r.result == actors::command_result::outcome::ok);

  const auto list = feed(t.log());
  CHECK(names(list) ==
        std::vector<std::string>{
            "prefect.flow.created", "prefect.work-pool.created",
            "prefect.work-pool.not-ready", "prefect.work-queue.created",
            "prefect.deployment.created", "prefect.deployment.updated",
            "prefect.deployment.updated", "prefect.flow.updated",
            // The flow's deletion cascades to the deployment silently.
            "prefect.flow.deleted"});

  const auto& created = list[4];
  CHECK(
      created.at("resource") ==
      json{{"prefect.resource.id", "prefect.deployment." + w.deployment.str()},
           {"prefect.resource.name", "nightly"}});
  const auto& related = created.at("related");
  REQUIRE(related.size() == 3);
  CHECK(related[0].at("prefect.resource.role") == "flow");
  CHECK(related[0].at("prefect.resource.name") == "etl");
  CHECK(related[1].at("prefect.resource.role") == "work-queue");
  CHECK(related[2].at("prefect.resource.role") == "work-pool");
  CHECK(related[2].at("prefect.work-pool.type") == "process");
  CHECK(created.at("payload") == json::object());

  const auto& updated = list[5].at("payload");
  CHECK(updated.at("updated_fields") == json{"description", "tags"});
  CHECK(updated.at("updates").at("description") ==
        json{{"from", nullptr}, {"to", "patched"}});
  CHECK(list[6].at("payload").at("updated_fields") == json{"paused"});
  CHECK(list[8].at("payload") ==
        json{{"name", "etl"}, {"tags", {"a"}}, {"labels", json::object()}});
  // A status event's follows: the pool's creation status event.
  CHECK(list[2].at("follows").is_null());

  SECTION("ids come from the log: the same after a replay") {
    const auto scratch = (t.dir() / "scratch").string();
    const auto report = actors::verify(t.log(), scratch);
    REQUIRE(report);
    CHECK(report->differences == 0);
    REQUIRE(actors::replay(t.log()));
    CHECK(feed(t.log()) == list);
  }
}

TEST_CASE("deleting a deployment announces it with what it was linked to",
          "[actors][events]") {
  temp_event_log t;
  const auto w = build(t.log());
  auto deleted =
      run_commands(t.log(), {events::delete_deployment{w.deployment}});
  REQUIRE(deleted[0].result == actors::command_result::outcome::ok);
  const auto list = feed(t.log());
  REQUIRE(list.back().at("event") == "prefect.deployment.deleted");
  CHECK(list.back().at("resource").at("prefect.resource.name") == "nightly");
  CHECK(list.back().at("related").size() == 3);
  // Pool deletion: one queue deletion first, then the pool.
  auto pool = run_commands(t.log(), {events::delete_work_pool{"pool1"}});
  REQUIRE(pool[0].result == actors::command_result::outcome::ok);
  const auto after = feed(t.log());
  CHECK(names(after).back() == "prefect.work-pool.deleted");
  CHECK(names(after)[after.size() - 2] == "prefect.work-queue.deleted");
}

TEST_CASE("a heartbeat that makes a pool READY announces it, following the "
          "previous status event",
          "[actors][events]") {
  temp_event_log t;
  build(t.log());
  auto r = run_commands(t.log(),
                        {events::record_worker_heartbeat{"pool1", "w1", 30}});
  REQUIRE(r[0].result == actors::command_result::outcome::ok);
  const auto list =
      feed(t.log(), {{"event", {{"prefix", {"prefect.work-pool."}}}}});
  REQUIRE(names(list) == std::vector<std::string>{"prefect.work-pool.created",
                                                  "prefect.work-pool.not-ready",
                                                  "prefect.work-pool.ready"});
  CHECK(list[2].at("follows") == list[1].at("id"));
  CHECK_FALSE(list[2].at("resource").contains("prefect.resource.role"));
}

TEST_CASE("client events are stored once per id, indexed, kept by replay and "
          "expired by retention",
          "[actors][events]") {
  temp_event_log t;
  const events::timestamp old_time{1'600'000'000'000'000};
  const events::timestamp recent{1'795'000'000'000'000};
  events::record_client_events first;
  first.events = {client_event("0192f5e0-0000-7000-8000-000000000001", "a.b",
                               recent, "my.thing.1"),
                  client_event("0192f5e0-0000-7000-8000-000000000001",
                               "a.duplicate", recent, "my.thing.1"),
                  client_event("0192f5e0-0000-7000-8000-000000000002", "a.old",
                               old_time, "my.thing.2")};
  auto big = client_event("0192f5e0-0000-7000-8000-000000000003", "a.big",
                          recent, "my.thing.3");
  big.payload = {{"x", std::string(events::max_event_size_bytes, 'x')}};
  first.events.push_back(big);
  events::record_client_events again;
  again.events = {client_event("0192f5e0-0000-7000-8000-000000000002",
                               "a.later", recent, "my.thing.2")};
  auto results = run_commands(t.log(), {first, again});
  REQUIRE(results[0].result == actors::command_result::outcome::ok);
  REQUIRE(results[1].result == actors::command_result::outcome::ok);
  // Client events are not in the domain log.
  CHECK(t.log().last_position() == events::log_position{0});

  const auto list = feed(t.log());
  REQUIRE(names(list) == std::vector<std::string>{"a.old", "a.b"});
  CHECK(list[1].at("received").get<std::string>().size() > 0);
  CHECK(feed(t.log(), {{"resource", {{"id", {"my.thing.2"}}}}}).size() == 1);

  const auto report = actors::verify(t.log(), (t.dir() / "s1").string());
  REQUIRE(report);
  CHECK(report->differences == 0);
  REQUIRE(actors::replay(t.log()));
  CHECK(feed(t.log()) == list);

  // A week of retention at the test clock's "now" drops the 2020 event.
  auto swept = run_commands(t.log(), {events::expire_client_events{7 * 86400}});
  REQUIRE(swept[0].result == actors::command_result::outcome::ok);
  CHECK(names(feed(t.log())) == std::vector<std::string>{"a.b"});
  storage::log_reader r(t.log(), storage::read_tier::any);
  auto known = actors::event_id_known(
      r, *events::uuid::parse("0192f5e0-0000-7000-8000-000000000002"));
  REQUIRE(known);
  CHECK_FALSE(*known);
  const auto after = actors::verify(t.log(), (t.dir() / "s2").string());
  REQUIRE(after);
  CHECK(after->differences == 0);
}

TEST_CASE("event queries: every filter of the spec, pages and counts",
          "[actors][events]") {
  temp_event_log t;
  const events::timestamp base{1'795'000'000'000'000};
  events::record_client_events cmd;
  for (int i = 0; i < 30; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "0192f5e0-0000-7000-8000-%012d", i + 1);
    auto e = client_event(id, i % 3 == 0 ? "x.started" : "x.stopped",
                          {base.micros + i * 1'000'000},
                          "thing." + std::to_string(i % 5));
    e.resource["prefect.resource.name"] = "name-" + std::to_string(i % 5);
    e.related = json::array(
        {{{"prefect.resource.id", "prefect.flow.f" + std::to_string(i % 2)},
          {"prefect.resource.role", "flow"}}});
    e.payload = {{"n", i}};
    cmd.events.push_back(e);
  }
  REQUIRE(run_commands(t.log(), {cmd})[0].result ==
          actors::command_result::outcome::ok);

  CHECK(feed(t.log()).size() == 30);
  CHECK(feed(t.log(), {{"resource", {{"id", {"thing.1"}}}}}).size() == 6);
  CHECK(feed(t.log(), {{"resource", {{"id_prefix", {"thing.1", "thing.2"}}}}})
            .size() == 12);
  CHECK(
      feed(t.log(),
           {{"resource",
             {{"labels", {{"prefect.resource.name", {"name-*", "!name-1"}}}}}}})
          .size() == 30);
  CHECK(feed(t.log(), {{"resource",
                        {{"labels", {{"prefect.resource.name", "!name-1"}}}}}})
            .size() == 24);
  CHECK(feed(t.log(), {{"event", {{"name", {"x.started"}}}}}).size() == 10);
  CHECK(feed(t.log(), {{"event", {{"exclude_prefix", {"x.sta"}}}}}).size() ==
        20);
  CHECK(feed(t.log(), {{"related", {{"id", {"prefect.flow.f1"}}}}}).size() ==
        15);
  // Without a role, the primary resource never satisfies `related`.
  CHECK(feed(t.log(), {{"related", {{"id", {"thing.1"}}}}}).empty());
  CHECK(
      feed(t.log(), {{"related", json::array({{{"role", {"flow"}}},
                                              {{"id", {"prefect.flow.f0"}}}})}})
          .size() == 15);
  CHECK(feed(t.log(),
             {{"related",
               {{"resources_in_roles",
                 json::array({json::array({"prefect.flow.f0", "flow"})})}}}})
            .size() == 15);
  CHECK(feed(t.log(), {{"any_resource", {{"id", {"thing.3"}}}}}).size() == 6);
  CHECK(
      feed(t.log(), {{"any_resource", {{"id", {"prefect.flow.f0"}}}}}).size() ==
      15);
  CHECK(feed(t.log(),
             {{"id", {{"id", {"0192f5e0-0000-7000-8000-000000000007"}}}}})
            .size() == 1);
  CHECK(feed(t.log(), {{"text", {{"query", "x.started -thing.0"}}}}).size() ==
        8);
  CHECK(feed(t.log(), {{"resource", {{"distinct", true}}}}).size() == 5);

  // Newest first by default; the window is inclusive at both ends.
  json window = {
      {"occurred",
       {{"since", events::format_timestamp({base.micros + 10'000'000})},
        {"until", events::format_timestamp({base.micros + 19'000'000})}}}};
  const auto f = events::parse_event_filter(window, {0});
  storage::log_reader r(t.log(), storage::read_tier::any);
  auto page = actors::read_events(r, f, 2, 3, true);
  REQUIRE(page);
  CHECK(page->total == 10);
  REQUIRE(page->events.size() == 3);
  CHECK(events::parse_json(page->events[0]).at("payload").at("n") == 17);

  std::int64_t n = 0;
  const auto buckets =
      actors::time_buckets(f, "second", 5, {base.micros + 60'000'000}, n);
  CHECK(n == 2);
  auto counted =
      actors::count_events(r, f, actors::event_countable::time, buckets);
  REQUIRE(counted);
  const auto counts = events::parse_json(*counted);
  std::int64_t sum = 0;
  for (const auto& b : counts)
    sum += b.at("count").get<std::int64_t>();
  CHECK(sum == 10);
  auto by_event =
      actors::count_events(r, f, actors::event_countable::event, buckets);
  REQUIRE(by_event);
  const auto events_count = events::parse_json(*by_event);
  REQUIRE(events_count.size() == 2);
  CHECK(events_count[0].at("value") == "x.stopped");
  CHECK(events_count[0].at("count") == 7);
  auto by_resource =
      actors::count_events(r, f, actors::event_countable::resource, buckets);
  REQUIRE(by_resource);
  CHECK(events::parse_json(*by_resource)[0]
            .at("label")
            .get<std::string>()
            .starts_with("name-"));
}
