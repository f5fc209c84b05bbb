// Pure decisions for work pools and work queues, and how a deployment's
// work_pool_name / work_queue_name resolve to a linked queue (creating the
// queue, and the `default-agent-pool`, when the reference does). No CAF, no
// storage: the writer loads the documents involved into a `pool_world`.
#pragma once

#include "actors/decision.hpp"
#include "events/json.hpp"
#include "events/resource.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deployd::actors {

inline constexpr const char* default_agent_pool = "default-agent-pool";

/// The pools and queues a decision looks at, loaded by the writer. Decisions
/// also record here what they create, so later steps of the same command see
/// it.
struct pool_world {
  /// Pools by name (only those loaded).
  std::vector<events::json> pools;
  /// Queues of the loaded pools.
  std::vector<events::json> queues;
  /// When a queue-only lookup may search every pool (no default-agent-pool),
  /// all queues of all pools, in pool order.
  bool all_queues_loaded = false;

  [[nodiscard]] const events::json* pool(const std::string& name) const;
  [[nodiscard]] const events::json* queue(const std::string& pool_id,
                                          const std::string& name) const;
  [[nodiscard]] const events::json* queue_by_id(const std::string& id) const;
  [[nodiscard]] std::vector<const events::json*>
  queues_of(const std::string& pool_id) const;
};

/// A validated WorkPoolCreate body -> the pool and its default queue. No
/// checks besides uniqueness (done by the caller).
[[nodiscard]] event_list create_pool(const events::json& body,
                                     pool_world& world, decision_env& env);

/// A validated WorkQueueCreate body in `pool` (by name): 409 on a duplicate
/// name; priority by gap-filling, or the requested one with others shifted.
[[nodiscard]] std::expected<event_list, events::rejection>
create_queue(const std::string& pool_name, const events::json& body,
             pool_world& world, decision_env& env);

/// The queue a deployment links to for the given names (create: §3.4; the
/// same table serves PATCH §9.5), creating what is missing. `linked` is
/// nothing when the names ask for no change; a rejection when the pool is
/// unknown.
struct queue_resolution {
  event_list events;
  /// The linked queue's id (as text), when the link changes.
  std::optional<std::string> linked;
};

[[nodiscard]] std::expected<queue_resolution, events::rejection>
resolve_queue(const std::optional<std::string>& pool_name,
              const std::optional<std::string>& queue_name, pool_world& world,
              decision_env& env);

/// Job variables checked against a pool's `base_job_template.variables`
/// (related-resources §3.7): `required` ignored, optional properties accept
/// null; with `with_defaults` the template's defaults are overlaid by the
/// job variables first (create), else only the job variables are checked
/// (PATCH). With `enforce_required` the schema's `required` lists apply
/// (an automation's run-deployment job variables, workers-automations §3.4).
struct job_variable_check {
  enum class outcome : std::uint8_t { ok = 0, invalid_schema = 1, invalid = 2 };
  outcome result = outcome::ok;
  /// invalid_schema: the schema error; invalid: "Validation failed ...".
  std::string message;
  /// invalid: jsonschema's own message (for the PATCH repr).
  std::string reason;
};

[[nodiscard]] job_variable_check
check_job_variables(const events::json& pool, const events::json& job_variables,
                    bool with_defaults, bool enforce_required = false);

} // namespace deployd::actors
