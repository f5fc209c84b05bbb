// The threads and actors of one cluster node; owned by `runtime` (internal
// to actors/). See actors/cluster.hpp for the whole picture.
#pragma once

#include "actors/cluster.hpp"
#include "actors/positions.hpp"
#include "actors/writer_actor.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <memory>
#include <mutex>
#include <thread>

namespace deployd::actors {

/// Spawns the forwarder: takes client commands while this node does not
/// lead, sends them to the leader's peer actor, and answers each once this
/// replica has applied its result. Learns the leader from the node.
[[nodiscard]] caf::actor spawn_forwarder(caf::actor_system& sys,
                                         position_tracker& positions,
                                         std::chrono::milliseconds timeout,
                                         std::string cluster_id);

/// Spawns the peer actor other nodes' forwarders talk to: it hands their
/// commands to `writer` (never forwarded again) and returns the results.
[[nodiscard]] caf::actor spawn_peer(caf::actor_system& sys, caf::actor writer,
                                    std::string cluster_id);

class cluster_node {
public:
  /// Everything given must outlive the node.
  cluster_node(caf::actor_system& sys, storage::etcd::replicated_log& rlog,
               position_tracker& positions, cluster_settings settings);
  /// Stops the threads and revokes the lease (another node leads within
  /// one campaign instead of one TTL).
  ~cluster_node();
  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  /// Publishes `peer` and starts the threads. Returns the peer port.
  [[nodiscard]] std::expected<std::uint16_t, std::string>
  start(caf::actor writer, caf::actor forwarder, caf::actor peer,
        const std::string& http_address);

  /// Set by the writer (any thread) when it stopped deciding on its own
  /// (fence failed, outcome unknown); the control loop re-checks. Shared,
  /// so the writer may outlive the node.
  [[nodiscard]] std::shared_ptr<std::atomic<bool>> lost_lead_flag() const {
    return lost_lead_;
  }
  /// Whether client commands go to the local writer.
  [[nodiscard]] bool leading() const {
    return leading_.load(std::memory_order_acquire);
  }
  [[nodiscard]] cluster_status status() const;
  [[nodiscard]] bool ready() const {
    return ready_.load(std::memory_order_acquire);
  }

private:
  void control_loop();
  void tail_loop();
  void become_leader(std::int64_t leader_revision);
  void step_down();
  void follow(const std::string& info);
  bool deliver(std::vector<storage::etcd::stored_entry>&& entries);

  caf::actor_system& sys_;
  storage::etcd::replicated_log& rlog_;
  position_tracker& positions_;
  cluster_settings settings_;
  caf::actor writer_;
  caf::actor forwarder_;
  caf::actor peer_;
  std::uint16_t peer_port_ = 0;
  std::string info_; ///< this node's leader/node key value

  std::atomic<bool> stopping_{false};
  std::atomic<bool> leading_{false};
  std::shared_ptr<std::atomic<bool>> lost_lead_ =
    std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> ready_{false};
  std::int64_t lease_ = 0;
  std::string followed_; ///< leader key value the forwarder was told about
  std::chrono::steady_clock::time_point followed_at_{};

  mutable std::mutex status_mutex_;
  cluster_status status_;

  std::thread control_;
  std::thread tailer_;
};

} // namespace deployd::actors
