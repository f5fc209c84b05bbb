// The JSON codec for event payloads, with upcasting of old versions.
//
// `storage/` writes the envelope; this file turns an event into its payload
// text and back. Decoding accepts every version in the catalog and upcasts
// to the current struct; actors and projections only ever see current
// structs. Knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/catalog.hpp"

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace deployd::events {

/// An event ready for the envelope: stored name, schema version, payload.
struct encoded_event {
  std::string name;
  int version = 0;
  std::string payload; ///< compact JSON text
};

enum class decode_errc : std::uint8_t {
  unknown_event = 1,    ///< name/version not in the catalog
  malformed_payload = 2 ///< not JSON, or a field missing or mistyped
};

[[nodiscard]] encoded_event encode(const any_event& e);
[[nodiscard]] std::expected<any_event, decode_errc>
decode(std::string_view name, int version, std::string_view payload);

} // namespace deployd::events
