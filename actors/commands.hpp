// Commands the writer accepts and the result it replies with. No CAF
// include: `http/` builds commands and reads results through these types.
#pragma once

#include "events/automation.hpp"
#include "events/deployment.hpp"
#include "events/flow.hpp"
#include "events/flow_run.hpp"
#include "events/ids.hpp"
#include "events/prefect_event.hpp"
#include "events/rejection.hpp"
#include "events/resource.hpp"
#include "events/worker.hpp"
#include "storage/event_log.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace deployd::actors {

using command =
    std::variant<events::create_flow, events::update_flow, events::delete_flow,
                 events::bulk_delete_flows, events::create_deployment,
                 events::update_deployment, events::set_deployment_paused,
                 events::delete_deployment, events::bulk_delete_deployments,
                 events::create_schedules, events::update_schedule,
                 events::delete_schedule, events::create_work_pool,
                 events::update_work_pool, events::delete_work_pool,
                 events::create_work_queue, events::create_concurrency_limit,
                 events::update_concurrency_limit,
                 events::delete_concurrency_limit, events::create_block_type,
                 events::update_block_type, events::create_block_schema,
                 events::create_block_document, events::delete_block_document,
                 events::record_worker_heartbeat, events::delete_worker,
                 events::sweep_workers, events::create_variable,
                 events::update_variable, events::delete_variable,
                 events::create_flow_run, events::create_flow_runs_bulk,
                 events::update_flow_run, events::delete_flow_run,
                 events::set_flow_run_state, events::record_poll,
                 events::record_client_events,
                 events::expire_client_events, events::create_automation,
                 events::replace_automation, events::patch_automation,
                 events::delete_automation,
                 events::delete_automations_owned_by,
                 events::schedule_flow_runs,
                 events::schedule_due_runs, events::mark_late_runs,
                 events::expire_idempotency_keys,
                 events::update_block_document, events::delete_block_type>;

/// An entity-tag condition of a write (`If-Match` / `If-None-Match`), as
/// parsed by `http/`. ETags are strong, `"N"` with N the version of the
/// resource's stream; any other tag is kept in `others` and matches nothing.
struct tag_condition {
  bool any = false;                    ///< `*`
  std::vector<std::uint64_t> versions; ///< the `"N"` tags listed
  bool others = false;                 ///< other (or weak) tags were listed

  bool operator==(const tag_condition&) const = default;
};

/// Conditions the writer checks when it decides a command (issue 16 items
/// 4 and 5), so they are race-free: nothing else decides in between. They
/// travel with the command (also to a cluster's leader: command_codec).
struct write_conditions {
  std::optional<tag_condition> if_match;
  std::optional<tag_condition> if_none_match;
  /// `Idempotency-Key`; empty when none was sent.
  std::string idempotency_key;
  /// Hex SHA-256 of the request (method, path, body): a key reused with
  /// another request is refused.
  std::string request_hash;

  [[nodiscard]] bool has_tags() const {
    return if_match.has_value() || if_none_match.has_value();
  }
  bool operator==(const write_conditions&) const = default;
};

/// What became of one command.
struct command_result {
  enum class outcome : std::uint8_t {
    ok = 0,       ///< applied (or a no-op); `body` holds the resource
    rejected = 1, ///< the domain said no; see `reason`
    failed = 2,   ///< storage failed; nothing was written
  };

  outcome result = outcome::failed;
  /// True when the command inserted its resource (201 rather than 200).
  bool created = false;
  /// The response body: the resource after the command as the API renders
  /// it, `{"deleted": [...]}` for bulk deletes, empty for 204s.
  std::string body;
  events::rejection reason{};
  storage::errc failure = storage::errc::io_error;
  /// Position of the command's last event; 0 when it wrote nothing.
  events::log_position position;
  /// The answer of an earlier request with the same `Idempotency-Key`,
  /// given again (nothing was written).
  bool replayed = false;
  /// With an `Idempotency-Key`, when an ok answer stops being given again
  /// (the key's record time plus the retention, microseconds since the
  /// epoch by the writer's clock); 0 without one.
  std::int64_t key_expires = 0;
};

/// Called exactly once with the result, on the writer's thread: it must not
/// block (post the result to the caller's own executor).
using reply_fn = std::function<void(command_result)>;

/// One group commit, as the writer reports it for metrics.
struct commit_stats {
  std::size_t commands = 0; ///< decided in the batch
  std::size_t events = 0;   ///< appended to the log
  double seconds = 0;       ///< the (synced) write, fsync included
};

/// Called on the writer's thread after each commit that wrote; must not
/// block.
using commit_fn = std::function<void(const commit_stats&)>;

} // namespace deployd::actors
