// Cluster mode: this node's part in a cluster of deployd nodes that share one
// log of record in etcd (ARCHITECTURE.md, "Cluster mode").
//
// `join_cluster` checks, before anything serves, that the local replica
// belongs to the cluster in etcd. `cluster_node` then runs the node's own
// threads: the control loop (a lease kept alive, the leader key campaigned
// for, the node's info and applied position published, leadership handed to
// the writer or taken back) and the tailer (range reads, then a watch, of the
// log's entries, handed to the writer in order with back-pressure). The
// forwarder and the published peer actor carry a follower's write commands
// to the leader's writer over CAF's middleman. Blocking etcd calls happen
// only on these threads and the writer's, never on CAF's scheduler or a
// Beast thread. The public part has no CAF include.
#pragma once

#include "storage/etcd/replicated_log.hpp"
#include "storage/event_log.hpp"

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace deployd::actors {

struct cluster_settings {
  /// This node's name, unique in the cluster.
  std::string node;
  /// The cluster's id (`join_cluster`); forwarded commands carry it.
  std::string cluster_id;
  /// Address other nodes reach this node's peer actor on.
  std::string peer_host = "127.0.0.1";
  /// Port of the peer actor; 0 picks a free one.
  std::uint16_t peer_port = 0;
  /// This node's HTTP address, published for operators.
  std::string http_address;
  /// TTL of the node's lease (leader key, node key); etcd's minimum is 2 s.
  std::chrono::milliseconds lease_ttl{2000};
  /// One try of a fenced append, and all tries of one append.
  std::chrono::milliseconds append_attempt{1500};
  std::chrono::milliseconds append_budget{4000};
  /// Largest replicated-log entry.
  std::size_t max_entry_bytes = 1'400'000;
  /// How long a forwarded write may take, end to end.
  std::chrono::milliseconds forward_timeout{10'000};
};

/// One node as the cluster sees it (its key under `<prefix>/nodes/`).
struct cluster_member {
  std::string node;
  std::string role;
  std::string peer;
  std::string http;
  std::uint64_t applied = 0;
};

/// What `GET /api/deployd/cluster` answers.
struct cluster_status {
  std::string node;
  std::string role; ///< "leader" | "follower"
  std::optional<std::string> leader;
  std::uint64_t applied = 0;  ///< log position this replica includes
  std::uint64_t log_head = 0; ///< last position in etcd (as last read)
  std::vector<cluster_member> members;
  /// Caught up with the head read at start: `/api/ready` answers 200.
  bool ready = false;
  /// The last etcd call succeeded.
  bool etcd_reachable = false;
};

/// Makes sure the replica in `log` belongs to the cluster behind `rlog`:
/// creates the cluster's keys if absent, then adopts the cluster id into an
/// empty replica, or refuses a replica of another cluster (or one written
/// by a single node) with a message for the operator.
[[nodiscard]] std::expected<std::string, std::string>
join_cluster(storage::event_log& log, storage::etcd::replicated_log& rlog,
             std::chrono::milliseconds deadline);

} // namespace deployd::actors
