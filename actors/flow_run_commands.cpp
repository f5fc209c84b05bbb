// Command handlers for flow runs (flow-runs.md §3, §4.3, §5, §7, §8): one
// JSON document per run on the `flow_run/<id>` stream, unique by (flow,
// idempotency key) through the resources name index; and the deployments'
// `last_polled` / READY a poll records.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "actors/work_pools.hpp"
#include "events/flow_run.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_schema.hpp"
#include "events/python/json_text.hpp"
#include "observe/log.hpp"

#include <algorithm>
#include <unordered_set>

namespace deployd::actors {

using events::json;
using events::resource_kind;
using storage::errc;

namespace {

json str_or_null(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

json id_or_null(const std::optional<events::uuid>& id) {
  return id ? json(id->str()) : json(nullptr);
}

json body_value(const json& body, const char* key, json fallback) {
  const auto it = body.find(key);
  return it == body.end() || it->is_null() ? fallback : *it;
}

// A run that was created, or the existing run an idempotency key named.
struct created_run {
  json doc;
  bool created = false;
  events::log_position position;
};

using creation = std::expected<created_run, events::rejection>;

events::rejection bad_request(std::string text) {
  return {events::rejection_code::bad_request, std::move(text)};
}

// The run's queue and pool as stored on it: {work_queue_id, work_queue_name,
// work_pool_id, work_pool_name}.
struct placement {
  json queue_id = nullptr;
  json queue_name = nullptr;
  json pool_id = nullptr;
  json pool_name = nullptr;
};

// The deployment's queue, or `override_name` in the deployment's pool
// (created when missing, §5.1 step 7).
std::expected<std::expected<placement, events::rejection>, errc>
place(storage::write_batch& b, const events::deployment& d,
      const json& override_name, event_list& out, decision_env& env) {
  using result = std::expected<placement, events::rejection>;
  placement p;
  std::optional<json> queue;
  std::optional<json> pool;
  if (d.work_queue_id) {
    auto q = load_resource(b, resource_kind::work_queue, *d.work_queue_id);
    if (!q)
      return std::unexpected(q.error());
    queue = std::move(*q);
    if (queue) {
      auto pl = load_resource(b, resource_kind::work_pool,
                              events::uuid_field(*queue, "work_pool_id"));
      if (!pl)
        return std::unexpected(pl.error());
      pool = std::move(*pl);
    }
  }
  if (override_name.is_string()) {
    const auto name = override_name.get<std::string>();
    if (!pool)
      return result(std::unexpected(bad_request(
          "Cannot create flow run in work queue " + name +
          " because deployment " + d.id.str() +
          " is not associated with a work pool. Please remove "
          "work_pool_name and try again.")));
    const json key_doc{{"work_pool_id", pool->at("id")}, {"name", name}};
    auto found =
        find_resource(b, resource_name_key(resource_kind::work_queue, key_doc));
    if (!found)
      return std::unexpected(found.error());
    if (*found) {
      queue = std::move(*found);
    } else {
      pool_world world;
      world.pools.push_back(*pool);
      auto queues = resources_under(
          b, resource_name_key(resource_kind::work_queue,
                               {{"work_pool_id", pool->at("id")}, {"name", ""}}));
      if (!queues)
        return std::unexpected(queues.error());
      world.queues = std::move(*queues);
      auto made = create_queue(pool->at("name").get<std::string>(),
                               json{{"name", name}}, world, env);
      if (!made)
        return result(std::unexpected(made.error()));
      for (auto& e : *made) {
        if (const auto* c = std::get_if<events::resource_created>(&e);
            c && c->kind == resource_kind::work_queue)
          queue = c->value;
        out.push_back(std::move(e));
      }
    }
  }
  if (queue) {
    p.queue_id = queue->at("id");
    p.queue_name = queue->at("name");
  } else {
    p.queue_name = str_or_null(d.work_queue_name);
  }
  if (pool) {
    p.pool_id = pool->at("id");
    p.pool_name = pool->at("name");
  }
  return result(p);
}

// What differs between new runs; the rest of the document is defaults.
struct run_seed {
  json name = nullptr; ///< a random two-word name when not a non-empty string
  events::uuid flow_id;
  json deployment_id = nullptr;
  json deployment_version = nullptr;
  placement where;
  json flow_version = nullptr;
  json parameters = json::object();
  json idempotency_key = nullptr;
  json context = json::object();
  json empirical_policy = events::default_empirical_policy();
  json tags = json::array();
  json labels = json::object();
  json parent_task_run_id = nullptr;
  json infrastructure_document_id = nullptr;
  bool auto_scheduled = false;
  json created_by = nullptr;
  json job_variables = json::object();
  json state; ///< a StateCreate
};

// A new run document (FlowRun field order) in its first state, with a
// UUIDv7 id at the writer's now.
json new_run(run_seed seed, decision_env& env) {
  const auto id = events::uuid_v7(env.now, env.ids.next());
  json run = json::object();
  // The members in their order, appended: a new document has no key to
  // look up first (`operator[]` searches the ordered members).
  auto& members = run.get_ref<json::object_t&>();
  members.reserve(40);
  const auto put = [&](const char* key, json value) {
    members.json::object_t::Container::emplace_back(key, std::move(value));
  };
  put("id", id.str());
  put("created", events::format_timestamp(env.now));
  put("updated", events::format_timestamp(env.now));
  put("name", seed.name.is_string() && !seed.name.get<std::string>().empty()
                  ? seed.name
                  : json(events::run_name(env.ids.next())));
  put("flow_id", seed.flow_id.str());
  put("state_id", nullptr);
  put("deployment_id", std::move(seed.deployment_id));
  put("deployment_version", std::move(seed.deployment_version));
  put("work_queue_id", seed.where.queue_id);
  put("work_queue_name", seed.where.queue_name);
  put("flow_version", std::move(seed.flow_version));
  put("parameters", std::move(seed.parameters));
  put("idempotency_key", std::move(seed.idempotency_key));
  put("context", std::move(seed.context));
  put("empirical_policy", std::move(seed.empirical_policy));
  put("tags", std::move(seed.tags));
  put("labels", std::move(seed.labels));
  put("parent_task_run_id", std::move(seed.parent_task_run_id));
  put("state_type", nullptr);
  put("state_name", nullptr);
  put("run_count", 0);
  put("expected_start_time", nullptr);
  put("next_scheduled_start_time", nullptr);
  put("start_time", nullptr);
  put("end_time", nullptr);
  put("total_run_time", 0.0);
  put("estimated_run_time", 0.0);
  put("estimated_start_time_delta", 0.0);
  put("auto_scheduled", seed.auto_scheduled);
  put("infrastructure_document_id", std::move(seed.infrastructure_document_id));
  put("infrastructure_pid", nullptr);
  put("created_by", std::move(seed.created_by));
  put("work_pool_id", seed.where.pool_id);
  put("work_pool_name", seed.where.pool_name);
  put("state", nullptr);
  put("job_variables", std::move(seed.job_variables));
  events::apply_state(
      run, events::make_state(seed.state, env.ids.next(), env.now, id),
      env.now);
  return run;
}

// Builds, decides and appends one run (§5.1 / §8). Appended at once so a
// later item of a bulk request sees it (idempotency).
std::expected<creation, errc> create_one(const events::create_flow_run& cmd,
                                         storage::write_batch& b,
                                         decision_env& env,
                                         const events::uuid& command_id) {
  const json& body = cmd.body;
  event_list out;
  json parameters = json::object();
  json labels = json::object();
  json tags = json::array();
  placement where;
  events::uuid flow_id;
  json deployment_id = nullptr;
  json deployment_version = nullptr;
  json infrastructure = body_value(body, "infrastructure_document_id", nullptr);
  if (cmd.deployment_id) {
    auto loaded = load_deployment(b, *cmd.deployment_id);
    if (!loaded)
      return std::unexpected(loaded.error());
    if (!*loaded)
      return creation(std::unexpected(events::rejection{
          events::rejection_code::deployment_not_found, {}}));
    const auto& d = **loaded;
    parameters = d.parameters;
    const json given = body_value(body, "parameters", json::object());
    for (const auto& [k, v] : given.items())
      parameters[k] = v;
    std::optional<errc> failure;
    auto hydrated = events::hydrate_parameters(parameters, variables_in(b, failure));
    if (failure)
      return std::unexpected(*failure);
    if (!hydrated)
      return creation(std::unexpected(
          bad_request("Error hydrating flow run parameters: " + hydrated.error())));
    parameters = std::move(*hydrated);
    const json enforce_v = body_value(body, "enforce_parameter_schema", nullptr);
    const bool enforce =
        enforce_v.is_boolean() ? enforce_v.get<bool>() : d.enforce_parameter_schema;
    if (enforce) {
      if (!d.parameter_openapi_schema.is_object())
        return creation(std::unexpected(events::rejection{
            events::rejection_code::conflict,
            "Error updating deployment: Cannot update parameters because "
            "parameter schema enforcement is enabled and the deployment does "
            "not have a valid parameter schema."}));
      const auto check = events::check_parameters(
          events::preprocess_schema(d.parameter_openapi_schema), parameters,
          false);
      using outcome = events::parameter_check::outcome;
      if (check.result == outcome::circular_schema)
        return creation(std::unexpected(events::rejection{
            events::rejection_code::unprocessable,
            "Invalid schema: Unable to validate schema with circular "
            "references."}));
      if (check.result == outcome::invalid)
        return creation(std::unexpected(events::rejection{
            events::rejection_code::conflict,
            "Error creating flow run: " + check.reason}));
    }
    auto placed =
        place(b, d, body_value(body, "work_queue_name", nullptr), out, env);
    if (!placed)
      return std::unexpected(placed.error());
    if (!*placed)
      return creation(std::unexpected(placed->error()));
    where = **placed;
    flow_id = d.flow_id;
    deployment_id = d.id.str();
    deployment_version = str_or_null(d.version);
    if (infrastructure.is_null())
      infrastructure = id_or_null(d.infrastructure_document_id);
    for (const auto& t : body_value(body, "tags", json::array()))
      if (std::find(tags.begin(), tags.end(), t) == tags.end())
        tags.push_back(t);
    for (const auto& t : d.tags)
      if (std::find(tags.begin(), tags.end(), json(t)) == tags.end())
        tags.push_back(t);
    if (d.labels.is_object())
      labels = d.labels;
    labels["prefect.flow.id"] = flow_id.str();
    labels["prefect.deployment.id"] = d.id.str();
  } else {
    flow_id = events::uuid_field(body, "flow_id");
    auto flow = load_flow(b, flow_id);
    if (!flow)
      return std::unexpected(flow.error());
    if (!*flow)
      return creation(std::unexpected(
          events::rejection{events::rejection_code::integrity_conflict, {}}));
    parameters = body_value(body, "parameters", json::object());
    tags = body_value(body, "tags", json::array());
    deployment_id = body_value(body, "deployment_id", nullptr);
    where.queue_name = body_value(body, "work_queue_name", nullptr);
    labels["prefect.flow.id"] = flow_id.str();
  }
  const json given_labels = body_value(body, "labels", json::object());
  for (const auto& [k, v] : given_labels.items())
    labels[k] = v;

  const json key = body_value(body, "idempotency_key", nullptr);
  if (key.is_string()) {
    auto existing = find_resource(
        b, resource_name_key(resource_kind::flow_run,
                             json{{"flow_id", flow_id.str()},
                                  {"idempotency_key", key}}));
    if (!existing)
      return std::unexpected(existing.error());
    if (*existing)
      return creation(created_run{std::move(**existing), false, {}});
  }

  json policy = events::default_empirical_policy();
  const json given_policy = body_value(body, "empirical_policy", json::object());
  for (const auto& [k, v] : given_policy.items())
    policy[k] = v;
  run_seed seed;
  seed.name = body_value(body, "name", nullptr);
  seed.flow_id = flow_id;
  seed.deployment_id = deployment_id;
  seed.deployment_version = deployment_version;
  seed.where = where;
  seed.flow_version = body_value(body, "flow_version", nullptr);
  seed.parameters = std::move(parameters);
  seed.idempotency_key = key;
  seed.context = body_value(body, "context", json::object());
  seed.empirical_policy = std::move(policy);
  seed.tags = std::move(tags);
  seed.labels = std::move(labels);
  seed.parent_task_run_id = body_value(body, "parent_task_run_id", nullptr);
  seed.infrastructure_document_id = infrastructure;
  seed.job_variables = body_value(body, "job_variables", json::object());
  seed.state = body_value(
      body, "state",
      json{{"type", cmd.deployment_id ? "SCHEDULED" : "PENDING"}});
  json run = new_run(std::move(seed), env);
  out.push_back(events::resource_created{resource_kind::flow_run, run});
  auto appended = append_and_fold(b, out, command_id, env.now);
  if (!appended)
    return std::unexpected(appended.error());
  return creation(created_run{std::move(run), true, *appended});
}

command_result run_not_found() {
  return rejected(
      {events::rejection_code::not_found, "Flow run not found"});
}

std::string rendered(const json& run, events::timestamp now) {
  return events::dump_json(events::render_flow_run(run, now));
}

} // namespace

command_result handle(const events::create_flow_run& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto made = create_one(cmd, b, env, command_id);
  if (!made)
    return failed(made.error());
  if (!*made)
    return rejected(made->error());
  auto r = no_content((*made)->position);
  r.body = rendered((*made)->doc, env.now);
  r.created = (*made)->created;
  return r;
}

command_result handle(const events::create_flow_runs_bulk& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto d = load_deployment(b, cmd.deployment_id);
  if (!d)
    return failed(d.error());
  if (!*d)
    return rejected({events::rejection_code::deployment_not_found, {}});
  json results = json::array();
  events::log_position last;
  for (const auto& item : cmd.items) {
    auto made = create_one(events::create_flow_run{cmd.deployment_id, item}, b,
                           env, command_id);
    if (!made)
      return failed(made.error());
    if (*made && (*made)->created)
      last = (*made)->position;
    if (*made)
      results.push_back(json{{"flow_run_id", (*made)->doc.at("id")},
                             {"status", "CREATED"},
                             {"error", nullptr}});
    else
      results.push_back(json{{"flow_run_id", nullptr},
                             {"status", "FAILED"},
                             {"error", made->error().subject}});
  }
  auto r = no_content(last);
  r.body = events::dump_json(json{{"results", std::move(results)}});
  return r;
}

command_result handle(const events::update_flow_run& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::flow_run, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return run_not_found();
  const json& before = **existing;
  json after = before;
  for (const auto& [key, value] : cmd.body.items()) {
    if (key == "job_variables") {
      const auto& state = before.at("state");
      if (!state.is_object())
        return rejected(bad_request("Flow run state is required to update job "
                                    "variables but none exists"));
      if (before.at("state_type") != "SCHEDULED")
        return rejected(bad_request(
            "Job variables for a flow run in state " +
            before.at("state_type").get<std::string>() + " cannot be updated"));
      if (!before.at("deployment_id").is_string())
        return rejected(bad_request(
            "A deployment for the flow run could not be found"));
      auto d = load_deployment(b, events::uuid_field(before, "deployment_id"));
      if (!d)
        return failed(d.error());
      if (!*d)
        return rejected(bad_request(
            "A deployment for the flow run could not be found"));
    }
    if (key == "empirical_policy" && value.is_object()) {
      json policy = events::default_empirical_policy();
      for (const auto& [k, v] : value.items())
        policy[k] = v;
      after[key] = std::move(policy);
      continue;
    }
    after[key] = value.is_null() && (key == "parameters" || key == "tags" ||
                                     key == "job_variables")
                     ? before.at(key)
                     : value;
  }
  after["updated"] = events::format_timestamp(env.now);
  return apply(event_list{events::resource_updated{
                   resource_kind::flow_run, cmd.id,
                   events::document_diff(before, after)}},
               b, env, command_id, "");
}

command_result handle(const events::delete_flow_run& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::flow_run, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return run_not_found();
  return apply(event_list{events::resource_deleted{resource_kind::flow_run,
                                                   cmd.id, env.now}},
               b, env, command_id, "");
}

command_result handle(const events::set_flow_run_state& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::flow_run, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected({events::rejection_code::not_found_exception,
                     "Flow run with id " + cmd.id.str() + " not found"});
  const json& before = **existing;
  const auto proposed =
      events::make_state(cmd.state, env.ids.next(), env.now, cmd.id);
  auto decided =
      events::orchestrate(before, proposed, cmd.force, env.now, env.ids.next());
  json result{{"state", before.at("state")},
              {"status", decided.status},
              {"details", decided.details}};
  if (!decided.write) {
    auto r = no_content(events::log_position{});
    r.body = events::dump_json(result);
    return r;
  }
  json after = before;
  if (decided.empirical_policy)
    after["empirical_policy"] = *decided.empirical_policy;
  events::apply_state(after, std::move(*decided.write), env.now);
  result["state"] = after.at("state");
  auto r = apply(event_list{events::resource_updated{
                     resource_kind::flow_run, cmd.id,
                     events::document_diff(before, after)}},
                 b, env, command_id, events::dump_json(result));
  r.created = r.result == command_result::outcome::ok;
  return r;
}

command_result handle(const events::record_poll& cmd, storage::write_batch& b,
                      decision_env& env, const events::uuid& command_id) {
  // A poll refreshes `last_polled` each time; polls less than a second
  // apart after the first are coalesced so a busy poller does not grow the
  // log with one event per request.
  constexpr std::int64_t coalesce_micros = 1'000'000;
  auto fresh = [&](const std::optional<events::timestamp>& t) {
    return t && env.now.micros - t->micros < coalesce_micros;
  };
  event_list out;
  for (const auto& id : cmd.deployment_ids) {
    auto d = load_deployment(b, id);
    if (!d)
      return failed(d.error());
    if (!*d || ((**d).status == "READY" && fresh((**d).last_polled)))
      continue;
    auto after = **d;
    after.last_polled = env.now;
    after.status = "READY";
    out.push_back(events::deployment_updated{id, events::diff(**d, after)});
  }
  for (const auto& id : cmd.queue_ids) {
    auto q = load_resource(b, resource_kind::work_queue, id);
    if (!q)
      return failed(q.error());
    if (!*q)
      continue;
    const json& before = **q;
    const auto polled = events::parse_timestamp(
        before.value("last_polled", json(nullptr)).is_string()
            ? before.at("last_polled").get<std::string>()
            : std::string());
    if (before.value("status", "") == "READY" && fresh(polled))
      continue;
    json after = before;
    after["last_polled"] = events::format_timestamp(env.now);
    after["status"] = "READY";
    out.push_back(events::resource_updated{resource_kind::work_queue, id,
                                           events::document_diff(before, after)});
  }
  return apply(std::move(out), b, env, command_id, "");
}

} // namespace deployd::actors

// -- auto-scheduled runs (flow-runs.md §3.3, §11, §12) --------------------------

namespace deployd::actors {

namespace {

// The auto-scheduled run of `d`'s schedule `sched` at `date` (§11.4).
json auto_run(const events::deployment& d, const events::deployment_schedule& sched,
              const events::schedule& parsed, events::timestamp date,
              std::string key, const placement& where, decision_env& env) {
  run_seed seed;
  seed.flow_id = d.flow_id;
  seed.deployment_id = d.id.str();
  seed.deployment_version = str_or_null(d.version);
  seed.where = where;
  // Not hydrated: the deployment's parameters overlaid, top level, with the
  // schedule's.
  seed.parameters = d.parameters.is_object() ? d.parameters : json::object();
  if (sched.parameters.is_object())
    for (const auto& [k, v] : sched.parameters.items())
      seed.parameters[k] = v;
  seed.idempotency_key = std::move(key);
  seed.tags = json::array({"auto-scheduled"});
  for (const auto& t : d.tags)
    seed.tags.push_back(t);
  if (d.labels.is_object())
    seed.labels = d.labels;
  seed.labels["prefect.flow.id"] = d.flow_id.str();
  seed.labels["prefect.deployment.id"] = d.id.str();
  seed.infrastructure_document_id = id_or_null(d.infrastructure_document_id);
  seed.auto_scheduled = true;
  seed.created_by = json{
      {"id", sched.id.str()},
      {"type", "SCHEDULE"},
      {"display_value",
       sched.slug ? *sched.slug
                  : std::string(events::schedule_type_name(parsed))}};
  seed.state = json{{"type", "SCHEDULED"},
                    {"message", "Flow run scheduled"},
                    {"state_details",
                     {{"scheduled_time", events::format_timestamp(date)}}}};
  return new_run(std::move(seed), env);
}

// Room kept in an entry for what a command appends besides its runs (a
// work queue created for them, an Idempotency-Key's record).
constexpr std::size_t entry_reserve_bytes = 64 * 1024;

// What is left of one command's share of an entry (decision_env::
// entry_bytes) for runs, and what the runs took so far.
struct run_budget {
  std::size_t limit;
  std::size_t used = 0;

  explicit run_budget(const decision_env& env)
      : limit(env.entry_bytes > entry_reserve_bytes
                  ? env.entry_bytes - entry_reserve_bytes
                  : 0) {
  }
  [[nodiscard]] bool unlimited() const {
    return limit == std::numeric_limits<std::size_t>::max() - entry_reserve_bytes;
  }
};

enum class scheduled : std::uint8_t {
  all,       ///< every run of the window is there or in `out`
  stopped,   ///< the next run did not fit in the entry: go on in another command
  too_large  ///< the next run alone is larger than an entry
};

// Appends to `out` the runs of `d`'s active schedules in `w` that do not
// exist yet (by idempotency key, through the batch); `made` counts them.
// `only_needed`: only schedules that need runs (§11.2). Stops before a run
// that would take `budget` past its limit: the runs are idempotent by key,
// so another command goes on where this one stopped.
std::expected<scheduled, errc> schedule_deployment(storage::write_batch& b,
                                                   const events::deployment& d,
                                                   const events::schedule_window& w,
                                                   bool only_needed,
                                                   decision_env& env,
                                                   event_list& out,
                                                   std::size_t& made,
                                                   run_budget& budget) {
  std::optional<placement> where;
  const auto start = w.start_time ? events::timestamp{*w.start_time} : env.now;
  const auto end = w.end_time
                       ? events::timestamp{*w.end_time}
                       : events::timestamp{start.micros + w.max_scheduled_micros};
  for (const auto& sched : d.schedules) {
    if (!sched.active)
      continue;
    const auto parsed = events::schedule_from_json(sched.schedule);
    if (!parsed)
      continue;
    if (only_needed) {
      // Future auto-scheduled runs of this schedule: fewer than min_runs,
      // or the last before now + min_time, means it needs runs.
      const auto prefix = run_index_prefix(d.id, sched.id);
      std::int64_t count = 0;
      std::string last;
      auto scanned = b.scan_range(
          storage::table::run_index, prefix + order_bytes(env.now),
          prefix + std::string(25, '\xff'),
          [&](std::string_view key, std::string_view value) {
            if (!value.empty() && value[0] == 'a') {
              ++count;
              last = std::string(key.substr(run_index_time_at, 8));
            }
            return true;
          });
      if (!scanned)
        return std::unexpected(scanned.error());
      if (count >= w.min_runs &&
          last >= order_bytes(events::timestamp{env.now.micros +
                                                w.min_time_micros}))
        continue;
    }
    const auto dates = events::window_dates(*parsed, start, end, w);
    if (dates.empty())
      continue;
    std::vector<std::string> keys;
    keys.reserve(dates.size());
    for (const auto date : dates)
      keys.push_back(events::scheduled_run_key(d.id, sched.id, *parsed, date));
    // The runs of the window made already (by idempotency key): one scan of
    // the flow's name keys from the smallest of these keys to the largest
    // instead of a point read per date (the keys of one schedule share
    // their beginning, so the range holds little else).
    const auto scope = resource_name_key(
        resource_kind::flow_run,
        json{{"flow_id", d.flow_id.str()}, {"idempotency_key", ""}});
    const auto [lowest, highest] = std::minmax_element(keys.begin(), keys.end());
    std::unordered_set<std::string> existing;
    auto scanned = b.scan_range(
        storage::table::resource_names, scope + *lowest,
        scope + *highest + std::string(1, '\0'),
        [&](std::string_view name, std::string_view) {
          existing.emplace(name.substr(scope.size()));
          return true;
        });
    if (!scanned)
      return std::unexpected(scanned.error());
    for (std::size_t i = 0; i < dates.size(); ++i) {
      const auto date = dates[i];
      auto& key = keys[i];
      if (existing.contains(key))
        continue;
      if (!where) {
        auto placed = place(b, d, nullptr, out, env);
        if (!placed)
          return std::unexpected(placed.error());
        if (!*placed)
          return scheduled::all;
        where = **placed;
      }
      events::any_event run = events::resource_created{
          resource_kind::flow_run,
          auto_run(d, sched, *parsed, date, std::move(key), *where, env)};
      if (!budget.unlimited()) {
        const auto bytes = entry_bytes_of(run);
        if (bytes > budget.limit)
          return scheduled::too_large;
        if (budget.used + bytes > budget.limit)
          return scheduled::stopped;
        budget.used += bytes;
      }
      out.push_back(std::move(run));
      ++made;
    }
  }
  return scheduled::all;
}

command_result appended(event_list out, storage::write_batch& b,
                        decision_env& env, const events::uuid& command_id,
                        std::string body) {
  events::log_position last;
  if (!out.empty()) {
    auto position = append_and_fold(b, out, command_id, env.now);
    if (!position)
      return failed(position.error());
    last = *position;
  }
  auto r = no_content(last);
  r.body = std::move(body);
  return r;
}

} // namespace

command_result handle(const events::schedule_flow_runs& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto d = load_deployment(b, cmd.deployment_id);
  if (!d)
    return failed(d.error());
  event_list out;
  std::size_t made = 0;
  run_budget budget(env);
  // An unknown deployment is a 200 `null` that creates nothing (§3.3).
  if (!*d)
    return appended(std::move(out), b, env, command_id, "null");
  auto done = schedule_deployment(b, **d, cmd.window, false, env, out, made,
                                  budget);
  if (!done)
    return failed(done.error());
  switch (*done) {
    case scheduled::all:
      return appended(std::move(out), b, env, command_id, "null");
    case scheduled::stopped:
      // The runs that fit in one entry; the caller sends the command again
      // for the rest (events::schedule_flow_runs).
      return appended(
          std::move(out), b, env, command_id,
          events::dump_json(json{
              {"more", true},
              {"runs", made},
              {"start_time", cmd.window.start_time.value_or(env.now.micros)}}));
    case scheduled::too_large:
      break;
  }
  return failed(errc::too_large);
}

command_result handle(const events::schedule_due_runs& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  using storage::table;
  // Only deployments in `scheduled_deployments` (not paused, an active
  // schedule) can get runs: the passes read no other deployment, so their
  // cost follows the scheduled deployments, not all of them (a pass over
  // every deployment made creates 4x dearer at 300k deployments,
  // bench/README.md "Create cost and the number of deployments").
  std::vector<events::uuid> ids;
  if (cmd.recent_micros > 0) {
    std::vector<std::string> recent;
    auto scanned = b.scan_range(
        table::deployment_by_updated,
        order_bytes(events::timestamp{env.now.micros - cmd.recent_micros}), "",
        [&](std::string_view key, std::string_view) {
          recent.emplace_back(key.substr(key.size() - 16));
          return true;
        });
    if (!scanned)
      return failed(scanned.error());
    for (const auto& key : recent) {
      auto row = b.get(table::scheduled_deployments, key);
      if (!row)
        return failed(row.error());
      if (*row)
        ids.push_back(id_from_key_suffix(key));
    }
  } else {
    const std::string from =
        cmd.after ? id_key(*cmd.after) + std::string(1, '\0') : std::string();
    auto scanned = b.scan_range(
        table::scheduled_deployments, from, "",
        [&](std::string_view key, std::string_view) {
          ids.push_back(id_from_key_suffix(key));
          return static_cast<std::int64_t>(ids.size()) < cmd.batch_size;
        });
    if (!scanned)
      return failed(scanned.error());
  }
  event_list out;
  std::size_t made = 0;
  json next = nullptr;
  run_budget budget(env);
  std::optional<events::uuid> last_done;
  for (const auto& id : ids) {
    auto d = load_deployment(b, id);
    if (!d)
      return failed(d.error());
    if (*d && !(**d).paused) {
      auto done = schedule_deployment(b, **d, cmd.window,
                                      cmd.recent_micros == 0, env, out, made,
                                      budget);
      if (!done)
        return failed(done.error());
      if (*done == scheduled::too_large) {
        // A run larger than an entry: the rest of this deployment's runs
        // cannot be made in a cluster; the other deployments' are.
        observe::log(observe::level::error,
                     "scheduler: a run of this deployment is larger than one "
                     "entry of the replicated log (cluster.max_entry_bytes)",
                     {{"deployment_id", id.str()}});
      } else if (*done == scheduled::stopped && cmd.recent_micros == 0) {
        // The entry is full (it holds at least one run: progress). The
        // next page starts with this deployment; or, when it is the first
        // of this page (it made those runs), after it: the next pass makes
        // its remaining runs (it still needs runs).
        next = last_done ? last_done->str() : id.str();
        break;
      }
      // The recent loop goes on: later deployments' runs may still fit;
      // what did not fit, the main loop makes.
    }
    last_done = id;
    if (static_cast<std::int64_t>(made) >= cmd.insert_batch_size &&
        id != ids.back()) {
      next = id.str();
      break;
    }
  }
  if (next.is_null() && cmd.recent_micros == 0 &&
      static_cast<std::int64_t>(ids.size()) >= cmd.batch_size)
    next = ids.back().str();
  return appended(std::move(out), b, env, command_id,
                  events::dump_json(json{{"next", next}, {"runs", made}}));
}

command_result handle(const events::mark_late_runs& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  // Runs named Scheduled whose time is at least `after` ago: the `t` rows
  // of run_index up to and including now - after.
  std::vector<events::uuid> ids;
  const auto cutoff =
      events::timestamp{env.now.micros - cmd.after_micros + 1};
  auto scanned = b.scan_range(
      storage::table::run_index, "t", "t" + order_bytes(cutoff),
      [&](std::string_view key, std::string_view) {
        ids.push_back(id_from_key_suffix(key));
        return static_cast<std::int64_t>(ids.size()) < cmd.limit;
      });
  if (!scanned)
    return failed(scanned.error());
  event_list out;
  for (const auto& id : ids) {
    auto existing = load_resource(b, resource_kind::flow_run, id);
    if (!existing)
      return failed(existing.error());
    if (!*existing)
      continue;
    const json& before = **existing;
    const auto proposed = events::make_state(
        json{{"type", "SCHEDULED"},
             {"name", "Late"},
             {"state_details",
              {{"scheduled_time", before.at("next_scheduled_start_time")}}}},
        env.ids.next(), env.now, id);
    auto decided =
        events::orchestrate(before, proposed, false, env.now, env.ids.next());
    if (!decided.write)
      continue;
    json after = before;
    if (decided.empirical_policy)
      after["empirical_policy"] = *decided.empirical_policy;
    events::apply_state(after, std::move(*decided.write), env.now);
    out.push_back(events::resource_updated{
        resource_kind::flow_run, id, events::document_diff(before, after)});
  }
  const auto marked = out.size();
  return appended(std::move(out), b, env, command_id,
                  events::dump_json(json{{"marked", marked}}));
}

} // namespace deployd::actors
