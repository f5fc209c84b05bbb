// Shared by the writer's command handlers: results, appending a decision's
// events (and folding them), and small lookups. Internal to actors/; no CAF.
#pragma once

#include "actors/commands.hpp"
#include "actors/decision.hpp"
#include "events/hydration.hpp"
#include "storage/event_log.hpp"

#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace deployd::actors {

[[nodiscard]] command_result failed(storage::errc e);
[[nodiscard]] command_result rejected(events::rejection why);
/// ok with an empty body, at `position`.
[[nodiscard]] command_result no_content(events::log_position position);

/// Appends `events` as records of one command and folds each into the
/// projections, in order. Returns the last position.
[[nodiscard]] std::expected<events::log_position, storage::errc>
append_and_fold(storage::write_batch& b, const event_list& events,
                const events::uuid& command_id, events::timestamp now);

/// The bytes `e` takes as a record of a replicated-log entry (its encoded
/// record and length prefix), as the writer counts them against
/// `decision_env::entry_bytes`.
[[nodiscard]] std::size_t entry_bytes_of(const events::any_event& e);

/// Applies a decision's events (or its rejection) and answers `body`.
[[nodiscard]] command_result
apply(std::expected<event_list, events::rejection> decision,
      storage::write_batch& b, decision_env& env,
      const events::uuid& command_id, std::string body);

/// ok with the row read through the batch as body (created: 201 vs 200).
[[nodiscard]] command_result
ok_with(std::expected<std::optional<std::string>, storage::errc> body,
        bool created, events::log_position position);

/// Ids of every row of `t` under `prefix`: from the key suffix, or from the
/// value for deployment_names. `except` is left out.
[[nodiscard]] std::expected<std::vector<events::uuid>, storage::errc>
ids_under(storage::write_batch& b, storage::table t, const std::string& prefix,
          const std::optional<events::uuid>& except = std::nullopt);

/// Which of a deployment's scheduled, never-run runs a change removes
/// (flow-runs.md §3.4; never those waiting for a concurrency slot).
enum class run_removal : std::uint8_t {
  all_scheduled = 1,         ///< DELETE of the deployment: manual ones too
  auto_scheduled = 2,        ///< pause, schedule DELETE: past and future
  future_auto_scheduled = 3, ///< PATCH, upsert, schedule PATCH: after now
};

/// Appends to `out` a `flow_run_deleted` for each run of `deployment` that
/// `which` removes, found through the batch's `run_index`.
[[nodiscard]] std::expected<void, storage::errc>
remove_scheduled_runs(storage::write_batch& b, const events::uuid& deployment,
                      run_removal which, events::timestamp now,
                      event_list& out);

/// Workspace variables as seen through the batch, for hydration. A storage
/// failure makes the lookup answer "none" and is recorded in `failure`,
/// which the caller checks after hydrating.
[[nodiscard]] events::variable_lookup
variables_in(storage::write_batch& b, std::optional<storage::errc>& failure);

} // namespace deployd::actors
