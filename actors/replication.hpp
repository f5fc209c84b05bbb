// Applying the replicated log to this node's replica (cluster mode).
//
// A follower folds each entry of the etcd log exactly as the writer folded
// it when it decided: the records are appended at their positions with their
// bytes unchanged, and each event goes through the same `fold`, in one
// atomic commit with the projected position and the entry's sequence number.
// So every node's RocksDB holds the same log and the same read model. Also
// where the replica's cluster metadata (cluster id, applied sequence) lives.
// No CAF include.
#pragma once

#include "storage/etcd/replicated_log.hpp"
#include "storage/event_log.hpp"
#include "storage/log_entry.hpp"

#include <expected>
#include <optional>
#include <string>

namespace deployd::actors {

/// Meta key: the etcd cluster id this replica belongs to.
inline constexpr std::string_view cluster_id_key = "cluster_id";
/// Meta key: the sequence number of the last entry applied (decimal).
inline constexpr std::string_view cluster_seq_key = "cluster_seq";

/// What a side write of a log entry is (`storage::side_write::kind`): the
/// writes a batch makes that its records do not imply. Client events are
/// telemetry outside the log (storage/README.md), yet every node serves
/// them: the leader ships each write, and each node applies it the same way.
enum class side_kind : std::uint8_t {
  /// A stored client event: its feed key and JSON (`store_client_event`).
  client_event = 'c',
  /// A client event the retention sweep removed: its key alone.
  client_event_expired = 'x',
  /// A value of the log's own metadata (the client-event sequence).
  meta = 'm',
};

/// Stores a client event and its feed rows in `batch`, and ships it.
[[nodiscard]] std::expected<void, storage::errc>
store_client_event(storage::write_batch& batch, std::string_view key,
                   std::string_view json);
/// Removes a client event and its feed rows, and ships the removal.
[[nodiscard]] std::expected<void, storage::errc>
expire_client_event(storage::write_batch& batch, std::string_view key,
                    std::string_view json);
/// Writes a meta value that is the same on every node, and ships it.
void put_shared_meta(storage::write_batch& batch, std::string_view key,
                     std::string_view value);

/// Where this replica's log ends, as a head of the replicated log: the
/// entry after the last one applied and the position after the last record.
[[nodiscard]] std::expected<storage::etcd::log_head, storage::errc>
replica_head(const storage::event_log& log);

/// Appends and folds entry `seq` into `batch` (which must be at the
/// replica's head) and records `seq` as applied. `corruption` when the
/// entry does not continue this replica's log exactly.
[[nodiscard]] std::expected<void, storage::errc>
apply_entry(storage::write_batch& batch, std::uint64_t seq,
            const storage::log_entry_view& entry);

/// Records `seq` as the last applied entry in `batch` (the leader's own
/// commit of the entry it appended).
void record_applied(storage::write_batch& batch, std::uint64_t seq);

} // namespace deployd::actors
