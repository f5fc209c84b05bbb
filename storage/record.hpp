// The log record envelope and its byte encoding.
//
// A record is self-contained so it can later be shipped to another node and
// applied by position: global position, stream id and version, event name and
// schema version, recorded-at time, the command id that caused it, and the
// payload text from `events/codec`. The byte layout is ours and versioned by
// its first byte; never persist struct bytes. Knows nothing of RocksDB, CAF
// or HTTP.
#pragma once

#include "events/ids.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::storage {

struct record {
  events::log_position position;
  events::stream_id stream;
  events::stream_version version;
  std::string name;       ///< stored event name
  int schema_version = 0; ///< event schema version
  events::timestamp recorded_at;
  events::uuid command_id;
  std::string payload; ///< JSON text

  bool operator==(const record&) const = default;
};

/// Envelope format written today.
inline constexpr std::uint8_t record_format = 1;

[[nodiscard]] std::string encode_record(const record& r);
/// Nothing when the bytes are not a record of a known format.
[[nodiscard]] std::optional<record> decode_record(std::string_view bytes);

/// 8-byte big-endian key of a log position (so keys sort by position).
[[nodiscard]] std::string position_key(events::log_position p);
[[nodiscard]] events::log_position position_from_key(std::string_view key);

/// Key of one version of a stream in the per-stream index.
[[nodiscard]] std::string stream_version_key(const events::stream_id& s,
                                             events::stream_version v);

} // namespace deployd::storage
