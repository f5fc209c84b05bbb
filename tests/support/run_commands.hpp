// Test helper: submits commands through the real runtime (CAF actor system
// and writer) and waits for every reply. Never a mock.
#pragma once

#include "actors/gateway.hpp"
#include "events/clock.hpp"
#include "storage/event_log.hpp"

#include <condition_variable>
#include <mutex>
#include <vector>

namespace deployd::testing {

/// Runs `commands` (queued together, so one group commit may take several)
/// with the given clock and ids; returns their results in order.
inline std::vector<actors::command_result>
run_commands(storage::event_log& log, std::vector<actors::command> commands,
             events::clock& clock, events::id_source& ids) {
  std::vector<actors::command_result> results(commands.size());
  std::mutex m;
  std::condition_variable done;
  std::size_t remaining = commands.size();
  {
    actors::runtime rt(log, clock, ids, {});
    for (std::size_t i = 0; i < commands.size(); ++i)
      rt.submit(std::move(commands[i]), events::uuid::v4_from(i, i),
                [&, i](actors::command_result r) {
                  std::lock_guard g{m};
                  results[i] = std::move(r);
                  if (--remaining == 0)
                    done.notify_one();
                });
    std::unique_lock lock{m};
    done.wait(lock, [&] { return remaining == 0; });
  }
  return results;
}

/// The same with a fresh stepping clock (1 ms per command) and seeded ids.
inline std::vector<actors::command_result>
run_commands(storage::event_log& log, std::vector<actors::command> commands) {
  events::stepping_clock clock({1'795'000'000'000'000}, 1000);
  events::random_ids ids(42);
  return run_commands(log, std::move(commands), clock, ids);
}

} // namespace deployd::testing
