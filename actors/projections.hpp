// The read model: how events fold into the projection tables, and how the
// writer and the HTTP layer look rows up.
//
// `fold` is the only code that writes projection rows, live and in replay,
// so replaying the log reproduces the live read model byte for byte. It reads
// only the event and rows already folded (never the clock), which makes it
// deterministic. Row keys are built here and nowhere else. No CAF include.
#pragma once

#include "events/catalog.hpp"
#include "events/concurrency_limit.hpp"
#include "events/deployment.hpp"
#include "events/flow.hpp"
#include "events/resource.hpp"
#include "events/worker.hpp"
#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::actors {

/// The format of the projection rows this binary writes. Views are stored
/// pre-rendered, so the same log can fold into other bytes when rendering
/// changes; then this number goes up, and a database stamped with another
/// one is rebuilt before it is served (`prepare_read_model`).
/// 1: written before the stamp existed. 2: numbers as the reference writes
/// them (issue 12: `"interval":3600.0`, `1.5e-7`, big integers).
/// 3: the Prefect event feed (`event_*` tables, actors/event_feed.hpp).
/// 4: `run_index` (scheduled flow runs by deployment and by time).
/// 5: `prefect.automation.*` events in the feed.
/// 6: `run_index` rows for polls and run queries (`run_query_rows`).
/// 7: `prefect.flow-run.<state>` events in the feed.
/// 8: `prefect.variable.*` events in the feed.
/// 9: `prefect.deployment.ready` / `.not-ready` in the feed; a READY
/// deployment's `last_polled` ("r") in its summary.
/// 10: `run_index` counts of runs by state type (`n` rows).
/// 11: `prefect.block-type.*`, `prefect.block-document.*` and
/// `prefect.concurrency-limit.*` events in the feed.
/// 12: `scheduled_deployments` (the deployments the scheduler looks at).
/// 13: `run_index` time orders of every run (`x`, `y` rows).
/// 14: `run_index` end time, next scheduled start time and name orders
/// (`f`, `g`, `m` rows).
/// 15: a deployment's view row starts with its stream's version
/// (`deployment_view_row`), so a GET reads one row for body and ETag.
inline constexpr std::uint32_t read_model_format = 15;

/// Where an event sits in the log: what the Prefect events it announces are
/// made of besides the event itself (their time, position and ids).
struct run_counts;
struct fold_context {
  events::log_position position;
  events::timestamp recorded_at;
  events::uuid command_id;
  /// When set, the folds add their changes to the `n` rows (runs by state
  /// type) here instead of reading and writing a row per run; the caller
  /// writes them once with `write_run_counts` after its last event.
  run_counts* counts = nullptr;
  /// The event's version in its stream (a deployment's view row keeps it).
  events::stream_version version{};
};

/// Changes to the counts of runs by state type, not written yet.
struct run_counts {
  std::vector<std::pair<std::string, std::int64_t>> deltas;
  void add(std::string_view state_type, std::int64_t delta);
};
/// Adds `counts` to the `n` rows of `b` (a row gone at 0).
[[nodiscard]] std::expected<void, storage::errc>
write_run_counts(storage::write_batch& b, const run_counts& counts);

/// Applies one event to the projection rows in `b`, and writes the Prefect
/// events it announces into the feed. `payload`, when given, is the event's
/// encoded payload: a creation stores it as the state row instead of
/// serialising the same document again.
[[nodiscard]] std::expected<void, storage::errc>
fold(storage::write_batch& b, const events::any_event& e,
     const fold_context& at, std::string_view payload = {});

/// Indexes one stored client event (a `client_events` row: its event key
/// and JSON) into the feed tables: what the writer does when it stores one,
/// and what replay does for every row it keeps.
[[nodiscard]] std::expected<void, storage::errc>
fold_client_event(storage::write_batch& b, std::string_view key,
                  std::string_view stored);
/// Removes a client event and its feed rows (the retention sweep).
[[nodiscard]] std::expected<void, storage::errc>
drop_client_event(storage::write_batch& b, std::string_view key,
                  std::string_view stored);

// -- row keys
// ------------------------------------------------------------------

/// 16 raw bytes of a UUID.
[[nodiscard]] std::string id_key(const events::uuid& id);
/// flow id bytes + deployment name.
[[nodiscard]] std::string deployment_name_key(const events::uuid& flow_id,
                                              std::string_view name);
/// 8 bytes that sort like the timestamp.
[[nodiscard]] std::string order_bytes(events::timestamp t);
/// time order bytes + id: keys of the created / updated order indexes.
[[nodiscard]] std::string time_order_key(events::timestamp t,
                                         const events::uuid& id);
/// name \0 id: keys of the name order index.
[[nodiscard]] std::string name_order_key(std::string_view name,
                                         const events::uuid& id);
/// 4-byte big-endian length + text (so a prefix scan matches one value).
[[nodiscard]] std::string length_prefixed(std::string_view text);
/// length-prefixed tag + name \0 id: keys of the tag index.
[[nodiscard]] std::string tag_order_key(std::string_view tag,
                                        std::string_view name,
                                        const events::uuid& id);
/// The id stored in the last 16 bytes of an index key.
[[nodiscard]] events::uuid id_from_key_suffix(std::string_view key);

/// kind byte + id: key of a document in `resources`.
[[nodiscard]] std::string resource_key(events::resource_kind kind,
                                       const events::uuid& id);
/// kind byte + scope + name: the document's unique name in its scope (pool
/// name; pool id + queue name; block type slug; schema checksum \0 version;
/// block type id + document name).
[[nodiscard]] std::string resource_name_key(events::resource_kind kind,
                                            const events::json& doc);

/// One row of `run_index`.
struct index_row {
  std::string key;
  std::string value;
};
/// The `run_index` rows of a flow run document:
/// - runs of a deployment in a SCHEDULED state type: `d` + deployment id +
///   schedule id (`created_by.id` when a SCHEDULE made it, else 16 zero
///   bytes) + `order_bytes(next_scheduled_start_time)` + run id; the value
///   is `a` (auto-scheduled) or `m`, then `d` when deletion may remove it
///   (`run_count` 0, not `AwaitingConcurrencySlot`) or `k`;
/// - runs named exactly `Scheduled`: `t` + time bytes + run id, value "".
[[nodiscard]] std::vector<index_row> run_index_rows(const events::json& run);
/// `d` + deployment id (+ schedule id): prefix of a deployment's rows.
[[nodiscard]] std::string
run_index_prefix(const events::uuid& deployment,
                 const std::optional<events::uuid>& schedule = std::nullopt);
/// Offset of the time bytes in a `d` row's key, and in a `t` row's key.
inline constexpr std::size_t run_index_time_at = 33;
inline constexpr std::size_t run_index_late_time_at = 1;

/// The other `run_index` rows of a flow run (what polls and run queries
/// read instead of every run; keys start with a letter of their own):
/// - every run: `s` + state type + \0 + run id, and, with a deployment,
///   `e` + deployment id + run id;
/// - PENDING / RUNNING runs of a work pool (the slots they hold):
///   `b` + pool id + queue id (16 zero bytes without one) + run id;
/// - SCHEDULED runs: `w` + deployment id + next scheduled start time
///   (8 zero bytes when null: first) + tail, and `q` + work queue id +
///   time (null as 1970-01-01) + tail, not for a run retried in process;
///   the tail is the run's name key after its kind byte (flow id, then
///   idempotency key or id) and the run id: the order the polls answer in;
/// - every run: `x` + expected start time (8 zero bytes when null, first) +
///   run id, valued `s` when the run has a start time, else empty; and
///   with a start time, `y` + start time + run id: the time sorts of
///   `/flow_runs/filter` walk these in order (`START_TIME_*` merges the
///   `x` rows valued empty with the `y` rows: `coalesce(start_time,
///   expected_start_time)`);
/// - every run: `f` + end time and `g` + next scheduled start time (each 8
///   zero bytes when null: first) + run id, and `m` + `name_order(name)` +
///   run id: what `END_TIME_DESC`, `NEXT_SCHEDULED_START_TIME_ASC` and
///   `NAME_*` walk.
/// Values are empty but the `x` rows'. Besides these rows, `n` + state
/// type holds the number of runs in that state type (decimal; no row at
/// 0), kept by the folds.
/// No decision reads these rows through the writer's batch (only queries
/// read them), so the fold writes them with `write_batch::put_unread`: keep
/// it that way, or write them with `put` before a decision reads them.
[[nodiscard]] std::vector<index_row> run_query_rows(const events::json& run);
namespace run_keys {
/// `n` + state type: the row counting the runs in that state type.
[[nodiscard]] std::string count_key(std::string_view state_type);
[[nodiscard]] std::string state_prefix(std::string_view state_type);
[[nodiscard]] std::string deployment_prefix(const events::uuid& deployment);
[[nodiscard]] std::string busy_prefix(const events::uuid& pool);
[[nodiscard]] std::string poll_prefix(const events::uuid& deployment);
[[nodiscard]] std::string queue_prefix(const events::uuid& queue);
/// Offset of the time bytes in a `w` or `q` key.
inline constexpr std::size_t time_at = 17;
/// Prefixes of the time orders (`x`: expected start time, `y`: start time).
inline constexpr std::string_view expected_prefix = "x";
inline constexpr std::string_view start_prefix = "y";
/// Prefixes of the end time, next scheduled start time and name orders.
inline constexpr std::string_view end_prefix = "f";
inline constexpr std::string_view next_prefix = "g";
inline constexpr std::string_view name_prefix = "m";
/// A name as `m` rows hold it: its bytes, each zero byte followed by 0xff,
/// then two zero bytes, so the rows sort by name bytes, then run id.
[[nodiscard]] std::string name_order(std::string_view name);
} // namespace run_keys

/// pool id + worker name: key of `worker_names` (value: the worker id;
/// `worker_keys` maps the id to its `worker_heartbeats` key).
[[nodiscard]] std::string worker_name_key(const events::uuid& pool_id,
                                          std::string_view name);
/// pool id + heartbeat time (inverted: newest first) + worker id: key of
/// `worker_heartbeats`, whose value is the rendered worker (status last, so
/// `worker_is_online` can read it without parsing).
[[nodiscard]] std::string worker_heartbeat_key(const events::uuid& pool_id,
                                               events::timestamp heartbeat,
                                               const events::uuid& id);
/// The heartbeat time stored in a `worker_heartbeats` key.
[[nodiscard]] events::timestamp heartbeat_of_key(std::string_view key);
/// Whether a rendered worker (a `worker_heartbeats` value) is ONLINE.
[[nodiscard]] bool worker_is_online(std::string_view rendered);

// -- document lookups (any reader)
// -----------------------------------------------

[[nodiscard]] std::expected<std::optional<events::json>, storage::errc>
load_resource(storage::reader& r, events::resource_kind kind,
              const events::uuid& id);
/// The document whose name key is `name_key`.
[[nodiscard]] std::expected<std::optional<events::json>, storage::errc>
find_resource(storage::reader& r, const std::string& name_key);
/// Every document whose name key starts with `name_prefix`, in key order.
[[nodiscard]] std::expected<std::vector<events::json>, storage::errc>
resources_under(storage::reader& r, const std::string& name_prefix);

/// Ids of the automations related to the resource `resource_id` (only
/// those it owns with `owned_only`), in id order.
[[nodiscard]] std::expected<std::vector<events::uuid>, storage::errc>
automations_related_to(storage::reader& r, std::string_view resource_id,
                       bool owned_only);

/// The work pool document named `name`.
[[nodiscard]] std::expected<std::optional<events::json>, storage::errc>
find_pool(storage::reader& r, std::string_view name);
/// The id of the pool named `name`, without loading its document.
[[nodiscard]] std::expected<std::optional<events::uuid>, storage::errc>
pool_id_named(storage::reader& r, std::string_view name);
/// The worker with this id.
[[nodiscard]] std::expected<std::optional<events::worker>, storage::errc>
load_worker(storage::reader& r, const events::uuid& id);
/// The worker (pool, name).
[[nodiscard]] std::expected<std::optional<events::worker>, storage::errc>
find_worker(storage::reader& r, const events::uuid& pool_id,
            std::string_view name);
/// Every worker of a pool, most recent heartbeat first.
[[nodiscard]] std::expected<std::vector<events::worker>, storage::errc>
workers_of(storage::reader& r, const events::uuid& pool_id);

// -- lookups through a batch (writer thread)
// -----------------------------------

[[nodiscard]] std::expected<std::optional<events::flow>, storage::errc>
load_flow(storage::write_batch& b, const events::uuid& id);
[[nodiscard]] std::expected<std::optional<events::flow>, storage::errc>
load_flow_by_name(storage::write_batch& b, std::string_view name);
[[nodiscard]] std::expected<std::optional<events::deployment>, storage::errc>
load_deployment(storage::write_batch& b, const events::uuid& id);
[[nodiscard]] std::expected<std::optional<events::deployment>, storage::errc>
find_deployment(storage::write_batch& b, const events::uuid& flow_id,
                std::string_view name);
[[nodiscard]] std::expected<std::optional<events::concurrency_limit>,
                            storage::errc>
load_limit(storage::write_batch& b, const events::uuid& id);
/// The rendered response of a deployment as of `b`.
[[nodiscard]] std::expected<std::optional<std::string>, storage::errc>
deployment_view(storage::write_batch& b, const events::uuid& id);

/// A deployment's view row: its stream's version (8 bytes, big-endian),
/// then the rendered response. One read gives a GET its body and ETag.
struct deployment_view_row {
  static constexpr std::size_t version_bytes = 8;
  [[nodiscard]] static std::string make(events::stream_version v,
                                        std::string_view body);
  /// The version of a row `make` wrote (0 for a shorter one).
  [[nodiscard]] static std::uint64_t version(std::string_view row);
  /// The response in a row `make` wrote.
  [[nodiscard]] static std::string_view body(std::string_view row);
  /// `row` becomes its response (in place).
  static void to_body(std::string& row);
};
/// The rendered response of a flow as of `b`.
[[nodiscard]] std::expected<std::optional<std::string>, storage::errc>
flow_view(storage::write_batch& b, const events::uuid& id);

// -- queries (any thread)
// -------------------------------------------------------

/// Read-only access to the projections for request handlers. Thread-safe.
class read_model {
public:
  explicit read_model(const storage::event_log& log) : log_(log) {
  }

  using text = std::expected<std::optional<std::string>, storage::errc>;

  /// The deployment response JSON. With `cache_only`, `would_block` means
  /// "retry on a thread that may wait for the disk".
  [[nodiscard]] text deployment(const events::uuid& id,
                                storage::read_tier tier) const;
  [[nodiscard]] text deployment_by_name(std::string_view flow_name,
                                        std::string_view deployment_name,
                                        storage::read_tier tier) const;
  /// The deployment's view row (`deployment_view_row`: version, response).
  [[nodiscard]] text deployment_row(const events::uuid& id,
                                    storage::read_tier tier) const;
  [[nodiscard]] text deployment_row_by_name(std::string_view flow_name,
                                            std::string_view deployment_name,
                                            storage::read_tier tier) const;
  [[nodiscard]] text flow(const events::uuid& id,
                          storage::read_tier tier) const;
  /// The deployment's schedules as the API lists them (newest first).
  [[nodiscard]] text schedules(const events::uuid& deployment_id,
                               storage::read_tier tier) const;
  [[nodiscard]] text flow_by_name(std::string_view name,
                                  storage::read_tier tier) const;

  /// A document by id, as stored (work pools and queues are served as is).
  [[nodiscard]] text resource(events::resource_kind kind,
                              const events::uuid& id,
                              storage::read_tier tier) const;
  /// A document by its name key (see `resource_name_key`).
  [[nodiscard]] text resource_named(const std::string& name_key,
                                    storage::read_tier tier) const;
  /// A concurrency limit by id or by name, in its stored (v2) form.
  [[nodiscard]] text limit(const std::string& id_or_name,
                           storage::read_tier tier) const;

  /// The database, for queries run through a `storage::log_reader`.
  [[nodiscard]] const storage::event_log& log() const {
    return log_;
  }

private:
  const storage::event_log& log_;
};

} // namespace deployd::actors
