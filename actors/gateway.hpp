// The front door of the actor system for code that is not an actor (HTTP
// sessions, tools). Hides CAF entirely: callers submit a command with a
// callback and return at once; the writer calls back when the command is
// durable (or rejected, or failed).
#pragma once

#include "actors/commands.hpp"
#include "events/clock.hpp"
#include "events/worker.hpp"
#include "storage/event_log.hpp"

#include <chrono>
#include <memory>

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
};

/// Owns the actor system and the writer. Create once in the composition
/// root; `submit` is callable from any thread.
class runtime {
public:
  runtime(storage::event_log& log, events::clock& clock, events::id_source& ids,
          runtime_settings settings);
  /// Stops the writer after it has answered everything queued, then the
  /// actor system.
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Queues `cmd`; `reply` runs once on the writer's thread.
  void submit(command cmd, const events::uuid& command_id, reply_fn reply);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace deployd::actors
