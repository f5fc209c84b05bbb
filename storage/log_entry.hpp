// One entry of the replicated log: the records of one group-commit batch.
//
// In cluster mode each group commit is one etcd key (`<prefix>/log/e/<seq>`)
// whose value is a log entry: the commit id of the writer that appended it
// and the batch's records, each encoded exactly as the local log stores it
// (`encode_record`), so every node's RocksDB holds the same bytes at the same
// positions. The byte layout is ours and versioned by its first byte. Knows
// nothing of etcd, RocksDB, CAF or HTTP.
#pragma once

#include "events/ids.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::storage {

/// Entry format written today.
inline constexpr std::uint8_t log_entry_format = 1;

/// A decoded entry; `records` are views into the bytes it was decoded from.
struct log_entry_view {
  /// Who appended it: `<node>/<lease id hex>/<batch number>`.
  std::string_view commit_id;
  /// Position of the first record; the others follow densely.
  events::log_position first_position;
  /// Encoded records (`encode_record`), in position order.
  std::vector<std::string_view> records;
};

/// The value of one replicated-log key.
[[nodiscard]] std::string encode_log_entry(std::string_view commit_id,
                                           events::log_position first,
                                           const std::vector<std::string>& records);

/// Nothing when the bytes are not an entry of a known format.
[[nodiscard]] std::optional<log_entry_view>
decode_log_entry(std::string_view bytes);

} // namespace deployd::storage
