// Identifier value types shared by every layer: UUIDs, stream ids, stream
// versions and global log positions.
//
// Ids are their own types so that a stream version can never be passed where
// a log position is expected. Knows nothing of storage, CAF or HTTP.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::events {

/// A 128-bit UUID, rendered lowercase and hyphenated.
struct uuid {
  std::array<std::uint8_t, 16> bytes{};

  /// Parses the canonical 8-4-4-4-12 hex form, either case. Returns nothing
  /// for any other spelling (routes only match this form).
  [[nodiscard]] static std::optional<uuid> parse(std::string_view text);

  /// Builds a version-4 UUID from 128 random bits (version and variant bits
  /// are overwritten).
  [[nodiscard]] static uuid v4_from(std::uint64_t hi, std::uint64_t lo);

  /// Lowercase hyphenated text, 36 characters.
  [[nodiscard]] std::string str() const;

  [[nodiscard]] bool is_nil() const;

  auto operator<=>(const uuid&) const = default;
};

/// The aggregate a record belongs to, e.g. `deployment/<uuid>`.
struct stream_id {
  std::string value;

  auto operator<=>(const stream_id&) const = default;
};

/// Version of one stream: 1 for its first event, then 2, 3, ...
struct stream_version {
  std::uint64_t value = 0;

  auto operator<=>(const stream_version&) const = default;
};

/// Dense, increasing position of a record in the global log, from 1.
struct log_position {
  std::uint64_t value = 0;

  auto operator<=>(const log_position&) const = default;
};

/// `deployment/<id>`.
[[nodiscard]] stream_id deployment_stream(const uuid& id);
/// `flow/<id>`.
[[nodiscard]] stream_id flow_stream(const uuid& id);
/// `concurrency_limit/<id>`.
[[nodiscard]] stream_id concurrency_limit_stream(const uuid& id);

} // namespace deployd::events

template <>
struct std::hash<deployd::events::uuid> {
  std::size_t operator()(const deployd::events::uuid& id) const noexcept;
};
