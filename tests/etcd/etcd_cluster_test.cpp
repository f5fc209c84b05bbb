#include "tests/support/etcd_cluster.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <thread>

// The fixture itself: what the cluster and crash tests rely on.

namespace etcd = deployd::storage::etcd;
using deployd::testing::etcd_cluster;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

std::unique_ptr<etcd::client> connect(const std::vector<std::string>& eps) {
  auto c = etcd::client::connect(eps);
  REQUIRE(c.has_value());
  return std::move(*c);
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

/// Waits until `member` serves `key` == `value` from its own store.
bool member_has(const etcd_cluster& cluster, std::size_t member,
                const std::string& key, const std::string& value) {
  const auto until = steady::now() + 10s;
  while (steady::now() < until) {
    const auto r = cluster.etcdctl(
        {"get", key, "--print-value-only", "--consistency=s"}, member);
    if (r.exit_code == 0 && r.output == value + "\n") {
      return true;
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

} // namespace

TEST_CASE("the etcd fixture starts, pauses, stops, kills and restarts its "
          "own members, then removes them",
          "[etcd][fixture]") {
  std::vector<pid_t> pids;
  std::filesystem::path dir;
  {
    etcd_cluster cluster;
    dir = cluster.dir();
    REQUIRE(cluster.size() == 3);
    const auto leader = cluster.wait_for_leader();
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(cluster.running(i));
      CHECK(cluster.endpoint(i) ==
            "http://127.0.0.1:" + std::to_string(cluster.client_port(i)));
      CHECK(std::filesystem::exists(cluster.data_dir(i) / "member"));
      pids.push_back(cluster.pid(i));
    }
    const auto follower = (leader + 1) % 3;
    auto c = connect(cluster.endpoints());
    auto before = c->status(2s);
    REQUIRE(before.has_value());
    const auto follower_id = (*before)[follower].member_id;

    // A paused follower does not stop writes; it catches up on resume.
    cluster.pause(follower);
    CHECK(cluster.paused(follower));
    auto ok = cluster.etcdctl({"put", "k", "while-paused"}, leader);
    CHECK(ok.exit_code == 0);
    cluster.resume(follower);
    CHECK(member_has(cluster, follower, "k", "while-paused"));

    // Stopped, written without it, restarted on its data dir: same member.
    cluster.stop(follower);
    CHECK_FALSE(cluster.running(follower));
    CHECK(cluster.pid(follower) == -1);
    CHECK(cluster.etcdctl({"put", "k", "while-stopped"}, leader).exit_code ==
          0);
    cluster.restart(follower);
    CHECK(member_has(cluster, follower, "k", "while-stopped"));
    auto after = c->status(2s);
    REQUIRE(after.has_value());
    CHECK((*after)[follower].member_id == follower_id);
    CHECK((*after)[follower].error.empty());
    pids.push_back(cluster.pid(follower));

    // SIGKILL of the leader: the others elect a new one.
    cluster.kill(leader);
    CHECK_FALSE(cluster.running(leader));
    const auto next = cluster.wait_for_leader(10s);
    CHECK(next != leader);
    cluster.restart(leader);
    pids.push_back(cluster.pid(leader));
    CHECK(cluster.wait_for_leader(10s) < 3);
  }
  for (const auto pid : pids) {
    CHECK_FALSE(alive(pid));
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("the fixture passes extra flags to every member", "[etcd][fixture]") {
  etcd_cluster cluster{1, {"--max-txn-ops=4"}};
  const auto cmd = cluster.command_line(0);
  CHECK(std::find(cmd.begin(), cmd.end(), "--max-txn-ops=4") != cmd.end());
  auto c = connect(cluster.endpoints());
  etcd::txn_request five;
  for (int i = 0; i < 5; ++i) {
    five.success.push_back(etcd::put_op{"k" + std::to_string(i), "v", 0});
  }
  auto r = c->txn(five, 2s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == etcd::errc::invalid);
}

TEST_CASE("a client moves on from a paused member to the others",
          "[etcd][fixture]") {
  etcd_cluster cluster;
  const auto leader = cluster.wait_for_leader();
  const auto follower = (leader + 1) % 3;
  // The paused follower first: the client's connection goes to it.
  std::vector<std::string> eps{cluster.endpoint(follower)};
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != follower) {
      eps.push_back(cluster.endpoint(i));
    }
  }
  auto c = connect(eps);
  REQUIRE(c->put({"k", "before", 0}, 2s).has_value());
  cluster.pause(follower);
  const auto paused_at = steady::now();
  std::size_t failures = 0;
  bool done = false;
  while (!done && steady::now() - paused_at < 30s) {
    auto r = c->put({"k", "after", 0}, 1000ms);
    if (r) {
      done = true;
    } else {
      INFO(r.error().message);
      CHECK(etcd::outcome_unknown(r.error()));
      ++failures;
    }
  }
  const auto took = steady::now() - paused_at;
  INFO(failures
       << " failed puts, "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms");
  CHECK(done);
  // Keep-alive pings (6 s + 2 s) find the dead connection.
  CHECK(took < 20s);
  cluster.resume(follower);
}
