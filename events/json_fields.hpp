// Small helpers for reading our own stored JSON documents.
//
// Stored documents are ours, so a missing or mistyped field is a bug: these
// helpers throw std::invalid_argument, which the decoders turn into a
// decode error (events/codec) or a fatal bug report (actors/projections).
// Not for request bodies (those go through `validator`). Knows nothing of
// HTTP, storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace deployd::events {

/// A required UUID field; throws on a malformed document.
[[nodiscard]] uuid uuid_field(const json& j, std::string_view key);
/// A nullable UUID field.
[[nodiscard]] std::optional<uuid> optional_uuid_field(const json& j,
                                                      std::string_view key);
/// A required timestamp field.
[[nodiscard]] timestamp timestamp_field(const json& j, std::string_view key);
/// A nullable timestamp field.
[[nodiscard]] std::optional<timestamp>
optional_timestamp_field(const json& j, std::string_view key);
/// A nullable string field.
[[nodiscard]] std::optional<std::string>
optional_string_field(const json& j, std::string_view key);

/// JSON of a nullable value: null or the value.
template <class T>
json nullable(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
[[nodiscard]] json nullable(const std::optional<uuid>& v);
[[nodiscard]] json nullable(const std::optional<timestamp>& v);

/// A number that renders as an integer when it has no fraction (`0`, `3600`,
/// `0.5`): the stored form of float fields, kept so that every payload ever
/// written re-encodes byte for byte. Responses write those fields as floats
/// (`0.0`, `3600.0`), as the reference does.
[[nodiscard]] json compact_number(double v);

} // namespace deployd::events
