#include "actors/deployment_aggregate.hpp"

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
  const auto& pool = cmd.work_pool_name.value;
  if (pool && !pool->empty() && !ctx.work_pool_exists)
    return std::unexpected(rejection{rejection_code::unknown_work_pool, *pool});
  if (cmd.global_concurrency_limit_id.value && !ctx.requested_limit)
    return std::unexpected(
      rejection{rejection_code::unknown_concurrency_limit, {}});
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

  // -- the new state (§3.9 keep / overwrite / reset rules) ---------------------
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

  // -- the linked concurrency limit (§3.6) ----------------------------------
  event_list before;
  event_list after;
  std::optional<events::concurrency_limit> linked =
    d.concurrency_limit_id ? ctx.linked_limit : std::nullopt;
  if (cmd.global_concurrency_limit_id.present)
    linked = cmd.global_concurrency_limit_id.value ? ctx.requested_limit
                                                   : std::nullopt;
  if (cmd.concurrency_limit.value) {
    const auto n = *cmd.concurrency_limit.value;
    if (linked) {
      if (linked->limit != n)
        before.push_back(
          events::concurrency_limit_resized{linked->id, env.now, linked->limit,
                                            n});
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
  } else if (cmd.concurrency_limit.is_null() &&
             !cmd.global_concurrency_limit_id.value && linked) {
    // `concurrency_limit: null` deletes the linked limit. Sent together with
    // a `global_concurrency_limit_id` (the Python client always sends the
    // null), the reference would delete the limit it just linked; we keep
    // the link instead (README, compatibility).
    after.push_back(events::concurrency_limit_deleted{linked->id, env.now});
    linked.reset();
  }
  d.concurrency_limit_id =
    linked ? std::optional<events::uuid>{linked->id} : std::nullopt;

  deployment_decision out;
  out.deployment_id = d.id;
  out.created = created;
  out.events = std::move(before);
  if (created) {
    out.events.push_back(events::deployment_created{std::move(d)});
  } else if (auto changes = events::diff(*ctx.existing, d); !changes.empty()) {
    out.events.push_back(events::deployment_updated{d.id, std::move(changes)});
  }
  for (auto& e : after)
    out.events.push_back(std::move(e));
  return out;
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
