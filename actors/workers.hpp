// Pure rules for workers and the pool readiness they drive (spec
// workers-automations.md §1-§2), and the worker filter query.
//
// Decisions take the documents involved (loaded by the writer) and return
// events: a heartbeat upserts its worker as ONLINE and makes a NOT_READY
// pool READY; the sweep marks workers with stale heartbeats OFFLINE, then
// READY pools without an ONLINE worker NOT_READY; PATCH `is_paused` sets a
// pool's status from its stored workers. Statuses are always the stored
// ones, never recomputed when read. No CAF, no storage writes.
#pragma once

#include "actors/decision.hpp"
#include "events/json.hpp"
#include "events/worker.hpp"
#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace deployd::actors {

/// A heartbeat for `cmd.name` in `pool` (its document): `worker_created` or
/// `worker_heartbeat_recorded`, then a `work_pool_updated` to READY when
/// the pool was NOT_READY (never from PAUSED; a `prefect-agent` pool has no
/// status).
[[nodiscard]] event_list
decide_heartbeat(const events::json& pool,
                 const std::optional<events::worker>& existing,
                 const events::record_worker_heartbeat& cmd, decision_env& env);

/// A pool with its workers, as the sweep sees them.
struct pool_workers {
  events::json pool;
  std::vector<events::worker> workers;
};

/// Whether a worker's heartbeat is too old at `now`: more than (its
/// interval, or the fallback when it has none) × multiple seconds ago. An
/// interval of 0 counts as 0 (the reference's COALESCE, not Python's `or`).
[[nodiscard]] bool heartbeat_expired(const events::worker& w,
                                     events::timestamp now,
                                     const events::sweep_workers& rules);

/// One sweep over every pool: `worker_marked_offline` for each ONLINE
/// worker whose heartbeat expired, then `work_pool_updated` to NOT_READY
/// for each READY pool left without an ONLINE worker. Nothing when nothing
/// changes.
[[nodiscard]] event_list decide_sweep(const std::vector<pool_workers>& pools,
                                      const events::sweep_workers& rules,
                                      events::timestamp now);

/// The pool status a PATCH sets (`is_paused` given): PAUSED when paused,
/// else READY with at least one stored-ONLINE worker, else NOT_READY.
[[nodiscard]] std::string
status_after_pause_change(bool is_paused,
                          const std::vector<events::worker>& workers);

/// A validated `workers/filter` body's criteria (WorkerFilter).
struct worker_query {
  bool any_operator = false; ///< `or_` instead of `and_`
  /// `status` present: its `any_` (nothing = no condition) and `not_any_`.
  bool has_status = false;
  std::optional<std::vector<events::worker_status>> status_any;
  std::vector<events::worker_status> status_not_any;
  /// `last_heartbeat_time` present: `before_` (<=) and `after_` (>=).
  bool has_heartbeat = false;
  std::optional<events::timestamp> before;
  std::optional<events::timestamp> after;
  std::int64_t offset = 0;
  std::int64_t limit = 200;
};

/// The query of a validated body (`workers`, `offset`, `limit`).
[[nodiscard]] worker_query worker_query_of(const events::json& body);

/// Whether a worker with this stored status and heartbeat matches.
[[nodiscard]] bool worker_matches(const worker_query& q,
                                  events::worker_status status,
                                  events::timestamp heartbeat);

/// The page of a pool's workers (most recent heartbeat first) as a JSON
/// array of WorkerResponse. Reads index rows only: no document is parsed.
[[nodiscard]] std::expected<std::string, storage::errc>
worker_page(storage::reader& r, const events::uuid& pool_id,
            const worker_query& q);

} // namespace deployd::actors
