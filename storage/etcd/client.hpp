// A blocking, thread-safe client for etcd's v3 API (KV, Watch, Lease,
// Maintenance) over gRPC: the replicated log's transport in cluster mode.
//
// gRPC and protobuf types never appear here: the generated code and the
// channel live in client.cpp. Every call takes an explicit deadline and
// returns std::expected; gRPC statuses are mapped once to `errc` (with the
// status text kept for logs). No CAF, no Beast, no knowledge of deployd's
// log layout: the caller builds the keys and the fenced transactions.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace deployd::storage::etcd {

/// Failures of an etcd call. Explicit values; never renumber.
enum class errc : std::uint8_t {
  unavailable = 1,     ///< no member reachable, "leader changed", socket
                       ///< closed: the outcome of a write is unknown
  deadline = 2,        ///< deadline exceeded: the outcome of a write is unknown
  no_space = 3,        ///< NOSPACE alarm, "mvcc: database space exceeded":
                       ///< the write that crossed the quota may have been
                       ///< applied (etcd applies it, then answers this)
  too_large = 4,       ///< "request is too large", or a gRPC message limit
  compacted = 5,       ///< the required revision has been compacted
  lease_not_found = 6, ///< requested lease not found (expired or revoked)
  invalid = 7,         ///< other client errors (too many ops, duplicate key)
  other = 8,           ///< anything else (internal, auth, unknown)
};

/// The enumerator's name, for logs.
[[nodiscard]] const char* to_string(errc e);

/// A failed call: the mapped code and the gRPC status text (for logs only).
struct error {
  errc code = errc::other;
  std::string message;
};

/// True when a write that failed with this error may nonetheless have been
/// applied (unavailable, deadline, no_space, other): resolve it by reading
/// back, never by assuming either outcome.
[[nodiscard]] bool outcome_unknown(const error& e);

/// One key as etcd stores it. Revisions are cluster-wide; version counts the
/// puts since the key's creation; lease 0 = none.
struct key_value {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

/// A txn guard, always EQUAL. `value` compares `value`; the other targets
/// compare `number`. A value compare on a missing key is always false (etcd's
/// rule): test absence with create_revision == 0.
struct compare {
  enum class target : std::uint8_t {
    value,
    create_revision,
    mod_revision,
    version
  };
  std::string key;
  target what = target::value;
  std::string value;
  std::int64_t number = 0;
};

struct put_op {
  std::string key;
  std::string value;
  std::int64_t lease = 0;
};
/// range_end empty = the single key; prefix_end(p) for every key under p.
struct range_op {
  std::string key;
  std::string range_end;
  std::int64_t limit = 0;
};
struct delete_op {
  std::string key;
  std::string range_end;
};
using txn_op = std::variant<put_op, range_op, delete_op>;

/// If every compare holds, `success` runs, else `failure`, atomically.
struct txn_request {
  std::vector<compare> compares;
  std::vector<txn_op> success;
  std::vector<txn_op> failure;
};
struct txn_response {
  bool succeeded = false;
  std::int64_t revision = 0; ///< header revision
  /// The kvs of each range_op of the branch that ran, in order.
  std::vector<std::vector<key_value>> ranges;
};

struct range_request {
  std::string key;
  std::string range_end;     ///< "" = single key; prefix_end(p) for a prefix
  std::int64_t limit = 0;    ///< 0 = no limit
  std::int64_t revision = 0; ///< 0 = current; below compaction -> compacted
  bool serializable = false; ///< false = linearizable
  bool keys_only = false;
  bool count_only = false;
};
struct range_response {
  std::vector<key_value> kvs;
  bool more = false;         ///< more keys in the range than returned
  std::int64_t count = 0;    ///< keys in the range (not limited)
  std::int64_t revision = 0; ///< header revision (the store's at the read)
};

struct lease {
  std::int64_t id = 0;
  std::int64_t ttl_seconds = 0;
};

/// Maintenance.Status of one endpoint given to connect().
struct member_status {
  std::string endpoint;
  std::uint64_t member_id = 0;
  std::uint64_t leader_id = 0; ///< 0 = the member knows no leader
  std::int64_t db_size = 0;    ///< bytes of the backend file
  std::int64_t raft_term = 0;
  std::int64_t raft_index = 0;
  std::vector<std::string> alarms; ///< e.g. "NOSPACE" (cluster-wide alarms)
  std::string version;
  /// Non-empty when the endpoint did not answer (the gRPC status text); the
  /// other fields are then zero.
  std::string error;
};

/// The end of the range of every key starting with `prefix`: the last byte
/// below 0xff incremented, trailing 0xff bytes dropped (etcd's rule); "\0"
/// (every key) when there is no such byte.
[[nodiscard]] std::string prefix_end(std::string_view prefix);

/// One watch stream, used by one thread (cancel() from any thread). Destroy
/// it before the client that made it.
class watch {
public:
  struct event {
    enum class kind : std::uint8_t { put, del } type;
    key_value kv; ///< for del: the key and its deletion's mod_revision
  };
  struct batch {
    std::vector<event> events;
    std::int64_t revision = 0; ///< header revision of the response
    std::int64_t compact_revision = 0;
    bool canceled = false;
  };
  virtual ~watch() = default;
  /// Waits up to `timeout` for the next batch of events: an empty batch on
  /// timeout; an error when the stream broke (re-create the watch from the
  /// last revision seen + 1). compact_revision != 0 or canceled: the watch is
  /// over (the server canceled it, or cancel() was called).
  [[nodiscard]] virtual std::expected<batch, error>
  next(std::chrono::milliseconds timeout) = 0;
  /// From any thread: ends the stream; a blocked next() returns soon with a
  /// canceled batch.
  virtual void cancel() = 0;
};

/// A connection to an etcd cluster: one gRPC channel over every endpoint
/// (pick_first: it fails over by itself; the call in flight fails).
/// Every call is thread-safe, blocking, and bounded by its deadline.
class client {
public:
  struct impl;

  /// endpoints: "http://127.0.0.1:2379" or "127.0.0.1:2379" (a host name is
  /// resolved once, here). Fails (invalid) on an unusable endpoint list;
  /// does not wait for a connection.
  [[nodiscard]] static std::expected<std::unique_ptr<client>, error>
  connect(const std::vector<std::string>& endpoints);

  explicit client(std::unique_ptr<impl> state);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  [[nodiscard]] std::expected<txn_response, error>
  txn(const txn_request& request, std::chrono::milliseconds deadline);
  [[nodiscard]] std::expected<range_response, error>
  range(const range_request& request, std::chrono::milliseconds deadline);
  /// Returns the revision of the put.
  [[nodiscard]] std::expected<std::int64_t, error>
  put(const put_op& op, std::chrono::milliseconds deadline);
  /// Returns how many keys were deleted.
  [[nodiscard]] std::expected<std::int64_t, error>
  del(const delete_op& op, std::chrono::milliseconds deadline);

  /// A new lease; etcd raises a TTL below its minimum (2 s by default).
  [[nodiscard]] std::expected<lease, error>
  lease_grant(std::int64_t ttl_seconds, std::chrono::milliseconds deadline);
  [[nodiscard]] std::expected<void, error>
  lease_revoke(std::int64_t id, std::chrono::milliseconds deadline);
  /// One keep-alive round trip on a long-lived LeaseKeepAlive stream
  /// (re-opened after an error or a timeout); returns the new TTL in
  /// seconds, 0 = the lease is gone. Calls are serialised on the stream.
  [[nodiscard]] std::expected<std::int64_t, error>
  lease_keep_alive(std::int64_t id, std::chrono::milliseconds deadline);

  /// A watch of [key, range_end) from start_revision (0 = now). Waits up to
  /// `deadline` for etcd to confirm the watch. Catching up over a long
  /// backlog is slow in etcd 3.4: range-read first, then watch from there.
  [[nodiscard]] std::expected<std::unique_ptr<watch>, error> watch_range(
      std::string key, std::string range_end, std::int64_t start_revision,
      std::chrono::milliseconds deadline = std::chrono::milliseconds{2000});

  /// Maintenance.Status of every endpoint given to connect, in that order,
  /// asked in parallel; an endpoint that does not answer has `error` set.
  /// Fails (unavailable) only when no endpoint answered.
  [[nodiscard]] std::expected<std::vector<member_status>, error>
  status(std::chrono::milliseconds deadline);
  /// Deactivates every alarm (after NOSPACE, once space has been freed).
  [[nodiscard]] std::expected<void, error>
  alarm_disarm_all(std::chrono::milliseconds deadline);
  /// Compacts the key-value history below `revision`; with `physical` the
  /// call returns once the compaction has been applied to the backend.
  [[nodiscard]] std::expected<void, error>
  compact(std::int64_t revision, bool physical,
          std::chrono::milliseconds deadline);
  /// Defragments every endpoint, one at a time (each blocks its member);
  /// `deadline` applies to each member.
  [[nodiscard]] std::expected<void, error>
  defragment(std::chrono::milliseconds deadline);

  /// The endpoints given to connect.
  [[nodiscard]] const std::vector<std::string>& endpoints() const;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace deployd::storage::etcd
