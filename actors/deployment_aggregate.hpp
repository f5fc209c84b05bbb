// Pure decide/evolve for deployments (create and upsert). No CAF, no
// storage: the writer loads everything a decision looks at into a context,
// and the decision returns the events (or the rejection) it implies.
#pragma once

#include "actors/decision.hpp"
#include "actors/work_pools.hpp"
#include "events/concurrency_limit.hpp"
#include "events/deployment.hpp"
#include "events/flow.hpp"

#include <optional>

namespace deployd::actors {

/// What create and PATCH both look at besides the deployment itself: its
/// linked limit, the limit a command asks for, the pools and queues its
/// names refer to, and whether referenced block documents exist.
struct related_context {
  /// The limit the existing deployment links to, if any.
  std::optional<events::concurrency_limit> linked_limit;
  /// The limit named by `global_concurrency_limit_id`, if it exists.
  std::optional<events::concurrency_limit> requested_limit;
  /// Other deployments linked to `linked_limit` (unlinked if it is deleted).
  std::vector<events::uuid> limit_sharers;
  /// The pools and queues the names in the command refer to.
  pool_world pools;
  bool storage_document_exists = false;
  bool infrastructure_document_exists = false;
};

/// Everything `POST /deployments/` decides against, loaded by the writer.
struct create_deployment_context : related_context {
  /// The deployment with the command's (flow_id, name), if any (upsert).
  std::optional<events::deployment> existing;
  std::optional<events::flow> flow;
};

/// The deployment's id and whether the command inserted it.
struct deployment_decision {
  event_list events;
  events::uuid deployment_id;
  bool created = false;
};

/// Create or upsert, with the reference's order of checks (deployments-api
/// §3.3) and keep/overwrite rules (§3.9). A rejection writes nothing.
[[nodiscard]] std::expected<deployment_decision, events::rejection>
decide(const events::create_deployment& cmd,
       const create_deployment_context& ctx, decision_env& env);

/// Everything `PATCH /deployments/{id}` decides against.
struct update_deployment_context : related_context {
  std::optional<events::deployment> existing;
};

/// PATCH with DeploymentUpdate's semantics (deployments-api §9): only
/// present keys apply; schedules in replace or slug-targeted mode; `updated`
/// always moves.
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::update_deployment& cmd,
       const update_deployment_context& ctx, decision_env& env);

/// pause_deployment / resume_deployment: no events when `paused` already
/// has the value.
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::set_deployment_paused& cmd,
       const std::optional<events::deployment>& existing, decision_env& env);

/// Everything a deletion decides against.
struct delete_deployment_context {
  std::optional<events::deployment> existing;
  /// Other deployments linked to the deployment's limit.
  std::vector<events::uuid> limit_sharers;
};

/// DELETE: the deployment and its linked limit (even a shared one, whose
/// other deployments are unlinked first).
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::delete_deployment& cmd,
       const delete_deployment_context& ctx, decision_env& env);

/// The schedules sub-resource (related-resources §2.5). Schedule changes do
/// not move the deployment's `updated`.
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::create_schedules& cmd,
       const std::optional<events::deployment>& existing, decision_env& env);
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::update_schedule& cmd,
       const std::optional<events::deployment>& existing, decision_env& env);
[[nodiscard]] std::expected<event_list, events::rejection>
decide(const events::delete_schedule& cmd,
       const std::optional<events::deployment>& existing, decision_env& env);

/// The state after a creation.
[[nodiscard]] events::deployment evolve(const events::deployment_created& e);
/// The state after an update.
[[nodiscard]] events::deployment evolve(events::deployment state,
                                        const events::deployment_updated& e);

/// Labels as stored: the flow's labels, then `prefect.flow.id`, then the
/// request's (later wins).
[[nodiscard]] events::json merged_labels(const events::json& flow_labels,
                                         const events::uuid& flow_id,
                                         const events::json& request_labels);

} // namespace deployd::actors
