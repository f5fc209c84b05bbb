#include "actors/command_codec.hpp"

#include "events/json.hpp"
#include "events/python/json_text.hpp"

#include <array>
#include <type_traits>

namespace deployd::actors {

namespace {

using events::json;

// -- the fields of each command ------------------------------------------------
// One `fields` per struct names every member once; the encoder and the
// decoder both walk it, so the two directions cannot disagree.

template <class F>
void fields(F& f, events::schedule_input& x) {
  f("schedule", x.schedule);
  f("active", x.active);
  f("parameters", x.parameters);
  f("slug", x.slug);
  f("max_scheduled_runs", x.max_scheduled_runs);
}
template <class F>
void fields(F& f, events::schedule_update_input& x) {
  f("schedule", x.schedule);
  f("active", x.active);
  f("max_scheduled_runs", x.max_scheduled_runs);
  f("parameters", x.parameters);
  f("slug", x.slug);
  f("replaces", x.replaces);
}
template <class F>
void fields(F& f, events::create_flow& x) {
  f("name", x.name);
  f("tags", x.tags);
  f("labels", x.labels);
}
template <class F>
void fields(F& f, events::update_flow& x) {
  f("id", x.id);
  f("tags", x.tags);
}
template <class F>
void fields(F& f, events::delete_flow& x) {
  f("id", x.id);
}
template <class F>
void fields(F& f, events::bulk_delete_flows& x) {
  f("filter", x.filter);
  f("limit", x.limit);
}
template <class F>
void fields(F& f, events::create_deployment& x) {
  f("name", x.name);
  f("flow_id", x.flow_id);
  f("paused", x.paused);
  f("schedules", x.schedules);
  f("concurrency_limit", x.concurrency_limit);
  f("concurrency_options", x.concurrency_options);
  f("global_concurrency_limit_id", x.global_concurrency_limit_id);
  f("enforce_parameter_schema", x.enforce_parameter_schema);
  f("parameter_openapi_schema", x.parameter_openapi_schema);
  f("parameters", x.parameters);
  f("tags", x.tags);
  f("labels", x.labels);
  f("pull_steps", x.pull_steps);
  f("work_queue_name", x.work_queue_name);
  f("work_pool_name", x.work_pool_name);
  f("storage_document_id", x.storage_document_id);
  f("infrastructure_document_id", x.infrastructure_document_id);
  f("description", x.description);
  f("path", x.path);
  f("version", x.version);
  f("entrypoint", x.entrypoint);
  f("job_variables", x.job_variables);
}
template <class F>
void fields(F& f, events::update_deployment& x) {
  f("id", x.id);
  f("version", x.version);
  f("description", x.description);
  f("paused", x.paused);
  f("schedules", x.schedules);
  f("concurrency_limit", x.concurrency_limit);
  f("concurrency_options", x.concurrency_options);
  f("global_concurrency_limit_id", x.global_concurrency_limit_id);
  f("parameters", x.parameters);
  f("parameter_openapi_schema", x.parameter_openapi_schema);
  f("tags", x.tags);
  f("work_queue_name", x.work_queue_name);
  f("work_pool_name", x.work_pool_name);
  f("path", x.path);
  f("job_variables", x.job_variables);
  f("pull_steps", x.pull_steps);
  f("entrypoint", x.entrypoint);
  f("storage_document_id", x.storage_document_id);
  f("infrastructure_document_id", x.infrastructure_document_id);
  f("enforce_parameter_schema", x.enforce_parameter_schema);
  f("hydration_error", x.hydration_error);
}
template <class F>
void fields(F& f, events::set_deployment_paused& x) {
  f("id", x.id);
  f("paused", x.paused);
}
template <class F>
void fields(F& f, events::delete_deployment& x) {
  f("id", x.id);
}
template <class F>
void fields(F& f, events::bulk_delete_deployments& x) {
  f("filter", x.filter);
  f("limit", x.limit);
}
template <class F>
void fields(F& f, events::create_schedules& x) {
  f("deployment_id", x.deployment_id);
  f("schedules", x.schedules);
}
template <class F>
void fields(F& f, events::update_schedule& x) {
  f("deployment_id", x.deployment_id);
  f("schedule_id", x.schedule_id);
  f("changes", x.changes);
}
template <class F>
void fields(F& f, events::delete_schedule& x) {
  f("deployment_id", x.deployment_id);
  f("schedule_id", x.schedule_id);
}
// Resource commands: a body, sometimes a name, id or pool.
template <class F, class T>
  requires requires(T t) { t.body; }
void fields(F& f, T& x) {
  if constexpr (requires { x.name; })
    f("name", x.name);
  if constexpr (requires { x.id; })
    f("id", x.id);
  if constexpr (requires { x.pool; })
    f("pool", x.pool);
  if constexpr (requires { x.id_or_name; })
    f("id_or_name", x.id_or_name);
  f("body", x.body);
}
template <class F>
void fields(F& f, events::delete_work_pool& x) {
  f("name", x.name);
}
template <class F>
void fields(F& f, events::delete_concurrency_limit& x) {
  f("id_or_name", x.id_or_name);
}
template <class F>
void fields(F& f, events::delete_block_document& x) {
  f("id", x.id);
}
template <class F>
void fields(F& f, events::delete_block_type& x) {
  f("id", x.id);
}
template <class F>
void fields(F& f, events::record_worker_heartbeat& x) {
  f("pool", x.pool);
  f("name", x.name);
  f("heartbeat_interval_seconds", x.heartbeat_interval_seconds);
}
template <class F>
void fields(F& f, events::delete_worker& x) {
  f("pool", x.pool);
  f("name", x.name);
}
template <class F>
void fields(F& f, events::sweep_workers& x) {
  f("inactivity_heartbeat_multiple", x.inactivity_heartbeat_multiple);
  f("fallback_heartbeat_interval_seconds",
    x.fallback_heartbeat_interval_seconds);
  f("deployment_last_polled_timeout_micros",
    x.deployment_last_polled_timeout_micros);
  f("work_queue_last_polled_timeout_micros",
    x.work_queue_last_polled_timeout_micros);
}

template <class F>
void fields(F& f, events::delete_variable& x) {
  f("id", x.id);
  f("name", x.name);
}
// Client events travel as their ReceivedEvent JSON (`received` is stamped
// by the leader's writer).
struct client_event_list {
  std::vector<events::prefect_event>& events;
};
template <class F>
void fields(F& f, events::record_client_events& x) {
  client_event_list list{x.events};
  f("events", list);
}
template <class F>
void fields(F& f, events::expire_client_events& x) {
  f("retention_seconds", x.retention_seconds);
}

template <class F>
void fields(F& f, events::create_flow_run& x) {
  f("deployment_id", x.deployment_id);
  f("body", x.body);
}
template <class F>
void fields(F& f, events::create_flow_runs_bulk& x) {
  f("deployment_id", x.deployment_id);
  f("items", x.items);
}
template <class F>
void fields(F& f, events::delete_flow_run& x) {
  f("id", x.id);
}
template <class F>
void fields(F& f, events::set_flow_run_state& x) {
  f("id", x.id);
  f("state", x.state);
  f("force", x.force);
}
template <class F>
void fields(F& f, events::record_poll& x) {
  f("deployment_ids", x.deployment_ids);
  f("queue_ids", x.queue_ids);
}

template <class F>
void fields(F& f, events::delete_automation& x) {
  f("id", x.id);
}
template <class F>
void fields(F& f, events::delete_automations_owned_by& x) {
  f("resource_id", x.resource_id);
}
template <class F>
void fields(F& f, events::schedule_window& x) {
  f("start_time", x.start_time);
  f("end_time", x.end_time);
  f("min_time_micros", x.min_time_micros);
  f("min_runs", x.min_runs);
  f("max_runs", x.max_runs);
  f("max_scheduled_micros", x.max_scheduled_micros);
}
template <class F>
void fields(F& f, events::schedule_flow_runs& x) {
  f("deployment_id", x.deployment_id);
  f("window", x.window);
}
template <class F>
void fields(F& f, events::schedule_due_runs& x) {
  f("after", x.after);
  f("recent_micros", x.recent_micros);
  f("batch_size", x.batch_size);
  f("insert_batch_size", x.insert_batch_size);
  f("window", x.window);
}
template <class F>
void fields(F& f, events::mark_late_runs& x) {
  f("after_micros", x.after_micros);
  f("limit", x.limit);
}
template <class F>
void fields(F& f, events::expire_idempotency_keys& x) {
  f("retention_seconds", x.retention_seconds);
  f("max", x.max);
}

// Stable names of the alternatives of `command`, in variant order. A new
// command fails the static_assert until it is named here and given `fields`.
constexpr std::array command_names = {
  "create_flow",
  "update_flow",
  "delete_flow",
  "bulk_delete_flows",
  "create_deployment",
  "update_deployment",
  "set_deployment_paused",
  "delete_deployment",
  "bulk_delete_deployments",
  "create_schedules",
  "update_schedule",
  "delete_schedule",
  "create_work_pool",
  "update_work_pool",
  "delete_work_pool",
  "create_work_queue",
  "create_concurrency_limit",
  "update_concurrency_limit",
  "delete_concurrency_limit",
  "create_block_type",
  "update_block_type",
  "create_block_schema",
  "create_block_document",
  "delete_block_document",
  "record_worker_heartbeat",
  "delete_worker",
  "sweep_workers",
  "create_variable",
  "update_variable",
  "delete_variable",
  "create_flow_run",
  "create_flow_runs_bulk",
  "update_flow_run",
  "delete_flow_run",
  "set_flow_run_state",
  "record_poll",
  "record_client_events",
  "expire_client_events",
  "create_automation",
  "replace_automation",
  "patch_automation",
  "delete_automation",
  "delete_automations_owned_by",
  "schedule_flow_runs",
  "schedule_due_runs",
  "mark_late_runs",
  "expire_idempotency_keys",
  "update_block_document",
  "delete_block_type",
};
static_assert(command_names.size() == std::variant_size_v<command>,
              "name every command (and give it `fields`)");

// -- values --------------------------------------------------------------------
// `std::optional` and `nullable_input` become arrays so that "absent",
// "null" and "a null JSON value" stay three different things.


template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_nullable : std::false_type {};
template <class T>
struct is_nullable<events::nullable_input<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
json to_value(const T& v);
template <class T>
void from_value(const json& j, T& v);

struct writer {
  json& out;
  template <class T>
  void operator()(const char* name, const T& v) {
    out[name] = to_value(v);
  }
};

struct reader {
  const json& in;
  template <class T>
  void operator()(const char* name, T& v) {
    from_value(in.at(name), v);
  }
};

template <class T>
json to_value(const T& v) {
  if constexpr (std::is_same_v<T, json>) {
    return v;
  } else if constexpr (std::is_same_v<T, client_event_list>) {
    json out = json::array();
    for (const auto& e : v.events)
      out.push_back(events::to_json(e));
    return out;
  } else if constexpr (std::is_same_v<T, events::uuid>) {
    return v.str();
  } else if constexpr (std::is_same_v<T, std::string> ||
                       std::is_same_v<T, bool> ||
                       std::is_same_v<T, std::int64_t>) {
    return json(v);
  } else if constexpr (is_optional<T>::value) {
    json out = json::array();
    if (v)
      out.push_back(to_value(*v));
    return out;
  } else if constexpr (is_nullable<T>::value) {
    json out = json::array();
    if (v.present)
      out.push_back(v.value ? json::array({to_value(*v.value)}) : json::array());
    return out;
  } else if constexpr (is_vector<T>::value) {
    json out = json::array();
    for (const auto& item : v)
      out.push_back(to_value(item));
    return out;
  } else {
    json out = json::object();
    writer w{out};
    fields(w, const_cast<T&>(v));
    return out;
  }
}

// Throws (nlohmann or std::invalid_argument) on a malformed value; the
// caller turns that into "not a command".
template <class T>
void from_value(const json& j, T& v) {
  if constexpr (std::is_same_v<T, json>) {
    v = j;
  } else if constexpr (std::is_same_v<T, client_event_list>) {
    v.events.clear();
    for (const auto& item : j)
      v.events.push_back(events::prefect_event_from_json(item));
  } else if constexpr (std::is_same_v<T, events::uuid>) {
    auto id = events::uuid::parse(j.get<std::string>());
    if (!id)
      throw std::invalid_argument("uuid");
    v = *id;
  } else if constexpr (std::is_same_v<T, std::string> ||
                       std::is_same_v<T, bool> ||
                       std::is_same_v<T, std::int64_t>) {
    v = j.get<T>();
  } else if constexpr (is_optional<T>::value) {
    // Built aside and moved in: GCC 12 takes an emplaced optional vector
    // for "maybe uninitialized".
    if (j.empty()) {
      v = std::nullopt;
    } else {
      typename T::value_type inner{};
      from_value(j.at(0), inner);
      v = std::move(inner);
    }
  } else if constexpr (is_nullable<T>::value) {
    v = {};
    if (!j.empty()) {
      v.present = true;
      from_value(j.at(0), v.value);
    }
  } else if constexpr (is_vector<T>::value) {
    v.clear();
    for (const auto& item : j) {
      v.emplace_back();
      from_value(item, v.back());
    }
  } else {
    reader r{j};
    fields(r, v);
  }
}

template <std::size_t I = 0>
std::optional<command> decode_alternative(std::string_view name,
                                          const json& body) {
  if constexpr (I == std::variant_size_v<command>) {
    return std::nullopt;
  } else {
    if (name != command_names[I])
      return decode_alternative<I + 1>(name, body);
    std::variant_alternative_t<I, command> cmd{};
    from_value(body, cmd);
    return command(std::in_place_index<I>, std::move(cmd));
  }
}

json tags_value(const tag_condition& t) {
  return json{{"any", t.any}, {"versions", t.versions}, {"others", t.others}};
}

tag_condition tags_from(const json& j) {
  tag_condition t;
  t.any = j.at("any").get<bool>();
  t.versions = j.at("versions").get<std::vector<std::uint64_t>>();
  t.others = j.at("others").get<bool>();
  return t;
}

} // namespace

std::string encode_command(const command& cmd, const events::uuid& command_id) {
  return encode_write(cmd, command_id, {});
}

std::optional<std::pair<command, events::uuid>>
decode_command(std::string_view bytes) {
  auto w = decode_write(bytes);
  if (!w)
    return std::nullopt;
  return std::pair{std::move(w->cmd), w->command_id};
}

std::string encode_write(const command& cmd, const events::uuid& command_id,
                         const write_conditions& conditions) {
  json out = json::object();
  out["command"] = command_names[cmd.index()];
  out["id"] = command_id.str();
  out["body"] = std::visit([](const auto& c) { return to_value(c); }, cmd);
  if (conditions != write_conditions{}) {
    json c = json::object();
    if (conditions.if_match)
      c["if_match"] = tags_value(*conditions.if_match);
    if (conditions.if_none_match)
      c["if_none_match"] = tags_value(*conditions.if_none_match);
    c["idempotency_key"] = conditions.idempotency_key;
    c["request_hash"] = conditions.request_hash;
    out["conditions"] = std::move(c);
  }
  // Big integers and floats exactly as parsed (events/python/json_text).
  return events::dump_json(out);
}

std::optional<decoded_write> decode_write(std::string_view bytes) {
  try {
    const auto j = events::parse_json(bytes);
    auto id = events::uuid::parse(j.at("id").get<std::string>());
    auto cmd =
      decode_alternative(j.at("command").get<std::string>(), j.at("body"));
    if (!id || !cmd)
      return std::nullopt;
    decoded_write w{std::move(*cmd), *id, {}};
    if (const auto it = j.find("conditions"); it != j.end()) {
      const auto& c = *it;
      if (c.contains("if_match"))
        w.conditions.if_match = tags_from(c.at("if_match"));
      if (c.contains("if_none_match"))
        w.conditions.if_none_match = tags_from(c.at("if_none_match"));
      w.conditions.idempotency_key = c.at("idempotency_key").get<std::string>();
      w.conditions.request_hash = c.at("request_hash").get<std::string>();
    }
    return w;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string encode_result(const command_result& r) {
  json out = json::object();
  out["outcome"] = static_cast<int>(r.result);
  out["created"] = r.created;
  out["body"] = r.body;
  out["reason"] = static_cast<int>(r.reason.code);
  out["subject"] = r.reason.subject;
  out["failure"] = static_cast<int>(r.failure);
  out["position"] = r.position.value;
  out["replayed"] = r.replayed;
  out["key_expires"] = r.key_expires;
  return events::dump_json(out);
}

std::optional<command_result> decode_result(std::string_view bytes) {
  try {
    const auto j = events::parse_json(bytes);
    command_result r;
    const auto outcome = j.at("outcome").get<int>();
    if (outcome < 0 || outcome > 2)
      return std::nullopt;
    r.result = static_cast<command_result::outcome>(outcome);
    r.created = j.at("created").get<bool>();
    r.body = j.at("body").get<std::string>();
    r.reason.code =
      static_cast<events::rejection_code>(j.at("reason").get<int>());
    r.reason.subject = j.at("subject").get<std::string>();
    r.failure = static_cast<storage::errc>(j.at("failure").get<int>());
    r.position.value = j.at("position").get<std::uint64_t>();
    r.replayed = j.value("replayed", false);
    r.key_expires = j.value("key_expires", std::int64_t{0});
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace deployd::actors
