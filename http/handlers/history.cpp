// deployd's own history and time-travel routes (issue 16 item 3), under
// /api/deployd/ so they never meet a future reference route. They read the
// log on the blocking-read pool (`run_query`): never on an I/O thread, never
// through the writer.
#include "actors/history.hpp"
#include "events/python/json_text.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"

#include <charconv>

namespace deployd::http::handlers {

namespace {

using events::json;

enum class subject : std::uint8_t { deployment, flow };

events::stream_id stream_of(subject s, const events::uuid& id) {
  return s == subject::deployment ? events::deployment_stream(id)
                                  : events::flow_stream(id);
}

const char* not_found_text(subject s) {
  return s == subject::deployment ? "Deployment not found" : "Flow not found";
}

void answer_history(services& s, subject what, path_params& params,
                    responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  run_query(
    s,
    [&log = s.reads.log(), what, id](storage::reader&) {
      auto text = actors::history_json(log, stream_of(what, id));
      if (!text)
        return storage_failed(text.error());
      if (!*text)
        return detail(404, not_found_text(what));
      return json_text(200, std::move(**text));
    },
    std::move(reply));
}

// `?version=N` (N >= 1) or `?time=<ISO 8601>`, exactly one.
std::expected<actors::as_of, response> as_of_of(const request& req) {
  const auto version = query_param(req.query, "version");
  const auto time = query_param(req.query, "time");
  if (version.has_value() == time.has_value())
    return std::unexpected(detail(
      422, "Give exactly one of ?version=N (a stream version, from 1) and "
           "?time=T (an ISO 8601 time, e.g. 2026-12-06T19:00:00Z)."));
  actors::as_of when;
  if (version) {
    std::uint64_t v = 0;
    const auto [p, ec] =
      std::from_chars(version->data(), version->data() + version->size(), v);
    if (ec != std::errc() || p != version->data() + version->size() || v == 0)
      return std::unexpected(
        detail(422, "version must be a stream version: an integer >= 1."));
    when.version = v;
  } else {
    when.time = events::parse_timestamp(*time);
    if (!when.time)
      return std::unexpected(detail(
        422, "time must be an ISO 8601 time, e.g. 2026-12-06T19:00:00Z."));
  }
  return when;
}

void answer_at(services& s, subject what, const request& req,
               path_params& params, responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  auto when = as_of_of(req);
  if (!when)
    return reply(std::move(when.error()));
  run_query(
    s,
    [&log = s.reads.log(), what, id, at = *when](storage::reader&) {
      auto past = what == subject::deployment
                    ? actors::deployment_at(log, id, at)
                    : actors::flow_at(log, id, at);
      if (!past)
        return storage_failed(past.error());
      using status = actors::past_state::status;
      switch (past->state) {
      case status::absent:
        return detail(404, not_found_text(what));
      case status::present: {
        auto r = json_text(200, std::move(past->body));
        r.headers.emplace_back("ETag",
                               "\"" + std::to_string(past->version) + "\"");
        return r;
      }
      case status::deleted:
        break;
      }
      // 410 with what it was just before it was deleted.
      auto r = json_text(
        410, "{\"detail\":" +
               events::dump_json(json(what == subject::deployment
                                        ? "Deployment was deleted."
                                        : "Flow was deleted.")) +
               ",\"version\":" + std::to_string(past->version) +
               ",\"deleted\":" +
               events::dump_json(
                 json(events::format_timestamp(past->deleted_at))) +
               ",\"last\":" + past->body + "}");
      return r;
    },
    std::move(reply));
}

} // namespace

void get_deployd_deployment_history(services& s, const request&,
                                    path_params params, responder reply) {
  answer_history(s, subject::deployment, params, std::move(reply));
}

void get_deployd_deployment_at(services& s, const request& req,
                               path_params params, responder reply) {
  answer_at(s, subject::deployment, req, params, std::move(reply));
}

void get_deployd_flow_history(services& s, const request&, path_params params,
                              responder reply) {
  answer_history(s, subject::flow, params, std::move(reply));
}

void get_deployd_flow_at(services& s, const request& req, path_params params,
                         responder reply) {
  answer_at(s, subject::flow, req, params, std::move(reply));
}

} // namespace deployd::http::handlers
