// The durable event log and the projection tables beside it, on RocksDB.
//
// One append-only log keyed by global position, a per-stream index
// (stream, version) -> position, and the projection tables that fold the log
// into the read model. Events and the projection rows they produce are
// written in ONE atomic, optionally synced WriteBatch together with the
// projections' last-applied position, so after any crash the read model is
// exactly the fold of the durable log. Single writer (the writer actor);
// reads are safe from any thread. RocksDB never leaks out of this folder.
// Knows nothing of CAF or HTTP.
#pragma once

#include "events/ids.hpp"
#include "events/time.hpp"
#include "storage/log_entry.hpp"
#include "storage/record.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::storage {

/// Failures of the storage layer. Explicit values; never renumber.
enum class errc : std::uint8_t {
  io_error = 1,          ///< RocksDB reported an I/O or internal error
  version_conflict = 2,  ///< append with a stale expected stream version
  corruption = 3,        ///< a stored record could not be decoded
  no_space = 4,          ///< the disk is full
  would_block = 5,       ///< cache-only read needs disk I/O
  invalid_argument = 6,  ///< bad options (e.g. unusable data directory)
  too_large = 7,         ///< one change is larger than the replicated log takes
  unavailable = 8,       ///< cluster mode: no leader or no etcd quorum in time
};

[[nodiscard]] const char* to_string(errc e);

/// Projection tables. Appending a table is compatible; never reorder.
enum class table : std::uint8_t {
  flows = 0,             ///< flow id -> flow JSON
  flow_names = 1,        ///< flow name -> flow id (16 bytes)
  deployments = 2,       ///< deployment id -> state JSON
  deployment_views = 3,  ///< deployment id -> stream version + response JSON
  deployment_names = 4,  ///< flow id (16 bytes) + name -> deployment id
  limits = 5,            ///< limit id -> limit JSON
  limit_links = 6,       ///< limit id + deployment id -> ""
  deployment_by_name = 7,     ///< name \0 id -> ""  (NAME_ASC order)
  deployment_by_created = 8,  ///< created (8 bytes) + id -> ""
  deployment_by_updated = 9,  ///< updated (8 bytes) + id -> ""
  deployment_tags = 10,       ///< len-prefixed tag + name \0 id -> ""
  deployment_queue_names = 11, ///< len-prefixed work_queue_name + id -> ""
  deployment_summaries = 12,  ///< id -> compact filter record
  flow_by_created = 13,       ///< created (8 bytes) + id -> ""
  flow_by_updated = 14,       ///< updated (8 bytes) + id -> ""
  resources = 15,             ///< kind byte + id -> document JSON
  resource_names = 16,        ///< kind byte + scope + name -> id
  queue_links = 17,           ///< queue id + deployment id -> ""
  block_links = 18,           ///< block document id + deployment id -> ""
  limit_names = 19,           ///< concurrency limit name -> id
  worker_names = 20,          ///< pool id + worker name -> worker id
  worker_heartbeats = 21,     ///< pool id + ~heartbeat (8) + id -> worker JSON
  worker_keys = 22,           ///< worker id -> its worker_heartbeats key
  // The Prefect event feed (actors/event_feed.hpp). An event key is the
  // occurred time (8 bytes, sortable) + its feed key (log position, 8
  // bytes + index or client sequence, 8 bytes).
  event_rows = 23,      ///< event key -> the ReceivedEvent JSON
  event_ids = 24,       ///< event id (16) -> event key
  event_resources = 25, ///< resource id \0 event key -> ""
  event_related = 26,   ///< related resource id \0 event key -> its role
  event_names = 27,     ///< event name \0 event key -> ""
  event_feed = 28,      ///< feed key (16) -> event key: commit order
  event_status = 29,    ///< work pool id -> last status event id + time
  /// Client events (POST /api/events, /api/events/in) as received: event
  /// key -> the ReceivedEvent JSON. Not a projection: the log does not hold
  /// them, replay keeps this table and indexes it again, and the retention
  /// sweep deletes from it (storage/README.md).
  client_events = 30,
  /// Automation relations (workers-automations.md §3.6), both ways:
  /// 'r' + len-prefixed resource id + automation id -> owned ("1"/"0"), and
  /// 'a' + automation id + resource id -> owned.
  automation_relations = 31,
  /// Scheduled flow runs (actors/projections.hpp `run_index_rows`): by
  /// deployment, schedule and time; and those named Scheduled by time.
  run_index = 32,
  /// Deployment id -> "" for each deployment the scheduler may make runs
  /// for (not paused, at least one active schedule): its main pass walks
  /// these instead of every deployment.
  scheduled_deployments = 33,
};

inline constexpr std::size_t table_count = 34;

/// Whether a table is a projection, rebuilt from the log (and the client
/// events) by replay and compared by verify. `client_events` is not.
[[nodiscard]] constexpr bool is_projection(table t) {
  return t != table::client_events;
}

/// Direction of a scan.
enum class scan_order : std::uint8_t { forward = 0, reverse = 1 };

/// Callback of a scan: return false to stop.
using visitor = std::function<bool(std::string_view key, std::string_view value)>;

/// Read access to projection rows, implemented by the database (any thread)
/// and by a write batch (the writer, seeing its own writes). Queries are
/// written against this so the same code serves HTTP reads and decisions
/// such as bulk delete.
class reader {
public:
  virtual ~reader() = default;
  [[nodiscard]] virtual std::expected<std::optional<std::string>, errc>
  get(table t, std::string_view key) = 0;
  /// Visits keys starting with `prefix` in key order (or reverse).
  [[nodiscard]] virtual std::expected<void, errc>
  scan(table t, std::string_view prefix, const visitor& visit,
       scan_order order = scan_order::forward) = 0;
  /// Visits keys in [`from`, `to`) in key order (or reverse); an empty `to`
  /// means no upper bound.
  [[nodiscard]] virtual std::expected<void, errc>
  scan_range(table t, std::string_view from, std::string_view to,
             const visitor& visit, scan_order order = scan_order::forward) = 0;
};

/// Stored name of a table (its RocksDB column family).
[[nodiscard]] const char* table_name(table t);

/// Whether a read may wait for the disk.
enum class read_tier : std::uint8_t { any = 0, cache_only = 1 };

struct open_options {
  std::string data_dir;
  std::size_t block_cache_bytes = 56u << 20;
  /// RocksDB row cache (whole values of point lookups, such as a GET by id);
  /// 0 turns it off.
  std::size_t row_cache_bytes = 8u << 20;
  std::size_t write_buffer_bytes = 32u << 20;
  bool create_if_missing = true;
  /// False for throwaway databases (verify's scratch copy): closing skips
  /// the final memtable flush.
  bool durable = true;
  /// Non-empty: open read-only as a RocksDB secondary beside a running
  /// primary (`deployd events --follow`), keeping its own files in this
  /// directory; `catch_up` reads what the primary wrote since. Nothing may
  /// be committed through it.
  std::string secondary_dir;
};

class event_log;

/// Pending writes of one commit: appended records, projection rows and the
/// projection position. Reads through it see its own writes. Owned and used
/// by one thread (the writer). Savepoints let a rejected command undo only
/// its own writes.
class write_batch final : public reader {
public:
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  write_batch& operator=(write_batch&&) noexcept;

  /// Appends one record to stream `r.stream`, which must currently be at
  /// `expected` (0 for a new stream). Assigns and returns its position; sets
  /// `r.position` and `r.version`.
  [[nodiscard]] std::expected<events::log_position, errc>
  append(record& r, events::stream_version expected);
  /// Appends one record after the current head of its stream (what the
  /// single writer does: its decision read that stream through this batch).
  /// One read of the head instead of `stream_head` + `append`.
  [[nodiscard]] std::expected<events::log_position, errc>
  append_at_head(record& r);
  /// Appends a record another node's writer decided (cluster mode), with
  /// its position and version as they are: `encoded` is its stored bytes.
  /// `corruption` unless it lands exactly at the log's next position and
  /// right after its stream's head.
  [[nodiscard]] std::expected<void, errc>
  append_replicated(const record& r, std::string_view encoded);

  /// Current version of a stream, including this batch's appends.
  [[nodiscard]] std::expected<events::stream_version, errc>
  stream_head(const events::stream_id& s);

  void put(table t, std::string_view key, std::string_view value);
  /// `put` of a row that nothing reads through this batch before it is
  /// committed (an index only queries read): written to the batch without
  /// the batch's own index, which costs a skip-list insert per row. `get` and
  /// `scan` of this batch do not see it (until a rollback rebuilds the
  /// index), so its key must never be read through the batch; the commit
  /// applies it in order with the batch's other puts and deletes (of the same
  /// key too, however written), and a rollback to a save point drops it.
  void put_unread(table t, std::string_view key, std::string_view value);
  void del(table t, std::string_view key);
  /// Reads a projection row as of this batch (own writes, then the DB).
  [[nodiscard]] std::expected<std::optional<std::string>, errc>
  get(table t, std::string_view key) override;
  /// Keys and values with `prefix`, merged with this batch's writes.
  [[nodiscard]] std::expected<void, errc>
  scan(table t, std::string_view prefix, const visitor& visit,
       scan_order order = scan_order::forward) override;
  [[nodiscard]] std::expected<void, errc>
  scan_range(table t, std::string_view from, std::string_view to,
             const visitor& visit,
             scan_order order = scan_order::forward) override;

  /// A metadata value as of this batch.
  [[nodiscard]] std::expected<std::optional<std::string>, errc>
  meta(std::string_view key);
  /// Whether the batch holds anything to commit (records, rows or meta).
  [[nodiscard]] bool has_writes() const;

  /// Records that projections now include every record up to `p`.
  void set_projected(events::log_position p);
  /// Writes a value of the log's own metadata (cluster membership, the
  /// replicated-log sequence applied, the client-event sequence) in the
  /// same atomic commit.
  void put_meta(std::string_view key, std::string_view value);
  /// The encoded records appended so far, in position order, when the batch
  /// was begun with `keep_records` (what a cluster leader ships to etcd).
  [[nodiscard]] const std::vector<std::string>& records() const;
  /// Keeps a write the records do not imply (a client event, its sweep),
  /// when the batch was begun with `keep_records`, for the leader to ship
  /// beside the records (`log_entry`); a no-op otherwise. The caller also
  /// makes the write itself. Undone by `rollback_to_save_point`.
  void add_side_write(std::uint8_t kind, std::string_view key,
                      std::string_view value);
  [[nodiscard]] const std::vector<side_write>& side_writes() const;

  void set_save_point();
  void rollback_to_save_point();
  void pop_save_point();

  /// Records appended so far.
  [[nodiscard]] std::size_t appended() const;
  /// Position the next append gets.
  [[nodiscard]] events::log_position next_position() const;
  /// Bytes of the pending WriteBatch.
  [[nodiscard]] std::size_t size_bytes() const;

private:
  std::expected<events::log_position, errc>
  append_after(record& r, events::stream_version head);

  friend class event_log;
  struct impl;
  explicit write_batch(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// RocksDB's memory by use and its compaction backlog, in bytes (from its
/// in-memory properties; no disk read).
struct memory_stats {
  std::uint64_t memtable_bytes = 0;
  std::uint64_t table_reader_bytes = 0;
  std::uint64_t block_cache_bytes = 0;
  std::uint64_t row_cache_bytes = 0;
  std::uint64_t pending_compaction_bytes = 0;
};

/// The open database. Create with `open`; thread-safe for reads; `begin` and
/// `commit` only from the single writer.
class event_log {
public:
  ~event_log();
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  [[nodiscard]] static std::expected<std::unique_ptr<event_log>, errc>
  open(const open_options& options);

  // -- writing (single writer) ----------------------------------------------

  /// A new batch at the log's head. With `keep_records` it also keeps each
  /// appended record's bytes (`write_batch::records`).
  [[nodiscard]] write_batch begin(bool keep_records = false);
  /// Writes the batch atomically; with `sync` it is on disk (fsync'd) when
  /// this returns. On failure nothing of the batch is visible.
  [[nodiscard]] std::expected<void, errc> commit(write_batch& b, bool sync);

  // -- reading (any thread) -------------------------------------------------

  [[nodiscard]] std::expected<std::optional<std::string>, errc>
  get(table t, std::string_view key, read_tier tier = read_tier::any) const;

  /// Calls `visit(key, value)` for keys with `prefix` in key order (or
  /// reverse) until it returns false.
  [[nodiscard]] std::expected<void, errc>
  scan(table t, std::string_view prefix, const visitor& visit,
       scan_order order = scan_order::forward,
       read_tier tier = read_tier::any) const;
  /// Keys in [`from`, `to`) (empty `to`: no upper bound), in key order (or
  /// reverse), until `visit` returns false.
  [[nodiscard]] std::expected<void, errc>
  scan_range(table t, std::string_view from, std::string_view to,
             const visitor& visit, scan_order order = scan_order::forward,
             read_tier tier = read_tier::any) const;

  /// Visits the keys of table `t` in this database and in `other` side by
  /// side in key order: `visit(key, mine, theirs)`, where a side that lacks
  /// the key is empty. One sequential pass over each, flat memory.
  using diff_visitor =
      std::function<bool(std::string_view key,
                         std::optional<std::string_view> mine,
                         std::optional<std::string_view> theirs)>;
  [[nodiscard]] std::expected<void, errc>
  compare_table(table t, const event_log& other,
                const diff_visitor& visit) const;

  /// Position of the last durable record (0 for an empty log).
  [[nodiscard]] events::log_position last_position() const;
  /// A metadata value written by `write_batch::put_meta`.
  [[nodiscard]] std::expected<std::optional<std::string>, errc>
  meta(std::string_view key) const;
  /// Position the projections have folded up to.
  [[nodiscard]] std::expected<events::log_position, errc>
  projected_position() const;
  /// The format stamp of the projection rows (`actors::read_model_format`
  /// when they were written); 0 when none was ever recorded.
  [[nodiscard]] std::expected<std::uint32_t, errc> read_model_format() const;
  /// Records the format stamp of the projection rows (synced).
  [[nodiscard]] std::expected<void, errc>
  set_read_model_format(std::uint32_t format);

  /// Records from `from` (inclusive) in position order, at most `max`.
  [[nodiscard]] std::expected<std::vector<record>, errc>
  read_from(events::log_position from, std::size_t max) const;
  /// Calls `visit` for every record from `from` on until it returns false.
  [[nodiscard]] std::expected<void, errc>
  for_each_from(events::log_position from,
                const std::function<bool(const record&)>& visit) const;
  /// Every record of one stream, in version order.
  [[nodiscard]] std::expected<std::vector<record>, errc>
  read_stream(const events::stream_id& s) const;
  /// Current version of a stream (0 when it has no record): the ETag of
  /// the resource it holds.
  [[nodiscard]] std::expected<events::stream_version, errc>
  stream_version(const events::stream_id& s,
                 read_tier tier = read_tier::any) const;

  // -- bulk rebuild (a fold from position 0) ---------------------------------

  /// Starts a bulk rebuild of the projection tables, which must be empty
  /// (`clear_projections`) with the projected position at 0. Until
  /// `finish_bulk_rebuild`, a write batch sends each projection row to a
  /// per-table buffer instead of the memtables; full buffers are sorted
  /// and spilled to run files under `<data dir>/rebuild` (`memory_budget`
  /// bytes in all). A table the fold reads (a batch's `get` or `scan`) is
  /// first made visible (its rows sorted into a table file and ingested)
  /// and from then on written through the batch as usual. Commits skip the
  /// WAL and never record a projected position: a rebuild killed at any
  /// point leaves position 0, which the next catch-up clears and folds
  /// again. Single writer only; no savepoints and no appends meanwhile.
  [[nodiscard]] std::expected<void, errc>
  begin_bulk_rebuild(std::size_t memory_budget = 256u << 20);
  /// Merges each buffered table's runs into sorted table files and ingests
  /// them all at once (atomic across tables), flushes the memtables when
  /// `durable`, then records `projected` as the projected position (synced
  /// when `durable`): the "rebuild complete" marker.
  [[nodiscard]] std::expected<void, errc>
  finish_bulk_rebuild(events::log_position projected, bool durable);
  /// Ends a throwaway bulk rebuild (verify's scratch database) without
  /// table files: each buffered projection table's merged rows are compared
  /// in key order with `live`'s rows of that table as they are merged (two
  /// threads share the tables), calling `visit(t, key, live row, rebuilt
  /// row)` as `live.compare_table(t, *this, ...)` would after
  /// `finish_bulk_rebuild`; nothing is ingested and no position recorded.
  /// The tables the fold read (written through batches) stay in this
  /// database for `compare_table`. Returns which tables were compared.
  using table_diff_visitor =
      std::function<bool(table t, std::string_view key,
                         std::optional<std::string_view> live,
                         std::optional<std::string_view> rebuilt)>;
  [[nodiscard]] std::expected<std::vector<bool>, errc>
  finish_bulk_compare(const event_log& live, const table_diff_visitor& visit);
  /// Ends a bulk rebuild that failed: drops its buffers and run files (the
  /// position stays 0).
  void abandon_bulk_rebuild();

  // -- maintenance ----------------------------------------------------------

  /// Resets the projected position to 0 (synced), then deletes every
  /// projection table's rows (`is_projection`; client events stay). Position 0 means "no read model": a crash
  /// half-way leaves 0, and the next catch-up clears the rest first.
  [[nodiscard]] std::expected<void, errc> drop_projections();
  /// Deletes every projection table's rows, leaving the position alone
  /// (and the client events).
  [[nodiscard]] std::expected<void, errc> clear_projections();

  /// Flushes memtables (used before copying or at shutdown).
  [[nodiscard]] std::expected<void, errc> flush();

  /// A secondary (`open_options::secondary_dir`): makes what the primary
  /// has written since visible, and the last position with it.
  [[nodiscard]] std::expected<void, errc> catch_up();

  [[nodiscard]] const std::string& data_dir() const;

  /// Memory and compaction backlog, for metrics. Any thread; takes
  /// RocksDB's internal mutex briefly, so not for a Beast I/O thread.
  [[nodiscard]] memory_stats memory() const;

private:
  friend class write_batch;
  friend class snapshot_reader;
  struct impl;
  explicit event_log(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The database as a `reader`, at one read tier. Cheap; make one per query.
class log_reader final : public reader {
public:
  log_reader(const event_log& log, read_tier tier) : log_(log), tier_(tier) {
  }
  [[nodiscard]] std::expected<std::optional<std::string>, errc>
  get(table t, std::string_view key) override {
    return log_.get(t, key, tier_);
  }
  [[nodiscard]] std::expected<void, errc>
  scan(table t, std::string_view prefix, const visitor& visit,
       scan_order order = scan_order::forward) override {
    return log_.scan(t, prefix, visit, order, tier_);
  }
  [[nodiscard]] std::expected<void, errc>
  scan_range(table t, std::string_view from, std::string_view to,
             const visitor& visit,
             scan_order order = scan_order::forward) override {
    return log_.scan_range(t, from, to, visit, order, tier_);
  }

private:
  const event_log& log_;
  read_tier tier_;
};

/// The database as a `reader` as it was when this was made (a RocksDB
/// snapshot, released when it is destroyed): for a query whose reads must
/// agree with each other (a page and its count) while commits go on. Any
/// thread; one owner; must not outlive `log`. Holding it keeps the rows it
/// sees from being compacted away, so make one per query, not longer.
class snapshot_reader final : public reader {
public:
  snapshot_reader(const event_log& log, read_tier tier);
  ~snapshot_reader() override;
  snapshot_reader(const snapshot_reader&) = delete;
  snapshot_reader& operator=(const snapshot_reader&) = delete;

  [[nodiscard]] std::expected<std::optional<std::string>, errc>
  get(table t, std::string_view key) override;
  [[nodiscard]] std::expected<void, errc>
  scan(table t, std::string_view prefix, const visitor& visit,
       scan_order order = scan_order::forward) override;
  [[nodiscard]] std::expected<void, errc>
  scan_range(table t, std::string_view from, std::string_view to,
             const visitor& visit,
             scan_order order = scan_order::forward) override;

private:
  const event_log& log_;
  read_tier tier_;
  const void* snapshot_; // a `rocksdb::Snapshot` of `log_`
};

} // namespace deployd::storage
