#include "actors/workers.hpp"

#include "actors/projections.hpp"
#include "events/json_fields.hpp"

#include <algorithm>
#include <limits>

namespace deployd::actors {

namespace {

using events::json;
using events::worker_status;

// A pool's status moves to `status` (and `updated` with it: the reference
// writes status changes with an UPDATE statement, which refreshes it).
events::resource_updated pool_status_change(const json& pool,
                                            const char* status,
                                            events::timestamp now) {
  json after = pool;
  after["updated"] = events::format_timestamp(now);
  after["status"] = status;
  return events::resource_updated{events::resource_kind::work_pool,
                                  events::uuid_field(pool, "id"),
                                  events::document_diff(pool, after)};
}

bool has_status(const json& pool, const char* status) {
  const auto it = pool.find("status");
  return it != pool.end() && it->is_string() && *it == status;
}

// a * b, clamped to the int64 range.
std::int64_t saturating_mul(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (!__builtin_mul_overflow(a, b, &out))
    return out;
  return (a < 0) != (b < 0) ? std::numeric_limits<std::int64_t>::min()
                            : std::numeric_limits<std::int64_t>::max();
}

std::optional<worker_status> status_named(const json& j) {
  if (j == "ONLINE")
    return worker_status::online;
  if (j == "OFFLINE")
    return worker_status::offline;
  return std::nullopt;
}

std::vector<worker_status> statuses(const json& list) {
  std::vector<worker_status> out;
  if (list.is_array())
    for (const auto& item : list)
      if (auto s = status_named(item))
        out.push_back(*s);
  return out;
}

std::optional<events::timestamp> time_of(const json& criterion,
                                         const char* key) {
  const auto it = criterion.find(key);
  if (it == criterion.end() || !it->is_string())
    return std::nullopt;
  return events::parse_timestamp(it->get<std::string>());
}

} // namespace

event_list decide_heartbeat(const json& pool,
                            const std::optional<events::worker>& existing,
                            const events::record_worker_heartbeat& cmd,
                            decision_env& env) {
  event_list out;
  if (existing) {
    // A repeated interval changes nothing, so the event leaves it out.
    auto interval = cmd.heartbeat_interval_seconds;
    if (interval == existing->heartbeat_interval_seconds)
      interval.reset();
    out.push_back(
        events::worker_heartbeat_recorded{existing->id, env.now, interval});
  } else {
    events::worker w;
    w.id = env.ids.next();
    w.created = env.now;
    w.updated = env.now;
    w.name = cmd.name;
    w.work_pool_id = events::uuid_field(pool, "id");
    w.last_heartbeat_time = env.now;
    w.heartbeat_interval_seconds = cmd.heartbeat_interval_seconds;
    w.status = worker_status::online;
    out.push_back(events::worker_created{std::move(w)});
  }
  // Only NOT_READY moves: a PAUSED pool stays paused, a READY one is left
  // alone, and a prefect-agent pool has no status at all.
  if (has_status(pool, "NOT_READY"))
    out.push_back(pool_status_change(pool, "READY", env.now));
  return out;
}

bool heartbeat_expired(const events::worker& w, events::timestamp now,
                       const events::sweep_workers& rules) {
  const auto interval = w.heartbeat_interval_seconds.value_or(
      rules.fallback_heartbeat_interval_seconds);
  const auto limit_micros = saturating_mul(
      saturating_mul(interval, rules.inactivity_heartbeat_multiple), 1'000'000);
  return now.micros - w.last_heartbeat_time.micros > limit_micros;
}

event_list decide_sweep(const std::vector<pool_workers>& pools,
                        const events::sweep_workers& rules,
                        events::timestamp now) {
  event_list offline;
  event_list not_ready;
  for (const auto& p : pools) {
    std::size_t online = 0;
    for (const auto& w : p.workers) {
      if (w.status != worker_status::online)
        continue;
      if (heartbeat_expired(w, now, rules))
        offline.push_back(events::worker_marked_offline{w.id, now});
      else
        ++online;
    }
    if (online == 0 && has_status(p.pool, "READY"))
      not_ready.push_back(pool_status_change(p.pool, "NOT_READY", now));
  }
  // The reference's order: every worker first, then the pools.
  for (auto& e : not_ready)
    offline.push_back(std::move(e));
  return offline;
}

std::string
status_after_pause_change(bool is_paused,
                          const std::vector<events::worker>& workers) {
  if (is_paused)
    return "PAUSED";
  for (const auto& w : workers)
    if (w.status == worker_status::online)
      return "READY";
  return "NOT_READY";
}

worker_query worker_query_of(const json& body) {
  worker_query q;
  if (const auto it = body.find("offset");
      it != body.end() && it->is_number_integer())
    q.offset = it->get<std::int64_t>();
  if (const auto it = body.find("limit");
      it != body.end() && it->is_number_integer())
    q.limit = it->get<std::int64_t>();
  const auto f = body.find("workers");
  if (f == body.end() || !f->is_object())
    return q;
  q.any_operator = f->value("operator", json("and_")) == "or_";
  if (const auto s = f->find("status"); s != f->end() && s->is_object()) {
    q.has_status = true;
    if (const auto any = s->find("any_"); any != s->end() && any->is_array())
      q.status_any = statuses(*any);
    if (const auto none = s->find("not_any_"); none != s->end())
      q.status_not_any = statuses(*none);
  }
  if (const auto h = f->find("last_heartbeat_time");
      h != f->end() && h->is_object()) {
    q.has_heartbeat = true;
    q.before = time_of(*h, "before_");
    q.after = time_of(*h, "after_");
  }
  return q;
}

bool worker_matches(const worker_query& q, worker_status status,
                    events::timestamp heartbeat) {
  // Each criterion present is the AND of its conditions (true when it has
  // none); the criteria combine with the operator, true when there are
  // none (PrefectOperatorFilterBaseModel).
  std::vector<bool> criteria;
  if (q.has_heartbeat)
    criteria.push_back((!q.before || heartbeat <= *q.before) &&
                       (!q.after || heartbeat >= *q.after));
  if (q.has_status) {
    bool ok = true;
    if (q.status_any)
      ok = std::find(q.status_any->begin(), q.status_any->end(), status) !=
           q.status_any->end();
    for (auto s : q.status_not_any)
      ok = ok && s != status;
    criteria.push_back(ok);
  }
  if (criteria.empty())
    return true;
  if (q.any_operator)
    return std::find(criteria.begin(), criteria.end(), true) != criteria.end();
  return std::find(criteria.begin(), criteria.end(), false) == criteria.end();
}

std::expected<std::string, storage::errc>
worker_page(storage::reader& r, const events::uuid& pool_id,
            const worker_query& q) {
  std::string out = "[";
  std::int64_t skipped = 0;
  std::int64_t taken = 0;
  if (q.limit <= 0)
    return "[]";
  auto scanned = r.scan(storage::table::worker_heartbeats, id_key(pool_id),
                        [&](std::string_view key, std::string_view value) {
                          const auto status = worker_is_online(value)
                                                  ? worker_status::online
                                                  : worker_status::offline;
                          if (!worker_matches(q, status, heartbeat_of_key(key)))
                            return true;
                          if (skipped < q.offset) {
                            ++skipped;
                            return true;
                          }
                          if (taken > 0)
                            out.push_back(',');
                          out.append(value);
                          return ++taken < q.limit;
                        });
  if (!scanned)
    return std::unexpected(scanned.error());
  out.push_back(']');
  return out;
}

} // namespace deployd::actors
