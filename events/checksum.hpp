// Block schema checksums as the reference computes them: SHA-256 over
// Python's `json.dumps(((fields,), {}), sort_keys=True)`; the digest is
// OpenSSL's (libcrypto).
#pragma once

#include "events/json.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace deployd::events {

/// SHA-256 of `data`.
[[nodiscard]] std::array<std::uint8_t, 32> sha256(std::string_view data);

/// Lowercase hex SHA-256 of `data`.
[[nodiscard]] std::string sha256_hex(std::string_view data);

/// Python's `json.dumps(value, sort_keys=sort_keys)` with the default
/// separators (", " and ": ") and ASCII escaping.
[[nodiscard]] std::string python_json_dumps(const json& value, bool sort_keys);

/// `sha256:<hex>` of a block schema's `fields` (with `secret_fields` keys
/// left out of every nested object, as the reference hashes them).
[[nodiscard]] std::string block_schema_checksum(const json& fields);

} // namespace deployd::events
