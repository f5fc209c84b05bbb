#include "http/handlers/common.hpp"

#include "http/answer_cache.hpp"
#include "http/conditions.hpp"
#include "http/handlers/etag.hpp"
#include "http/openapi_validator.hpp"
#include "http/responses.hpp"
#include "observe/log.hpp"

#include <chrono>
#include <cstdio>
#include <random>

namespace deployd::http::handlers {

namespace {

response from_row(const actors::read_model::text& row,
                  std::string_view not_found_detail) {
  if (!row)
    return storage_failed(row.error());
  if (!*row)
    return detail(404, not_found_detail);
  return json_text(200, **row);
}

// `from_row` of a row in `deployment_view_row` form, tagged with its version.
response from_tagged_row(actors::read_model::text row,
                         const std::optional<std::string>& if_none_match,
                         std::string_view not_found_detail) {
  if (!row || !*row)
    return from_row(row, not_found_detail);
  const auto version = actors::deployment_view_row::version(**row);
  actors::deployment_view_row::to_body(**row);
  return tag(json_text(200, std::move(**row)), if_none_match, version);
}

// Every write goes to the writer here, with its request's conditions (none
// for the server's own writes).
// `keyed`: the request when it came with an Idempotency-Key and there is
// an answer cache; its ok answer is kept there for the retries.
void send(services& s, actors::command cmd, actors::write_conditions conditions,
          std::function<response(const actors::command_result&)> render,
          responder reply, std::shared_ptr<const request> keyed = nullptr) {
  s.writer.submit(
      std::move(cmd), new_command_id(),
      [reply = std::move(reply), render = std::move(render),
       &positions = s.writer.positions(), keyed = std::move(keyed),
       answers = s.answers](actors::command_result r) {
        auto answer = render(r);
        const auto at =
            r.position.value != 0 ? r.position : positions.applied();
        answer.headers.emplace_back(position_header,
                                    std::to_string(at.value));
        if (r.replayed)
          answer.headers.emplace_back("Idempotent-Replayed", "true");
        if (keyed && answers != nullptr && r.key_expires != 0 &&
            r.result == actors::command_result::outcome::ok)
          answers->remember(*keyed, answer, r.key_expires);
        reply(std::move(answer));
      },
      std::move(conditions));
}

void submit_round(services& s, actors::command cmd, next_command_fn next,
                  std::size_t rounds_left, on_success success,
                  responder reply) {
  s.writer.submit(
      std::move(cmd), new_command_id(),
      [&s, next = std::move(next), rounds_left, success,
       reply = std::move(reply)](actors::command_result r) mutable {
        std::optional<actors::command> more;
        if (r.result == actors::command_result::outcome::ok)
          more = next(r);
        if (more && rounds_left > 1)
          return submit_round(s, std::move(*more), std::move(next),
                              rounds_left - 1, success, std::move(reply));
        auto answer = more ? storage_failed(storage::errc::too_large)
                           : write_response(r, success);
        const auto at = r.position.value != 0 ? r.position
                                              : s.writer.positions().applied();
        answer.headers.emplace_back(position_header, std::to_string(at.value));
        reply(std::move(answer));
      },
      {});
}

} // namespace

void submit_until(services& s, actors::command cmd, next_command_fn next,
                  std::size_t max_rounds, on_success success,
                  responder reply) {
  submit_round(s, std::move(cmd), std::move(next), max_rounds, success,
               std::move(reply));
}

void answer_read(services& s, read_fn read, std::string_view not_found_detail,
                 responder reply) {
  auto row = read(storage::read_tier::cache_only);
  if (row || row.error() != storage::errc::would_block) {
    reply(from_row(row, not_found_detail));
    return;
  }
  s.blocking_reads.post([read = std::move(read), reply = std::move(reply),
                         text = std::string(not_found_detail)] {
    reply(from_row(read(storage::read_tier::any), text));
  });
}

void answer_tagged_read(services& s, const request& req, read_fn read,
                        std::string_view not_found_detail, responder reply) {
  auto row = read(storage::read_tier::cache_only);
  if (row || row.error() != storage::errc::would_block) {
    reply(from_tagged_row(std::move(row), req.if_none_match, not_found_detail));
    return;
  }
  s.blocking_reads.post([read = std::move(read), reply = std::move(reply),
                         inm = req.if_none_match,
                         text = std::string(not_found_detail)] {
    reply(from_tagged_row(read(storage::read_tier::any), inm, text));
  });
}

response write_response(const actors::command_result& r, on_success success) {
  using outcome = actors::command_result::outcome;
  switch (r.result) {
  case outcome::ok:
    switch (success) {
    case on_success::created_or_ok:
      return json_text(r.created ? 201 : 200, r.body);
    case on_success::no_content:
      return no_content();
    case on_success::ok:
      return json_text(200, r.body);
    case on_success::created:
      return json_text(201, r.body);
    }
    break;
  case outcome::rejected:
    return rejected(r.reason);
  case outcome::failed:
    break;
  }
  return storage_failed(r.failure);
}

void submit(services& s, actors::command cmd, on_success success,
            responder reply) {
  submit_with(
      s, std::move(cmd),
      [success](const actors::command_result& r) {
        return write_response(r, success);
      },
      std::move(reply));
}

void submit_with(services& s, actors::command cmd,
                 std::function<response(const actors::command_result&)> render,
                 responder reply) {
  send(s, std::move(cmd), {}, std::move(render), std::move(reply));
}

void submit_with(services& s, const request& req, actors::command cmd,
                 std::function<response(const actors::command_result&)> render,
                 responder reply) {
  auto conditions = write_conditions_of(req);
  if (!conditions) {
    reply(std::move(conditions.error()));
    return;
  }
  std::shared_ptr<const request> keyed;
  if (s.answers != nullptr && !conditions->idempotency_key.empty())
    keyed = std::make_shared<const request>(req);
  send(s, std::move(cmd), std::move(*conditions), std::move(render),
       std::move(reply), std::move(keyed));
}

void submit(services& s, const request& req, actors::command cmd,
            on_success success, responder reply) {
  submit_with(
      s, req, std::move(cmd),
      [success](const actors::command_result& r) {
        return write_response(r, success);
      },
      std::move(reply));
}

namespace {

// Runs `work` on the blocking-read pool over a `Reader` of the log (the
// live tables, or one snapshot of them) and replies with its answer.
template <class Reader>
void post_query(services& s, std::function<response(storage::reader&)> work,
                responder reply) {
  s.blocking_reads.post(
      [&log = s.reads.log(), work = std::move(work), reply = std::move(reply)] {
        Reader reader(log, storage::read_tier::any);
        try {
          reply(work(reader));
        } catch (const std::exception& e) {
          // A bug, not an input error: answer 500 and keep serving.
          observe::log(observe::level::error, "query failed",
                       {{"detail", e.what()}});
          reply(exception_message(500, "Internal Server Error"));
        }
      });
}

} // namespace

void run_query(services& s, std::function<response(storage::reader&)> work,
               responder reply) {
  post_query<storage::log_reader>(s, std::move(work), std::move(reply));
}

void run_snapshot_query(services& s,
                        std::function<response(storage::reader&)> work,
                        responder reply) {
  post_query<storage::snapshot_reader>(s, std::move(work), std::move(reply));
}

std::optional<response> limit_problem(const events::json& body) {
  if (!body.is_object())
    return std::nullopt;
  const auto it = body.find("limit");
  if (it == body.end() || it->is_null())
    return std::nullopt;
  events::validator scratch;
  const auto limit = scratch.integer(*it);
  if (!limit)
    return std::nullopt; // the body validation reports it in shape B
  if (*limit > 200)
    return detail(422, "Invalid limit: must be less than or equal to 200.");
  if (*limit < 0)
    return detail(422, "Invalid limit: must be greater than or equal to 0.");
  return std::nullopt;
}

std::expected<events::json, response> validate_body(std::string_view schema,
                                                    const events::json& body,
                                                    const events::json& echo) {
  events::validator v;
  auto coerced = validate_embedded_body(v, schema, body);
  if (!coerced)
    return std::unexpected(validation_failed(v.errors(), echo));
  return std::move(*coerced);
}

std::expected<events::json, response>
query_body(const request& req, std::string_view schema, bool limited) {
  auto raw = read_json_body(req);
  if (!raw)
    return std::unexpected(std::move(raw.error()));
  const events::json body = raw->present ? raw->value : events::json(nullptr);
  if (limited)
    if (auto bad = limit_problem(body))
      return std::unexpected(std::move(*bad));
  return validate_body(schema, body.is_null() ? events::json::object() : body,
                       body);
}

std::expected<events::json, response> model_body(const request& req,
                                                 std::string_view schema) {
  auto body = read_json_body(req);
  if (!body)
    return std::unexpected(std::move(body.error()));
  events::validator v;
  if (!body->present || body->value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  auto coerced = validate_against(v, schema, body->value);
  if (!coerced)
    return std::unexpected(validation_failed(v.errors(), body->value));
  return std::move(*coerced);
}

std::int64_t limit_of(const events::json& body) {
  const auto limit = param(body, "limit");
  return limit.is_number_integer() ? limit.get<std::int64_t>() : 200;
}

response page_response(std::string results, std::int64_t count,
                       std::int64_t limit, std::int64_t page) {
  const auto pages = limit == 0 ? 0 : (count + limit - 1) / limit;
  return json_text(200, "{\"results\":" + results +
                            ",\"count\":" + std::to_string(count) +
                            ",\"limit\":" + std::to_string(limit) +
                            ",\"pages\":" + std::to_string(pages) +
                            ",\"page\":" + std::to_string(page) + "}");
}

std::int64_t page_of(const events::json& body) {
  const auto page = param(body, "page");
  return page.is_number_integer() ? page.get<std::int64_t>() : 1;
}

events::json param(const events::json& body, const char* key) {
  const auto it = body.find(key);
  return it == body.end() ? events::json(nullptr) : *it;
}

events::timestamp request_time() {
  return events::timestamp{
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count()};
}

events::uuid new_command_id() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  const auto hi = engine();
  const auto lo = engine();
  return events::uuid::v4_from(hi, lo);
}

} // namespace deployd::http::handlers
