#include "events/deployment.hpp"

#include "events/stored_deployment.hpp"
#include "events/json_fields.hpp"
#include "events/json_writer.hpp"
#include "events/schedule.hpp"

#include <array>
#include <cstdlib>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace deployd::events {

namespace {

constexpr std::array<std::string_view, deployment_field_count> field_names = {
    "id",
    "created",
    "updated",
    "name",
    "version",
    "description",
    "flow_id",
    "paused",
    "schedules",
    "concurrency_limit_id",
    "concurrency_options",
    "job_variables",
    "parameters",
    "tags",
    "labels",
    "work_queue_name",
    "work_queue_id",
    "last_polled",
    "parameter_openapi_schema",
    "path",
    "pull_steps",
    "entrypoint",
    "storage_document_id",
    "infrastructure_document_id",
    "created_by",
    "updated_by",
    "status",
    "enforce_parameter_schema",
};

std::optional<uuid> uuid_or_null(const json& v) {
  if (v.is_null())
    return std::nullopt;
  auto id = v.is_string() ? uuid::parse(v.get_ref<const std::string&>())
                          : std::nullopt;
  if (!id)
    throw std::invalid_argument("malformed stored uuid " + v.dump());
  return id;
}

std::optional<std::string> string_or_null(const json& v) {
  if (v.is_null())
    return std::nullopt;
  return v.get<std::string>();
}

timestamp time_of(const json& v) {
  auto t = v.is_string() ? parse_timestamp(v.get_ref<const std::string&>())
                         : std::nullopt;
  if (!t)
    throw std::invalid_argument("malformed stored timestamp " + v.dump());
  return *t;
}

} // namespace

std::string_view field_name(deployment_field f) {
  return field_names[static_cast<std::size_t>(f)];
}

std::optional<deployment_field> deployment_field_named(std::string_view name) {
  for (std::size_t i = 0; i < field_names.size(); ++i)
    if (field_names[i] == name)
      return static_cast<deployment_field>(i);
  return std::nullopt;
}

json field_value(const deployment& d, deployment_field f) {
  using enum deployment_field;
  switch (f) {
  case id:
    return d.id.str();
  case created:
    return format_timestamp(d.created);
  case updated:
    return format_timestamp(d.updated);
  case name:
    return d.name;
  case version:
    return nullable(d.version);
  case description:
    return nullable(d.description);
  case flow_id:
    return d.flow_id.str();
  case paused:
    return d.paused;
  case schedules: {
    json out = json::array();
    for (const auto& s : d.schedules)
      out.push_back(to_json(s));
    return out;
  }
  case concurrency_limit_id:
    return nullable(d.concurrency_limit_id);
  case concurrency_options:
    return d.concurrency_options;
  case job_variables:
    return d.job_variables;
  case parameters:
    return d.parameters;
  case tags:
    return d.tags;
  case labels:
    return d.labels;
  case work_queue_name:
    return nullable(d.work_queue_name);
  case work_queue_id:
    return nullable(d.work_queue_id);
  case last_polled:
    return nullable(d.last_polled);
  case parameter_openapi_schema:
    return d.parameter_openapi_schema;
  case path:
    return nullable(d.path);
  case pull_steps:
    return d.pull_steps;
  case entrypoint:
    return nullable(d.entrypoint);
  case storage_document_id:
    return nullable(d.storage_document_id);
  case infrastructure_document_id:
    return nullable(d.infrastructure_document_id);
  case created_by:
    return d.created_by;
  case updated_by:
    return d.updated_by;
  case status:
    return d.status;
  case enforce_parameter_schema:
    return d.enforce_parameter_schema;
  }
  std::abort();
}

namespace {

// set_field for a document the caller may give up (`J` = json: its values
// are moved into the deployment, not copied).
template <class J>
void assign_field(deployment& d, deployment_field f, J&& v) {
  using enum deployment_field;
  switch (f) {
  case id:
    d.id = *uuid_or_null(v);
    return;
  case created:
    d.created = time_of(v);
    return;
  case updated:
    d.updated = time_of(v);
    return;
  case name:
    d.name = v.template get<std::string>();
    return;
  case version:
    d.version = string_or_null(v);
    return;
  case description:
    d.description = string_or_null(v);
    return;
  case flow_id:
    d.flow_id = *uuid_or_null(v);
    return;
  case paused:
    d.paused = v.template get<bool>();
    return;
  case schedules:
    d.schedules.clear();
    for (const auto& s : v)
      d.schedules.push_back(schedule_from_stored(s));
    return;
  case concurrency_limit_id:
    d.concurrency_limit_id = uuid_or_null(v);
    return;
  case concurrency_options:
    d.concurrency_options = std::forward<J>(v);
    return;
  case job_variables:
    d.job_variables = std::forward<J>(v);
    return;
  case parameters:
    d.parameters = std::forward<J>(v);
    return;
  case tags:
    d.tags = v.template get<std::vector<std::string>>();
    return;
  case labels:
    d.labels = std::forward<J>(v);
    return;
  case work_queue_name:
    d.work_queue_name = string_or_null(v);
    return;
  case work_queue_id:
    d.work_queue_id = uuid_or_null(v);
    return;
  case last_polled:
    d.last_polled =
        v.is_null() ? std::optional<timestamp>{} : std::optional{time_of(v)};
    return;
  case parameter_openapi_schema:
    d.parameter_openapi_schema = std::forward<J>(v);
    return;
  case path:
    d.path = string_or_null(v);
    return;
  case pull_steps:
    d.pull_steps = std::forward<J>(v);
    return;
  case entrypoint:
    d.entrypoint = string_or_null(v);
    return;
  case storage_document_id:
    d.storage_document_id = uuid_or_null(v);
    return;
  case infrastructure_document_id:
    d.infrastructure_document_id = uuid_or_null(v);
    return;
  case created_by:
    d.created_by = std::forward<J>(v);
    return;
  case updated_by:
    d.updated_by = std::forward<J>(v);
    return;
  case status:
    d.status = v.template get<std::string>();
    return;
  case enforce_parameter_schema:
    d.enforce_parameter_schema = v.template get<bool>();
    return;
  }
}

// deployment_from_json: each stored field found where to_json puts it (the
// same position), else by name.
template <class J>
deployment deployment_from(J&& j) {
  deployment d;
  const auto& items = static_cast<const json::object_t::Container&>(
      j.template get_ref<const json::object_t&>());
  for (std::size_t i = 0; i < deployment_field_count; ++i) {
    const auto f = static_cast<deployment_field>(i);
    const auto name = field_name(f);
    const json* v = nullptr;
    if (i < items.size() && items[i].first == name) {
      v = &items[i].second;
    } else {
      const auto it = j.find(name);
      if (it == j.end())
        throw std::invalid_argument("stored deployment lacks '" +
                                    std::string(name) + "'");
      v = &*it;
    }
    if constexpr (std::is_const_v<std::remove_reference_t<J>> ||
                  std::is_lvalue_reference_v<J>)
      assign_field(d, f, *v);
    else
      assign_field(d, f, std::move(*const_cast<json*>(v)));
  }
  return d;
}

} // namespace

void set_field(deployment& d, deployment_field f, const json& v) {
  assign_field(d, f, v);
}

json to_json(const deployment& d) {
  json j = json::object();
  for (std::size_t i = 0; i < deployment_field_count; ++i) {
    const auto f = static_cast<deployment_field>(i);
    j[std::string(field_name(f))] = field_value(d, f);
  }
  return j;
}

deployment deployment_from_json(const json& j) {
  return deployment_from(j);
}

deployment deployment_from_json(json&& j) {
  return deployment_from(std::move(j));
}

json to_json(const deployment_schedule& s) {
  json j = json::object();
  j["id"] = s.id.str();
  j["created"] = format_timestamp(s.created);
  j["updated"] = format_timestamp(s.updated);
  j["deployment_id"] = s.deployment_id.str();
  j["schedule"] = s.schedule;
  j["active"] = s.active;
  j["max_scheduled_runs"] = nullable(s.max_scheduled_runs);
  j["parameters"] = s.parameters;
  j["slug"] = nullable(s.slug);
  return j;
}

json schedule_response(const deployment_schedule& s) {
  json j = to_json(s);
  j["schedule"] = schedule_response(s.schedule);
  return j;
}

json schedules_response(const json& stored) {
  json out = json::array();
  for (const auto& s : stored) {
    json item = s;
    if (const auto it = item.find("schedule"); it != item.end())
      *it = schedule_response(*it);
    out.push_back(std::move(item));
  }
  return out;
}

deployment_schedule schedule_from_stored(const json& j) {
  deployment_schedule s;
  s.id = uuid_field(j, "id");
  s.created = timestamp_field(j, "created");
  s.updated = timestamp_field(j, "updated");
  s.deployment_id = uuid_field(j, "deployment_id");
  s.schedule = j.at("schedule");
  s.active = j.at("active").get<bool>();
  const auto& max_runs = j.at("max_scheduled_runs");
  if (!max_runs.is_null())
    s.max_scheduled_runs = max_runs.get<std::int64_t>();
  s.parameters = j.at("parameters");
  s.slug = optional_string_field(j, "slug");
  return s;
}

json deployment_response(const deployment& d, const deployment_links& links) {
  json j = json::object();
  j["id"] = d.id.str();
  j["created"] = format_timestamp(d.created);
  j["updated"] = format_timestamp(d.updated);
  j["name"] = d.name;
  j["version"] = nullable(d.version);
  j["description"] = nullable(d.description);
  j["flow_id"] = d.flow_id.str();
  j["paused"] = d.paused;
  j["schedules"] = json::array();
  for (const auto& s : d.schedules)
    j["schedules"].push_back(schedule_response(s));
  j["concurrency_limit"] = nullptr;
  j["global_concurrency_limit"] =
      links.limit ? deployment_view_of(*links.limit) : json(nullptr);
  j["concurrency_options"] = d.concurrency_options;
  j["job_variables"] = d.job_variables;
  j["parameters"] = d.parameters;
  j["tags"] = d.tags;
  j["labels"] = d.labels;
  j["work_queue_name"] =
      links.queue_name ? json(*links.queue_name) : nullable(d.work_queue_name);
  j["work_queue_id"] = nullable(d.work_queue_id);
  j["last_polled"] = nullable(d.last_polled);
  j["parameter_openapi_schema"] = d.parameter_openapi_schema;
  j["path"] = nullable(d.path);
  j["pull_steps"] = d.pull_steps;
  j["entrypoint"] = nullable(d.entrypoint);
  j["storage_document_id"] = nullable(d.storage_document_id);
  j["infrastructure_document_id"] = nullable(d.infrastructure_document_id);
  j["created_by"] = d.created_by;
  j["updated_by"] = d.updated_by;
  j["work_pool_name"] = nullable(links.pool_name);
  j["status"] = d.status;
  j["enforce_parameter_schema"] = d.enforce_parameter_schema;
  return j;
}


namespace {

// Where a deployment's JSON members come from when written: the struct, or
// (`stored` set) the stored text they were read from.
struct member_source {
  const stored_deployment* stored = nullptr;
  std::string_view text;

  // Appends JSON member `slot` (its index in `stored_deployment::members`),
  // `value` in the struct.
  void append(std::string& out, json_writer& w, std::size_t slot,
              const json& value) const {
    if (!stored) {
      w.value(value);
      return;
    }
    const auto [offset, length] = stored->members[slot];
    out.append(text.substr(offset, length));
  }
};

// The stored form (`links` null: `to_json(d)` dumped) or the response
// (`deployment_response(d, *links)` dumped), field by field: the two share
// every field but the limit and the pool, in the same order.
std::string write_deployment(const deployment& d,
                             const deployment_links* links,
                             const member_source& members = {}) {
  std::string out;
  out.reserve(members.stored ? members.text.size() + 256 : 1024);
  json_writer w(out);
  w.key("id").plain(d.id.str());
  w.key("created").plain(format_timestamp(d.created));
  w.key("updated").plain(format_timestamp(d.updated));
  w.key("name").value(std::string_view(d.name));
  w.key("version").optional(d.version);
  w.key("description").optional(d.description);
  w.key("flow_id").plain(d.flow_id.str());
  w.key("paused").value(d.paused);
  w.key("schedules");
  if (d.schedules.empty()) {
    out += "[]";
  } else if (links) {
    out.push_back('[');
    for (std::size_t i = 0; i < d.schedules.size(); ++i) {
      if (i > 0)
        out.push_back(',');
      w.value(schedule_response(d.schedules[i]));
    }
    out.push_back(']');
  } else {
    w.value(field_value(d, deployment_field::schedules));
  }
  if (links) {
    w.key("concurrency_limit").null();
    w.key("global_concurrency_limit");
    if (links->limit)
      w.value(deployment_view_of(*links->limit));
    else
      w.null();
  } else {
    w.key("concurrency_limit_id").optional(d.concurrency_limit_id);
  }
  members.append(out, w.key("concurrency_options"), 0, d.concurrency_options);
  members.append(out, w.key("job_variables"), 1, d.job_variables);
  members.append(out, w.key("parameters"), 2, d.parameters);
  w.key("tags").strings(d.tags);
  members.append(out, w.key("labels"), 3, d.labels);
  w.key("work_queue_name")
      .optional(links && links->queue_name ? links->queue_name
                                           : d.work_queue_name);
  w.key("work_queue_id").optional(d.work_queue_id);
  w.key("last_polled").optional(d.last_polled);
  members.append(out, w.key("parameter_openapi_schema"), 4,
                 d.parameter_openapi_schema);
  w.key("path").optional(d.path);
  members.append(out, w.key("pull_steps"), 5, d.pull_steps);
  w.key("entrypoint").optional(d.entrypoint);
  w.key("storage_document_id").optional(d.storage_document_id);
  w.key("infrastructure_document_id").optional(d.infrastructure_document_id);
  members.append(out, w.key("created_by"), 6, d.created_by);
  members.append(out, w.key("updated_by"), 7, d.updated_by);
  if (links)
    w.key("work_pool_name").optional(links->pool_name);
  w.key("status").value(std::string_view(d.status));
  w.key("enforce_parameter_schema").value(d.enforce_parameter_schema);
  w.close();
  return out;
}

} // namespace

// The same bytes as `deployment_response(d, links).dump(...)`, without
// building (and deep-copying into) the response document: this runs for
// every deployment write and every replayed deployment event.
std::string render_deployment(const deployment& d,
                              const deployment_links& links) {
  return write_deployment(d, &links);
}

std::string render_deployment(const stored_deployment& stored,
                              std::string_view text,
                              const deployment_links& links) {
  return write_deployment(stored.value, &links, member_source{&stored, text});
}

std::string stored_text(const deployment& d) {
  return write_deployment(d, nullptr);
}

json diff(const deployment& before, const deployment& after) {
  json changes = json::object();
  for (std::size_t i = 0; i < deployment_field_count; ++i) {
    const auto f = static_cast<deployment_field>(i);
    json from = field_value(before, f);
    json to = field_value(after, f);
    if (from != to)
      changes[std::string(field_name(f))] =
          json{{"from", std::move(from)}, {"to", std::move(to)}};
  }
  return changes;
}

void apply_changes(deployment& d, const json& changes) {
  for (const auto& [key, change] : changes.items()) {
    const auto f = deployment_field_named(key);
    if (!f)
      throw std::invalid_argument("unknown deployment field '" + key + "'");
    set_field(d, *f, change.at("to"));
  }
}

std::string to_string(const create_deployment& c) {
  return "create_deployment{flow_id=" + c.flow_id.str() + ", name=" + c.name +
         "}";
}

std::string to_string(const deployment_created& e) {
  return "deployment_created{id=" + e.value.id.str() +
         ", name=" + e.value.name + "}";
}

std::string to_string(const deployment_updated& e) {
  std::string fields;
  for (const auto& [key, change] : e.changes.items()) {
    if (!fields.empty())
      fields += ",";
    fields += key;
  }
  return "deployment_updated{id=" + e.id.str() + ", fields=" + fields + "}";
}

} // namespace deployd::events
