// Prefect's events API (events-api §2-§7): client events in, the feed out
// as pages and counts. The feed is read on the blocking-read pool.
#include "actors/event_queries.hpp"
#include "events/python/json_text.hpp"
#include "http/event_bodies.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/openapi_validator.hpp"
#include "http/responses.hpp"

#include <cmath>

namespace deployd::http::handlers {

namespace {

using events::json;

constexpr std::string_view filter_body_schema =
    "Body_read_events_events_filter_post";
constexpr std::string_view count_body_schema =
    "Body_count_account_events_events_count_by__countable__post";
constexpr std::int64_t default_page_size = 50;
constexpr std::int64_t max_buckets = 1000;

// `<scheme>://<Host>/api/events/filter/next?page-token=<token>`.
std::string next_page_link(const request& req, const page_token& t) {
  return req.scheme + "://" + req.host +
         "/api/events/filter/next?page-token=" + encode_page_token(t);
}

std::string page_body(const actors::event_page& page, std::int64_t total,
                      const std::optional<std::string>& next) {
  std::string out = "{\"events\":[";
  for (std::size_t i = 0; i < page.events.size(); ++i) {
    if (i > 0)
      out += ',';
    out += page.events[i];
  }
  out += "],\"total\":" + std::to_string(total) + ",\"next_page\":";
  if (next)
    out += events::dump_json(json(*next));
  else
    out += "null";
  out += '}';
  return out;
}

// Answers one page of `filter` from `offset`, counting the total when
// `total` is not known yet (the first page).
void answer_page(services& s, const request& req, json filter_json,
                 events::event_filter f, std::int64_t offset,
                 std::int64_t page_size, std::optional<std::int64_t> total,
                 std::string head, responder reply) {
  run_query(
      s,
      [req, filter_json = std::move(filter_json), f = std::move(f), offset,
       page_size, total, head = std::move(head)](storage::reader& r) mutable {
        // The first page fixes which events the query is about.
        if (head.empty()) {
          auto latest = actors::feed_head(r);
          if (!latest)
            return storage_failed(latest.error());
          head = std::move(*latest);
        }
        auto page = actors::read_events(r, f, offset, page_size, !total, head);
        if (!page)
          return storage_failed(page.error());
        const auto count = total.value_or(page->total);
        std::optional<std::string> next;
        if (offset + page_size < count)
          next = next_page_link(req, page_token{filter_json, count, page_size,
                                                offset + page_size, head});
        return json_text(200, page_body(*page, count, next));
      },
      std::move(reply));
}

std::optional<response> pair_problem(const json& body) {
  const auto filter = body.find("filter");
  if (filter == body.end() || !filter->is_object())
    return std::nullopt;
  events::validator v(json::array({"body", "filter"}));
  if (check_resource_pairs(v, *filter))
    return std::nullopt;
  return validation_failed(v.errors(), body);
}

} // namespace

void post_events_filter(services& s, const request& req, path_params,
                        responder reply) {
  auto body = query_body(req, filter_body_schema, false);
  if (!body)
    return reply(std::move(body.error()));
  if (auto bad = pair_problem(*body))
    return reply(std::move(*bad));
  const auto validated = param(*body, "filter");
  const auto limit = param(*body, "limit");
  const auto page_size =
      limit.is_number_integer() ? limit.get<std::int64_t>() : default_page_size;
  auto f = events::parse_event_filter(validated, request_time());
  auto filter_json = events::event_filter_json(validated, f);
  answer_page(s, req, std::move(filter_json), std::move(f), 0, page_size,
              std::nullopt, {}, std::move(reply));
}

void get_events_filter_next(services& s, const request& req, path_params,
                            responder reply) {
  const auto token_text = query_param(req.query, "page-token");
  if (!token_text) {
    events::validator v(json::array({"query"}));
    v.fail("missing", "Field required", nullptr, nullptr, "page-token");
    return reply(validation_failed(v.errors(), nullptr));
  }
  auto token = decode_page_token(*token_text);
  if (!token)
    return reply(detail(403, "Forbidden"));
  events::event_filter f;
  try {
    f = events::parse_event_filter(token->filter, request_time());
  } catch (const std::exception&) {
    return reply(detail(403, "Forbidden"));
  }
  answer_page(s, req, token->filter, std::move(f), token->offset,
              token->page_size, token->count, token->head, std::move(reply));
}

void post_events_count_by(services& s, const request& req, path_params params,
                          responder reply) {
  const auto& countable = params.at(0);
  events::field_errors errors;
  actors::event_countable what = actors::event_countable::day;
  if (countable == "day")
    what = actors::event_countable::day;
  else if (countable == "time")
    what = actors::event_countable::time;
  else if (countable == "event")
    what = actors::event_countable::event;
  else if (countable == "resource")
    what = actors::event_countable::resource;
  else {
    events::validator v(json::array({"path"}));
    v.fail("enum", "Input should be 'day', 'time', 'event' or 'resource'",
           countable,
           json{{"expected", "'day', 'time', 'event' or 'resource'"}},
           "countable");
    errors = v.errors();
  }
  auto raw = read_json_body(req);
  if (!raw)
    return reply(std::move(raw.error()));
  const json echo = raw->present ? raw->value : json(nullptr);
  events::validator v;
  const json input = echo.is_null() ? json::object() : echo;
  auto body = validate_embedded_body(v, count_body_schema, input);
  if (body && input.is_object())
    if (const auto filter = input.find("filter");
        filter != input.end() && filter->is_object()) {
      const auto at = v.at("filter");
      (void)check_resource_pairs(v, *filter);
    }
  for (auto& e : v.errors())
    errors.push_back(std::move(e));
  if (!errors.empty())
    return reply(validation_failed(errors, echo));
  const auto unit_param = param(*body, "time_unit");
  const std::string unit =
      unit_param.is_string() ? unit_param.get<std::string>() : "day";
  const auto interval_param = param(*body, "time_interval");
  const double interval = events::is_numeric(interval_param)
                              ? events::to_double(interval_param)
                              : 1.0;
  const auto now = request_time();
  auto f = events::parse_event_filter(param(*body, "filter"), now);
  std::int64_t n = 0;
  const auto buckets = actors::time_buckets(f, unit, interval, now, n);
  if (n > max_buckets)
    return reply(detail(
        422, "The given interval would create " + std::to_string(n) +
                 " buckets, which is too many. Please increase the interval "
                 "or reduce the time range to produce 1000 buckets or fewer."));
  run_query(
      s,
      [f = std::move(f), what, buckets](storage::reader& r) {
        auto counted = actors::count_events(r, f, what, buckets);
        if (!counted)
          return storage_failed(counted.error());
        return json_text(200, std::move(*counted));
      },
      std::move(reply));
}

void post_events(services& s, const request& req, path_params,
                 responder reply) {
  auto raw = read_json_body(req);
  if (!raw)
    return reply(std::move(raw.error()));
  events::validator v;
  if (!raw->present) {
    v.fail("missing", "Field required", nullptr);
    return reply(validation_failed(v.errors(), nullptr));
  }
  const json& body = raw->value;
  if (!body.is_array()) {
    v.fail("list_type", "Input should be a valid list", body);
    return reply(validation_failed(v.errors(), body));
  }
  events::record_client_events cmd;
  cmd.events.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto at = v.at(json(i));
    if (auto e = parse_client_event(v, body[i]))
      cmd.events.push_back(std::move(*e));
  }
  if (!v.ok())
    return reply(validation_failed(v.errors(), body));
  if (cmd.events.empty())
    return reply(no_content());
  submit(s, req, std::move(cmd), on_success::no_content, std::move(reply));
}

} // namespace deployd::http::handlers
