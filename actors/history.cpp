#include "actors/history.hpp"

#include "events/catalog.hpp"
#include "events/codec.hpp"
#include "events/deployment.hpp"
#include "events/flow.hpp"
#include "events/python/json_text.hpp"
#include "events/resource.hpp"

#include <cstdio>
#include <cstdlib>

namespace deployd::actors {

namespace {

using events::json;
using storage::errc;
using storage::record;

// A record of our own log that does not decode is a bug (STYLE: assert).
events::any_event decoded(const record& r) {
  auto e = events::decode(r.name, r.schema_version, r.payload);
  if (!e) {
    std::fprintf(stderr, "deployd: record %llu (%s) does not decode\n",
                 static_cast<unsigned long long>(r.position.value),
                 r.name.c_str());
    std::abort();
  }
  return std::move(*e);
}

json changes_of(const record& r) {
  auto payload = events::parse_json(r.payload);
  if (payload.is_object() && payload.contains("changes"))
    return payload.at("changes");
  if (r.name.ends_with("_deleted"))
    return json::object();
  json out = json::object();
  if (payload.is_object())
    for (auto& [k, v] : payload.items())
      out[k] = json{{"from", nullptr}, {"to", v}};
  return out;
}

// Where a past state ends in the whole log: every record up to `until`
// (the end of the command that wrote the version asked for), and with a
// time asked for, every record recorded by then.
struct cut {
  events::log_position until;
  std::optional<events::timestamp> time;

  [[nodiscard]] bool holds(const record& r) const {
    return r.position <= until || (time && r.recorded_at <= *time);
  }
};

// Records of `s` before the cut.
std::expected<std::vector<record>, errc>
records_until(const storage::event_log& log, const events::stream_id& s,
              const cut& until) {
  auto all = log.read_stream(s);
  if (!all)
    return std::unexpected(all.error());
  std::vector<record> out;
  for (auto& r : *all)
    if (until.holds(r))
      out.push_back(std::move(r));
  return out;
}

// The position of the last record of the command that wrote `r`: a
// command's records are contiguous in the log, and a response reflects all
// of them (a PATCH's limit change may follow its deployment's record).
std::expected<events::log_position, errc>
command_end(const storage::event_log& log, const record& r) {
  auto at = r.position;
  while (true) {
    auto next = log.read_from({at.value + 1}, 64);
    if (!next)
      return std::unexpected(next.error());
    for (const auto& n : *next) {
      if (n.command_id != r.command_id)
        return at;
      at = n.position;
    }
    if (next->size() < 64)
      return at;
  }
}

// A document stream (queue, pool) folded up to `until`.
std::expected<std::optional<json>, errc>
document_at(const storage::event_log& log, events::resource_kind kind,
            const events::uuid& id, const cut& until) {
  auto records = records_until(log, events::resource_stream(kind, id), until);
  if (!records)
    return std::unexpected(records.error());
  std::optional<json> doc;
  for (const auto& r : *records)
    std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, events::resource_created>)
          doc = e.value;
        else if constexpr (std::is_same_v<T, events::resource_updated>) {
          if (doc)
            events::apply_document_changes(*doc, e.changes);
        } else if constexpr (std::is_same_v<T, events::resource_deleted>)
          doc.reset();
      },
      decoded(r));
  return doc;
}

// A limit's stream folded up to `until` (as the projection folds it).
std::expected<std::optional<events::concurrency_limit>, errc>
limit_at(const storage::event_log& log, const events::uuid& id,
         const cut& until) {
  auto records =
    records_until(log, events::concurrency_limit_stream(id), until);
  if (!records)
    return std::unexpected(records.error());
  std::optional<json> doc;
  for (const auto& r : *records)
    std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, events::concurrency_limit_created>)
          doc = events::to_json(e.value);
        else if constexpr (std::is_same_v<T,
                                          events::concurrency_limit_resized>) {
          if (doc) {
            auto l = events::concurrency_limit_from_json(*doc);
            l.limit = e.to;
            l.updated = e.updated;
            doc = events::to_json(l);
          }
        } else if constexpr (std::is_same_v<
                               T, events::concurrency_limit_updated>) {
          if (doc)
            events::apply_document_changes(*doc, e.changes);
        } else if constexpr (std::is_same_v<
                               T, events::concurrency_limit_deleted>)
          doc.reset();
      },
      decoded(r));
  if (!doc)
    return std::optional<events::concurrency_limit>{};
  return std::optional{events::concurrency_limit_from_json(*doc)};
}

// What the deployment's response derived from other streams at `until`
// (as projections' load_links reads it).
std::expected<events::deployment_links, errc>
links_at(const storage::event_log& log, const events::deployment& d,
         const cut& until) {
  events::deployment_links links;
  if (d.concurrency_limit_id) {
    auto limit = limit_at(log, *d.concurrency_limit_id, until);
    if (!limit)
      return std::unexpected(limit.error());
    links.limit = std::move(*limit);
  }
  if (d.work_queue_id) {
    auto queue = document_at(log, events::resource_kind::work_queue,
                             *d.work_queue_id, until);
    if (!queue)
      return std::unexpected(queue.error());
    if (*queue) {
      links.queue_name = (*queue)->at("name").get<std::string>();
      auto pool = document_at(
        log, events::resource_kind::work_pool,
        *events::uuid::parse((*queue)->at("work_pool_id").get<std::string>()),
        until);
      if (!pool)
        return std::unexpected(pool.error());
      if (*pool)
        links.pool_name = (*pool)->at("name").get<std::string>();
    }
  }
  return links;
}

bool in_range(const record& r, const as_of& when) {
  if (when.version && r.version.value > *when.version)
    return false;
  if (when.time && r.recorded_at > *when.time)
    return false;
  return true;
}

// Folds an aggregate's stream up to `when`; `render(state, position)` gives
// the response of a state as of a log position.
template <class State, class Render>
std::expected<past_state, errc>
fold_at(const storage::event_log& log, const events::stream_id& stream,
        const as_of& when, Render render) {
  auto all = log.read_stream(stream);
  if (!all)
    return std::unexpected(all.error());
  past_state out;
  std::optional<State> state;
  const record* last = nullptr;
  for (const auto& r : *all) {
    if (!in_range(r, when))
      break;
    bool deleted = false;
    std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        constexpr bool is_deployment =
          std::is_same_v<State, events::deployment>;
        if constexpr ((is_deployment &&
                       std::is_same_v<T, events::deployment_created>) ||
                      (!is_deployment &&
                       std::is_same_v<T, events::flow_created>))
          state = e.value;
        else if constexpr ((is_deployment &&
                            std::is_same_v<T, events::deployment_updated>) ||
                           (!is_deployment &&
                            std::is_same_v<T, events::flow_updated>)) {
          if (state)
            events::apply_changes(*state, e.changes);
        } else if constexpr ((is_deployment &&
                              std::is_same_v<T, events::deployment_deleted>) ||
                             (!is_deployment &&
                              std::is_same_v<T, events::flow_deleted>)) {
          deleted = true;
          out.deleted_at = e.deleted;
        }
      },
      decoded(r));
    out.version = r.version.value;
    if (deleted) {
      out.state = past_state::status::deleted;
      break;
    }
    last = &r;
    out.state = past_state::status::present;
  }
  if (out.state == past_state::status::absent || !state || !last)
    return past_state{};
  auto end = command_end(log, *last);
  if (!end)
    return std::unexpected(end.error());
  // A deleted one is shown as it was just before its deletion.
  const bool deleted = out.state == past_state::status::deleted;
  auto body = render(*state, cut{*end, deleted ? std::nullopt : when.time});
  if (!body)
    return std::unexpected(body.error());
  out.body = std::move(*body);
  return out;
}

} // namespace

std::expected<std::optional<std::string>, errc>
history_json(const storage::event_log& log, const events::stream_id& stream) {
  auto records = log.read_stream(stream);
  if (!records)
    return std::unexpected(records.error());
  if (records->empty())
    return std::optional<std::string>{};
  json out = json::array();
  for (const auto& r : *records)
    out.push_back(json{{"version", r.version.value},
                       {"position", r.position.value},
                       {"recorded_at", events::format_timestamp(r.recorded_at)},
                       {"event", r.name},
                       {"changes", changes_of(r)}});
  return std::optional{events::dump_json(out)};
}

std::expected<past_state, errc> deployment_at(const storage::event_log& log,
                                              const events::uuid& id,
                                              const as_of& when) {
  return fold_at<events::deployment>(
    log, events::deployment_stream(id), when,
    [&](const events::deployment& d,
        const cut& at) -> std::expected<std::string, errc> {
      auto links = links_at(log, d, at);
      if (!links)
        return std::unexpected(links.error());
      return events::render_deployment(d, *links);
    });
}

std::expected<past_state, errc> flow_at(const storage::event_log& log,
                                        const events::uuid& id,
                                        const as_of& when) {
  return fold_at<events::flow>(
    log, events::flow_stream(id), when,
    [](const events::flow& f, const cut&) -> std::expected<std::string, errc> {
      return events::dump_json(events::to_json(f));
    });
}

} // namespace deployd::actors
