#include "http/handlers/common.hpp"

#include "http/responses.hpp"

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

} // namespace

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

response write_response(const actors::command_result& r) {
  using outcome = actors::command_result::outcome;
  switch (r.result) {
    case outcome::ok:
      return json_text(r.created ? 201 : 200, r.body);
    case outcome::rejected:
      return rejected(r.reason);
    case outcome::failed:
      break;
  }
  return storage_failed(r.failure);
}

events::uuid new_command_id() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  const auto hi = engine();
  const auto lo = engine();
  return events::uuid::v4_from(hi, lo);
}

} // namespace deployd::http::handlers
