#include "storage/etcd/replicated_log.hpp"

#include "tests/support/etcd_cluster.hpp"

#include <catch2/catch.hpp>
#include <chrono>

// deployd's replicated log (keys, fenced appends, leadership) against real
// etcd members: what the cluster's safety rests on, one rule at a time.

namespace etcd = deployd::storage::etcd;
using deployd::testing::etcd_cluster;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 2000ms;

template <class T>
T must(std::expected<T, etcd::error> r) {
  INFO((r ? "" : r.error().message));
  REQUIRE(r.has_value());
  return std::move(*r);
}

std::int64_t lead(etcd::replicated_log& log, const std::string& node) {
  const auto lease = must(log.etcd().lease_grant(2, deadline));
  const auto won = must(log.campaign(lease.id, node, deadline));
  REQUIRE(won.has_value());
  return *won;
}

} // namespace

TEST_CASE("the replicated log appends only at its head and only for the "
          "leader key it was elected with",
          "[etcd][replicated_log]") {
  etcd_cluster cluster({1, {}, 30000ms});
  auto client = must(etcd::client::connect(cluster.endpoints()));
  etcd::replicated_log log(*client, "/t");
  const auto id = must(log.initialise(deadline));
  CHECK(id.size() == 32);
  CHECK(must(log.initialise(deadline)) == id); // created once
  CHECK(must(log.read_head(deadline)) == etcd::log_head{});

  // Heads round-trip through their text; nothing else parses.
  CHECK(etcd::parse_head(etcd::head_text({7, {42}})) == etcd::log_head{7, {42}});
  CHECK_FALSE(etcd::parse_head("7").has_value());
  CHECK_FALSE(etcd::parse_head("0 1").has_value());
  CHECK_FALSE(etcd::parse_head("7 x").has_value());
  CHECK(log.keys().seq_of(log.keys().entry(12)) == 12u);
  CHECK_FALSE(log.keys().seq_of("/t/log/head").has_value());

  const auto lease = must(client->lease_grant(5, deadline));
  const auto rev = must(log.campaign(lease.id, "n1", deadline));
  REQUIRE(rev.has_value());
  // A second campaign on the same lease still holds it; another does not.
  CHECK(must(log.campaign(lease.id, "n1", deadline)) == rev);
  const auto other = must(client->lease_grant(5, deadline));
  CHECK_FALSE(must(log.campaign(other.id, "n2", deadline)).has_value());

  const etcd::log_head h1{1, {1}}, h2{2, {4}}, h3{3, {6}};
  auto r = log.append(h1, h2, "first", *rev, 1000ms, 3000ms);
  CHECK(r.outcome == etcd::append_outcome::committed);
  // The identical txn again (an answer that was lost): settled as ours.
  r = log.append(h1, h2, "first", *rev, 1000ms, 3000ms);
  CHECK(r.outcome == etcd::append_outcome::committed);
  // A writer that decided against the old head: deposed, nothing written.
  r = log.append(h1, h2, "stale", *rev, 1000ms, 3000ms);
  CHECK(r.outcome == etcd::append_outcome::deposed);
  CHECK(must(log.read_head(deadline)) == h2);
  // At the head, but elected under a leader key that is gone: deposed too,
  // even though no other writer has appended anything yet.
  REQUIRE(client->lease_revoke(lease.id, deadline).has_value());
  const auto rev2 = lead(log, "n2");
  r = log.append(h2, h3, "late", *rev, 1000ms, 3000ms);
  CHECK(r.outcome == etcd::append_outcome::deposed);
  CHECK(must(log.read_head(deadline)) == h2);
  r = log.append(h2, h3, "second", rev2, 1000ms, 3000ms);
  CHECK(r.outcome == etcd::append_outcome::committed);

  auto page = must(log.read(1, 0, 0, deadline));
  REQUIRE(page.entries.size() == 2);
  CHECK(page.entries[0].seq == 1);
  CHECK(page.entries[0].value == "first");
  CHECK(page.entries[1].seq == 2);
  CHECK(page.entries[1].value == "second");
  CHECK(page.revision > 0);
  CHECK(must(log.read(2, 1, page.revision, deadline)).entries.size() == 1);
  auto leader = must(log.leader(deadline));
  REQUIRE(leader.has_value());
  CHECK(leader->value == "n2");
}

TEST_CASE("with every etcd member down an append ends unknown within its "
          "budget",
          "[etcd][replicated_log]") {
  etcd_cluster cluster({1, {}, 30000ms});
  auto client = must(etcd::client::connect(cluster.endpoints()));
  etcd::replicated_log log(*client, "/t");
  must(log.initialise(deadline));
  const auto rev = lead(log, "n1");
  cluster.kill(0);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = log.append({1, {1}}, {2, {2}}, "x", rev, 300ms, 1000ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(r.outcome == etcd::append_outcome::unknown);
  CHECK(r.last_error.has_value());
  CHECK(took < 2500ms);
}
