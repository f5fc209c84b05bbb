// Request shapes of the events API (events-api §1-§5): client events, event
// filters and page tokens, validated with the reference's rules and error
// shapes. Shared by the HTTP handlers and the event websockets. No Beast
// include; throws nothing; any thread.
#pragma once

#include "events/json.hpp"
#include "events/prefect_event.hpp"
#include "events/validation.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::http {

/// Validates one client `Event` at `v`'s current location (schema, then
/// the Resource / RelatedResource rules and the name and size limits);
/// nothing when it has errors (appended to `v`).
[[nodiscard]] std::optional<events::prefect_event>
parse_client_event(events::validator& v, const events::json& input);

/// Validates an EventFilter object at `v`'s current location: the schema,
/// plus the `[resource_id, role]` pairs of `resources_in_roles`, which the
/// embedded schema cannot express. Returns the coerced filter.
[[nodiscard]] std::optional<events::json>
validate_event_filter(events::validator& v, const events::json& input);

/// The `resources_in_roles` pairs of an already schema-checked filter at
/// `v`'s location (the `filter` object); false after appending errors.
[[nodiscard]] bool check_resource_pairs(events::validator& v,
                                        const events::json& filter);

/// What a page token carries: the filter with its window made absolute,
/// the total of the first page, the page size, the next offset, and the
/// feed's head when the first page was read (events that came later are
/// not part of the query's pages).
struct page_token {
  events::json filter;
  std::int64_t count = 0;
  std::int64_t page_size = 50;
  std::int64_t offset = 0;
  std::string head; ///< a feed key (16 bytes)
};

/// URL-safe text of a token (base64url without padding of its JSON).
[[nodiscard]] std::string encode_page_token(const page_token& t);
/// The token, or nothing when it is not one of ours (answered 403).
[[nodiscard]] std::optional<page_token>
decode_page_token(std::string_view text);

/// pydantic's one-line summary of errors, for the websocket close reason:
/// `N validation error(s) for EventFilter` then each location and message.
[[nodiscard]] std::string validation_summary(const events::field_errors& errors,
                                             std::string_view model);

} // namespace deployd::http
