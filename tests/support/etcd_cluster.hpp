// Test fixture: N real etcd members (Debian's `etcd`, 3.4) on free
// 127.0.0.1 ports, each with a fresh data dir under one temporary directory
// and a cluster token of its own; never a mock. Used by the etcd client's
// tests and by the cluster and crash tests (tests/README.md, "etcd").
//
// Only processes this object started are signalled, always by PID; the
// destructor SIGKILLs whatever still runs and removes the directory (kept
// when DEPLOYD_KEEP_ETCD_DIRS is set). The members are forked by a thread
// owned by the fixture and die with it (PR_SET_PDEATHSIG), so a crashed or
// killed test leaves no etcd behind. Methods are for one thread at a time.
#pragma once

#include "storage/etcd/client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace deployd::testing {

struct etcd_cluster_options {
  std::size_t members = 3;
  /// Added to every member's command line, e.g.
  /// "--quota-backend-bytes=1048576", "--max-request-bytes=262144".
  std::vector<std::string> extra_flags;
  /// Bound on start-up until every member knows the leader (and on
  /// restart() until the member does).
  std::chrono::milliseconds ready_timeout{30000};
};

class etcd_cluster {
public:
  /// Starts the members and waits until each reports the same leader;
  /// throws std::runtime_error (with the members' log tails) otherwise.
  explicit etcd_cluster(etcd_cluster_options options = {});
  /// The same with `members` members and these extra flags.
  explicit etcd_cluster(std::size_t members,
                        std::vector<std::string> extra_flags = {});
  ~etcd_cluster();
  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;

  [[nodiscard]] std::size_t size() const;
  /// Client URLs, "http://127.0.0.1:<port>", in member order.
  [[nodiscard]] std::vector<std::string> endpoints() const;
  [[nodiscard]] std::string endpoint(std::size_t i) const;
  /// endpoints() joined by commas (for --etcd and etcdctl --endpoints).
  [[nodiscard]] std::string endpoints_csv() const;
  [[nodiscard]] std::uint16_t client_port(std::size_t i) const;
  [[nodiscard]] std::uint16_t peer_port(std::size_t i) const;
  [[nodiscard]] std::filesystem::path dir() const;
  [[nodiscard]] std::filesystem::path data_dir(std::size_t i) const;
  /// The member's log (stderr, zap; appended across restarts).
  [[nodiscard]] std::filesystem::path log_file(std::size_t i) const;
  /// The member's command line, as started.
  [[nodiscard]] std::vector<std::string> command_line(std::size_t i) const;

  [[nodiscard]] bool running(std::size_t i) const;
  [[nodiscard]] bool paused(std::size_t i) const;
  /// The member's PID, or -1 when it does not run.
  [[nodiscard]] pid_t pid(std::size_t i) const;

  /// SIGKILL, then reap.
  void kill(std::size_t i);
  /// SIGTERM (after SIGCONT when paused), then reap; SIGKILL after 10 s.
  void stop(std::size_t i);
  /// Starts a stopped or killed member again on the same data dir and ports
  /// (stops it first if it runs) and waits until it knows the leader.
  void restart(std::size_t i);
  /// Starts every member that does not run (after a whole-cluster outage:
  /// one alone could not elect a leader), then waits for a leader.
  void restart_stopped();
  /// SIGSTOP / SIGCONT.
  void pause(std::size_t i);
  void resume(std::size_t i);

  /// The index of the member the running, unpaused members agree leads;
  /// nullopt when they do not (yet) agree or none answers.
  [[nodiscard]] std::optional<std::size_t> leader();
  /// Polls leader() until it is known; throws after `timeout`.
  std::size_t wait_for_leader(
      std::chrono::milliseconds timeout = std::chrono::milliseconds{30000});
  /// Runs `etcdctl --endpoints=<all, or only member's> args...` (etcdctl
  /// from etcd-client, an independent client for cross-checks); returns its
  /// exit code and its stdout and stderr.
  struct etcdctl_result {
    int exit_code = -1;
    std::string output;
  };
  [[nodiscard]] etcdctl_result
  etcdctl(const std::vector<std::string>& args,
          std::optional<std::size_t> only = std::nullopt) const;

  /// The last `bytes` of a member's log, for failure messages.
  [[nodiscard]] std::string log_tail(std::size_t i,
                                     std::size_t bytes = 2000) const;

private:
  struct member;
  class spawner;

  void start_member(std::size_t i);
  void reap(std::size_t i, int signal, std::chrono::milliseconds grace);
  [[nodiscard]] std::vector<storage::etcd::member_status> statuses();
  [[nodiscard]] bool wait_ready(std::chrono::milliseconds timeout,
                                std::optional<std::size_t> only,
                                std::string& why);
  [[nodiscard]] std::string all_log_tails() const;

  etcd_cluster_options options_;
  std::filesystem::path dir_;
  std::string binary_;
  std::string token_;
  std::vector<member> members_;
  std::unique_ptr<spawner> spawner_;
  std::unique_ptr<storage::etcd::client> client_;
};

} // namespace deployd::testing
