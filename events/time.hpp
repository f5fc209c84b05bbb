// UTC timestamps with microsecond precision, and their wire format.
//
// Every stored time is UTC. The wire form is ISO-8601 with a `Z` suffix and
// six fraction digits, the fraction omitted when it is zero, as the reference
// server renders datetimes. Knows nothing of storage, CAF or HTTP.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::events {

/// Microseconds since 1970-01-01T00:00:00Z.
struct timestamp {
  std::int64_t micros = 0;

  auto operator<=>(const timestamp&) const = default;
};

/// `2026-08-21T16:27:33.123456Z`, or `2026-08-21T16:27:33Z` when the
/// microsecond part is zero.
[[nodiscard]] std::string format_timestamp(timestamp t);

/// Parses an ISO-8601 date-time: `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]` with an
/// optional `Z` or `±HH:MM` / `±HHMM` offset (naive values are UTC), or a bare
/// date `YYYY-MM-DD` (midnight UTC). Fractions beyond microseconds are
/// truncated. Returns nothing on any other input.
[[nodiscard]] std::optional<timestamp> parse_timestamp(std::string_view text);

/// Days since 1970-01-01 for a proleptic Gregorian civil date.
[[nodiscard]] std::int64_t days_from_civil(std::int64_t y, unsigned m,
                                           unsigned d);

} // namespace deployd::events
