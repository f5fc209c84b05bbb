// The scheduler service's main loop (flow-runs.md §11.2): a timer that, every
// interval, walks the deployments in id order one page per command
// (`schedule_due_runs` with the cursor the previous page answered), each
// page submitted only once the previous one is answered. The writer decides
// which deployments need runs and makes them, deduplicated by idempotency
// key, at its own "now"; this actor only sends commands. Runs on CAF's
// shared scheduler and never blocks. The recent-deployments loop and the
// late-runs service are plain periodic commands (`spawn_periodic`).
#pragma once

#include "actors/foreman.hpp"
#include "events/flow_run.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace deployd::actors {

/// Spawns the main loop in `sys`: the first pass starts at once, the next
/// one `interval` after a pass ends. `pass` holds the page and insert sizes
/// and the window; its `after` is the loop's cursor. Stop it with an exit
/// message before the writer.
[[nodiscard]] caf::actor spawn_scheduler(caf::actor_system& sys,
                                         submit_fn submit,
                                         std::chrono::milliseconds interval,
                                         events::schedule_due_runs pass);

} // namespace deployd::actors
