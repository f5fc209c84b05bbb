// Global concurrency limit (v2) endpoints.
#include "actors/projections.hpp"
#include "events/concurrency_limit.hpp"
#include "events/python/json_text.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/responses.hpp"

namespace deployd::http::handlers {

namespace {

using events::json;

// The stored (v2) limit -> the GlobalConcurrencyLimitResponse shape.
response limit_response(const actors::read_model::text& row) {
  if (!row)
    return storage_failed(row.error());
  if (!*row)
    return detail(404, "Concurrency Limit not found");
  return json_text(
      200, dump(events::deployment_view_of(events::concurrency_limit_from_json(
               events::parse_json(**row)))));
}

} // namespace

void post_concurrency_limits(services& s, const request& req, path_params,
                             responder reply) {
  auto body = model_body(req, "ConcurrencyLimitV2Create");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::create_concurrency_limit{std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

void get_concurrency_limit(services& s, const request&, path_params params,
                           responder reply) {
  auto& reads = s.reads;
  auto row = reads.limit(params.at(0), storage::read_tier::cache_only);
  if (row || row.error() != storage::errc::would_block)
    return reply(limit_response(row));
  s.blocking_reads.post([&reads, key = params.at(0), reply = std::move(reply)] {
    reply(limit_response(reads.limit(key, storage::read_tier::any)));
  });
}

void patch_concurrency_limit(services& s, const request& req,
                             path_params params, responder reply) {
  auto body = model_body(req, "ConcurrencyLimitV2Update");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::update_concurrency_limit{params.at(0), std::move(*body)},
         on_success::no_content, std::move(reply));
}

void delete_concurrency_limit(services& s, const request& req, path_params params,
                              responder reply) {
  submit(s, req, events::delete_concurrency_limit{params.at(0)},
         on_success::no_content, std::move(reply));
}

void post_concurrency_limits_filter(services& s, const request& req,
                                    path_params, responder reply) {
  auto body = query_body(
      req,
      "Body_read_all_concurrency_limits_v2_v2_concurrency_limits_filter_post");
  if (!body)
    return reply(std::move(body.error()));
  const auto offset_v = param(*body, "offset");
  const std::int64_t offset =
      offset_v.is_number_integer() ? offset_v.get<std::int64_t>() : 0;
  const auto limit = limit_of(*body);
  run_query(
      s,
      [offset, limit](storage::reader& r) {
        json out = json::array();
        std::int64_t seen = 0;
        std::optional<storage::errc> failure;
        auto scanned = r.scan(
            storage::table::limit_names, "",
            [&](std::string_view, std::string_view id) {
              if (seen++ < offset)
                return true;
              if (static_cast<std::int64_t>(out.size()) >= limit)
                return false;
              auto row = r.get(storage::table::limits, id);
              if (!row) {
                failure = row.error();
                return false;
              }
              if (*row)
                out.push_back(events::deployment_view_of(
                    events::concurrency_limit_from_json(
                        events::parse_json(**row))));
              return true;
            });
        if (!scanned)
          return storage_failed(scanned.error());
        if (failure)
          return storage_failed(*failure);
        return json_text(200, dump(out));
      },
      std::move(reply));
}

} // namespace deployd::http::handlers
