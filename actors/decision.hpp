// What every decision gets besides the command and the state: the time and
// a source of fresh ids, chosen by the writer and recorded in the events.
// No CAF include; pure values.
#pragma once

#include "events/catalog.hpp"
#include "events/clock.hpp"
#include "events/rejection.hpp"

#include <cstddef>
#include <expected>
#include <limits>
#include <vector>

namespace deployd::actors {

/// The writer's injected time and ids for one command.
struct decision_env {
  events::timestamp now;
  events::id_source& ids;
  /// Bytes of records one command may append: in a cluster one entry's
  /// (`cluster.max_entry_bytes`; the writer refuses a command above it with
  /// 413). Work that can be split (the schedule paths) stops before it and
  /// says where to go on; unlimited on a single node.
  std::size_t entry_bytes = std::numeric_limits<std::size_t>::max();
};

/// Events a command produced, in the order they must be appended.
using event_list = std::vector<events::any_event>;

} // namespace deployd::actors
