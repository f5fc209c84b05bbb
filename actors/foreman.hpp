// The sweep timer (the reference's "foreman" service): every interval it
// submits one `sweep_workers` command through the same path as HTTP
// requests, waits for its answer, then waits one interval again. The
// decision and its events happen in the writer like any other command, at
// the writer's injected "now", so a replay reproduces every status change.
// Runs on CAF's shared scheduler and never blocks: submitting is a message.
#pragma once

#include "actors/commands.hpp"
#include "events/worker.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <functional>

namespace deployd::actors {

/// How the foreman reaches the writer (the runtime's `submit`).
using submit_fn = std::function<void(command, const events::uuid&, reply_fn)>;

/// Spawns the foreman in `sys`; the first sweep runs one `interval` after
/// start. Stop it with an exit message before the writer.
[[nodiscard]] caf::actor spawn_foreman(caf::actor_system& sys, submit_fn submit,
                                       std::chrono::milliseconds interval,
                                       events::sweep_workers rules);

/// The same timer for any periodic command (the client-event retention
/// sweep); `what` names it in the log when it fails.
[[nodiscard]] caf::actor spawn_periodic(caf::actor_system& sys,
                                        submit_fn submit,
                                        std::chrono::milliseconds interval,
                                        command cmd, const char* what);

} // namespace deployd::actors
