#include "actors/writer_actor.hpp"

#include "actors/deployment_aggregate.hpp"
#include "actors/flow_aggregate.hpp"
#include "actors/projections.hpp"
#include "actors/queries.hpp"
#include "actors/type_ids.hpp"
#include "events/codec.hpp"

#include <caf/all.hpp>

#include <cstdio>
#include <deque>

namespace deployd::actors {

namespace {

using storage::errc;

struct writer_state {
  storage::event_log* log = nullptr;
  events::clock* clock = nullptr;
  events::id_source* ids = nullptr;
  writer_settings settings;
  std::deque<write_request_ptr> pending;
  bool flush_scheduled = false;
};

command_result failed(errc e) {
  command_result r;
  r.result = command_result::outcome::failed;
  r.failure = e;
  return r;
}

command_result rejected(events::rejection why) {
  command_result r;
  r.result = command_result::outcome::rejected;
  r.reason = std::move(why);
  return r;
}

// Appends `events` as records of one command and folds each into the
// projections, in order.
std::expected<events::log_position, errc>
append_and_fold(storage::write_batch& b, const event_list& list,
                const events::uuid& command_id, events::timestamp now) {
  events::log_position last;
  for (const auto& e : list) {
    storage::record r;
    r.stream = events::stream_of(e);
    auto encoded = events::encode(e);
    r.name = std::move(encoded.name);
    r.schema_version = encoded.version;
    r.payload = std::move(encoded.payload);
    r.recorded_at = now;
    r.command_id = command_id;
    auto head = b.stream_head(r.stream);
    if (!head)
      return std::unexpected(head.error());
    auto position = b.append(r, *head);
    if (!position)
      return std::unexpected(position.error());
    auto folded = fold(b, e);
    if (!folded)
      return std::unexpected(folded.error());
    last = *position;
  }
  return last;
}

command_result ok_with(std::expected<std::optional<std::string>, errc> body,
                       bool created, events::log_position position) {
  if (!body)
    return failed(body.error());
  command_result r;
  r.result = command_result::outcome::ok;
  r.created = created;
  r.body = body->value_or(std::string{});
  r.position = position;
  return r;
}

// Ids of every row of `t` under `prefix` whose key ends with an id.
std::expected<std::vector<events::uuid>, errc>
ids_under(storage::write_batch& b, storage::table t, const std::string& prefix,
          const std::optional<events::uuid>& except = std::nullopt) {
  std::vector<events::uuid> out;
  auto scanned =
    b.scan(t, prefix, [&](std::string_view key, std::string_view value) {
      const auto id = id_from_key_suffix(t == storage::table::deployment_names
                                           ? value
                                           : key);
      if (id != except)
        out.push_back(id);
      return true;
    });
  if (!scanned)
    return std::unexpected(scanned.error());
  return out;
}

std::expected<std::vector<events::uuid>, errc>
limit_sharers(storage::write_batch& b, const std::optional<events::uuid>& limit,
              const events::uuid& deployment) {
  if (!limit)
    return std::vector<events::uuid>{};
  return ids_under(b, storage::table::limit_links, id_key(*limit), deployment);
}

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
  if (ctx.existing && ctx.existing->concurrency_limit_id) {
    auto linked = load_limit(b, *ctx.existing->concurrency_limit_id);
    if (!linked)
      return failed(linked.error());
    ctx.linked_limit = std::move(*linked);
    auto sharers = limit_sharers(b, ctx.existing->concurrency_limit_id,
                                 ctx.existing->id);
    if (!sharers)
      return failed(sharers.error());
    ctx.limit_sharers = std::move(*sharers);
  }
  if (const auto& id = cmd.global_concurrency_limit_id.value) {
    auto requested = load_limit(b, *id);
    if (!requested)
      return failed(requested.error());
    ctx.requested_limit = std::move(*requested);
  }
  auto decision = decide(cmd, ctx, env);
  if (!decision)
    return rejected(decision.error());
  auto position = append_and_fold(b, decision->events, command_id, env.now);
  if (!position)
    return failed(position.error());
  return ok_with(deployment_view(b, decision->deployment_id),
                 decision->created, *position);
}

command_result no_content(events::log_position position) {
  command_result r;
  r.result = command_result::outcome::ok;
  r.position = position;
  return r;
}

// Applies a decision's events (or its rejection) and answers with `body`.
template <class Body>
command_result apply(std::expected<event_list, events::rejection> decision,
                     storage::write_batch& b, decision_env& env,
                     const events::uuid& command_id, Body&& body) {
  if (!decision)
    return rejected(decision.error());
  events::log_position position;
  if (!decision->empty()) {
    auto appended = append_and_fold(b, *decision, command_id, env.now);
    if (!appended)
      return failed(appended.error());
    position = *appended;
  }
  auto r = no_content(position);
  r.body = std::forward<Body>(body);
  return r;
}

command_result handle(const events::update_flow& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  auto existing = load_flow(b, cmd.id);
  if (!existing)
    return failed(existing.error());
  return apply(decide(cmd, *existing, env), b, env, command_id, "");
}

// Deletes one flow and its deployments; used by DELETE and bulk delete.
command_result delete_one_flow(const events::uuid& id, storage::write_batch& b,
                               decision_env& env,
                               const events::uuid& command_id) {
  auto existing = load_flow(b, id);
  if (!existing)
    return failed(existing.error());
  auto deployments = ids_under(b, storage::table::deployment_names, id_key(id));
  if (!deployments)
    return failed(deployments.error());
  return apply(decide(events::delete_flow{id}, *existing, *deployments, env),
               b, env, command_id, "");
}

command_result handle(const events::delete_flow& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  return delete_one_flow(cmd.id, b, env, command_id);
}

// Runs `each` for every id of a bulk delete and answers {"deleted": [...]}.
command_result bulk_delete(std::expected<std::vector<events::uuid>, errc> ids,
                           const std::function<command_result(
                             const events::uuid&)>& each) {
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

command_result handle(const events::update_deployment& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  update_deployment_context ctx;
  auto existing = load_deployment(b, cmd.id);
  if (!existing)
    return failed(existing.error());
  ctx.existing = std::move(*existing);
  if (ctx.existing && ctx.existing->concurrency_limit_id) {
    auto linked = load_limit(b, *ctx.existing->concurrency_limit_id);
    if (!linked)
      return failed(linked.error());
    ctx.linked_limit = std::move(*linked);
    auto sharers =
      limit_sharers(b, ctx.existing->concurrency_limit_id, cmd.id);
    if (!sharers)
      return failed(sharers.error());
    ctx.limit_sharers = std::move(*sharers);
  }
  if (const auto& id = cmd.global_concurrency_limit_id.value) {
    auto requested = load_limit(b, *id);
    if (!requested)
      return failed(requested.error());
    ctx.requested_limit = std::move(*requested);
  }
  return apply(decide(cmd, ctx, env), b, env, command_id, "");
}

command_result handle(const events::set_deployment_paused& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_deployment(b, cmd.id);
  if (!existing)
    return failed(existing.error());
  return apply(decide(cmd, *existing, env), b, env, command_id, "null");
}

command_result delete_one_deployment(const events::uuid& id,
                                     storage::write_batch& b,
                                     decision_env& env,
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
  return apply(decide(events::delete_deployment{id}, ctx, env), b, env,
               command_id, "");
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
      out.push_back(events::to_json(all[i]));
  }
  return out.dump(-1, ' ', false, events::json::error_handler_t::replace);
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

template <class Command>
command_result handle_schedule_change(const Command& cmd,
                                      storage::write_batch& b,
                                      decision_env& env,
                                      const events::uuid& command_id) {
  auto existing = load_deployment(b, cmd.deployment_id);
  if (!existing)
    return failed(existing.error());
  return apply(decide(cmd, *existing, env), b, env, command_id, "");
}

command_result handle(const events::update_schedule& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  return handle_schedule_change(cmd, b, env, command_id);
}

command_result handle(const events::delete_schedule& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  return handle_schedule_change(cmd, b, env, command_id);
}

// Decides, writes and commits every pending command (up to max_batch), then
// replies to each.
void flush(writer_state& st) {
  const auto n = std::min(st.pending.size(), st.settings.max_batch);
  std::vector<write_request_ptr> requests(st.pending.begin(),
                                          st.pending.begin() +
                                            static_cast<std::ptrdiff_t>(n));
  st.pending.erase(st.pending.begin(),
                   st.pending.begin() + static_cast<std::ptrdiff_t>(n));

  auto batch = st.log->begin();
  std::vector<command_result> results;
  results.reserve(n);
  for (const auto& req : requests) {
    decision_env env{st.clock->now(), *st.ids};
    batch.set_save_point();
    command_result result;
    try {
      result = std::visit(
        [&](const auto& cmd) {
          return handle(cmd, batch, env, req->command_id());
        },
        req->cmd());
    } catch (const std::exception& e) {
      // A bug in a decision or fold: this command fails alone (its writes
      // are rolled back below) and the writer keeps serving.
      std::fprintf(stderr, "deployd: command failed: %s\n", e.what());
      result = failed(errc::corruption);
    }
    if (result.result == command_result::outcome::ok)
      batch.pop_save_point();
    else
      batch.rollback_to_save_point();
    results.push_back(std::move(result));
  }
  if (batch.appended() > 0) {
    if (auto committed = st.log->commit(batch, st.settings.sync);
        !committed) {
      for (auto& r : results)
        if (r.result == command_result::outcome::ok)
          r = failed(committed.error());
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    requests[i]->reply(std::move(results[i]));
}

caf::behavior writer(caf::stateful_actor<writer_state>* self,
                     storage::event_log* log, events::clock* clock,
                     events::id_source* ids, writer_settings settings) {
  self->state.log = log;
  self->state.clock = clock;
  self->state.ids = ids;
  self->state.settings = settings;
  // On shutdown, answer everything already accepted before exiting.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    while (!self->state.pending.empty())
      flush(self->state);
    self->quit(msg.reason);
  });
  return {
    [=](const write_request_ptr& req) {
      auto& st = self->state;
      st.pending.push_back(req);
      if (!st.flush_scheduled) {
        // The flush message queues behind every request already in the
        // mailbox, so one flush serves all of them: that is group commit.
        st.flush_scheduled = true;
        self->send(self, flush_atom_v);
      }
    },
    [=](flush_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      flush(st);
      if (!st.pending.empty()) {
        st.flush_scheduled = true;
        self->send(self, flush_atom_v);
      }
    },
  };
}

} // namespace

write_request::~write_request() {
  command_result r;
  r.result = command_result::outcome::failed;
  r.failure = storage::errc::io_error;
  reply(std::move(r));
}

void write_request::reply(command_result result) const {
  if (!replied_.exchange(true) && reply_)
    reply_(std::move(result));
}

caf::actor spawn_writer(caf::actor_system& sys, storage::event_log& log,
                        events::clock& clock, events::id_source& ids,
                        writer_settings settings) {
  return sys.spawn<caf::detached>(writer, &log, &clock, &ids, settings);
}

} // namespace deployd::actors
