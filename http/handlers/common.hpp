// Helpers shared by the handlers: reads that try the cache first and move
// to the blocking pool only when RocksDB would touch the disk, and the
// translation of a writer result into a response.
#pragma once

#include "actors/commands.hpp"
#include "actors/projections.hpp"
#include "http/message.hpp"
#include "http/request_body.hpp"
#include "http/services.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string_view>

namespace deployd::http::handlers {

/// A read against the projections at a given tier.
using read_fn = std::function<actors::read_model::text(storage::read_tier)>;

/// Runs `read` from the cache on the calling thread; if that would block,
/// runs it again on the blocking-read pool. Replies 200 with the row, or
/// 404 `not_found_detail` when there is none.
void answer_read(services& s, read_fn read, std::string_view not_found_detail,
                 responder reply);

/// The success status of a write: 201/200 for creates (by `created`), or a
/// fixed status (204 for PATCH and DELETE, 200 for the rest).
enum class on_success : std::uint8_t { created_or_ok, no_content, ok, created };

/// The response for a writer result, or the rejection / failure response.
[[nodiscard]] response write_response(const actors::command_result& r,
                                      on_success success =
                                        on_success::created_or_ok);

/// Submits `cmd` and answers with `write_response(result, success)`.
void submit(services& s, actors::command cmd, on_success success,
            responder reply);

/// Runs `work` on the blocking-read pool (queries scan indexes and may wait
/// for the disk) and replies with what it returns.
void run_query(services& s, std::function<response(storage::reader&)> work,
               responder reply);

/// Prefect's limit dependency: an integer `limit` above 200 or below 0 is a
/// 422 `{"detail": "Invalid limit: ..."}`, reported before the body.
[[nodiscard]] std::optional<response> limit_problem(const events::json& body);

/// Validates an embedded multi-parameter body against `schema`; the 422
/// response echoes `echo` as `request_body`.
[[nodiscard]] std::expected<events::json, response>
validate_body(std::string_view schema, const events::json& body,
              const events::json& echo);

/// Reads a query body (absent or null = {}), applies the limit rule when
/// `limited`, and validates it against the embedded-body `schema`.
[[nodiscard]] std::expected<events::json, response>
query_body(const request& req, std::string_view schema, bool limited = true);

/// A single-model JSON body validated against component `schema` (unknown
/// keys as the model says); the 422 response otherwise.
[[nodiscard]] std::expected<events::json, response>
model_body(const request& req, std::string_view schema);

/// The page size of a validated query body (200 when not given).
[[nodiscard]] std::int64_t limit_of(const events::json& body);

/// `{"results": [...], "count": n, "limit": l, "pages": p, "page": page}`.
[[nodiscard]] response page_response(std::string results, std::int64_t count,
                                     std::int64_t limit, std::int64_t page);

/// The parameter `key` of a validated body, or null.
[[nodiscard]] events::json param(const events::json& body, const char* key);

/// "Now" for request validation: only the default `anchor_date` of interval
/// schedules uses it, and the event records the value, so replay is exact.
[[nodiscard]] events::timestamp request_time();

/// A command id for a request: fresh and random (commands from HTTP are not
/// retried by id yet).
[[nodiscard]] events::uuid new_command_id();

} // namespace deployd::http::handlers
