#include "storage/etcd/client.hpp"
#include "tests/support/etcd_cluster.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

// The etcd client against real etcd members started by each test case
// (tests/support/etcd_cluster.hpp); etcdctl cross-checks what it wrote.

namespace etcd = deployd::storage::etcd;
using deployd::testing::etcd_cluster;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto deadline = 2000ms;
const std::string head_key = "log/head";

std::unique_ptr<etcd::client> connect(const std::vector<std::string>& eps) {
  auto c = etcd::client::connect(eps);
  REQUIRE(c.has_value());
  return std::move(*c);
}

std::string entry_key(std::int64_t seq) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "log/e/%020lld",
                static_cast<long long>(seq));
  return buffer;
}

/// The fenced append of ETCD.md: succeeds only while log/head == seq; the
/// failure branch returns the current head.
etcd::txn_request fenced_append(std::int64_t seq, const std::string& value) {
  return {{{head_key, etcd::compare::target::value, std::to_string(seq), 0}},
          {etcd::put_op{entry_key(seq), value, 0},
           etcd::put_op{head_key, std::to_string(seq + 1), 0}},
          {etcd::range_op{head_key, "", 0}}};
}

/// create_revision(head) == 0 -> head = "0".
etcd::txn_request create_head() {
  return {{{head_key, etcd::compare::target::create_revision, "", 0}},
          {etcd::put_op{head_key, "0", 0}},
          {etcd::range_op{head_key, "", 0}}};
}

template <class T>
T must(std::expected<T, etcd::error> r) {
  INFO((r ? "" : r.error().message));
  REQUIRE(r.has_value());
  return std::move(*r);
}

void must(std::expected<void, etcd::error> r) {
  INFO((r ? "" : r.error().message));
  REQUIRE(r.has_value());
}

std::string get_value(etcd::client& c, const std::string& key) {
  auto r = must(c.range({key, "", 0, 0, false, false, false}, deadline));
  REQUIRE(r.kvs.size() == 1);
  return r.kvs.front().value;
}

} // namespace

TEST_CASE("prefix_end increments the last byte below 0xff", "[etcd]") {
  CHECK(etcd::prefix_end("log/") == "log0");
  CHECK(etcd::prefix_end("a") == "b");
  CHECK(etcd::prefix_end(std::string("a\xff", 2)) == "b");
  CHECK(etcd::prefix_end(std::string("\xff\xff", 2)) == std::string(1, '\0'));
  CHECK(etcd::prefix_end("") == std::string(1, '\0'));
}

TEST_CASE("connect rejects unusable endpoint lists", "[etcd]") {
  CHECK(etcd::client::connect({}).error().code == etcd::errc::invalid);
  CHECK(etcd::client::connect({"https://127.0.0.1:2379"}).error().code ==
        etcd::errc::invalid);
  CHECK(etcd::client::connect({"127.0.0.1"}).error().code ==
        etcd::errc::invalid);
  CHECK(etcd::client::connect({"http://127.0.0.1:2379/", "localhost:1"})
            .has_value());
}

TEST_CASE("a client with no member reachable fails within its deadline",
          "[etcd]") {
  // Port 1 on loopback: connection refused.
  auto c = connect({"http://127.0.0.1:1"});
  const auto started = steady::now();
  auto r = c->put({"k", "v", 0}, 1500ms);
  REQUIRE_FALSE(r.has_value());
  CHECK((r.error().code == etcd::errc::unavailable ||
         r.error().code == etcd::errc::deadline));
  CHECK(etcd::outcome_unknown(r.error()));
  CHECK(steady::now() - started < 3s);
  auto s = c->status(500ms);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == etcd::errc::unavailable);
}

TEST_CASE("the fenced append succeeds at the head and a stale one gets the "
          "current head",
          "[etcd]") {
  etcd_cluster cluster;
  auto c = connect(cluster.endpoints());

  { // create-if-absent by create_revision == 0, once
    auto first = must(c->txn(create_head(), deadline));
    CHECK(first.succeeded);
    CHECK(first.ranges.empty());
    auto second = must(c->txn(create_head(), deadline));
    CHECK_FALSE(second.succeeded);
    REQUIRE(second.ranges.size() == 1);
    REQUIRE(second.ranges[0].size() == 1);
    CHECK(second.ranges[0][0].value == "0");
    CHECK(second.ranges[0][0].create_revision == first.revision);
  }

  { // a value compare on a missing key is false, even against ""
    etcd::txn_request t{{{"absent", etcd::compare::target::value, "", 0}},
                        {etcd::put_op{"absent", "x", 0}},
                        {}};
    CHECK_FALSE(must(c->txn(t, deadline)).succeeded);
    auto r =
        must(c->range({"absent", "", 0, 0, false, false, false}, deadline));
    CHECK(r.kvs.empty());
  }

  { // appends, a stale append, and etcdctl reading them back
    auto a0 = must(c->txn(fenced_append(0, "batch-0"), deadline));
    REQUIRE(a0.succeeded);
    auto a1 = must(c->txn(fenced_append(1, "batch-1"), deadline));
    REQUIRE(a1.succeeded);
    CHECK(a1.revision == a0.revision + 1);

    // A writer still deciding against head 1 is fenced out and learns the
    // head in the same round trip.
    auto stale = must(c->txn(fenced_append(1, "intruder"), deadline));
    CHECK_FALSE(stale.succeeded);
    REQUIRE(stale.ranges.size() == 1);
    REQUIRE(stale.ranges[0].size() == 1);
    CHECK(stale.ranges[0][0].key == head_key);
    CHECK(stale.ranges[0][0].value == "2");
    CHECK(stale.ranges[0][0].mod_revision == a1.revision);
    CHECK(stale.ranges[0][0].version == 3);
    CHECK(stale.revision == a1.revision);
    CHECK(get_value(*c, entry_key(1)) == "batch-1");

    // The mod_revision fence works the same way.
    etcd::txn_request by_rev{
        {{head_key, etcd::compare::target::mod_revision, "", a1.revision}},
        {etcd::put_op{head_key, "2", 0}},
        {etcd::range_op{head_key, "", 0}}};
    CHECK(must(c->txn(by_rev, deadline)).succeeded);
    CHECK_FALSE(must(c->txn(by_rev, deadline)).succeeded);

    const auto read =
        cluster.etcdctl({"get", "--prefix", "log/e/", "--print-value-only"});
    CHECK(read.exit_code == 0);
    CHECK(read.output == "batch-0\nbatch-1\n");
  }

  { // put, delete and version compares
    const auto rev = must(c->put({"k", "v1", 0}, deadline));
    CHECK(rev > 1);
    etcd::txn_request t{
        {{"k", etcd::compare::target::version, "", 1}},
        {etcd::put_op{"k", "v2", 0}, etcd::range_op{"k", "", 0}},
        {}};
    auto r = must(c->txn(t, deadline));
    REQUIRE(r.succeeded);
    // A range in a txn sees the branch's own earlier put.
    REQUIRE(r.ranges.size() == 1);
    CHECK(r.ranges[0].at(0).value == "v2");
    CHECK(must(c->del({"k", ""}, deadline)) == 1);
    CHECK(must(c->del({"k", ""}, deadline)) == 0);
  }

  { // malformed txns are refused as invalid
    etcd::txn_request dup{
        {}, {etcd::put_op{"same", "a", 0}, etcd::put_op{"same", "b", 0}}, {}};
    auto r = c->txn(dup, deadline);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == etcd::errc::invalid);
    CHECK(r.error().message.find("duplicate key") != std::string::npos);
    CHECK_FALSE(etcd::outcome_unknown(r.error()));

    etcd::txn_request many;
    for (int i = 0; i < 129; ++i) {
      many.success.push_back(etcd::put_op{"k" + std::to_string(i), "v", 0});
    }
    r = c->txn(many, deadline);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == etcd::errc::invalid);
    CHECK(r.error().message.find("too many operations") != std::string::npos);
  }
}

TEST_CASE("range pages with limit and more at a fixed revision", "[etcd]") {
  etcd_cluster cluster{1};
  auto c = connect(cluster.endpoints());
  constexpr int keys = 25;
  std::int64_t revision = 0;
  for (int i = 0; i < keys; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "p/%02d", i);
    revision = must(c->put({key, "old-" + std::to_string(i), 0}, deadline));
  }
  // Later writes must not show in a read at `revision`.
  must(c->put({"p/00", "new", 0}, deadline));
  must(c->put({"p/99", "new", 0}, deadline));
  must(c->put({"q", "outside", 0}, deadline));

  std::vector<etcd::key_value> seen;
  std::string from = "p/";
  int pages = 0;
  for (;;) {
    auto r = must(c->range(
        {from, etcd::prefix_end("p/"), 10, revision, false, false, false},
        deadline));
    ++pages;
    CHECK(r.count == keys - std::int64_t(seen.size()));
    seen.insert(seen.end(), r.kvs.begin(), r.kvs.end());
    if (!r.more) {
      break;
    }
    REQUIRE(r.kvs.size() == 10);
    from = r.kvs.back().key + std::string(1, '\0');
  }
  CHECK(pages == 3);
  REQUIRE(seen.size() == keys);
  for (int i = 0; i < keys; ++i) {
    CHECK(seen[std::size_t(i)].value == "old-" + std::to_string(i));
  }

  { // a host name is resolved at connect
    auto by_name =
        connect({"localhost:" + std::to_string(cluster.client_port(0))});
    CHECK(get_value(*by_name, "p/99") == "new");
  }

  { // serializable, keys-only and count-only reads
    auto all = must(c->range(
        {"p/", etcd::prefix_end("p/"), 0, 0, true, true, false}, deadline));
    CHECK(all.kvs.size() == keys + 1);
    CHECK(all.kvs.front().value.empty());
    CHECK(all.kvs.front().key == "p/00");
    auto count = must(c->range(
        {"p/", etcd::prefix_end("p/"), 0, 0, false, false, true}, deadline));
    CHECK(count.kvs.empty());
    CHECK(count.count == keys + 1);
    CHECK(count.revision == revision + 3);
  }

  { // a future revision is invalid
    auto r =
        c->range({"p/", "", 0, revision + 100, false, false, false}, deadline);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == etcd::errc::invalid);
  }
}

TEST_CASE("a watch from a past revision delivers puts and deletes in order",
          "[etcd]") {
  etcd_cluster cluster{1};
  auto c = connect(cluster.endpoints());
  const auto first = must(c->put({"w/00", "v0", 0}, deadline));
  for (int i = 1; i < 10; ++i) {
    must(c->put({"w/" + std::to_string(i * 10), "v" + std::to_string(i), 0},
                deadline));
  }
  auto w = must(c->watch_range("w/", etcd::prefix_end("w/"), first));
  for (int i = 10; i < 20; ++i) {
    must(c->put({"w/" + std::to_string(i * 10), "v" + std::to_string(i), 0},
                deadline));
  }
  must(c->put({"other", "x", 0}, deadline));
  must(c->del({"w/00", ""}, deadline));

  std::vector<etcd::watch::event> events;
  const auto until = steady::now() + 10s;
  while (events.size() < 21 && steady::now() < until) {
    auto b = must(w->next(500ms));
    CHECK_FALSE(b.canceled);
    for (auto& e : b.events) {
      events.push_back(std::move(e));
    }
  }
  REQUIRE(events.size() == 21);
  for (int i = 0; i < 20; ++i) {
    const auto& e = events[std::size_t(i)];
    CHECK(e.type == etcd::watch::event::kind::put);
    CHECK(e.kv.value == "v" + std::to_string(i));
    CHECK(e.kv.mod_revision == first + i);
  }
  CHECK(events[20].type == etcd::watch::event::kind::del);
  CHECK(events[20].kv.key == "w/00");
  CHECK(events[20].kv.mod_revision == first + 21);

  { // a quiet watch times out with an empty batch
    auto b = must(w->next(200ms));
    CHECK(b.events.empty());
    CHECK_FALSE(b.canceled);
  }

  { // cancel() from another thread ends a blocked next()
    std::thread canceller{[&] {
      std::this_thread::sleep_for(300ms);
      w->cancel();
    }};
    const auto started = steady::now();
    auto b = must(w->next(20s));
    canceller.join();
    CHECK(b.canceled);
    CHECK(steady::now() - started < 5s);
    CHECK(must(w->next(10ms)).canceled);
  }
}

TEST_CASE("compaction cancels an older watch and fails reads below it",
          "[etcd]") {
  etcd_cluster cluster{1};
  auto c = connect(cluster.endpoints());
  const auto kept = must(c->put({"once", "kept", 0}, deadline));
  std::int64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    last = must(c->put({"head", std::to_string(i), 0}, deadline));
  }
  must(c->compact(last, true, deadline));

  auto r = c->range({"head", "", 0, kept, false, false, false}, deadline);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == etcd::errc::compacted);
  CHECK_FALSE(etcd::outcome_unknown(r.error()));
  // A key never overwritten keeps its only revision: reading by key works.
  CHECK(get_value(*c, "once") == "kept");

  auto w = must(c->watch_range("head", "", kept));
  etcd::watch::batch b;
  const auto until = steady::now() + 10s;
  while (!b.canceled && steady::now() < until) {
    b = must(w->next(500ms));
  }
  CHECK(b.canceled);
  CHECK(b.compact_revision == last);
  CHECK(b.events.empty());

  // A compaction at an already compacted revision is refused.
  auto again = c->compact(kept, false, deadline);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == etcd::errc::compacted);
}

TEST_CASE("a lease lives by keep-alives and its keys go when it expires",
          "[etcd]") {
  etcd_cluster cluster;
  auto c = connect(cluster.endpoints());
  const auto l = must(c->lease_grant(2, deadline));
  CHECK(l.id != 0);
  CHECK(l.ttl_seconds == 2);
  // Acquire leadership the way ETCD.md does: create-if-absent with a lease.
  etcd::txn_request acquire{
      {{"leader", etcd::compare::target::create_revision, "", 0}},
      {etcd::put_op{"leader", "n1", l.id}},
      {etcd::range_op{"leader", "", 0}}};
  REQUIRE(must(c->txn(acquire, deadline)).succeeded);
  auto lost = must(c->txn(acquire, deadline));
  REQUIRE_FALSE(lost.succeeded);
  CHECK(lost.ranges.at(0).at(0).lease == l.id);

  // 3 s of keep-alives every 500 ms: longer than the TTL, the key stays.
  auto w = must(c->watch_range("leader", "", 0));
  const auto until = steady::now() + 3s;
  while (steady::now() < until) {
    CHECK(must(c->lease_keep_alive(l.id, 1000ms)) == 2);
    std::this_thread::sleep_for(500ms);
  }
  CHECK(get_value(*c, "leader") == "n1");

  // Without keep-alives the key is deleted within about the TTL.
  const auto stopped = steady::now();
  bool deleted = false;
  while (!deleted && steady::now() - stopped < 6s) {
    for (const auto& e : must(w->next(200ms)).events) {
      deleted = deleted || e.type == etcd::watch::event::kind::del;
    }
  }
  CHECK(deleted);
  CHECK(steady::now() - stopped < 4s);
  CHECK(must(c->lease_keep_alive(l.id, 1000ms)) == 0);
  auto put = c->put({"leader", "n1", l.id}, deadline);
  REQUIRE_FALSE(put.has_value());
  CHECK(put.error().code == etcd::errc::lease_not_found);
  CHECK_FALSE(etcd::outcome_unknown(put.error()));
  auto revoke = c->lease_revoke(l.id, deadline);
  REQUIRE_FALSE(revoke.has_value());
  CHECK(revoke.error().code == etcd::errc::lease_not_found);

  { // revoking a live lease deletes its keys at once
    const auto l2 = must(c->lease_grant(10, deadline));
    must(c->put({"leased", "x", l2.id}, deadline));
    must(c->lease_revoke(l2.id, deadline));
    auto r =
        must(c->range({"leased", "", 0, 0, false, false, false}, deadline));
    CHECK(r.kvs.empty());
    CHECK(must(c->lease_keep_alive(l2.id, 1000ms)) == 0);
  }
}

TEST_CASE("requests over etcd's size limits are refused as too_large",
          "[etcd]") {
  // 256 KiB requests; etcd's gRPC server then takes messages up to
  // 256 KiB + 512 KiB.
  etcd_cluster cluster{1, {"--max-request-bytes=262144"}};
  auto c = connect(cluster.endpoints());
  CHECK(must(c->put({"fits", std::string(200'000, 'x'), 0}, deadline)) > 0);

  for (const std::size_t size : {300'000UL, 1'000'000UL, 20'000'000UL}) {
    INFO("value of " << size << " bytes");
    auto r = c->txn(fenced_append(0, std::string(size, 'x')), 5s);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == etcd::errc::too_large);
    CHECK_FALSE(etcd::outcome_unknown(r.error()));
  }
  // The client still works afterwards.
  CHECK(get_value(*c, "fits").size() == 200'000);
}

TEST_CASE("NOSPACE refuses writes as no_space until space is freed and the "
          "alarm disarmed",
          "[etcd]") {
  constexpr std::int64_t quota = 2 * 1024 * 1024;
  etcd_cluster cluster{3, {"--quota-backend-bytes=" + std::to_string(quota)}};
  auto c = connect(cluster.endpoints());
  const std::string value(100'000, 'v');
  int written = 0;
  std::optional<etcd::error> refused;
  while (written < 200) {
    auto r = c->put({"fill/" + std::to_string(written), value, 0}, deadline);
    if (!r) {
      refused = r.error();
      break;
    }
    ++written;
  }
  REQUIRE(refused.has_value());
  INFO(refused->message);
  CHECK(refused->code == etcd::errc::no_space);
  CHECK(written > 5);
  // The put that crossed the quota may have been applied all the same
  // (etcd checks the quota again at apply time, applies, then refuses).
  CHECK(etcd::outcome_unknown(*refused));
  const auto crossed = must(c->range({"fill/" + std::to_string(written), "", 0,
                                      0, false, false, true},
                                     deadline))
                           .count;

  // Even a txn whose compare fails is refused when it holds a put.
  auto t = c->txn(fenced_append(12345, "x"), deadline);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().code == etcd::errc::no_space);
  // Reads go on.
  CHECK(get_value(*c, "fill/0").size() == value.size());

  // The member that hit the quota raises the alarm through raft: the
  // others report it once they have applied that entry, a moment later.
  std::vector<etcd::member_status> statuses;
  const auto alarm_until = steady::now() + 10s;
  const auto all_alarmed = [&] {
    statuses = must(c->status(deadline));
    for (const auto& s : statuses)
      if (s.alarms != std::vector<std::string>{"NOSPACE"})
        return false;
    return true;
  };
  while (!all_alarmed() && steady::now() < alarm_until)
    std::this_thread::sleep_for(50ms);
  REQUIRE(statuses.size() == 3);
  for (const auto& s : statuses) {
    INFO(s.endpoint);
    CHECK(s.error.empty());
    CHECK(s.alarms == std::vector<std::string>{"NOSPACE"});
  }

  // Free space: delete, compact, defragment; writes still fail until the
  // alarm is disarmed.
  CHECK(must(c->del({"fill/", etcd::prefix_end("fill/")}, deadline)) ==
        written + crossed);
  const auto now =
      must(c->range({"fill/0", "", 0, 0, false, false, false}, deadline))
          .revision;
  // `physical` waits for the member that took the compaction only; the
  // others compact asynchronously, and a member defragmented before its
  // compaction keeps its size and would raise NOSPACE again at the next
  // write. So defragment until every member has shrunk.
  must(c->compact(now, true, 5s));
  const auto shrink_until = steady::now() + 15s;
  bool shrunk = false;
  while (!shrunk && steady::now() < shrink_until) {
    must(c->defragment(5s));
    shrunk = true;
    for (const auto& s : must(c->status(deadline))) {
      shrunk = shrunk && s.db_size < quota / 2;
    }
  }
  REQUIRE(shrunk);
  auto still = c->put({"after", "x", 0}, deadline);
  REQUIRE_FALSE(still.has_value());
  CHECK(still.error().code == etcd::errc::no_space);

  must(c->alarm_disarm_all(deadline));
  CHECK(must(c->put({"after", "x", 0}, deadline)) > 0);
  // Status is each member's own view: followers apply the disarm a moment
  // after the member that took it.
  bool clear = false;
  const auto clear_until = steady::now() + 5s;
  while (!clear && steady::now() < clear_until) {
    clear = true;
    for (const auto& s : must(c->status(deadline))) {
      clear = clear && s.alarms.empty() && s.db_size < quota / 2;
    }
    if (!clear) {
      std::this_thread::sleep_for(50ms);
    }
  }
  CHECK(clear);
}

TEST_CASE("SIGKILL of the etcd leader during fenced appends: unknown outcomes, "
          "then appends again through the same client",
          "[etcd]") {
  etcd_cluster cluster;
  const auto leader = cluster.wait_for_leader();
  // The leader first, so the client's connection is the one that dies.
  std::vector<std::string> eps{cluster.endpoint(leader)};
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (i != leader) {
      eps.push_back(cluster.endpoint(i));
    }
  }
  auto c = connect(eps);
  const auto start = must(c->txn(create_head(), deadline)).revision;
  auto w = must(c->watch_range("log/e/", etcd::prefix_end("log/e/"), start));
  // A leader lease kept alive on the stream that is about to break.
  const auto l = must(c->lease_grant(10, deadline));
  REQUIRE(must(c->lease_keep_alive(l.id, 1000ms)) == 10);

  constexpr std::int64_t total = 150;
  constexpr std::int64_t kill_after = 50;
  std::vector<etcd::error> errors;
  std::chrono::milliseconds gap{0};
  auto last_ack = steady::now();
  std::int64_t resolved_by_reading = 0;
  for (std::int64_t seq = 0; seq < total;) {
    const std::string value = "writer-1|" + std::to_string(seq);
    auto r = c->txn(fenced_append(seq, value), 1000ms);
    if (!r) {
      // Resend the identical txn: the fence makes it idempotent.
      errors.push_back(r.error());
      REQUIRE(errors.size() < 50);
      continue;
    }
    if (!r->succeeded) {
      // An earlier try whose answer was lost may have been applied: the
      // entry says whose it is.
      REQUIRE(r->ranges.at(0).at(0).value == std::to_string(seq + 1));
      REQUIRE(get_value(*c, entry_key(seq)) == value);
      ++resolved_by_reading;
    }
    const auto now = steady::now();
    gap = std::max(gap, std::chrono::duration_cast<std::chrono::milliseconds>(
                            now - last_ack));
    last_ack = now;
    ++seq;
    if (seq == kill_after) {
      cluster.kill(leader);
    }
  }
  INFO("longest gap between acks " << gap.count() << " ms, " << errors.size()
                                   << " errors, " << resolved_by_reading
                                   << " resolved by reading");
  REQUIRE_FALSE(errors.empty());
  for (const auto& e : errors) {
    INFO(e.message);
    CHECK(
        (e.code == etcd::errc::unavailable || e.code == etcd::errc::deadline));
    CHECK(etcd::outcome_unknown(e));
  }
  CHECK(gap < 5s);

  // Every append is there exactly once, in order.
  auto all = must(c->range(
      {"log/e/", etcd::prefix_end("log/e/"), 0, 0, false, false, false},
      deadline));
  REQUIRE(all.kvs.size() == std::size_t(total));
  for (std::int64_t seq = 0; seq < total; ++seq) {
    CHECK(all.kvs[std::size_t(seq)].value == "writer-1|" + std::to_string(seq));
  }
  CHECK(get_value(*c, head_key) == std::to_string(total));

  // The keep-alive stream is re-opened after the error and the lease lives.
  std::optional<std::int64_t> ttl;
  for (int attempt = 0; attempt < 5 && !ttl; ++attempt) {
    auto k = c->lease_keep_alive(l.id, 1000ms);
    if (k) {
      ttl = *k;
    } else {
      INFO(k.error().message);
      CHECK(etcd::outcome_unknown(k.error()));
    }
  }
  REQUIRE(ttl.has_value());
  CHECK(*ttl == 10);

  // status() names the dead member and still answers for the others.
  auto statuses = must(c->status(1000ms));
  REQUIRE(statuses.size() == 3);
  CHECK(statuses[0].endpoint == cluster.endpoint(leader));
  CHECK_FALSE(statuses[0].error.empty());
  CHECK(statuses[1].error.empty());
  CHECK(statuses[2].error.empty());
  CHECK(statuses[1].leader_id == statuses[2].leader_id);
  CHECK(statuses[1].leader_id != 0);

  // The watch was on the dead member: it broke (or goes on through a
  // failover); re-created from the last revision seen + 1 it delivers every
  // append once, in order.
  std::vector<std::string> seen;
  std::int64_t next_revision = start;
  const auto until = steady::now() + 20s;
  while (seen.size() < std::size_t(total) && steady::now() < until) {
    auto b = w->next(500ms);
    if (!b) {
      INFO(b.error().message);
      CHECK((b.error().code == etcd::errc::unavailable ||
             b.error().code == etcd::errc::deadline));
      w = must(
          c->watch_range("log/e/", etcd::prefix_end("log/e/"), next_revision));
      continue;
    }
    REQUIRE_FALSE(b->canceled);
    for (const auto& e : b->events) {
      seen.push_back(e.kv.value);
      next_revision = e.kv.mod_revision + 1;
    }
  }
  REQUIRE(seen.size() == std::size_t(total));
  for (std::int64_t seq = 0; seq < total; ++seq) {
    CHECK(seen[std::size_t(seq)] == "writer-1|" + std::to_string(seq));
  }

  // The killed member comes back on its data dir and catches up.
  cluster.restart(leader);
  const auto until_caught_up = steady::now() + 10s;
  std::string read;
  while (steady::now() < until_caught_up) {
    auto r = cluster.etcdctl(
        {"get", head_key, "--print-value-only", "--consistency=s"}, leader);
    read = r.output;
    if (read == std::to_string(total) + "\n") {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  CHECK(read == std::to_string(total) + "\n");
}
