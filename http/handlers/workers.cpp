// Worker endpoints of a work pool: heartbeat, filter, delete, and the
// worker channel websocket (answered 404, so a 3.8 worker keeps to REST).
#include "actors/workers.hpp"

#include "actors/projections.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/responses.hpp"

namespace deployd::http::handlers {

namespace {

constexpr std::string_view heartbeat_schema =
    "Body_worker_heartbeat_work_pools__work_pool_name__workers_heartbeat_post";
constexpr std::string_view filter_schema =
    "Body_read_workers_work_pools__work_pool_name__workers_filter_post";

} // namespace

void post_worker_heartbeat(services& s, const request& req, path_params params,
                           responder reply) {
  // Body first (422 before 404, as FastAPI validates before the handler).
  auto body = query_body(req, heartbeat_schema, false);
  if (!body)
    return reply(std::move(body.error()));
  events::record_worker_heartbeat cmd;
  cmd.pool = params.at(0);
  cmd.name = body->at("name").get<std::string>();
  if (const auto interval = param(*body, "heartbeat_interval_seconds");
      interval.is_number_integer())
    cmd.heartbeat_interval_seconds = interval.get<std::int64_t>();
  submit(s, req, std::move(cmd), on_success::no_content, std::move(reply));
}

void post_workers_filter(services& s, const request& req, path_params params,
                         responder reply) {
  auto body = query_body(req, filter_schema);
  if (!body)
    return reply(std::move(body.error()));
  using answer = std::expected<response, storage::errc>;
  auto work = [pool = params.at(0), q = actors::worker_query_of(*body)](
                  storage::reader& r) -> answer {
    auto id = actors::pool_id_named(r, pool);
    if (!id)
      return std::unexpected(id.error());
    if (!*id)
      return detail(404, "Work pool \"" + pool + "\" not found.");
    auto page = actors::worker_page(r, **id, q);
    if (!page)
      return std::unexpected(page.error());
    return json_text(200, std::move(*page));
  };
  // From the cache on this thread first (a page is ~100 µs of scanning),
  // saving two thread hand-offs; on the read pool only if that would touch
  // the disk.
  storage::log_reader cached(s.reads.log(), storage::read_tier::cache_only);
  if (auto first = work(cached);
      first || first.error() != storage::errc::would_block)
    return reply(first ? std::move(*first) : storage_failed(first.error()));
  run_query(
      s,
      [work = std::move(work)](storage::reader& r) {
        auto out = work(r);
        return out ? std::move(*out) : storage_failed(out.error());
      },
      std::move(reply));
}

void delete_worker(services& s, const request& req, path_params params,
                   responder reply) {
  submit(s, req, events::delete_worker{params.at(0), params.at(1)},
         on_success::no_content, std::move(reply));
}

void get_worker_channel(services&, const request&, path_params,
                        responder reply) {
  // deployd has no worker channel. A 404 to the websocket upgrade makes a
  // 3.8 worker disable the channel for its lifetime and use REST; a 5xx
  // would make it retry forever (workers-automations.md §1.5).
  reply(detail(404, "Not Found"));
}

} // namespace deployd::http::handlers
