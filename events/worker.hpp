// Workers of a work pool: the processes that heartbeat to it, their
// commands and events.
//
// A worker is keyed by (pool, name) and lives on its own stream
// (`worker/<id>`). Its `status` is what was stored last: ONLINE from each
// heartbeat, OFFLINE only when the periodic sweep (the reference's
// "foreman") finds its heartbeat too old; responses and filters read that
// stored value, never a value recomputed per request. Pool readiness changes
// that heartbeats and sweeps cause are `work_pool_updated` events. Knows
// nothing of HTTP, storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace deployd::events {

/// `ONLINE` / `OFFLINE`, as stored.
enum class worker_status : std::uint8_t { offline = 0, online = 1 };

/// `"ONLINE"` or `"OFFLINE"`.
[[nodiscard]] const char* status_name(worker_status s);

/// One worker as stored and served (the reference's WorkerResponse).
struct worker {
  uuid id;
  timestamp created;
  /// Moves only when the sweep marks the worker OFFLINE (the reference's
  /// heartbeat upsert leaves it alone).
  timestamp updated;
  std::string name;
  uuid work_pool_id;
  timestamp last_heartbeat_time;
  /// Null until a heartbeat carries one; a heartbeat without one keeps it.
  std::optional<std::int64_t> heartbeat_interval_seconds;
  worker_status status = worker_status::offline;

  bool operator==(const worker&) const = default;
};

// -- commands
// ------------------------------------------------------------------

/// `POST /work_pools/{pool}/workers/heartbeat`: upsert the worker (pool,
/// name) as ONLINE now; a NOT_READY pool becomes READY.
struct record_worker_heartbeat {
  std::string pool;
  std::string name;
  /// Absent (or JSON null) keeps the stored interval.
  std::optional<std::int64_t> heartbeat_interval_seconds;

  bool operator==(const record_worker_heartbeat&) const = default;
};

/// `DELETE /work_pools/{pool}/workers/{name}`: the worker only; the pool's
/// status is left to the next sweep.
struct delete_worker {
  std::string pool;
  std::string name;

  bool operator==(const delete_worker&) const = default;
};

/// One pass of the sweep (the reference's foreman loop): ONLINE workers
/// whose last heartbeat is more than (interval, or the fallback) × multiple
/// seconds old become OFFLINE, then READY pools without an ONLINE worker
/// become NOT_READY, then READY deployments polled longer ago than their
/// timeout (and whose linked queue, when polled at all, too) and READY
/// queues polled longer ago than theirs become NOT_READY
/// (deployments-api.md §13). Sent by a timer; decided at the writer's "now".
struct sweep_workers {
  std::int64_t inactivity_heartbeat_multiple = 3;
  std::int64_t fallback_heartbeat_interval_seconds = 30;
  /// PREFECT_SERVER_SERVICES_FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS
  /// and ..._WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS, in microseconds.
  std::int64_t deployment_last_polled_timeout_micros = 60'000'000;
  std::int64_t work_queue_last_polled_timeout_micros = 60'000'000;

  bool operator==(const sweep_workers&) const = default;
};

// -- events
// --------------------------------------------------------------------

/// A worker's first heartbeat: the whole worker (status ONLINE).
struct worker_created {
  static constexpr const char* stored_name = "worker_created";
  static constexpr int schema_version = 1;

  worker value;

  bool operator==(const worker_created&) const = default;
};

/// A later heartbeat: `last_heartbeat_time` moves to `time` and the status
/// is ONLINE. The interval is written only when it changes (a heartbeat
/// repeats its interval every time; storing it again changes nothing). The
/// worker's pool and name are in its `worker_created`.
struct worker_heartbeat_recorded {
  static constexpr const char* stored_name = "worker_heartbeat_recorded";
  static constexpr int schema_version = 1;

  uuid id;
  timestamp time;
  std::optional<std::int64_t> heartbeat_interval_seconds;

  bool operator==(const worker_heartbeat_recorded&) const = default;
};

/// The sweep found the worker's heartbeat too old: status OFFLINE, and
/// `updated` moves to the sweep's time (the reference's UPDATE statement
/// refreshes it).
struct worker_marked_offline {
  static constexpr const char* stored_name = "worker_marked_offline";
  static constexpr int schema_version = 1;

  uuid id;
  timestamp updated;

  bool operator==(const worker_marked_offline&) const = default;
};

/// The worker was deleted (by name, or with its pool).
struct worker_deleted {
  static constexpr const char* stored_name = "worker_deleted";
  static constexpr int schema_version = 1;

  uuid id;
  timestamp deleted;

  bool operator==(const worker_deleted&) const = default;
};

/// `worker/<id>`.
[[nodiscard]] stream_id worker_stream(const uuid& id);

/// The wire form (WorkerResponse key order: id, created, updated, name,
/// work_pool_id, last_heartbeat_time, heartbeat_interval_seconds, status).
[[nodiscard]] json to_json(const worker& w);
/// The same text as `to_json(w).dump()`, written without a DOM.
[[nodiscard]] std::string render_worker(const worker& w);
/// Inverse of `to_json`; throws on a malformed document.
[[nodiscard]] worker worker_from_json(const json& j);
/// A stored heartbeat interval: an integer that fits int64; throws
/// otherwise (never a silent float conversion).
[[nodiscard]] std::int64_t interval_value(const json& j);

[[nodiscard]] std::string to_string(const worker_created& e);
[[nodiscard]] std::string to_string(const worker_heartbeat_recorded& e);
[[nodiscard]] std::string to_string(const worker_marked_offline& e);
[[nodiscard]] std::string to_string(const worker_deleted& e);

} // namespace deployd::events
