// The front door of the actor system for code that is not an actor (HTTP
// sessions, tools). Hides CAF entirely: callers submit a command with a
// callback and return at once; the writer calls back when the command is
// durable (or rejected, or failed).
//
// In cluster mode the runtime also runs this node's part of the cluster
// (actors/cluster.hpp): a command submitted on a node that does not lead
// goes to the leader's writer through the forwarder.
#pragma once

#include "actors/cluster.hpp"
#include "actors/commands.hpp"
#include "actors/positions.hpp"
#include "events/clock.hpp"
#include "events/prefect_event.hpp"
#include "events/worker.hpp"
#include "storage/etcd/replicated_log.hpp"
#include "storage/event_log.hpp"

#include <chrono>
#include <expected>
#include <memory>
#include <optional>

namespace deployd::actors {

struct runtime_settings {
  /// Threads of CAF's shared scheduler (the writer has its own). Default: 1.
  std::size_t scheduler_threads = 1;
  /// Commands decided per commit at most. Default: 256.
  std::size_t max_batch = 256;
  /// fsync every commit. Default: true.
  bool sync = true;
  /// Time between worker sweeps (`sweep_workers`); 0 = no sweeps. Default: 0
  /// (the composition root sets the configured interval).
  std::chrono::milliseconds sweep_interval{0};
  /// The sweep's heartbeat rules. Default: 3 × (interval or 30 s).
  events::sweep_workers sweep_rules;
  /// Cluster mode: this node's settings, and the log of record (which must
  /// outlive the runtime). Unset: the embedded single node.
  std::optional<cluster_settings> cluster;
  storage::etcd::replicated_log* replicated = nullptr;
  /// Told of every commit that wrote (metrics); may be empty.
  commit_fn on_commit;
  /// Time between retention sweeps of client events; 0 = none. Default: 0
  /// (the composition root sets the configured interval).
  std::chrono::milliseconds retention_interval{0};
  /// What the retention sweep keeps. Default: 7 days.
  events::expire_client_events retention;
  /// The scheduler service's main loop; 0 = off. Default: 0 (the
  /// composition root sets the configured interval). Leader only.
  std::chrono::milliseconds scheduler_interval{0};
  /// Its recent-deployments loop; 0 = off. Default: 0.
  std::chrono::milliseconds recent_scheduler_interval{0};
  /// Page and insert sizes and the window of both loops.
  events::schedule_due_runs scheduler_pass;
  /// The late-runs service; 0 = off. Default: 0. Leader only.
  std::chrono::milliseconds late_runs_interval{0};
  events::mark_late_runs late_runs;
  /// How long an Idempotency-Key answers its first response again.
  /// Default: 24 h.
  std::chrono::seconds idempotency_retention{86'400};
  /// Time between sweeps of expired idempotency keys; 0 = none. Default: 0
  /// (the composition root sets the configured interval).
  std::chrono::milliseconds idempotency_sweep_interval{0};
};

/// Owns the actor system and the writer. Create once in the composition
/// root; `submit` is callable from any thread.
class runtime {
public:
  runtime(storage::event_log& log, events::clock& clock, events::id_source& ids,
          runtime_settings settings);
  /// Stops the cluster node (giving up its lease), then the writer after it
  /// has answered everything queued, then the actor system.
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Cluster mode: publishes the peer actor and starts the node's threads;
  /// returns the peer port. `http_address` is published for operators.
  /// Does nothing for a single node.
  [[nodiscard]] std::expected<std::uint16_t, std::string>
  start(const std::string& http_address);

  /// Queues `cmd`; `reply` runs once, on the writer's thread (or another
  /// thread of the runtime's: it must not block).
  void submit(command cmd, const events::uuid& command_id, reply_fn reply,
              write_conditions conditions = {});

  /// How far this node's read model has applied the log.
  [[nodiscard]] position_tracker& positions();
  /// Ready to serve: always for a single node; in a cluster, once the
  /// replica has caught up with the log head read at start.
  [[nodiscard]] bool ready() const;
  /// Cluster mode only.
  [[nodiscard]] std::optional<cluster_status> cluster() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace deployd::actors
