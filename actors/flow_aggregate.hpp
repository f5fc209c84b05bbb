// Pure decide/evolve for flows. No CAF, no storage: given the state the
// writer loaded, say what happened.
#pragma once

#include "actors/decision.hpp"
#include "events/flow.hpp"

#include <optional>
#include <vector>

namespace deployd::actors {

/// `create_flow` against the flow that already has that name, if any: an
/// existing name yields no events (the caller answers 200 with it).
[[nodiscard]] event_list decide(const events::create_flow& cmd,
                                const std::optional<events::flow>& existing,
                                decision_env& env);

/// PATCH: tags when given; `updated` always moves.
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::update_flow& cmd,
       const std::optional<events::flow>& existing, decision_env& env);

/// DELETE: one deployment_deleted per deployment of the flow (their linked
/// limits stay, as in the reference), then flow_deleted.
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::delete_flow& cmd,
       const std::optional<events::flow>& existing,
       const std::vector<events::uuid>& deployments, decision_env& env);

/// The state after `e`.
[[nodiscard]] events::flow evolve(const events::flow_created& e);

} // namespace deployd::actors
