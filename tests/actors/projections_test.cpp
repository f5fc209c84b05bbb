#include "actors/gateway.hpp"
#include "actors/projections.hpp"
#include "actors/replay.hpp"
#include "events/codec.hpp"
#include "events/json_fields.hpp"
#include "tests/support/run_commands.hpp"
#include "tests/support/temp_event_log.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace deployd;
using deployd::testing::run_commands;
using deployd::testing::temp_event_log;
using events::json;

namespace {

events::create_deployment deployment_command(const events::uuid& flow,
                                             const std::string& name) {
  events::create_deployment c;
  c.name = name;
  c.flow_id = flow;
  c.tags = std::vector<std::string>{name};
  return c;
}

} // namespace

TEST_CASE("the writer decides queued commands in order within one batch",
          "[actors][writer]") {
  temp_event_log t;
  auto results =
      run_commands(t.log(), {events::create_flow{"etl", {}, json::object()},
                             events::create_flow{"etl", {}, json::object()}});
  REQUIRE(results[0].result == actors::command_result::outcome::ok);
  CHECK(results[0].created);
  // The second saw the first through the batch: no duplicate flow.
  CHECK_FALSE(results[1].created);
  CHECK(results[1].body == results[0].body);
  CHECK(t.log().last_position() == events::log_position{1});
}

TEST_CASE("a rejected command in a batch leaves the others intact",
          "[actors][writer]") {
  temp_event_log t;
  auto flow =
      run_commands(t.log(), {events::create_flow{"etl", {}, json::object()}});
  const auto flow_id = events::uuid_field(json::parse(flow[0].body), "id");
  auto bad = deployment_command(events::uuid::v4_from(9, 9), "orphan");
  std::vector<actors::command> batch;
  batch.emplace_back(deployment_command(flow_id, "a"));
  batch.emplace_back(bad);
  batch.emplace_back(deployment_command(flow_id, "b"));
  auto results = run_commands(t.log(), std::move(batch));
  CHECK(results[0].result == actors::command_result::outcome::ok);
  CHECK(results[1].result == actors::command_result::outcome::rejected);
  CHECK(results[1].reason.code == events::rejection_code::unknown_flow);
  CHECK(results[2].result == actors::command_result::outcome::ok);
  CHECK(t.log().last_position() == events::log_position{3});
}

TEST_CASE("catch-up and replay rebuild exactly the live read model",
          "[actors][replay]") {
  temp_event_log t;
  auto flow =
      run_commands(t.log(), {events::create_flow{"etl", {}, json::object()}});
  const auto flow_id = events::uuid_field(json::parse(flow[0].body), "id");
  std::vector<actors::command> commands;
  for (int i = 0; i < 300; ++i) {
    auto c = deployment_command(flow_id, "d" + std::to_string(i % 100));
    if (i % 3 == 0)
      c.concurrency_limit = {true, 1 + i % 4};
    if (i % 7 == 0)
      c.concurrency_limit = {true, std::nullopt};
    c.parameters = {{"i", i}};
    commands.push_back(std::move(c));
  }
  auto results = run_commands(t.log(), std::move(commands));
  for (const auto& r : results)
    REQUIRE(r.result == actors::command_result::outcome::ok);

  const auto live = actors::read_model(t.log()).deployment(
      events::uuid_field(json::parse(results.back().body), "id"),
      storage::read_tier::any);
  REQUIRE(live);
  REQUIRE(*live);

  const auto scratch = (t.dir() / "scratch").string();
  const auto report = actors::verify(t.log(), scratch);
  REQUIRE(report);
  CHECK(report->differences == 0);
  CHECK(report->rows_compared > 300);

  const auto stats = actors::replay(t.log());
  REQUIRE(stats);
  CHECK(stats->events == t.log().last_position().value);
  const auto after = actors::read_model(t.log()).deployment(
      events::uuid_field(json::parse(results.back().body), "id"),
      storage::read_tier::any);
  CHECK(after == live);
}

namespace {

// Every key of `t` (a scan of the whole table).
std::vector<std::string> table_keys(storage::event_log& log, storage::table t) {
  std::vector<std::string> keys;
  storage::log_reader r(log, storage::read_tier::any);
  REQUIRE(r.scan(t, "", [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  }));
  return keys;
}

} // namespace

TEST_CASE("an upsert leaves exactly the index rows of the new state",
          "[actors][replay]") {
  // An upsert writes only the index rows that change (fold_updated's
  // reindex); the rows left must be those of the new state, whether a row
  // goes (tag x), stays (tag y, name, created) or comes (tag z).
  temp_event_log t;
  auto flow =
      run_commands(t.log(), {events::create_flow{"etl", {}, json::object()}});
  const auto flow_id = events::uuid_field(json::parse(flow[0].body), "id");
  auto a = deployment_command(flow_id, "a");
  a.tags = std::vector<std::string>{"x", "y"};
  auto b = deployment_command(flow_id, "b");
  b.tags = std::vector<std::string>{"x"};
  auto created = run_commands(t.log(), {a, b});
  REQUIRE(created[0].created);
  REQUIRE(created[1].created);
  const auto a_id = events::uuid_field(json::parse(created[0].body), "id");
  const auto b_id = events::uuid_field(json::parse(created[1].body), "id");

  a.tags = std::vector<std::string>{"y", "z"};
  a.parameters = {{"i", 1}};
  b.parameters = {{"i", 2}}; // tags unchanged: only updated and the summary
  auto upserted = run_commands(t.log(), {a, b, b});
  for (const auto& r : upserted) {
    REQUIRE(r.result == actors::command_result::outcome::ok);
    CHECK_FALSE(r.created);
  }

  const auto tags = table_keys(t.log(), storage::table::deployment_tags);
  REQUIRE(tags.size() == 3);
  std::vector<std::string> a_tags, b_tags;
  for (const auto& key : tags) {
    const auto id = key.substr(key.size() - 16);
    // length-prefixed tag + name \0 id: the one-letter tag comes just
    // before the one-letter name
    const auto tag = key.substr(key.size() - 16 - 3, 1);
    if (id == actors::id_key(a_id))
      a_tags.push_back(tag);
    else if (id == actors::id_key(b_id))
      b_tags.push_back(tag);
  }
  std::sort(a_tags.begin(), a_tags.end());
  CHECK(a_tags == std::vector<std::string>{"y", "z"});
  CHECK(b_tags == std::vector<std::string>{"x"});
  CHECK(table_keys(t.log(), storage::table::deployment_by_name).size() == 2);
  CHECK(table_keys(t.log(), storage::table::deployment_by_created).size() == 2);
  const auto updated =
      table_keys(t.log(), storage::table::deployment_by_updated);
  REQUIRE(updated.size() == 2);
  CHECK(updated[0].substr(8) != updated[1].substr(8)); // one row each
  CHECK(table_keys(t.log(), storage::table::deployment_summaries).size() == 2);

  // The filter answers from these rows.
  const auto by_tag =
      actors::read_model(t.log()).deployment(a_id, storage::read_tier::any);
  REQUIRE(by_tag);
  REQUIRE(*by_tag);
  CHECK(json::parse(**by_tag).at("tags") == json{"y", "z"});

  const auto report = actors::verify(t.log(), (t.dir() / "scratch").string());
  REQUIRE(report);
  CHECK(report->differences == 0);
}

TEST_CASE("verify reports a projection row that disagrees with the log",
          "[actors][replay]") {
  temp_event_log t;
  run_commands(t.log(), {events::create_flow{"etl", {}, json::object()}});
  auto b = t.log().begin();
  b.put(storage::table::flow_names, "ghost", "0123456789abcdef");
  REQUIRE(t.log().commit(b, true));
  const auto report = actors::verify(t.log(), (t.dir() / "scratch").string());
  REQUIRE(report);
  CHECK(report->differences == 1);
  CHECK(report->first_difference.find("flow_names") != std::string::npos);
}

TEST_CASE("catch-up from position 0 first clears what a killed replay left",
          "[actors][replay]") {
  temp_event_log t;
  run_commands(t.log(), {events::create_flow{"etl", {}, json::object()}});
  // As after a replay killed between its synced reset of the position and
  // the end of its clearing: position 0, rows still there, one of them
  // (a name row) no event would ever write again.
  auto b = t.log().begin();
  b.put(storage::table::flow_names, "ghost", "0123456789abcdef");
  b.set_projected({0});
  REQUIRE(t.log().commit(b, true));
  REQUIRE(t.log().projected_position() == events::log_position{0});

  const auto stats = actors::catch_up(t.log(), t.log());
  REQUIRE(stats);
  CHECK(stats->events == 1);
  const auto ghost = t.log().get(storage::table::flow_names, "ghost");
  REQUIRE(ghost);
  CHECK_FALSE(ghost->has_value());
  const auto report = actors::verify(t.log(), (t.dir() / "scratch").string());
  REQUIRE(report);
  CHECK(report->differences == 0);
}

TEST_CASE("a read model written in an older format is rebuilt before serving",
          "[actors][replay]") {
  temp_event_log t;
  auto flow =
      run_commands(t.log(), {events::create_flow{"etl", {}, json::object()}});
  const auto flow_id = events::uuid_field(json::parse(flow[0].body), "id");
  auto c = deployment_command(flow_id, "d");
  c.concurrency_limit = {true, 3};
  auto created = run_commands(t.log(), {c});
  REQUIRE(created[0].result == actors::command_result::outcome::ok);
  const auto id = events::uuid_field(json::parse(created[0].body), "id");
  const auto current =
      actors::read_model(t.log()).deployment(id, storage::read_tier::any);
  REQUIRE(current);
  REQUIRE(*current);
  REQUIRE(current->value().find(R"("slot_decay_per_second":0.0})") !=
          std::string::npos);

  // A fresh database is stamped by its first preparation.
  auto first = actors::prepare_read_model(t.log());
  REQUIRE(first);
  CHECK(first->rebuilt);
  CHECK(t.log().read_model_format() == actors::read_model_format);
  auto again = actors::prepare_read_model(t.log());
  REQUIRE(again);
  CHECK_FALSE(again->rebuilt);
  CHECK(again->stats.events == 0);

  // As an older binary left it: no stamp, and a view rendered as it did.
  std::string old_view = **current;
  old_view.replace(old_view.find(R"("slot_decay_per_second":0.0})"),
                   std::string(R"("slot_decay_per_second":0.0})").size(),
                   R"("slot_decay_per_second":0})");
  auto b = t.log().begin();
  b.put(storage::table::deployment_views, actors::id_key(id), old_view);
  REQUIRE(t.log().commit(b, true));
  REQUIRE(t.log().set_read_model_format(1));
  const auto stale = actors::verify(t.log(), (t.dir() / "scratch").string());
  REQUIRE(stale);
  CHECK(stale->differences == 1);
  CHECK(stale->live_format == 1u);

  const auto prepared = actors::prepare_read_model(t.log());
  REQUIRE(prepared);
  CHECK(prepared->rebuilt);
  CHECK(prepared->found_format == 1u);
  CHECK(prepared->stats.events == t.log().last_position().value);
  CHECK(t.log().read_model_format() == actors::read_model_format);
  CHECK(actors::read_model(t.log()).deployment(id, storage::read_tier::any) ==
        current);
  const auto clean = actors::verify(t.log(), (t.dir() / "scratch2").string());
  REQUIRE(clean);
  CHECK(clean->differences == 0);
}
