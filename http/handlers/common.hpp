// Helpers shared by the handlers: reads that try the cache first and move
// to the blocking pool only when RocksDB would touch the disk, and the
// translation of a writer result into a response.
#pragma once

#include "actors/commands.hpp"
#include "actors/projections.hpp"
#include "http/message.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"
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

/// `answer_read` of a row in `actors::deployment_view_row` form (its
/// stream's version, then the response): the 200 carries the version as
/// its ETag, or is a 304 when the request's If-None-Match names it. Body and
/// tag come from one row, so they always agree.
void answer_tagged_read(services& s, const request& req, read_fn read,
                        std::string_view not_found_detail, responder reply);

/// The success status of a write: 201/200 for creates (by `created`), or a
/// fixed status (204 for PATCH and DELETE, 200 for the rest).
enum class on_success : std::uint8_t { created_or_ok, no_content, ok, created };

/// The response for a writer result, or the rejection / failure response.
[[nodiscard]] response
write_response(const actors::command_result& r,
               on_success success = on_success::created_or_ok);

/// Submits `cmd` and answers with `write_response(result, success)`.
/// Writes of the server's own (a poll's record) use this; a client's write
/// uses the overload with its request.
void submit(services& s, actors::command cmd, on_success success,
            responder reply);
/// Submits a client's write with the conditions of its request (If-Match,
/// If-None-Match, Idempotency-Key; 400 when one is malformed). A replayed
/// answer carries `Idempotent-Replayed: true`.
void submit(services& s, const request& req, actors::command cmd,
            on_success success, responder reply);

/// What to submit after a command's ok result, if anything.
using next_command_fn =
    std::function<std::optional<actors::command>(const actors::command_result&)>;

/// Submits `cmd`, then what `next(result)` gives after each ok result (a
/// new command id each time) until it gives nothing: work split over
/// several entries of the replicated log, each command idempotent and
/// making progress. Answers with `write_response(last result, success)`,
/// or 413 when `max_rounds` did not finish it.
void submit_until(services& s, actors::command cmd, next_command_fn next,
                  std::size_t max_rounds, on_success success, responder reply);

/// Submits `cmd` and answers with what `render` makes of the result (on the
/// writer's thread: `render` must not block).
void submit_with(services& s, actors::command cmd,
                 std::function<response(const actors::command_result&)> render,
                 responder reply);
/// The same for a client's write, with its request's conditions.
void submit_with(services& s, const request& req, actors::command cmd,
                 std::function<response(const actors::command_result&)> render,
                 responder reply);

/// Runs `work` on the blocking-read pool (queries scan indexes and may wait
/// for the disk) and replies with what it returns.
void run_query(services& s, std::function<response(storage::reader&)> work,
               responder reply);
/// `run_query` with every read of `work` from one snapshot of the database
/// (`storage::snapshot_reader`): for answers made of several reads that must
/// agree though commits go on between them (a page and its count).
void run_snapshot_query(services& s,
                        std::function<response(storage::reader&)> work,
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

/// Answers a filter on the blocking-read pool: the ids `find(reader, q)`
/// returns, rendered as a JSON array by `views(reader, ids)`.
template <class Query, class Find, class Views>
void answer_filter(services& s, Query q, Find find, Views views,
                   responder reply) {
  run_query(
      s,
      [q = std::move(q), find, views](storage::reader& r) {
        auto ids = find(r, q);
        if (!ids)
          return storage_failed(ids.error());
        auto text = views(r, *ids);
        if (!text)
          return storage_failed(text.error());
        return json_text(200, std::move(*text));
      },
      std::move(reply));
}

/// Answers a count on the blocking-read pool with a bare integer.
template <class Query, class Count>
void answer_count(services& s, Query q, Count count, responder reply) {
  run_query(
      s,
      [q = std::move(q), count](storage::reader& r) {
        auto n = count(r, q);
        if (!n)
          return storage_failed(n.error());
        return json_text(200, std::to_string(*n));
      },
      std::move(reply));
}

/// Answers `/paginate`: page `page` of `limit` (offset and limit are set on
/// `q` here), with the total count.
template <class Query, class Find, class Count, class Views>
void answer_page(services& s, Query q, std::int64_t page, std::int64_t limit,
                 Find find, Count count, Views views, responder reply) {
  q.offset = (page - 1) * limit;
  q.limit = limit;
  run_query(
      s,
      [q = std::move(q), page, limit, find, count, views](storage::reader& r) {
        auto n = count(r, q);
        if (!n)
          return storage_failed(n.error());
        auto ids = find(r, q);
        if (!ids)
          return storage_failed(ids.error());
        auto text = views(r, *ids);
        if (!text)
          return storage_failed(text.error());
        return page_response(std::move(*text), *n, limit, page);
      },
      std::move(reply));
}

/// The `page` of a validated paginate body (1 when not given).
[[nodiscard]] std::int64_t page_of(const events::json& body);

/// The parameter `key` of a validated body, or null.
[[nodiscard]] events::json param(const events::json& body, const char* key);

/// "Now" for request validation: only the default `anchor_date` of interval
/// schedules uses it, and the event records the value, so replay is exact.
[[nodiscard]] events::timestamp request_time();

/// A command id for a request: fresh and random (commands from HTTP are not
/// retried by id yet).
[[nodiscard]] events::uuid new_command_id();

} // namespace deployd::http::handlers
