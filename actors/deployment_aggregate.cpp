#include "actors/deployment_aggregate.hpp"

#include "events/python/json_schema.hpp"
#include "events/python/python_repr.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace deployd::actors {

namespace {

using events::json;
using events::rejection;
using events::rejection_code;

template <class T>
void overwrite_if_present(std::optional<T>& field,
                          const events::nullable_input<T>& input) {
  if (input.present)
    field = input.value;
}

void overwrite_if_present(json& field,
                          const events::nullable_input<json>& input) {
  if (input.present)
    field = input.value ? *input.value : json(nullptr);
}

// `{}` is stored as the empty object schema, as the reference normalises it.
json normalised_schema(const events::nullable_input<json>& input) {
  if (!input.value)
    return nullptr;
  if (input.value->is_object() && input.value->empty())
    return json{{"type", "object"}, {"properties", json::object()}};
  return *input.value;
}

bool has_duplicate_slug(const std::vector<events::schedule_input>& schedules) {
  std::set<std::string> seen;
  for (const auto& s : schedules)
    if (s.slug && !seen.insert(*s.slug).second)
      return true;
  return false;
}

// Creates the request's schedules, newest first (the order the API lists
// them in: descending `updated`, ties broken by reverse request order).
std::vector<events::deployment_schedule>
new_schedules(const std::vector<events::schedule_input>& inputs,
              const events::uuid& deployment_id, decision_env& env) {
  std::vector<events::deployment_schedule> out;
  out.reserve(inputs.size());
  for (const auto& in : inputs) {
    events::deployment_schedule s;
    s.id = env.ids.next();
    s.created = env.now;
    s.updated = env.now;
    s.deployment_id = deployment_id;
    s.schedule = in.schedule;
    s.active = in.active;
    s.parameters = in.parameters;
    s.slug = in.slug;
    out.insert(out.begin(), std::move(s));
  }
  return out;
}

// A deployment_updated that only unlinks a deleted limit.
events::deployment_updated unlink(const events::uuid& deployment,
                                  const events::uuid& limit) {
  json changes = json::object();
  changes["concurrency_limit_id"] =
      json{{"from", limit.str()}, {"to", nullptr}};
  return events::deployment_updated{deployment, std::move(changes), true};
}

// Deletes `limit`: its other deployments are unlinked first (the reference's
// foreign key sets them to null), then the limit itself goes.
void delete_limit(const events::concurrency_limit& limit,
                  const std::vector<events::uuid>& sharers, decision_env& env,
                  event_list& after) {
  for (const auto& other : sharers)
    after.push_back(unlink(other, limit.id));
  after.push_back(events::concurrency_limit_deleted{limit.id, env.now, true});
}

// §3.6 for create, upsert and PATCH: `global_concurrency_limit_id` links (or
// unlinks), then `concurrency_limit` creates, resizes or deletes the linked
// limit. Resizes and creations go `before` the deployment's own event (its
// view embeds the limit); deletions go `after` it.
void apply_limit_rules(
    events::deployment& d, const events::nullable_input<std::int64_t>& limit,
    const events::nullable_input<events::uuid>& global,
    const std::optional<events::concurrency_limit>& linked_now,
    const std::optional<events::concurrency_limit>& requested,
    const std::vector<events::uuid>& sharers, decision_env& env,
    event_list& before, event_list& after) {
  std::optional<events::concurrency_limit> linked =
      d.concurrency_limit_id ? linked_now : std::nullopt;
  if (global.present)
    linked = global.value ? requested : std::nullopt;
  if (limit.value) {
    const auto n = *limit.value;
    if (linked) {
      if (linked->limit != n)
        before.push_back(events::concurrency_limit_resized{linked->id, env.now,
                                                           linked->limit, n});
    } else {
      events::concurrency_limit l;
      l.id = env.ids.next();
      l.created = env.now;
      l.updated = env.now;
      l.name = events::deployment_limit_name(d.id);
      l.limit = n;
      linked = l;
      before.push_back(events::concurrency_limit_created{std::move(l)});
    }
  } else if (limit.is_null() && !global.value && linked) {
    // `concurrency_limit: null` deletes the linked limit. Sent together with
    // a `global_concurrency_limit_id` (the Python client always sends the
    // null), the reference would delete the limit it just linked; we keep
    // the link instead (README, compatibility).
    delete_limit(*linked, sharers, env, after);
    linked.reset();
  }
  d.concurrency_limit_id =
      linked ? std::optional<events::uuid>{linked->id} : std::nullopt;
}

events::rejection unprocessable(std::string detail) {
  return {rejection_code::unprocessable, std::move(detail)};
}

// An update of one schedule: every non-null field is written, `parameters`
// always (absent means {}), and the schedule counts as just written.
void apply_schedule_update(events::deployment_schedule& s,
                           const events::schedule_update_input& in,
                           events::timestamp now) {
  if (in.schedule)
    s.schedule = *in.schedule;
  if (in.active)
    s.active = *in.active;
  if (in.max_scheduled_runs)
    s.max_scheduled_runs = *in.max_scheduled_runs;
  if (in.slug)
    s.slug = *in.slug;
  s.parameters = in.parameters;
  s.updated = now;
}

// Schedules of a PATCH (related-resources §2.6): replace mode, or
// slug-targeted mode when every existing schedule has a slug.
std::expected<std::vector<events::deployment_schedule>, events::rejection>
patched_schedules(const std::vector<events::deployment_schedule>& existing,
                  const std::vector<events::schedule_update_input>& items,
                  const events::uuid& deployment_id, decision_env& env) {
  const bool all_slugged =
      !existing.empty() &&
      std::all_of(existing.begin(), existing.end(),
                  [](const auto& s) { return s.slug.has_value(); });
  auto make = [&](const events::schedule_update_input& in) {
    events::deployment_schedule s;
    s.id = env.ids.next();
    s.created = env.now;
    s.updated = env.now;
    s.deployment_id = deployment_id;
    s.schedule = *in.schedule;
    s.active = in.active.value_or(true);
    s.parameters = in.parameters;
    s.slug = in.slug;
    return s;
  };
  if (!all_slugged) {
    std::vector<events::schedule_input> slugs;
    std::vector<events::deployment_schedule> out;
    std::set<std::string> seen;
    for (const auto& in : items) {
      if (!in.schedule)
        continue;
      if (in.slug && !seen.insert(*in.slug).second)
        return std::unexpected(
            events::rejection{rejection_code::integrity_conflict, {}});
      out.insert(out.begin(), make(in));
    }
    return out;
  }
  for (const auto& in : items)
    if (!in.slug)
      return std::unexpected(
          unprocessable("Please provide a slug for each schedule in your "
                        "request to ensure schedules are updated correctly."));
  std::set<std::string> replaced;
  for (const auto& in : items)
    if (in.replaces && !replaced.insert(*in.replaces).second)
      return std::unexpected(unprocessable(
          "Multiple schedules have 'replaces' targeting the same slug: " +
          *in.replaces));
  auto find = [&](const std::string& slug) {
    return std::find_if(existing.begin(), existing.end(),
                        [&](const auto& s) { return s.slug == slug; });
  };
  for (const auto& in : items)
    if (in.replaces && find(*in.slug) != existing.end() &&
        !replaced.contains(*in.slug))
      return std::unexpected(unprocessable(
          "Cannot rename schedule from '" + *in.replaces + "' to '" + *in.slug +
          "': a schedule with slug '" + *in.slug + "' already exists."));
  for (const auto& in : items) {
    const auto& target = in.replaces ? *in.replaces : *in.slug;
    if (find(target) == existing.end() && !in.schedule)
      return std::unexpected(
          unprocessable("Unable to create new deployment schedules without a "
                        "schedule configuration."));
  }
  // Every check passed. As the reference does: first every schedule a
  // `replaces` names is found by its old slug and its slug cleared, then the
  // items apply in request order (renames by row, the others by their
  // current slug), so swaps (x->y, y->x) and chains (a->b, b->c) work. Each
  // written schedule moves to the front (most recently written first).
  std::vector<events::deployment_schedule> out = existing;
  std::map<std::string, events::uuid> renamed; // old slug -> row id
  for (const auto& in : items)
    if (in.replaces)
      if (const auto e = find(*in.replaces); e != existing.end())
        renamed.emplace(*in.replaces, e->id);
  for (auto& s : out)
    if (s.slug && renamed.contains(*s.slug))
      s.slug.reset();
  for (const auto& in : items) {
    const auto& target = in.replaces ? *in.replaces : *in.slug;
    if (find(target) == existing.end()) {
      out.insert(out.begin(), make(in));
      continue;
    }
    const auto it = std::find_if(out.begin(), out.end(), [&](const auto& s) {
      return in.replaces ? s.id == renamed.at(*in.replaces) : s.slug == target;
    });
    if (it == out.end())
      continue; // its slug was renamed away by another item: nothing to update
    auto s = *it;
    out.erase(it);
    apply_schedule_update(s, in, env.now);
    out.insert(out.begin(), std::move(s));
  }
  return out;
}

// Parameter-schema enforcement on PATCH (deployments-api §9.4): runs on
// every PATCH while the effective flag is on, with `required` stripped.
std::optional<events::rejection>
parameter_enforcement(const events::update_deployment& cmd,
                      const events::deployment& d) {
  const bool enforce = cmd.enforce_parameter_schema.value
                           ? *cmd.enforce_parameter_schema.value
                           : d.enforce_parameter_schema;
  if (!enforce)
    return std::nullopt;
  const json& requested = cmd.parameter_openapi_schema.value
                              ? *cmd.parameter_openapi_schema.value
                              : json(nullptr);
  const json& schema = requested.is_object() && !requested.empty()
                           ? requested
                           : d.parameter_openapi_schema;
  if (!schema.is_object())
    return events::rejection{
        rejection_code::conflict,
        "Error updating deployment: Cannot update parameters because parameter "
        "schema enforcement is enabled and the deployment does not have a "
        "valid "
        "parameter schema."};
  const json& values =
      cmd.parameters.value ? *cmd.parameters.value : d.parameters;
  const auto check =
      events::check_parameters(events::preprocess_schema(schema), values, true);
  switch (check.result) {
  case events::parameter_check::outcome::valid:
    return std::nullopt;
  case events::parameter_check::outcome::circular_schema:
    return events::rejection{rejection_code::unprocessable,
                             "Invalid schema: " + check.reason};
  case events::parameter_check::outcome::invalid:
    break;
  }
  return events::rejection{rejection_code::conflict,
                           "Error updating deployment: " + check.reason};
}

} // namespace

json merged_labels(const json& flow_labels, const events::uuid& flow_id,
                   const json& request_labels) {
  json labels = flow_labels.is_object() ? flow_labels : json::object();
  labels["prefect.flow.id"] = flow_id.str();
  if (request_labels.is_object())
    for (const auto& [key, value] : request_labels.items())
      labels[key] = value;
  return labels;
}

std::expected<deployment_decision, rejection>
decide(const events::create_deployment& cmd,
       const create_deployment_context& ctx, decision_env& env) {
  // -- checks, in the reference's order (§3.3) --------------------------------
  pool_world pools = ctx.pools;
  const auto& pool = cmd.work_pool_name.value;
  if (pool && !pool->empty() && *pool != default_agent_pool) {
    const json* p = pools.pool(*pool);
    if (!p)
      return std::unexpected(
          rejection{rejection_code::unknown_work_pool, *pool});
    if (cmd.job_variables && !cmd.job_variables->empty()) {
      const auto check = check_job_variables(*p, *cmd.job_variables, true);
      if (check.result == job_variable_check::outcome::invalid_schema)
        return std::unexpected(
            unprocessable("Invalid schema: " + check.message));
      if (check.result == job_variable_check::outcome::invalid)
        return std::unexpected(
            unprocessable("Error creating deployment: " + check.message));
    }
  }
  if (cmd.global_concurrency_limit_id.value && !ctx.requested_limit)
    return std::unexpected(
        rejection{rejection_code::unknown_concurrency_limit, {}});
  auto queue = resolve_queue(cmd.work_pool_name.value,
                             cmd.work_queue_name.value, pools, env);
  if (!queue)
    return std::unexpected(queue.error());
  if (cmd.infrastructure_document_id.value &&
      !ctx.infrastructure_document_exists)
    return std::unexpected(
        rejection{rejection_code::missing_infrastructure_block,
                  cmd.infrastructure_document_id.value->str()});
  if (cmd.storage_document_id.value && !ctx.storage_document_exists)
    return std::unexpected(rejection{rejection_code::missing_storage_block,
                                     cmd.storage_document_id.value->str()});
  if (!ctx.flow)
    return std::unexpected(rejection{rejection_code::unknown_flow, {}});
  if (has_duplicate_slug(cmd.schedules))
    return std::unexpected(
        rejection{rejection_code::duplicate_schedule_slug, {}});

  // -- the new state (§3.9 keep / overwrite / reset rules)
  // ---------------------
  const bool created = !ctx.existing;
  events::deployment d = created ? events::deployment{} : *ctx.existing;
  if (created) {
    d.id = env.ids.next();
    d.created = env.now;
    d.name = cmd.name;
    d.flow_id = cmd.flow_id;
  }
  d.updated = env.now;
  overwrite_if_present(d.version, cmd.version);
  overwrite_if_present(d.description, cmd.description);
  overwrite_if_present(d.path, cmd.path);
  overwrite_if_present(d.entrypoint, cmd.entrypoint);
  overwrite_if_present(d.storage_document_id, cmd.storage_document_id);
  overwrite_if_present(d.infrastructure_document_id,
                       cmd.infrastructure_document_id);
  overwrite_if_present(d.work_queue_name, cmd.work_queue_name);
  overwrite_if_present(d.pull_steps, cmd.pull_steps);
  overwrite_if_present(d.concurrency_options, cmd.concurrency_options);
  if (cmd.parameter_openapi_schema.present)
    d.parameter_openapi_schema =
        normalised_schema(cmd.parameter_openapi_schema);
  if (cmd.paused)
    d.paused = *cmd.paused;
  if (cmd.enforce_parameter_schema)
    d.enforce_parameter_schema = *cmd.enforce_parameter_schema;
  if (cmd.tags)
    d.tags = *cmd.tags;
  // The reference treats parameters as always sent: an upsert without them
  // resets them to {}.
  d.parameters = cmd.parameters;
  // An empty object never clears job variables on an upsert (quirk §3.5).
  if (cmd.job_variables && (created || !cmd.job_variables->empty()))
    d.job_variables = *cmd.job_variables;
  d.labels = merged_labels(ctx.flow->labels, d.flow_id, cmd.labels);
  d.schedules = new_schedules(cmd.schedules, d.id, env);
  if (queue->linked)
    d.work_queue_id = events::uuid::parse(*queue->linked);

  // -- the linked concurrency limit (§3.6) ----------------------------------
  event_list before;
  event_list after;
  apply_limit_rules(d, cmd.concurrency_limit, cmd.global_concurrency_limit_id,
                    ctx.linked_limit, ctx.requested_limit, ctx.limit_sharers,
                    env, before, after);

  deployment_decision out;
  out.deployment_id = d.id;
  out.created = created;
  out.events = std::move(queue->events);
  for (auto& e : before)
    out.events.push_back(std::move(e));
  if (created) {
    out.events.push_back(events::deployment_created{std::move(d)});
  } else if (auto changes = events::diff(*ctx.existing, d); !changes.empty()) {
    out.events.push_back(events::deployment_updated{d.id, std::move(changes)});
  }
  for (auto& e : after)
    out.events.push_back(std::move(e));
  return out;
}

std::expected<event_list, events::rejection>
decide(const events::update_deployment& cmd,
       const update_deployment_context& ctx, decision_env& env) {
  if (!ctx.existing)
    return std::unexpected(rejection{rejection_code::deployment_missing, {}});
  events::deployment d = *ctx.existing;
  std::optional<std::vector<events::deployment_schedule>> schedules;
  if (cmd.schedules) {
    auto patched = patched_schedules(d.schedules, *cmd.schedules, d.id, env);
    if (!patched)
      return std::unexpected(patched.error());
    schedules = std::move(*patched);
  }
  pool_world pools = ctx.pools;
  const auto& pool = cmd.work_pool_name.value;
  if (pool && !pool->empty()) {
    // The reference answers 500 for an unknown pool here; we answer 404.
    const json* p = pools.pool(*pool);
    if (!p)
      return std::unexpected(
          rejection{rejection_code::unknown_work_pool, *pool});
    if (cmd.job_variables.value) {
      const auto check =
          check_job_variables(*p, *cmd.job_variables.value, false);
      if (check.result == job_variable_check::outcome::invalid_schema)
        return std::unexpected(
            unprocessable("Invalid schema: " + check.message));
      if (check.result == job_variable_check::outcome::invalid)
        return std::unexpected(
            rejection{rejection_code::conflict,
                      "Error creating deployment: <ValidationError: " +
                          events::python_repr(json(check.reason)) + ">"});
    }
  }
  if (cmd.hydration_error)
    return std::unexpected(rejection{rejection_code::bad_request,
                                     "Error hydrating deployment parameters: " +
                                         *cmd.hydration_error});
  if (auto problem = parameter_enforcement(cmd, *ctx.existing))
    return std::unexpected(*problem);
  if (cmd.global_concurrency_limit_id.value && !ctx.requested_limit)
    return std::unexpected(
        rejection{rejection_code::unknown_concurrency_limit, {}});
  // NOT NULL columns and foreign keys: the reference's integrity error.
  if (cmd.parameters.is_null() || cmd.enforce_parameter_schema.is_null() ||
      (cmd.storage_document_id.value && !ctx.storage_document_exists) ||
      (cmd.infrastructure_document_id.value &&
       !ctx.infrastructure_document_exists))
    return std::unexpected(rejection{rejection_code::integrity_conflict, {}});

  d.updated = env.now;
  overwrite_if_present(d.version, cmd.version);
  overwrite_if_present(d.description, cmd.description);
  overwrite_if_present(d.path, cmd.path);
  overwrite_if_present(d.entrypoint, cmd.entrypoint);
  overwrite_if_present(d.storage_document_id, cmd.storage_document_id);
  overwrite_if_present(d.infrastructure_document_id,
                       cmd.infrastructure_document_id);
  overwrite_if_present(d.pull_steps, cmd.pull_steps);
  overwrite_if_present(d.concurrency_options, cmd.concurrency_options);
  if (cmd.work_queue_name.present)
    d.work_queue_name = cmd.work_queue_name.value;
  event_list queue_events;
  if (cmd.work_pool_name.is_null()) {
    d.work_queue_id.reset();
  } else {
    auto queue = resolve_queue(cmd.work_pool_name.value,
                               cmd.work_queue_name.value, pools, env);
    if (!queue)
      return std::unexpected(queue.error());
    if (queue->linked)
      d.work_queue_id = events::uuid::parse(*queue->linked);
    queue_events = std::move(queue->events);
  }
  if (cmd.parameter_openapi_schema.present)
    d.parameter_openapi_schema =
        normalised_schema(cmd.parameter_openapi_schema);
  if (cmd.paused)
    d.paused = *cmd.paused;
  if (cmd.enforce_parameter_schema.value)
    d.enforce_parameter_schema = *cmd.enforce_parameter_schema.value;
  if (cmd.tags)
    d.tags = *cmd.tags;
  if (cmd.parameters.value)
    d.parameters = *cmd.parameters.value;
  // `{}` and null never clear job variables (quirk §9.1).
  if (cmd.job_variables.value && !cmd.job_variables.value->empty())
    d.job_variables = *cmd.job_variables.value;
  if (schedules)
    d.schedules = std::move(*schedules);

  event_list before;
  event_list after;
  apply_limit_rules(d, cmd.concurrency_limit, cmd.global_concurrency_limit_id,
                    ctx.linked_limit, ctx.requested_limit, ctx.limit_sharers,
                    env, before, after);
  event_list out = std::move(queue_events);
  for (auto& e : before)
    out.push_back(std::move(e));
  if (auto changes = events::diff(*ctx.existing, d); !changes.empty())
    out.push_back(events::deployment_updated{d.id, std::move(changes)});
  for (auto& e : after)
    out.push_back(std::move(e));
  return out;
}

std::expected<event_list, events::rejection>
decide(const events::set_deployment_paused& cmd,
       const std::optional<events::deployment>& existing, decision_env& env) {
  if (!existing)
    return std::unexpected(rejection{rejection_code::deployment_not_found, {}});
  if (existing->paused == cmd.paused)
    return event_list{};
  auto d = *existing;
  d.paused = cmd.paused;
  d.updated = env.now;
  // The pause/resume endpoints announce nothing (deployments-api §12).
  return event_list{
      events::deployment_updated{d.id, events::diff(*existing, d), true}};
}

std::expected<event_list, events::rejection>
decide(const events::delete_deployment& cmd,
       const delete_deployment_context& ctx, decision_env& env) {
  (void)cmd;
  if (!ctx.existing)
    return std::unexpected(rejection{rejection_code::deployment_not_found, {}});
  event_list out{events::deployment_deleted{ctx.existing->id, env.now}};
  if (ctx.existing->concurrency_limit_id) {
    events::concurrency_limit limit;
    limit.id = *ctx.existing->concurrency_limit_id;
    delete_limit(limit, ctx.limit_sharers, env, out);
  }
  return out;
}

namespace {

// A deployment_updated for a schedule change: `schedules` only.
event_list schedules_changed(const events::deployment& before,
                             std::vector<events::deployment_schedule> after) {
  auto d = before;
  d.schedules = std::move(after);
  auto changes = events::diff(before, d);
  if (changes.empty())
    return {};
  return {events::deployment_updated{d.id, std::move(changes)}};
}

} // namespace

std::expected<event_list, events::rejection>
decide(const events::create_schedules& cmd,
       const std::optional<events::deployment>& existing, decision_env& env) {
  if (!existing)
    return std::unexpected(rejection{rejection_code::deployment_missing, {}});
  std::set<std::string> slugs;
  for (const auto& s : existing->schedules)
    if (s.slug)
      slugs.insert(*s.slug);
  for (const auto& in : cmd.schedules)
    if (in.slug && !slugs.insert(*in.slug).second)
      return std::unexpected(
          rejection{rejection_code::conflict,
                    "Schedule slugs must be unique within a deployment."});
  auto schedules = existing->schedules;
  for (const auto& in : cmd.schedules) {
    events::deployment_schedule s;
    s.id = env.ids.next();
    s.created = env.now;
    s.updated = env.now;
    s.deployment_id = existing->id;
    s.schedule = in.schedule;
    s.active = in.active;
    s.max_scheduled_runs = in.max_scheduled_runs;
    s.parameters = in.parameters;
    s.slug = in.slug;
    schedules.insert(schedules.begin(), std::move(s));
  }
  return schedules_changed(*existing, std::move(schedules));
}

std::expected<event_list, events::rejection>
decide(const events::update_schedule& cmd,
       const std::optional<events::deployment>& existing, decision_env& env) {
  if (!existing)
    return std::unexpected(rejection{rejection_code::deployment_missing, {}});
  auto schedules = existing->schedules;
  const auto it =
      std::find_if(schedules.begin(), schedules.end(),
                   [&](const auto& s) { return s.id == cmd.schedule_id; });
  if (it == schedules.end())
    return std::unexpected(rejection{rejection_code::schedule_not_found, {}});
  const auto& in = cmd.changes;
  if (in.slug)
    for (const auto& other : schedules)
      if (other.id != cmd.schedule_id && other.slug == in.slug)
        return std::unexpected(
            rejection{rejection_code::integrity_conflict, {}});
  auto s = *it;
  schedules.erase(it);
  apply_schedule_update(s, in, env.now);
  schedules.insert(schedules.begin(), std::move(s));
  return schedules_changed(*existing, std::move(schedules));
}

std::expected<event_list, events::rejection>
decide(const events::delete_schedule& cmd,
       const std::optional<events::deployment>& existing, decision_env&) {
  if (!existing)
    return std::unexpected(rejection{rejection_code::deployment_missing, {}});
  auto schedules = existing->schedules;
  const auto it =
      std::find_if(schedules.begin(), schedules.end(),
                   [&](const auto& s) { return s.id == cmd.schedule_id; });
  if (it == schedules.end())
    return std::unexpected(rejection{rejection_code::schedule_not_found, {}});
  schedules.erase(it);
  return schedules_changed(*existing, std::move(schedules));
}

events::deployment evolve(const events::deployment_created& e) {
  return e.value;
}

events::deployment evolve(events::deployment state,
                          const events::deployment_updated& e) {
  events::apply_changes(state, e.changes);
  return state;
}

} // namespace deployd::actors
