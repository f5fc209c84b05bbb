// Conditional and idempotent writes at the HTTP edge (issue 16 items 4, 5):
// the `If-Match`, `If-None-Match` and `Idempotency-Key` headers parsed into
// the `write_conditions` the writer checks, and the ETag of a read. The
// decisions themselves are the writer's (actors/preconditions.hpp), never
// taken here. No Beast include.
#pragma once

#include "actors/commands.hpp"
#include "http/message.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::http {

/// Longest accepted Idempotency-Key, in bytes.
inline constexpr std::size_t max_idempotency_key_bytes = 255;

/// An entity-tag list header: `*`, or comma-separated tags (`"3"`,
/// `W/"3"`). Nothing when malformed.
[[nodiscard]] std::optional<actors::tag_condition>
parse_tag_list(std::string_view header);

/// The conditions of a write request, or a 400 naming the malformed header.
[[nodiscard]] std::expected<actors::write_conditions, response>
write_conditions_of(const request& req);

/// The strong ETag of a stream version: `"N"`.
[[nodiscard]] std::string etag(std::uint64_t version);

/// Whether a GET's `If-None-Match` names the current version (then 304).
[[nodiscard]] bool not_modified(const request& req, std::uint64_t version);
/// The same, given the request's `If-None-Match` alone.
[[nodiscard]] bool not_modified(const std::optional<std::string>& if_none_match,
                                std::uint64_t version);

} // namespace deployd::http
