// The single writer: decides commands against current state, appends their
// events and projection rows, and commits them with group commit.
//
// Every command waiting in the mailbox when a flush starts is decided in
// order (each sees the ones before it through the batch), and all their
// events go to disk in ONE synced WriteBatch; then every caller gets its
// reply. A rejected command rolls back only its own writes. The actor runs
// detached (its own thread) because commit blocks on fsync; nothing on CAF's
// shared scheduler or a Beast I/O thread ever waits for the disk.
//
// Cluster mode (`replication` set): the writer is also the only code that
// writes this node's replica. While its node leads, each batch is first
// appended to etcd as one fenced entry and committed locally only once etcd
// has it; a failed fence (deposed) or an answer lost past the budget stops
// it deciding until the node has caught up again. While it follows, it folds
// the entries the tailer brings and hands client commands to the forwarder.
#pragma once

#include "actors/commands.hpp"
#include "actors/positions.hpp"
#include "events/clock.hpp"
#include "storage/etcd/replicated_log.hpp"
#include "storage/event_log.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace deployd::actors {

/// What the writer needs in cluster mode.
struct replication_settings {
  /// The log of record. Must outlive the writer.
  storage::etcd::replicated_log* log = nullptr;
  /// This node's name (commit ids are `<node>/<lease hex>/<n>`).
  std::string node;
  /// One try of a fenced append.
  std::chrono::milliseconds attempt{1500};
  /// All tries of one append before its requests get 503.
  std::chrono::milliseconds budget{4000};
  /// Largest entry (the encoded records of one batch); a batch is cut
  /// before it would grow past this.
  std::size_t max_entry_bytes = 1'400'000;
  /// Receives client commands while this node does not lead.
  caf::actor forwarder;
  /// Runs on the writer's thread when it stopped leading by itself (its
  /// fence failed, or an append's outcome stayed unknown), so the node
  /// re-checks leadership and the head. Must not block.
  std::function<void()> on_lost_lead;
};

struct writer_settings {
  /// Commands decided per commit at most. Default: 256.
  std::size_t max_batch = 256;
  /// fsync every commit (off only for benchmarks of the CPU path). Default:
  /// true.
  bool sync = true;
  /// Set in cluster mode.
  std::optional<replication_settings> cluster;
  /// Told of every commit that wrote (metrics); may be empty.
  commit_fn on_commit;
  /// How long an `Idempotency-Key` answers its first response again.
  /// Default: 24 h.
  std::chrono::seconds idempotency_retention{86'400};
};

/// One command on its way to the writer. Its reply runs exactly once: a
/// request dropped unanswered (the writer stopped) replies `failed` when it
/// is destroyed, so no caller waits forever.
class write_request {
public:
  write_request(command cmd, const events::uuid& command_id, reply_fn reply,
                bool from_peer = false, write_conditions conditions = {})
      : cmd_(std::move(cmd)), command_id_(command_id),
        reply_(std::move(reply)), from_peer_(from_peer),
        conditions_(std::move(conditions)) {
  }
  ~write_request();
  write_request(const write_request&) = delete;
  write_request& operator=(const write_request&) = delete;

  [[nodiscard]] const command& cmd() const {
    return cmd_;
  }
  [[nodiscard]] const events::uuid& command_id() const {
    return command_id_;
  }
  /// `If-Match`, `If-None-Match`, `Idempotency-Key` (the writer checks
  /// them when it decides).
  [[nodiscard]] const write_conditions& conditions() const {
    return conditions_;
  }
  /// Forwarded by another node: never forwarded again.
  [[nodiscard]] bool from_peer() const {
    return from_peer_;
  }
  /// Delivers the result; later calls do nothing.
  void reply(command_result result) const;
  /// Counts one more hand-over between the writer and the forwarder;
  /// returns the count (a request bouncing during a change of leader is
  /// answered 503 after a few).
  int hop() const {
    return ++hops_;
  }

private:
  command cmd_;
  events::uuid command_id_;
  reply_fn reply_;
  bool from_peer_;
  write_conditions conditions_;
  mutable std::atomic<bool> replied_{false};
  mutable std::atomic<int> hops_{0};
};

using write_request_ptr = std::shared_ptr<const write_request>;

/// Entries of the replicated log, in sequence order, from the tailer.
using replicated_entries =
    std::shared_ptr<const std::vector<storage::etcd::stored_entry>>;

/// Spawns the writer (detached) in `sys`. `log`, `clock`, `ids` and
/// `positions` must outlive it.
[[nodiscard]] caf::actor spawn_writer(caf::actor_system& sys,
                                      storage::event_log& log,
                                      events::clock& clock,
                                      events::id_source& ids,
                                      position_tracker& positions,
                                      writer_settings settings);

} // namespace deployd::actors
