// Pure decide/evolve for flows. No CAF, no storage: given the state the
// writer loaded, say what happened.
#pragma once

#include "actors/decision.hpp"
#include "events/flow.hpp"

#include <optional>

namespace deployd::actors {

/// `create_flow` against the flow that already has that name, if any: an
/// existing name yields no events (the caller answers 200 with it).
[[nodiscard]] event_list decide(const events::create_flow& cmd,
                                const std::optional<events::flow>& existing,
                                decision_env& env);

/// The state after `e`.
[[nodiscard]] events::flow evolve(const events::flow_created& e);

} // namespace deployd::actors
