// What every decision gets besides the command and the state: the time and
// a source of fresh ids, chosen by the writer and recorded in the events.
// No CAF include; pure values.
#pragma once

#include "events/catalog.hpp"
#include "events/clock.hpp"
#include "events/rejection.hpp"

#include <expected>
#include <vector>

namespace deployd::actors {

/// The writer's injected time and ids for one command.
struct decision_env {
  events::timestamp now;
  events::id_source& ids;
};

/// Events a command produced, in the order they must be appended.
using event_list = std::vector<events::any_event>;

} // namespace deployd::actors
