// Command handlers for flows, deployments and their schedules.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/deployment_aggregate.hpp"
#include "actors/flow_aggregate.hpp"
#include "actors/projections.hpp"
#include "actors/queries.hpp"
#include "actors/work_pools.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"

#include <functional>

namespace deployd::actors {

using storage::errc;

namespace {

std::expected<std::vector<events::uuid>, errc>
limit_sharers(storage::write_batch& b, const std::optional<events::uuid>& limit,
              const events::uuid& deployment) {
  if (!limit)
    return std::vector<events::uuid>{};
  return ids_under(b, storage::table::limit_links, id_key(*limit), deployment);
}

// Loads the pools and queues `pool_name` / `queue_name` can resolve to:
// that pool and the default-agent-pool with their queues, and every queue
// when a queue-only name may match in any pool.
std::expected<pool_world, errc>
load_pool_world(storage::write_batch& b,
                const std::optional<std::string>& pool_name,
                const std::optional<std::string>& queue_name) {
  using events::resource_kind;
  pool_world world;
  auto add_pool = [&](const std::string& name) -> std::expected<void, errc> {
    if (world.pool(name))
      return {};
    auto pool = find_resource(
        b, resource_name_key(resource_kind::work_pool, {{"name", name}}));
    if (!pool)
      return std::unexpected(pool.error());
    if (!*pool)
      return {};
    auto queues = resources_under(
        b,
        resource_name_key(resource_kind::work_queue,
                          {{"work_pool_id", (**pool).at("id")}, {"name", ""}}));
    if (!queues)
      return std::unexpected(queues.error());
    world.pools.push_back(std::move(**pool));
    for (auto& q : *queues)
      world.queues.push_back(std::move(q));
    return {};
  };
  if (pool_name && !pool_name->empty())
    if (auto added = add_pool(*pool_name); !added)
      return std::unexpected(added.error());
  if (auto added = add_pool(default_agent_pool); !added)
    return std::unexpected(added.error());
  if ((!pool_name || pool_name->empty()) && queue_name &&
      !queue_name->empty() && !world.pool(default_agent_pool)) {
    auto all = resources_under(
        b, std::string(1, static_cast<char>(resource_kind::work_queue)));
    if (!all)
      return std::unexpected(all.error());
    world.queues = std::move(*all);
    world.all_queues_loaded = true;
  }
  return world;
}

std::expected<bool, errc> block_exists(storage::write_batch& b,
                                       const std::optional<events::uuid>& id) {
  if (!id)
    return false;
  auto doc = load_resource(b, events::resource_kind::block_document, *id);
  if (!doc)
    return std::unexpected(doc.error());
  return doc->has_value();
}

// Loads what create and PATCH both decide against (see related_context).
template <class Command>
std::expected<void, errc>
load_related(storage::write_batch& b, const Command& cmd,
             const std::optional<events::deployment>& existing,
             related_context& ctx) {
  if (existing && existing->concurrency_limit_id) {
    auto linked = load_limit(b, *existing->concurrency_limit_id);
    if (!linked)
      return std::unexpected(linked.error());
    ctx.linked_limit = std::move(*linked);
    auto sharers =
        limit_sharers(b, existing->concurrency_limit_id, existing->id);
    if (!sharers)
      return std::unexpected(sharers.error());
    ctx.limit_sharers = std::move(*sharers);
  }
  if (const auto& id = cmd.global_concurrency_limit_id.value) {
    auto requested = load_limit(b, *id);
    if (!requested)
      return std::unexpected(requested.error());
    ctx.requested_limit = std::move(*requested);
  }
  auto pools =
      load_pool_world(b, cmd.work_pool_name.value, cmd.work_queue_name.value);
  if (!pools)
    return std::unexpected(pools.error());
  ctx.pools = std::move(*pools);
  auto storage_doc = block_exists(b, cmd.storage_document_id.value);
  if (!storage_doc)
    return std::unexpected(storage_doc.error());
  auto infra_doc = block_exists(b, cmd.infrastructure_document_id.value);
  if (!infra_doc)
    return std::unexpected(infra_doc.error());
  ctx.storage_document_exists = *storage_doc;
  ctx.infrastructure_document_exists = *infra_doc;
  return {};
}

// Applies a decision together with the removal of the deployment's runs
// it causes (flow-runs.md §3.4): one command, so one atomic batch.
command_result
apply_removing(std::expected<event_list, events::rejection> decision,
               const events::uuid& deployment, run_removal which,
               storage::write_batch& b, decision_env& env,
               const events::uuid& command_id, std::string body) {
  if (decision)
    if (auto removed =
            remove_scheduled_runs(b, deployment, which, env.now, *decision);
        !removed)
      return failed(removed.error());
  return apply(std::move(decision), b, env, command_id, std::move(body));
}

} // namespace

command_result handle(const events::create_flow& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  auto existing = load_flow_by_name(b, cmd.name);
  if (!existing)
    return failed(existing.error());
  auto list = decide(cmd, *existing, env);
  if (list.empty())
    return ok_with(flow_view(b, (*existing)->id), false, {});
  auto position = append_and_fold(b, list, command_id, env.now);
  if (!position)
    return failed(position.error());
  const auto& created = std::get<events::flow_created>(list.front());
  return ok_with(flow_view(b, created.value.id), true, *position);
}

command_result handle(const events::create_deployment& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  create_deployment_context ctx;
  auto flow = load_flow(b, cmd.flow_id);
  if (!flow)
    return failed(flow.error());
  ctx.flow = std::move(*flow);
  if (ctx.flow) {
    auto existing = find_deployment(b, cmd.flow_id, cmd.name);
    if (!existing)
      return failed(existing.error());
    ctx.existing = std::move(*existing);
  }
  if (auto loaded = load_related(b, cmd, ctx.existing, ctx); !loaded)
    return failed(loaded.error());
  auto decision = decide(cmd, ctx, env);
  if (!decision)
    return rejected(decision.error());
  // An upsert removes the future auto-scheduled runs (related-resources.md
  // §2.6), in the same batch.
  if (!decision->created)
    if (auto removed = remove_scheduled_runs(
            b, decision->deployment_id, run_removal::future_auto_scheduled,
            env.now, decision->events);
        !removed)
      return failed(removed.error());
  auto position = append_and_fold(b, decision->events, command_id, env.now);
  if (!position)
    return failed(position.error());
  return ok_with(deployment_view(b, decision->deployment_id), decision->created,
                 *position);
}

command_result handle(const events::update_flow& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  auto existing = load_flow(b, cmd.id);
  if (!existing)
    return failed(existing.error());
  return apply(decide(cmd, *existing, env), b, env, command_id, "");
}

// Deletes one flow and its deployments; used by DELETE and bulk delete.
// The runs that go with a deleted flow (flow-runs.md §2.1): every run of
// the flow (its runs cascade). Runs are keyed by flow first, so this reads
// only the flow's runs.
std::expected<void, errc> delete_runs(storage::write_batch& b,
                                      const events::uuid& flow_id,
                                      event_list& out, events::timestamp now) {
  using events::resource_kind;
  auto runs = resources_under(
      b, std::string(1, static_cast<char>(resource_kind::flow_run)) +
             id_key(flow_id));
  if (!runs)
    return std::unexpected(runs.error());
  for (const auto& run : *runs)
    out.push_back(events::resource_deleted{
        resource_kind::flow_run, events::uuid_field(run, "id"), now});
  return {};
}

command_result delete_one_flow(const events::uuid& id, storage::write_batch& b,
                               decision_env& env,
                               const events::uuid& command_id) {
  auto existing = load_flow(b, id);
  if (!existing)
    return failed(existing.error());
  auto deployments = ids_under(b, storage::table::deployment_names, id_key(id));
  if (!deployments)
    return failed(deployments.error());
  auto decision = decide(events::delete_flow{id}, *existing, *deployments, env);
  if (decision && *existing)
    if (auto runs = delete_runs(b, id, *decision, env.now); !runs)
      return failed(runs.error());
  return apply(std::move(decision), b, env, command_id, "");
}

command_result handle(const events::delete_flow& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  return delete_one_flow(cmd.id, b, env, command_id);
}

// Runs `each` for every id of a bulk delete and answers {"deleted": [...]}.
command_result
bulk_delete(std::expected<std::vector<events::uuid>, errc> ids,
            const std::function<command_result(const events::uuid&)>& each) {
  if (!ids)
    return failed(ids.error());
  events::json deleted = events::json::array();
  events::log_position last;
  for (const auto& id : *ids) {
    auto r = each(id);
    if (r.result == command_result::outcome::failed)
      return r;
    if (r.result == command_result::outcome::ok) {
      deleted.push_back(id.str());
      last = r.position;
    }
  }
  auto r = no_content(last);
  r.body = events::json{{"deleted", std::move(deleted)}}.dump();
  return r;
}

command_result handle(const events::bulk_delete_flows& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  flow_query q;
  q.flows = cmd.filter;
  q.limit = cmd.limit;
  return bulk_delete(find_flows(b, q), [&](const events::uuid& id) {
    return delete_one_flow(id, b, env, command_id);
  });
}

command_result handle(const events::update_deployment& sent,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  // PATCH stores hydrated parameters (create stores them as sent); workspace
  // variables are read through the batch, so a variable written earlier in
  // the same batch is seen. A failure is answered (400) only once the
  // deployment is known to exist, in `decide`.
  events::update_deployment cmd = sent;
  if (cmd.parameters.value && !cmd.hydration_error) {
    std::optional<errc> failure;
    auto hydrated = events::hydrate_parameters(*cmd.parameters.value,
                                               variables_in(b, failure));
    if (failure)
      return failed(*failure);
    if (hydrated)
      cmd.parameters.value = std::move(*hydrated);
    else
      cmd.hydration_error = hydrated.error();
  }
  update_deployment_context ctx;
  auto existing = load_deployment(b, cmd.id);
  if (!existing)
    return failed(existing.error());
  ctx.existing = std::move(*existing);
  if (auto loaded = load_related(b, cmd, ctx.existing, ctx); !loaded)
    return failed(loaded.error());
  // Any successful PATCH removes the future auto-scheduled runs
  // (deployments-api.md §9.3).
  return apply_removing(decide(cmd, ctx, env), cmd.id,
                        run_removal::future_auto_scheduled, b, env, command_id,
                        "");
}

command_result handle(const events::set_deployment_paused& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_deployment(b, cmd.id);
  if (!existing)
    return failed(existing.error());
  auto decision = decide(cmd, *existing, env);
  // Pausing removes every auto-scheduled never-run run, past and future,
  // even when the deployment was paused already (deployments-api.md §12).
  if (!cmd.paused)
    return apply(std::move(decision), b, env, command_id, "null");
  return apply_removing(std::move(decision), cmd.id,
                        run_removal::auto_scheduled, b, env, command_id,
                        "null");
}

command_result delete_one_deployment(const events::uuid& id,
                                     storage::write_batch& b, decision_env& env,
                                     const events::uuid& command_id) {
  delete_deployment_context ctx;
  auto existing = load_deployment(b, id);
  if (!existing)
    return failed(existing.error());
  ctx.existing = std::move(*existing);
  if (ctx.existing) {
    auto sharers = limit_sharers(b, ctx.existing->concurrency_limit_id, id);
    if (!sharers)
      return failed(sharers.error());
    ctx.limit_sharers = std::move(*sharers);
  }
  auto decision = decide(events::delete_deployment{id}, ctx, env);
  if (!ctx.existing)
    return apply(std::move(decision), b, env, command_id, "");
  return apply_removing(std::move(decision), id, run_removal::all_scheduled, b,
                        env, command_id, "");
}

command_result handle(const events::delete_deployment& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  return delete_one_deployment(cmd.id, b, env, command_id);
}

command_result handle(const events::bulk_delete_deployments& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  deployment_query q;
  q.deployments = cmd.filter;
  q.limit = cmd.limit;
  return bulk_delete(find_deployments(b, q), [&](const events::uuid& id) {
    return delete_one_deployment(id, b, env, command_id);
  });
}

// The deployment's schedules as the API lists them.
std::expected<std::string, errc> schedules_view(storage::write_batch& b,
                                                const events::uuid& id,
                                                std::size_t first_n = 0) {
  auto d = load_deployment(b, id);
  if (!d)
    return std::unexpected(d.error());
  events::json out = events::json::array();
  if (*d) {
    const auto& all = (*d)->schedules;
    const auto n = first_n == 0 ? all.size() : std::min(first_n, all.size());
    // Newly created schedules sit at the front, newest first; the response
    // lists them in request order.
    for (std::size_t i = n; i-- > 0;)
      out.push_back(events::schedule_response(all[i]));
  }
  return events::dump_json(out);
}

command_result handle(const events::create_schedules& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_deployment(b, cmd.deployment_id);
  if (!existing)
    return failed(existing.error());
  auto r = apply(decide(cmd, *existing, env), b, env, command_id, "");
  if (r.result != command_result::outcome::ok)
    return r;
  if (cmd.schedules.empty()) {
    r.body = "[]";
    return r;
  }
  auto body = schedules_view(b, cmd.deployment_id, cmd.schedules.size());
  if (!body)
    return failed(body.error());
  r.body = std::move(*body);
  return r;
}

// A schedule PATCH removes the deployment's future auto-scheduled runs, a
// schedule DELETE all of its auto-scheduled ones (related-resources.md
// §2.5), whichever schedule made them.
template <class Command>
command_result
handle_schedule_change(const Command& cmd, run_removal which,
                       storage::write_batch& b, decision_env& env,
                       const events::uuid& command_id) {
  auto existing = load_deployment(b, cmd.deployment_id);
  if (!existing)
    return failed(existing.error());
  return apply_removing(decide(cmd, *existing, env), cmd.deployment_id, which,
                        b, env, command_id, "");
}

command_result handle(const events::update_schedule& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  return handle_schedule_change(cmd, run_removal::future_auto_scheduled, b,
                                env, command_id);
}

command_result handle(const events::delete_schedule& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  return handle_schedule_change(cmd, run_removal::auto_scheduled, b, env,
                                command_id);
}

} // namespace deployd::actors
