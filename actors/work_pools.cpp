#include "actors/work_pools.hpp"

#include "events/python/json_schema.hpp"

#include <algorithm>

namespace deployd::actors {

namespace {

using events::json;
using events::resource_kind;

std::string str(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
}

json new_queue(const json& pool, const std::string& name, json description,
               std::int64_t priority, decision_env& env) {
  json q = json::object();
  q["id"] = env.ids.next().str();
  q["created"] = events::format_timestamp(env.now);
  q["updated"] = events::format_timestamp(env.now);
  q["name"] = name;
  q["description"] = std::move(description);
  q["is_paused"] = false;
  q["concurrency_limit"] = nullptr;
  q["priority"] = priority;
  q["work_pool_id"] = pool.at("id");
  q["filter"] = nullptr;
  q["last_polled"] = nullptr;
  q["work_pool_name"] = pool.at("name");
  q["status"] = "NOT_READY";
  q["active_slots"] = nullptr;
  return q;
}

// Prefect's gap-filling: the first missing priority from 1, else max + 1.
std::int64_t free_priority(const std::vector<const json*>& queues) {
  std::vector<std::int64_t> taken;
  for (const auto* q : queues)
    taken.push_back(q->at("priority").get<std::int64_t>());
  std::sort(taken.begin(), taken.end());
  for (std::size_t i = 0; i < taken.size(); ++i)
    if (taken[i] != static_cast<std::int64_t>(i) + 1)
      return static_cast<std::int64_t>(i) + 1;
  return taken.empty() ? 1 : taken.back() + 1;
}

// Prefect's bulk_update_work_queue_priorities for one queue: place it at
// `priority`, then renumber the others upward only where needed to keep
// priorities strictly increasing in their current order.
void place_queue(pool_world& world, const std::string& pool_id,
                 const std::string& queue_id, std::int64_t priority,
                 event_list& out, decision_env& env) {
  std::vector<json*> others;
  json* moved = nullptr;
  for (auto& q : world.queues) {
    if (str(q, "work_pool_id") != pool_id)
      continue;
    if (str(q, "id") == queue_id)
      moved = &q;
    else
      others.push_back(&q);
  }
  if (!moved)
    return;
  std::stable_sort(others.begin(), others.end(), [](json* a, json* b) {
    return a->at("priority").get<std::int64_t>() <
           b->at("priority").get<std::int64_t>();
  });
  auto at = std::find_if(others.begin(), others.end(), [&](json* q) {
    return q->at("priority").get<std::int64_t>() >= priority;
  });
  const auto before_moved = *moved;
  (*moved)["priority"] = priority;
  others.insert(at, moved);
  std::int64_t last = 0;
  for (json* q : others) {
    const auto before = *q;
    auto p = q->at("priority").get<std::int64_t>();
    if (p <= last) {
      p = ++last;
      (*q)["priority"] = p;
    } else {
      last = p;
    }
    const json& original = q == moved ? before_moved : before;
    if (*q != original) {
      (*q)["updated"] = events::format_timestamp(env.now);
      // A queue created by this command is emitted with its final priority
      // by the caller; only existing queues get an update event.
      if (!original.contains("__new"))
        out.push_back(events::resource_updated{
            resource_kind::work_queue, *events::uuid::parse(str(*q, "id")),
            events::document_diff(original, *q)});
    }
  }
}

// Adds a queue named `name` to `pool` with Prefect's priority rules.
const json& add_queue(pool_world& world, const json& pool,
                      const std::string& name, json description,
                      std::optional<std::int64_t> priority, json extra,
                      event_list& out, decision_env& env) {
  const auto pool_id = str(pool, "id");
  json q = new_queue(pool, name, std::move(description),
                     free_priority(world.queues_of(pool_id)), env);
  for (const auto& [key, value] : extra.items())
    q[key] = value;
  q["__new"] = true;
  world.queues.push_back(q);
  const auto id = str(q, "id");
  if (priority)
    place_queue(world, pool_id, id, *priority, out, env);
  auto& stored =
      *std::find_if(world.queues.begin(), world.queues.end(),
                    [&](const json& x) { return str(x, "id") == id; });
  stored.erase("__new");
  out.push_back(events::resource_created{resource_kind::work_queue, stored});
  return stored;
}

json pool_document(const json& body, const std::string& default_queue_id,
                   decision_env& env) {
  json p = json::object();
  p["id"] = env.ids.next().str();
  p["created"] = events::format_timestamp(env.now);
  p["updated"] = events::format_timestamp(env.now);
  p["name"] = body.at("name");
  p["description"] = body.value("description", json(nullptr));
  const auto type = body.value("type", json("prefect-agent"));
  p["type"] = type;
  p["base_job_template"] = body.value("base_job_template", json::object());
  const bool paused = body.value("is_paused", false);
  p["is_paused"] = paused;
  p["concurrency_limit"] = body.value("concurrency_limit", json(nullptr));
  p["status"] = type == "prefect-agent" ? json(nullptr)
                : paused                ? json("PAUSED")
                                        : json("NOT_READY");
  p["default_queue_id"] = default_queue_id;
  json storage = {{"bundle_upload_step", nullptr},
                  {"bundle_execution_step", nullptr},
                  {"default_result_storage_block_id", nullptr}};
  if (const auto it = body.find("storage_configuration");
      it != body.end() && it->is_object())
    for (const auto& [key, value] : it->items())
      storage[key] = value;
  p["storage_configuration"] = std::move(storage);
  p["active_slots"] =
      p["concurrency_limit"].is_null() ? json(nullptr) : json(0);
  return p;
}

} // namespace

const json* pool_world::pool(const std::string& name) const {
  for (const auto& p : pools)
    if (str(p, "name") == name)
      return &p;
  return nullptr;
}

const json* pool_world::queue(const std::string& pool_id,
                              const std::string& name) const {
  for (const auto& q : queues)
    if (str(q, "work_pool_id") == pool_id && str(q, "name") == name)
      return &q;
  return nullptr;
}

const json* pool_world::queue_by_id(const std::string& id) const {
  for (const auto& q : queues)
    if (str(q, "id") == id)
      return &q;
  return nullptr;
}

std::vector<const json*>
pool_world::queues_of(const std::string& pool_id) const {
  std::vector<const json*> out;
  for (const auto& q : queues)
    if (str(q, "work_pool_id") == pool_id)
      out.push_back(&q);
  return out;
}

event_list create_pool(const json& body, pool_world& world, decision_env& env) {
  // The default queue's id is chosen first so the pool can name it.
  const auto queue_id = env.ids.next();
  json pool = pool_document(body, queue_id.str(), env);
  json queue =
      new_queue(pool, "default", "The work pool's default queue.", 1, env);
  queue["id"] = queue_id.str();
  world.pools.push_back(pool);
  world.queues.push_back(queue);
  return {events::resource_created{resource_kind::work_pool, pool},
          events::resource_created{resource_kind::work_queue, queue}};
}

std::expected<event_list, events::rejection>
create_queue(const std::string& pool_name, const json& body, pool_world& world,
             decision_env& env) {
  const json* pool = world.pool(pool_name);
  if (!pool)
    return std::unexpected(events::rejection{
        events::rejection_code::unknown_work_pool, pool_name});
  const auto name = body.at("name").get<std::string>();
  if (world.queue(str(*pool, "id"), name))
    return std::unexpected(events::rejection{
        events::rejection_code::conflict,
        "A work queue with this name already exists in work pool "
        "{work_pool_name!r}."});
  std::optional<std::int64_t> priority;
  if (const auto it = body.find("priority");
      it != body.end() && it->is_number_integer())
    priority = it->get<std::int64_t>();
  json extra = json::object();
  for (const char* key : {"is_paused", "concurrency_limit", "filter"})
    if (const auto it = body.find(key); it != body.end())
      extra[key] = *it;
  if (extra.value("is_paused", false))
    extra["status"] = "PAUSED";
  if (const auto it = extra.find("concurrency_limit");
      it != extra.end() && !it->is_null())
    extra["active_slots"] = 0;
  event_list out;
  add_queue(world, *pool, name, body.value("description", json("")), priority,
            std::move(extra), out, env);
  return out;
}

std::expected<queue_resolution, events::rejection>
resolve_queue(const std::optional<std::string>& pool_name,
              const std::optional<std::string>& queue_name, pool_world& world,
              decision_env& env) {
  queue_resolution out;
  const bool has_pool = pool_name && !pool_name->empty();
  const bool has_queue = queue_name && !queue_name->empty();
  if (has_pool) {
    const json* pool = world.pool(*pool_name);
    if (!pool)
      return std::unexpected(events::rejection{
          events::rejection_code::unknown_work_pool, *pool_name});
    if (!has_queue) {
      out.linked = str(*pool, "default_queue_id");
      return out;
    }
    if (const json* q = world.queue(str(*pool, "id"), *queue_name)) {
      out.linked = str(*q, "id");
      return out;
    }
    const json pool_copy = *pool;
    out.linked = str(add_queue(world, pool_copy, *queue_name, "", std::nullopt,
                               json::object(), out.events, env),
                     "id");
    return out;
  }
  if (!has_queue)
    return out;
  // "Ensure queue exists" by name: default-agent-pool first, else any pool.
  const json* agent_pool = world.pool(default_agent_pool);
  if (agent_pool) {
    if (const json* q = world.queue(str(*agent_pool, "id"), *queue_name)) {
      out.linked = str(*q, "id");
      return out;
    }
  } else {
    for (const auto& q : world.queues)
      if (str(q, "name") == *queue_name) {
        out.linked = str(q, "id");
        return out;
      }
    json body = {{"name", default_agent_pool}, {"type", "prefect-agent"}};
    out.events = create_pool(body, world, env);
    agent_pool = world.pool(default_agent_pool);
    if (*queue_name == "default") {
      out.linked = str(*agent_pool, "default_queue_id");
      return out;
    }
  }
  const json pool_copy = *agent_pool;
  out.linked = str(add_queue(world, pool_copy, *queue_name, "", 1,
                             json::object(), out.events, env),
                   "id");
  return out;
}

job_variable_check check_job_variables(const json& pool,
                                       const json& job_variables,
                                       bool with_defaults,
                                       bool enforce_required) {
  job_variable_check out;
  const auto& tmpl = pool.value("base_job_template", json::object());
  const auto it = tmpl.find("variables");
  if (it == tmpl.end() || !it->is_object())
    return out;
  const json& variables = *it;
  if (auto problem = events::schema_problem(variables)) {
    out.result = job_variable_check::outcome::invalid_schema;
    out.message = *problem;
    return out;
  }
  json values = json::object();
  if (with_defaults)
    if (const auto props = variables.find("properties");
        props != variables.end() && props->is_object())
      for (const auto& [key, prop] : props->items())
        if (prop.is_object() && prop.contains("default"))
          values[key] = prop.at("default");
  if (job_variables.is_object())
    for (const auto& [key, value] : job_variables.items())
      values[key] = value;
  const auto check = events::check_parameters(
      events::preprocess_schema(variables, with_defaults), values,
      !enforce_required);
  if (check.result == events::parameter_check::outcome::valid)
    return out;
  out.result = job_variable_check::outcome::invalid;
  out.message = check.reason;
  constexpr std::string_view marker = "Failure reason: ";
  const auto at = check.reason.find(marker);
  out.reason = at == std::string::npos
                   ? check.reason
                   : check.reason.substr(at + marker.size());
  return out;
}

} // namespace deployd::actors
