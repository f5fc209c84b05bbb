// Command handlers for workers: heartbeats, deletion and the sweep.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "actors/workers.hpp"
#include "events/json_fields.hpp"

namespace deployd::actors {

using events::json;
using storage::errc;

namespace {

command_result pool_not_found(const std::string& name) {
  return rejected({events::rejection_code::not_found,
                   "Work pool \"" + name + "\" not found."});
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
  return apply(decide_sweep(world, cmd, env.now), b, env, command_id, "");
}

} // namespace deployd::actors
