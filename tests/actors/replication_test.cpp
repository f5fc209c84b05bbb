#include "actors/replication.hpp"

#include "actors/cluster_node.hpp"
#include "actors/command_codec.hpp"
#include "actors/type_ids.hpp"
#include "actors/gateway.hpp"
#include "actors/positions.hpp"
#include "events/json.hpp"
#include "events/python/json_text.hpp"
#include "storage/log_entry.hpp"
#include "storage/record.hpp"
#include "tests/support/temp_event_log.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

using namespace deployd;
using deployd::testing::temp_event_log;
using events::json;
using namespace std::chrono_literals;

namespace {

// Runs commands through the real runtime and writer of a single node.
void run(storage::event_log& log, std::vector<actors::command> commands) {
  events::stepping_clock clock({1'795'000'000'000'000}, 1000);
  events::random_ids ids(7);
  std::mutex m;
  std::condition_variable done;
  std::size_t remaining = commands.size();
  actors::runtime rt(log, clock, ids, {});
  for (std::size_t i = 0; i < commands.size(); ++i)
    rt.submit(std::move(commands[i]), events::uuid::v4_from(i, 1),
              [&](actors::command_result) {
                std::lock_guard g{m};
                if (--remaining == 0)
                  done.notify_one();
              });
  std::unique_lock lock{m};
  done.wait(lock, [&] { return remaining == 0; });
}

// Every row of every projection table, and the log, of `log`.
std::vector<std::string> everything(const storage::event_log& log) {
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < storage::table_count; ++i) {
    auto scanned = log.scan(static_cast<storage::table>(i), "",
                            [&](std::string_view k, std::string_view v) {
                              rows.push_back(std::to_string(i) + "|" +
                                             std::string(k) + "|" +
                                             std::string(v));
                              return true;
                            });
    REQUIRE(scanned);
  }
  auto records = log.read_from({1}, 1'000'000);
  REQUIRE(records);
  for (const auto& r : *records)
    rows.push_back(storage::encode_record(r));
  return rows;
}

std::vector<actors::command> sample_commands() {
  std::vector<actors::command> out;
  out.push_back(events::create_flow{"etl", {"a"}, json::object()});
  out.push_back(events::create_flow{"ml", {}, json{{"team", "x"}}});
  return out;
}

} // namespace

TEST_CASE("a replica that applies the leader's entries holds the same log "
          "and read model",
          "[actors][replication]") {
  temp_event_log leader;
  run(leader.log(), sample_commands());
  // Deployments of the flows just made, then a pause and a delete.
  auto flows = leader.log().read_from({1}, 10);
  REQUIRE(flows);
  REQUIRE(flows->size() == 2);
  const auto flow_id =
    *events::uuid::parse(json::parse((*flows)[0].payload).at("id").get<std::string>());
  std::vector<actors::command> more;
  for (int i = 0; i < 5; ++i) {
    events::create_deployment c;
    c.name = "d" + std::to_string(i);
    c.flow_id = flow_id;
    c.tags = std::vector<std::string>{"t" + std::to_string(i % 2)};
    c.parameters = json{{"n", i}};
    more.push_back(c);
  }
  run(leader.log(), std::move(more));
  auto all = leader.log().read_from({1}, 1000);
  REQUIRE(all);
  REQUIRE(all->size() >= 7);

  // Ship the records in entries of three, as a leader's batches would be.
  temp_event_log follower;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < all->size(); i += 3) {
    std::vector<std::string> records;
    for (std::size_t j = i; j < std::min(all->size(), i + 3); ++j)
      records.push_back(storage::encode_record((*all)[j]));
    const auto bytes =
      storage::encode_log_entry("n1/1/" + std::to_string(++seq),
                                (*all)[i].position, records);
    auto entry = storage::decode_log_entry(bytes);
    REQUIRE(entry);
    auto batch = follower.log().begin();
    REQUIRE(actors::apply_entry(batch, seq, *entry));
    REQUIRE(follower.log().commit(batch, false));
  }
  CHECK(everything(follower.log()) == everything(leader.log()));
  auto head = actors::replica_head(follower.log());
  REQUIRE(head);
  CHECK(head->next_seq == seq + 1);
  CHECK(head->next_position.value == all->size() + 1);

  // An entry that does not continue the replica is refused.
  const auto again = storage::encode_log_entry(
    "n1/1/x", (*all)[0].position, {storage::encode_record((*all)[0])});
  auto batch = follower.log().begin();
  CHECK(actors::apply_entry(batch, seq + 1, *storage::decode_log_entry(again))
          .error() == storage::errc::corruption);
}

TEST_CASE("every command survives the trip to the leader byte for byte",
          "[actors][codec]") {
  events::create_deployment d;
  d.name = "n";
  d.flow_id = events::uuid::v4_from(1, 2);
  d.paused = true;
  d.schedules.push_back({json{{"interval", 60}}, false, json{{"p", 1}}, "s",
                         std::int64_t{3}});
  d.concurrency_limit = {true, std::nullopt};      // null
  d.concurrency_options = {true, json(nullptr)};  // a JSON null value
  d.global_concurrency_limit_id = {true, events::uuid::v4_from(3, 4)};
  d.parameters = json{{"b", 2},
                      {"a", json::array({1, "x", nullptr})},
                      {"big", events::big_integer("123456789012345678901234567890")},
                      {"small", 1.5e-7},
                      {"whole", 3600.0}};
  d.tags = std::vector<std::string>{"x", "y"};
  d.work_pool_name = {false, std::nullopt}; // absent
  d.job_variables = json::object();
  events::update_deployment u;
  u.id = events::uuid::v4_from(5, 6);
  u.schedules = std::vector<events::schedule_update_input>{
    {json{{"cron", "* * * * *"}}, true, std::nullopt, json::object(), "s", "r"}};
  u.parameters = {true, json{{"z", 1}}};
  u.hydration_error = "bad";
  const std::vector<actors::command> commands = {
    events::create_flow{"f", {"t"}, json{{"k", "v"}}},
    events::update_flow{events::uuid::v4_from(1, 1), std::nullopt},
    events::bulk_delete_flows{json(nullptr), 7},
    d,
    u,
    events::set_deployment_paused{u.id, false},
    events::create_work_queue{std::string("pool"), json{{"name", "q"}}},
    events::create_work_queue{std::nullopt, json{{"name", "q2"}}},
    events::update_concurrency_limit{"lim", json{{"limit", 3}}},
    events::delete_block_document{events::uuid::v4_from(9, 9)},
    events::record_worker_heartbeat{"pool", "w1", std::int64_t{30}},
    events::delete_worker{"pool", "w1"},
    events::sweep_workers{3, 30},
    events::create_variable{json{{"name", "v"}, {"value", nullptr}}},
    events::update_variable{events::uuid::v4_from(7, 7), std::nullopt,
                            json{{"value", json{{"n", 1}}}}},
    events::update_variable{std::nullopt, std::string("v"), json::object()},
    events::delete_variable{std::nullopt, std::string("v")},
    events::delete_variable{events::uuid::v4_from(8, 8), std::nullopt},
    events::create_flow_run{std::nullopt, json{{"flow_id", "x"}}},
    events::create_flow_run{events::uuid::v4_from(9, 9),
                            json{{"tags", json::array({"a"})}}},
    events::create_flow_runs_bulk{events::uuid::v4_from(9, 9),
                                  json::array({json::object()})},
    events::update_flow_run{events::uuid::v4_from(9, 1),
                            json{{"infrastructure_pid", "42"}}},
    events::delete_flow_run{events::uuid::v4_from(9, 2)},
    events::set_flow_run_state{events::uuid::v4_from(9, 3),
                               json{{"type", "PENDING"}}, true},
    events::record_poll{{events::uuid::v4_from(9, 4)},
                        {events::uuid::v4_from(9, 5)}},
    events::expire_idempotency_keys{3600, 10},
    events::create_automation{
        json{{"name", "a"},
             {"trigger", {{"type", "event"}, {"within", 0.0}}},
             {"owner_resource", "prefect.deployment.x"}}},
    events::replace_automation{events::uuid::v4_from(10, 1),
                               json{{"name", "b"}, {"actions", json::array()}}},
    events::patch_automation{events::uuid::v4_from(10, 2), json::object()},
    events::delete_automation{events::uuid::v4_from(10, 3)},
    events::delete_automations_owned_by{"prefect.deployment.x"},
  };
  for (const auto& cmd : commands) {
    const auto id = events::uuid::v4_from(cmd.index(), 42);
    const auto bytes = actors::encode_command(cmd, id);
    auto decoded = actors::decode_command(bytes);
    REQUIRE(decoded.has_value());
    CHECK((decoded->first == cmd));
    CHECK(decoded->second == id);
    CHECK(actors::encode_command(decoded->first, id) == bytes);
  }
  CHECK_FALSE(actors::decode_command("{}").has_value());
  CHECK_FALSE(actors::decode_command(R"({"command":"nope","id":"x","body":{}})").has_value());
  CHECK_FALSE(actors::decode_command("not json").has_value());

  // A write's conditions (If-Match, If-None-Match, Idempotency-Key) travel
  // with it to the leader; none is the old form.
  actors::write_conditions conditions;
  conditions.if_match = actors::tag_condition{false, {3, 4}, true};
  conditions.if_none_match = actors::tag_condition{true, {}, false};
  conditions.idempotency_key = "retry-1";
  conditions.request_hash = "ab12";
  const auto write =
    actors::encode_write(commands.front(), events::uuid::v4_from(1, 2),
                         conditions);
  const auto sent = actors::decode_write(write);
  REQUIRE(sent.has_value());
  CHECK(sent->conditions == conditions);
  CHECK((sent->cmd == commands.front()));
  CHECK(actors::decode_write(actors::encode_command(commands.front(),
                                                    events::uuid::v4_from(1, 2)))
          ->conditions == actors::write_conditions{});

  actors::command_result r;
  r.result = actors::command_result::outcome::rejected;
  r.created = true;
  r.body = R"({"detail":"x"})";
  r.reason = {events::rejection_code::conflict, "taken"};
  r.failure = storage::errc::no_space;
  r.position = {99};
  r.replayed = true;
  auto back = actors::decode_result(actors::encode_result(r));
  REQUIRE(back);
  CHECK(back->result == r.result);
  CHECK(back->created);
  CHECK(back->body == r.body);
  CHECK(back->reason == r.reason);
  CHECK(back->failure == r.failure);
  CHECK(back->position == r.position);
  CHECK(back->replayed);
}

TEST_CASE("position waiters run once, when applied or at their deadline",
          "[actors][positions]") {
  actors::position_tracker positions({5});
  int now_calls = 0;
  positions.when_applied({3}, std::chrono::steady_clock::now() + 1s,
                         [&](bool ok) { now_calls += ok ? 1 : 100; });
  CHECK(now_calls == 1);
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> seen;
  auto note = [&](std::string what) {
    return [&, what](bool ok) {
      std::lock_guard g{m};
      seen.push_back(what + (ok ? ":yes" : ":no"));
      cv.notify_all();
    };
  };
  positions.when_applied({7}, std::chrono::steady_clock::now() + 10s, note("7"));
  positions.when_applied({9}, std::chrono::steady_clock::now() + 10s, note("9"));
  positions.when_applied({1000}, std::chrono::steady_clock::now() + 100ms,
                         note("1000"));
  CHECK(positions.waiting() == 3);
  positions.advance({8});
  CHECK(positions.applied().value == 8);
  positions.advance({6}); // never backwards
  CHECK(positions.applied().value == 8);
  {
    std::unique_lock lock{m};
    cv.wait_for(lock, 5s, [&] { return seen.size() == 2; });
  }
  positions.advance({9});
  std::unique_lock lock{m};
  cv.wait_for(lock, 5s, [&] { return seen.size() == 3; });
  CHECK(seen == std::vector<std::string>{"7:yes", "1000:no", "9:yes"});
  CHECK(positions.waiting() == 0);
}

TEST_CASE("the peer actor hands forwarded commands to the writer, and only "
          "those of its own cluster",
          "[actors][cluster]") {
  temp_event_log t;
  events::stepping_clock clock({1'795'000'000'000'000}, 1000);
  events::random_ids ids(5);
  actors::position_tracker positions(t.log().last_position());
  caf::actor_system_config config;
  caf::actor_system sys{config};
  auto writer = actors::spawn_writer(sys, t.log(), clock, ids, positions, {});
  auto peer = actors::spawn_peer(sys, writer, "cluster-a");
  caf::scoped_actor self{sys};
  auto ask = [&](const std::string& cluster) {
    std::optional<actors::command_result> out;
    self
      ->request(peer, std::chrono::seconds(10),
                actors::forward_command{
                  cluster, actors::encode_command(
                             events::create_flow{"etl", {}, json::object()},
                             events::uuid::v4_from(1, 1))})
      .receive(
        [&](const actors::forward_reply& r) {
          out = actors::decode_result(r.bytes);
        },
        [&](const caf::error&) {});
    REQUIRE(out.has_value());
    return *out;
  };
  const auto refused = ask("cluster-b");
  CHECK(refused.result == actors::command_result::outcome::failed);
  CHECK(t.log().last_position().value == 0);
  const auto made = ask("cluster-a");
  CHECK(made.result == actors::command_result::outcome::ok);
  CHECK(made.created);
  CHECK(made.position.value == 1);
  CHECK(json::parse(made.body).at("name") == "etl");
  caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
}
