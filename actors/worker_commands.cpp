// Command handlers for workers: heartbeats, deletion and the sweep.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "actors/workers.hpp"
#include "events/json_fields.hpp"

#include <charconv>

namespace deployd::actors {

using events::json;
using storage::errc;

namespace {

command_result pool_not_found(const std::string& name) {
  return rejected({events::rejection_code::not_found,
                   "Work pool \"" + name + "\" not found."});
}

// A document's `last_polled`, when it has one.
std::optional<events::timestamp> polled_at(const json& doc) {
  const auto it = doc.find("last_polled");
  if (it == doc.end() || !it->is_string())
    return std::nullopt;
  return events::parse_timestamp(it->get_ref<const std::string&>());
}

// deployments-api.md §13, the reference's foreman: every READY deployment
// polled before `now - timeout` becomes NOT_READY, unless its linked queue
// was polled since (a queue never polled does not hold it). Candidates come
// from the summaries' "r" (the READY deployment's last_polled, always the
// last key), so only stale deployments are loaded.
std::expected<event_list, errc>
stale_deployments(storage::write_batch& b, const events::sweep_workers& rules,
                  events::timestamp now) {
  const auto threshold = now.micros - rules.deployment_last_polled_timeout_micros;
  std::vector<events::uuid> stale;
  auto scanned = b.scan(
      storage::table::deployment_summaries, "",
      [&](std::string_view key, std::string_view value) {
        const auto at = value.rfind("\"r\":");
        if (at == std::string_view::npos)
          return true;
        std::int64_t polled = 0;
        const auto* first = value.data() + at + 4;
        const auto [end, ec] =
            std::from_chars(first, value.data() + value.size(), polled);
        if (ec == std::errc() && end != first && polled < threshold)
          stale.push_back(id_from_key_suffix(key));
        return true;
      });
  if (!scanned)
    return std::unexpected(scanned.error());
  event_list out;
  for (const auto& id : stale) {
    auto d = load_deployment(b, id);
    if (!d)
      return std::unexpected(d.error());
    if (!*d || (**d).status != "READY" || !(**d).last_polled ||
        (**d).last_polled->micros >= threshold)
      continue;
    if (const auto& queue_id = (**d).work_queue_id) {
      auto q = load_resource(b, events::resource_kind::work_queue, *queue_id);
      if (!q)
        return std::unexpected(q.error());
      if (*q)
        if (const auto polled = polled_at(**q); polled &&
                                                polled->micros >= threshold)
          continue;
    }
    auto after = **d;
    after.status = "NOT_READY";
    out.push_back(events::deployment_updated{id, events::diff(**d, after)});
  }
  return out;
}

// The reference's foreman, then: READY queues polled before `now - timeout`
// become NOT_READY (workers-automations.md §2.3), oldest poll first.
std::expected<event_list, errc> stale_queues(storage::write_batch& b,
                                             const events::sweep_workers& rules,
                                             events::timestamp now) {
  const auto threshold = now.micros - rules.work_queue_last_polled_timeout_micros;
  auto queues = resources_under(
      b, std::string(1, static_cast<char>(events::resource_kind::work_queue)));
  if (!queues)
    return std::unexpected(queues.error());
  std::vector<std::pair<std::int64_t, const json*>> stale;
  for (const auto& q : *queues)
    if (const auto polled = polled_at(q); polled && polled->micros < threshold &&
                                          q.value("status", "") == "READY")
      stale.emplace_back(polled->micros, &q);
  std::stable_sort(stale.begin(), stale.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  event_list out;
  for (const auto& [polled, q] : stale) {
    json after = *q;
    after["status"] = "NOT_READY";
    out.push_back(events::resource_updated{events::resource_kind::work_queue,
                                           events::uuid_field(*q, "id"),
                                           events::document_diff(*q, after)});
  }
  return out;
}

} // namespace

command_result handle(const events::record_worker_heartbeat& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto pool = find_pool(b, cmd.pool);
  if (!pool)
    return failed(pool.error());
  if (!*pool)
    return pool_not_found(cmd.pool);
  auto existing = find_worker(b, events::uuid_field(**pool, "id"), cmd.name);
  if (!existing)
    return failed(existing.error());
  return apply(decide_heartbeat(**pool, *existing, cmd, env), b, env,
               command_id, "");
}

command_result handle(const events::delete_worker& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  auto pool_id = pool_id_named(b, cmd.pool);
  if (!pool_id)
    return failed(pool_id.error());
  if (!*pool_id)
    return pool_not_found(cmd.pool);
  auto existing = find_worker(b, **pool_id, cmd.name);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected({events::rejection_code::not_found, "Worker not found."});
  // Only the worker goes: the pool's status waits for the next sweep.
  return apply(event_list{events::worker_deleted{(*existing)->id, env.now}}, b,
               env, command_id, "");
}

command_result handle(const events::sweep_workers& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  auto pools = resources_under(
      b, std::string(1, static_cast<char>(events::resource_kind::work_pool)));
  if (!pools)
    return failed(pools.error());
  std::vector<pool_workers> world;
  world.reserve(pools->size());
  for (auto& p : *pools) {
    auto workers = workers_of(b, events::uuid_field(p, "id"));
    if (!workers)
      return failed(workers.error());
    world.push_back({std::move(p), std::move(*workers)});
  }
  auto out = decide_sweep(world, cmd, env.now);
  for (auto* step : {&stale_deployments, &stale_queues}) {
    auto more = (*step)(b, cmd, env.now);
    if (!more)
      return failed(more.error());
    for (auto& e : *more)
      out.push_back(std::move(e));
  }
  return apply(std::move(out), b, env, command_id, "");
}

} // namespace deployd::actors
