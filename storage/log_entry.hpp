// One entry of the replicated log: the records of one group-commit batch.
//
// In cluster mode each group commit is one etcd key (`<prefix>/log/e/<seq>`)
// whose value is a log entry: the commit id of the writer that appended it
// and the batch's records, each encoded exactly as the local log stores it
// (`encode_record`), so every node's RocksDB holds the same bytes at the same
// positions, and the batch's side writes: what it wrote that its records do
// not imply (client events, their sweep), which each node applies the same
// way. The byte layout is ours and versioned by its first byte (1: records;
// 2: records, then side writes). Knows nothing of etcd, RocksDB, CAF or HTTP.
#pragma once

#include "events/ids.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::storage {

/// Entry formats written today: without side writes (the bytes of every
/// entry before they existed) and with them.
inline constexpr std::uint8_t log_entry_format = 1;
inline constexpr std::uint8_t log_entry_format_side_writes = 2;

/// A write of a batch that its records do not imply. `kind` belongs to
/// whoever applies it (actors/replication); storage only carries it.
struct side_write {
  std::uint8_t kind = 0;
  std::string key;
  std::string value;
};

struct side_write_view {
  std::uint8_t kind = 0;
  std::string_view key;
  std::string_view value;
};

/// The bytes a record takes in an entry (its length, then its bytes).
[[nodiscard]] inline std::size_t entry_size(std::string_view record) {
  return 4 + record.size();
}
/// The bytes a side write takes in an entry (kind, key, value).
[[nodiscard]] inline std::size_t entry_size(const side_write& w) {
  return 1 + 4 + w.key.size() + 4 + w.value.size();
}

/// A decoded entry; `records` are views into the bytes it was decoded from.
struct log_entry_view {
  /// Who appended it: `<node>/<lease id hex>/<batch number>`.
  std::string_view commit_id;
  /// Position of the first record; the others follow densely.
  events::log_position first_position;
  /// Encoded records (`encode_record`), in position order.
  std::vector<std::string_view> records;
  /// In the order they were made, after the records.
  std::vector<side_write_view> side_writes;
};

/// The value of one replicated-log key.
[[nodiscard]] std::string encode_log_entry(std::string_view commit_id,
                                           events::log_position first,
                                           const std::vector<std::string>& records,
                                           const std::vector<side_write>& side_writes = {});

/// Nothing when the bytes are not an entry of a known format.
[[nodiscard]] std::optional<log_entry_view>
decode_log_entry(std::string_view bytes);

} // namespace deployd::storage
