// The single writer: decides commands against current state, appends their
// events and projection rows, and commits them with group commit.
//
// Every command waiting in the mailbox when a flush starts is decided in
// order (each sees the ones before it through the batch), and all their
// events go to disk in ONE synced WriteBatch; then every caller gets its
// reply. A rejected command rolls back only its own writes. The actor runs
// detached (its own thread) because commit blocks on fsync; nothing on CAF's
// shared scheduler or a Beast I/O thread ever waits for the disk.
#pragma once

#include "actors/commands.hpp"
#include "events/clock.hpp"
#include "storage/event_log.hpp"

#include <atomic>
#include <caf/fwd.hpp>
#include <cstddef>
#include <memory>

namespace deployd::actors {

struct writer_settings {
  /// Commands decided per commit at most. Default: 256.
  std::size_t max_batch = 256;
  /// fsync every commit (off only for benchmarks of the CPU path). Default:
  /// true.
  bool sync = true;
};

/// One command on its way to the writer. Its reply runs exactly once: a
/// request dropped unanswered (the writer stopped) replies `failed` when it
/// is destroyed, so no caller waits forever.
class write_request {
public:
  write_request(command cmd, const events::uuid& command_id, reply_fn reply)
      : cmd_(std::move(cmd)), command_id_(command_id),
        reply_(std::move(reply)) {
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
  /// Delivers the result; later calls do nothing.
  void reply(command_result result) const;

private:
  command cmd_;
  events::uuid command_id_;
  reply_fn reply_;
  mutable std::atomic<bool> replied_{false};
};

using write_request_ptr = std::shared_ptr<const write_request>;

/// Spawns the writer (detached) in `sys`. `log`, `clock` and `ids` must
/// outlive it.
[[nodiscard]] caf::actor spawn_writer(caf::actor_system& sys,
                                      storage::event_log& log,
                                      events::clock& clock,
                                      events::id_source& ids,
                                      writer_settings settings);

} // namespace deployd::actors
