#include "actors/event_feed.hpp"

#include "events/json_fields.hpp"
#include "events/json_writer.hpp"
#include "events/python/json_text.hpp"
#include "events/time.hpp"

#include <array>
#include <cctype>
#include <cstring>
#include <set>
#include <utility>

namespace deployd::actors {

namespace {

using events::json;
using events::prefect_event;
using events::resource_kind;
using storage::errc;
using storage::table;

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

using announced = std::vector<prefect_event>;
using result = std::expected<announced, errc>;

std::string u64_bytes(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

std::string text(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
}

json labels(std::initializer_list<std::pair<const char*, std::string>> list) {
  json out = json::object();
  for (const auto& [k, v] : list)
    out[k] = v;
  return out;
}

// An event with the envelope's time; id and follows are set by the caller.
prefect_event event_at(const fold_context& at, std::string name, json resource,
                       json related = json::array(),
                       json payload = json::object()) {
  prefect_event e;
  e.occurred = at.recorded_at;
  e.received = at.recorded_at;
  e.event = std::move(name);
  e.resource = std::move(resource);
  e.related = std::move(related);
  e.payload = std::move(payload);
  return e;
}

// `{"updated_fields": [...], "updates": {field: {from, to}}}` of the tracked
// fields in `changes` (stored name -> payload name); null when none moved.
json updates_payload(
    const json& changes,
    std::initializer_list<std::pair<const char*, const char*>> tracked) {
  json fields = json::array();
  json updates = json::object();
  for (const auto& [field, change] : changes.items())
    for (const auto& [stored, shown] : tracked)
      if (field == stored) {
        fields.push_back(shown);
        updates[shown] = change;
      }
  if (fields.empty())
    return nullptr;
  return json{{"updated_fields", std::move(fields)},
              {"updates", std::move(updates)}};
}

// -- related resources --------------------------------------------------------

// One resource's labels in order (keys are our own ASCII names). Documents
// are made of them only where an event takes the general path: a
// deployment's creation writes its feed rows straight from these.
using label_list = std::vector<std::pair<const char*, std::string>>;

json labels_json(const label_list& list) {
  json out = json::object();
  for (const auto& [k, v] : list)
    out[k] = v;
  return out;
}

label_list pool_label_list(const json& pool, bool with_role) {
  label_list out{{"prefect.resource.id", "prefect.work-pool." + text(pool, "id")},
                 {"prefect.resource.name", text(pool, "name")},
                 {"prefect.work-pool.type", text(pool, "type")}};
  if (with_role)
    out.emplace_back("prefect.resource.role", "work-pool");
  return out;
}

json pool_labels(const json& pool, bool with_role) {
  return labels_json(pool_label_list(pool, with_role));
}

label_list queue_label_list(const json& queue) {
  return {{"prefect.resource.id", "prefect.work-queue." + text(queue, "id")},
          {"prefect.resource.name", text(queue, "name")},
          {"prefect.resource.role", "work-queue"}};
}

json queue_labels(const json& queue) {
  return labels_json(queue_label_list(queue));
}

std::expected<std::optional<json>, errc> pool_of_queue(storage::reader& r,
                                                       const json& queue) {
  const auto pool_id = events::uuid::parse(text(queue, "work_pool_id"));
  if (!pool_id)
    return std::optional<json>{};
  return load_resource(r, resource_kind::work_pool, *pool_id);
}

// The related list of a deployment's events (deployments-api §14): flow,
// queue, pool, storage and infrastructure documents, concurrency limit.
std::expected<std::vector<label_list>, errc>
deployment_related_labels(storage::write_batch& b,
                          const events::deployment& d) {
  std::vector<label_list> related;
  auto flow = load_flow(b, d.flow_id);
  if (!flow)
    return std::unexpected(flow.error());
  if (*flow)
    related.push_back({{"prefect.resource.id", "prefect.flow." + d.flow_id.str()},
                       {"prefect.resource.name", std::move((*flow)->name)},
                       {"prefect.resource.role", "flow"}});
  if (d.work_queue_id) {
    auto queue = load_resource(b, resource_kind::work_queue, *d.work_queue_id);
    if (!queue)
      return std::unexpected(queue.error());
    if (*queue) {
      related.push_back(queue_label_list(**queue));
      auto pool = pool_of_queue(b, **queue);
      if (!pool)
        return std::unexpected(pool.error());
      if (*pool)
        related.push_back(pool_label_list(**pool, true));
    }
  }
  const std::array<std::pair<const std::optional<events::uuid>*, const char*>,
                   2>
      documents{{{&d.storage_document_id, "storage"},
                 {&d.infrastructure_document_id, "infrastructure"}}};
  for (const auto& [id, role] : documents)
    if (*id)
      related.push_back(
          {{"prefect.resource.id", "prefect.block-document." + (*id)->str()},
           {"prefect.resource.role", role}});
  if (d.concurrency_limit_id)
    related.push_back({{"prefect.resource.id",
                        "prefect.concurrency-limit." +
                            d.concurrency_limit_id->str()},
                       {"prefect.resource.role", "concurrency-limit"}});
  return related;
}

label_list deployment_resource_labels(const events::deployment& d) {
  return {{"prefect.resource.id", "prefect.deployment." + d.id.str()},
          {"prefect.resource.name", d.name}};
}

result deployment_event(storage::write_batch& b, const fold_context& at,
                        const events::deployment& d, const char* name,
                        json payload = json::object()) {
  auto related = deployment_related_labels(b, d);
  if (!related)
    return std::unexpected(related.error());
  json list = json::array();
  for (const auto& labels : *related)
    list.push_back(labels_json(labels));
  return announced{event_at(at, name,
                            labels_json(deployment_resource_labels(d)),
                            std::move(list), std::move(payload))};
}

result deployment_event(storage::write_batch& b, const fold_context& at,
                        const events::uuid& id, const char* name,
                        json payload = json::object()) {
  auto d = load_deployment(b, id);
  if (!d)
    return std::unexpected(d.error());
  if (!*d)
    return announced{};
  return deployment_event(b, at, **d, name, std::move(payload));
}

// `{"k":"v",...}`: what append_json writes for `labels_json(list)`.
void append_labels(std::string& out, const label_list& list) {
  out.push_back('{');
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    out.push_back('"');
    out.append(list[i].first);
    out += "\":";
    events::append_string(out, list[i].second);
  }
  out.push_back('}');
}

std::string_view label(const label_list& list, std::string_view key) {
  for (const auto& [k, v] : list)
    if (key == k)
      return v;
  return {};
}

// A deployment's creation announced without documents: the rows and bytes
// `announce` writes for `deployment_event(b, at, d, name)` (the id from the
// record, no `follows`, an empty payload), a sixth of a replay's fold.
std::expected<void, errc> announce_deployment(storage::write_batch& b,
                                              const fold_context& at,
                                              const events::deployment& d,
                                              std::string_view name,
                                              std::uint64_t& index) {
  auto related = deployment_related_labels(b, d);
  if (!related)
    return std::unexpected(related.error());
  const auto resource = deployment_resource_labels(d);
  const auto id = events::announced_event_id(
      at.command_id, at.position, static_cast<unsigned>(index), at.recorded_at);
  const auto key = event_key(at.recorded_at, feed_key(at.position, index));
  const auto time = events::format_timestamp(at.recorded_at);
  std::string out;
  out.reserve(1024);
  events::json_writer w(out);
  w.key("occurred").plain(time);
  w.key("event").value(name);
  w.key("resource");
  append_labels(out, resource);
  w.key("related");
  out.push_back('[');
  for (std::size_t i = 0; i < related->size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_labels(out, (*related)[i]);
  }
  out.push_back(']');
  w.key("payload");
  out += "{}";
  w.key("id").plain(id.str());
  w.key("follows").null();
  w.key("received").plain(time);
  w.close();
  // The rows put_event_rows writes, the same way (see there).
  b.put_unread(table::event_rows, key, out);
  b.put(table::event_ids, id_key(id), key);
  std::string row(label(resource, "prefect.resource.id"));
  row.push_back('\0');
  row.append(key);
  b.put_unread(table::event_resources, row, "");
  for (const auto& labels : *related) {
    row.assign(label(labels, "prefect.resource.id"));
    row.push_back('\0');
    row.append(key);
    b.put_unread(table::event_related, row,
                 label(labels, "prefect.resource.role"));
  }
  row.assign(name);
  row.push_back('\0');
  row.append(key);
  b.put_unread(table::event_names, row, "");
  b.put_unread(table::event_feed, feed_key_of(key), key);
  ++index;
  return {};
}

// -- flows (events-api §9.2) --------------------------------------------------

result flow_event(storage::write_batch& b, const fold_context& at,
                  const events::uuid& id, const char* name) {
  auto f = load_flow(b, id);
  if (!f)
    return std::unexpected(f.error());
  if (!*f)
    return announced{};
  const auto& flow = **f;
  return announced{event_at(
      at, name,
      labels({{"prefect.resource.id", "prefect.flow." + id.str()},
              {"prefect.resource.name", flow.name}}),
      json::array(),
      json{{"name", flow.name}, {"tags", flow.tags}, {"labels", flow.labels}})};
}

// -- work pools and queues (events-api §9.3, §9.4)
// ------------------------------

std::string kebab_status(const std::string& status) {
  std::string out;
  for (const char c : status)
    out.push_back(c == '_' ? '-'
                           : static_cast<char>(
                                 std::tolower(static_cast<unsigned char>(c))));
  return out;
}

json pool_created_related(const json& pool) {
  json related = json::array();
  if (const auto queue = text(pool, "default_queue_id"); !queue.empty())
    related.push_back(
        labels({{"prefect.resource.id", "prefect.work-queue." + queue},
                {"prefect.resource.role", "default-queue"}}));
  if (const auto storage = pool.find("storage_configuration");
      storage != pool.end() && storage->is_object())
    if (const auto block = text(*storage, "default_result_storage_block_id");
        !block.empty())
      related.push_back(
          labels({{"prefect.resource.id", "prefect.block-document." + block},
                  {"prefect.resource.role", "result-storage"}}));
  return related;
}

// A status event has no id of its own in the log: it is the record's
// (announced_event_id), and `follows` the pool's previous status event when
// that one is less than 10 minutes older (the reference's rule).
constexpr std::int64_t follows_window_micros = 10LL * 60 * 1'000'000;

prefect_event pool_status_event(const fold_context& at, const json& pool) {
  return event_at(at, "prefect.work-pool." + kebab_status(text(pool, "status")),
                  pool_labels(pool, false));
}

bool is_implicit_agent_pool(const json& pool) {
  // The `default-agent-pool` a deployment or queue creates on demand is made
  // inside the reference's model layer, which announces no pool.
  return text(pool, "name") == "default-agent-pool" &&
         text(pool, "type") == "prefect-agent";
}

json queue_related(storage::reader& r, const json& queue,
                   std::optional<errc>& failure) {
  json related = json::array();
  auto pool = pool_of_queue(r, queue);
  if (!pool)
    failure = pool.error();
  else if (*pool)
    related.push_back(pool_labels(**pool, true));
  return related;
}

// -- flow runs (events-api §9.5) -----------------------------------------------

/// The reference truncates state messages in events to this many characters.
constexpr std::size_t max_state_message = 100'000;
/// Related resources an event may carry (PREFECT_SERVER_EVENTS_MAXIMUM_RELATED_RESOURCES).
constexpr std::size_t max_related = 100;
/// `follows` links two states whose times are closer than this.
constexpr std::int64_t tight_timing_micros = 5 * 60 * 1'000'000LL;

// A state's timestamp as Python's `isoformat()` writes an aware UTC time.
std::string python_isoformat(events::timestamp t) {
  auto out = events::format_timestamp(t);
  out.pop_back(); // the `Z`
  return out + "+00:00";
}

// Truncated to a number of characters (code points), as Python slices.
std::string truncated(const std::string& message, std::size_t characters) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < message.size(); ++i)
    if ((static_cast<unsigned char>(message[i]) & 0xC0) != 0x80 &&
        seen++ == characters)
      return message.substr(0, i);
  return message;
}

std::string state_message(const json& state) {
  return truncated(text(state, "message"), max_state_message);
}

// `state_payload`: the type, then the name and message when set, and for a
// paused state whether it reschedules.
json state_payload(const json& state) {
  if (!state.is_object())
    return nullptr;
  json out = {{"type", text(state, "type")}};
  if (!text(state, "name").empty())
    out["name"] = text(state, "name");
  if (!state_message(state).empty())
    out["message"] = state_message(state);
  if (text(state, "type") == "PAUSED") {
    const auto details = state.find("state_details");
    const bool reschedule = details != state.end() && details->is_object() &&
                            details->value("pause_reschedule", false) == true;
    out["pause_reschedule"] = reschedule ? "true" : "false";
  }
  return out;
}

std::optional<events::timestamp> state_time(const json& state) {
  return state.is_object() ? events::parse_timestamp(text(state, "timestamp"))
                           : std::nullopt;
}

void add_tags(std::set<std::string>& tags, const json& list) {
  if (list.is_array())
    for (const auto& t : list)
      if (t.is_string())
        tags.insert(t.get<std::string>());
}

// The run's related resources: flow, deployment, work queue, work pool
// (id, role, name in that order), the tags of the run, its flow and its
// deployment (sorted, as many as fit), then who created it.
std::expected<json, errc> flow_run_related(storage::write_batch& b,
                                           const json& run) {
  json related = json::array();
  std::set<std::string> tags;
  add_tags(tags, run.value("tags", json::array()));
  const auto related_one = [](std::string id, const char* role,
                              std::string name) {
    return labels({{"prefect.resource.id", std::move(id)},
                   {"prefect.resource.role", role},
                   {"prefect.resource.name", std::move(name)}});
  };
  if (const auto flow_id = events::uuid::parse(text(run, "flow_id"))) {
    auto flow = load_flow(b, *flow_id);
    if (!flow)
      return std::unexpected(flow.error());
    if (*flow) {
      related.push_back(related_one("prefect.flow." + flow_id->str(), "flow",
                                    (*flow)->name));
      for (const auto& t : (*flow)->tags)
        tags.insert(t);
    }
  }
  if (const auto id = events::uuid::parse(text(run, "deployment_id"))) {
    auto d = load_deployment(b, *id);
    if (!d)
      return std::unexpected(d.error());
    if (*d) {
      related.push_back(related_one("prefect.deployment." + id->str(),
                                    "deployment", (*d)->name));
      for (const auto& t : (*d)->tags)
        tags.insert(t);
    }
  }
  if (const auto id = events::uuid::parse(text(run, "work_queue_id"))) {
    auto queue = load_resource(b, resource_kind::work_queue, *id);
    if (!queue)
      return std::unexpected(queue.error());
    if (*queue) {
      related.push_back(related_one("prefect.work-queue." + id->str(),
                                    "work-queue", text(**queue, "name")));
      auto pool = pool_of_queue(b, **queue);
      if (!pool)
        return std::unexpected(pool.error());
      if (*pool) {
        auto labels_of_pool =
            related_one("prefect.work-pool." + text(**pool, "id"), "work-pool",
                        text(**pool, "name"));
        labels_of_pool["prefect.work-pool.type"] = text(**pool, "type");
        related.push_back(std::move(labels_of_pool));
      }
    }
  }
  // (No task runs in deployd: a parent task run is never found.)
  const auto room = max_related > related.size() + 1
                        ? max_related - related.size() - 1
                        : 0;
  std::size_t added = 0;
  for (const auto& t : tags) {
    if (added++ == room)
      break;
    related.push_back(labels(
        {{"prefect.resource.id", "prefect.tag." + t},
         {"prefect.resource.role", "tag"}}));
  }
  const auto creator = run.find("created_by");
  if (creator != run.end() && creator->is_object()) {
    const auto type = text(*creator, "type");
    if (type == "DEPLOYMENT" || type == "AUTOMATION") {
      json labels_of_creator = labels(
          {{"prefect.resource.id",
            (type == "DEPLOYMENT" ? "prefect.deployment." : "prefect.automation.") +
                text(*creator, "id")},
           {"prefect.resource.role", "creator"}});
      if (!text(*creator, "display_value").empty())
        labels_of_creator["prefect.resource.name"] =
            text(*creator, "display_value");
      related.push_back(std::move(labels_of_creator));
    }
  }
  return related;
}

// `prefect.flow-run.<state name>` when a run got a state through
// orchestration: its creation with a state (but not a run the scheduler
// inserted), or a change of state. Its id is the new state's, its time the
// state's; `follows` is the state before when the two are close in time.
result flow_run_event(storage::write_batch& b, const fold_context& at,
                      const events::uuid& id, const json* changes) {
  const json* initial = nullptr;
  if (changes) {
    const auto state = changes->find("state");
    if (state == changes->end())
      return announced{};
    initial = &state->at("from");
  }
  auto loaded = load_resource(b, resource_kind::flow_run, id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return announced{};
  const json& run = **loaded;
  if (!changes && run.value("auto_scheduled", false) == true)
    return announced{};
  const auto state = run.find("state");
  if (state == run.end() || !state->is_object())
    return announced{};
  const auto state_id = events::uuid::parse(text(*state, "id"));
  const auto occurred = state_time(*state);
  if (!state_id || !occurred)
    return announced{};
  auto related = flow_run_related(b, run);
  if (!related)
    return std::unexpected(related.error());
  const auto name = text(*state, "name");
  json resource = labels(
      {{"prefect.resource.id", "prefect.flow-run." + id.str()},
       {"prefect.resource.name", text(run, "name")},
       {"prefect.run-count",
        std::to_string(run.value("run_count", std::int64_t{0}))},
       {"prefect.state-message", state_message(*state)},
       {"prefect.state-name", name},
       {"prefect.state-timestamp", python_isoformat(*occurred)},
       {"prefect.state-type", text(*state, "type")}});
  const bool has_initial = initial && initial->is_object();
  json payload = {
      {"intended",
       {{"from", has_initial ? json(text(*initial, "type")) : json(nullptr)},
        {"to", text(*state, "type")}}},
      {"initial_state", has_initial ? state_payload(*initial) : json(nullptr)},
      {"validated_state", state_payload(*state)}};
  auto e = event_at(at, "prefect.flow-run." + name, std::move(resource),
                    std::move(*related), std::move(payload));
  e.id = *state_id;
  e.occurred = *occurred;
  if (has_initial)
    if (const auto before = state_time(*initial);
        before && occurred->micros - before->micros < tight_timing_micros &&
        before->micros - occurred->micros < tight_timing_micros)
      e.follows = events::uuid::parse(text(*initial, "id"));
  return announced{std::move(e)};
}

// -- blocks and concurrency limits: the reference's lifecycle events
// (server/events/schemas/lifecycle.py) ---------------------------------------

json value_or_null(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it != doc.end() ? *it : json(nullptr);
}

prefect_event block_type_event(const fold_context& at, const events::uuid& id,
                               const json& doc, const char* verb) {
  json payload = json::object();
  payload["name"] = text(doc, "name");
  payload["slug"] = text(doc, "slug");
  for (const char* key :
       {"logo_url", "documentation_url", "description", "code_example"})
    payload[key] = value_or_null(doc, key);
  payload["is_protected"] = doc.value("is_protected", false);
  return event_at(at, std::string("prefect.block-type.") + verb,
                  labels({{"prefect.resource.id", "prefect.block-type." + id.str()},
                          {"prefect.resource.name", text(doc, "name")}}),
                  json::array(), std::move(payload));
}

// The payload carries the document's string values but its schema's secret
// fields; the related list its block type (named) and schema.
prefect_event block_document_event(const fold_context& at,
                                   const events::uuid& id, const json& doc,
                                   const char* verb) {
  const json empty = json::object();
  const auto schema_it = doc.find("block_schema");
  const json& schema =
      schema_it != doc.end() && schema_it->is_object() ? *schema_it : empty;
  std::set<std::string> secret;
  if (const auto fields = schema.find("fields");
      fields != schema.end() && fields->is_object())
    if (const auto list = fields->find("secret_fields");
        list != fields->end() && list->is_array())
      for (const auto& key : *list)
        if (key.is_string())
          secret.insert(key.get<std::string>());
  json data = json::object();
  if (const auto it = doc.find("data"); it != doc.end() && it->is_object())
    for (const auto& [key, value] : it->items())
      if (value.is_string() && !secret.contains(key))
        data[key] = value;
  const auto type_id = text(doc, "block_type_id");
  const auto type_name = text(doc, "block_type_name");
  json payload = json::object();
  payload["name"] = value_or_null(doc, "name");
  payload["data"] = std::move(data);
  payload["block_schema"] =
      json{{"capabilities", schema.contains("capabilities")
                                ? schema.at("capabilities")
                                : json::array()},
           {"block_type", {{"id", type_id}, {"name", type_name}}}};
  json type = labels({{"prefect.resource.id", "prefect.block-type." + type_id},
                      {"prefect.resource.role", "block-type"}});
  if (!type_name.empty())
    type["prefect.resource.name"] = type_name;
  json related = json::array(
      {std::move(type),
       labels({{"prefect.resource.id",
                "prefect.block-schema." + text(doc, "block_schema_id")},
               {"prefect.resource.role", "block-schema"}})});
  return event_at(
      at, std::string("prefect.block-document.") + verb,
      labels({{"prefect.resource.id", "prefect.block-document." + id.str()},
              {"prefect.resource.name", text(doc, "name")}}),
      std::move(related), std::move(payload));
}

// A global (v2) limit made, changed or deleted through
// /api/v2/concurrency_limits. The limit a deployment's `concurrency_limit`
// owns (`deployment:<id>`) is written by the reference without an event.
result limit_event(const events::concurrency_limit& limit, const fold_context& at,
                   const char* verb) {
  if (limit.name.starts_with("deployment:"))
    return announced{};
  return announced{event_at(
      at, std::string("prefect.concurrency-limit.") + verb,
      labels({{"prefect.resource.id",
               "prefect.concurrency-limit." + limit.id.str()},
              {"prefect.resource.name", limit.name}}),
      json::array(),
      json{{"name", limit.name},
           {"limit", limit.limit},
           {"active", limit.active},
           {"slot_decay_per_second", limit.slot_decay_per_second}})};
}

result limit_event(storage::write_batch& b, const fold_context& at,
                   const events::uuid& id, const char* verb) {
  auto limit = load_limit(b, id);
  if (!limit)
    return std::unexpected(limit.error());
  if (!*limit)
    return announced{};
  return limit_event(**limit, at, verb);
}

result resource_event(storage::write_batch& b, const fold_context& at,
                      resource_kind kind, const events::uuid& id,
                      const char* verb, const json* changes) {
  if (kind == resource_kind::flow_run)
    return std::string_view(verb) == "deleted"
               ? result{announced{}}
               : flow_run_event(b, at, id, changes);
  if (kind != resource_kind::work_pool && kind != resource_kind::work_queue &&
      kind != resource_kind::automation && kind != resource_kind::variable &&
      kind != resource_kind::block_type &&
      kind != resource_kind::block_document)
    return announced{};
  auto loaded = load_resource(b, kind, id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return announced{};
  const json& doc = **loaded;
  announced out;
  if (kind == resource_kind::variable) {
    // The reference's lifecycle events: the variable's post-state (its
    // state before a deletion), every write announced.
    const auto name = doc.value("name", std::string());
    out.push_back(event_at(
        at, std::string("prefect.variable.") + verb,
        labels({{"prefect.resource.id", "prefect.variable." + id.str()},
                {"prefect.resource.name", name}}),
        json::array(),
        json{{"name", name},
             {"value", value_or_null(doc, "value")},
             {"tags", doc.contains("tags") ? doc.at("tags") : json::array()}}));
    return out;
  }
  if (kind == resource_kind::block_type)
    return announced{block_type_event(at, id, doc, verb)};
  if (kind == resource_kind::block_document) {
    if (doc.value("is_anonymous", false))
      return out;
    return announced{block_document_event(at, id, doc, verb)};
  }
  if (kind == resource_kind::automation) {
    // workers-automations §3.7: the automation itself is the payload.
    out.push_back(event_at(
        at, std::string("prefect.automation.") + verb,
        json{{"prefect.resource.id", "prefect.automation." + id.str()},
             {"prefect.resource.name", doc.value("name", std::string())}},
        json::array(), doc));
    return out;
  }
  if (kind == resource_kind::work_pool) {
    const std::string name = std::string("prefect.work-pool.") + verb;
    if (std::string_view(verb) == "updated") {
      json payload = updates_payload(
          *changes, {{"description", "description"},
                     {"base_job_template", "base_job_template"},
                     {"concurrency_limit", "concurrency_limit"},
                     {"storage_configuration", "storage_configuration"}});
      if (!payload.is_null())
        out.push_back(event_at(at, name, pool_labels(doc, true), json::array(),
                               std::move(payload)));
      if (changes->contains("status") && doc.at("status").is_string())
        out.push_back(pool_status_event(at, doc));
      return out;
    }
    if (is_implicit_agent_pool(doc))
      return out;
    out.push_back(
        event_at(at, name, pool_labels(doc, true), pool_created_related(doc)));
    if (std::string_view(verb) == "created" && doc.contains("status") &&
        doc.at("status").is_string())
      out.push_back(pool_status_event(at, doc));
    return out;
  }
  std::optional<errc> failure;
  json related = queue_related(b, doc, failure);
  if (failure)
    return std::unexpected(*failure);
  json resource = queue_labels(doc);
  const std::string name = std::string("prefect.work-queue.") + verb;
  if (std::string_view(verb) != "updated") {
    out.push_back(event_at(at, name, std::move(resource), std::move(related)));
    return out;
  }
  // Priorities deployd changes only by shifting other queues when one is
  // created with a taken priority: the reference does that with a bulk
  // update that announces nothing, so `priority` is not tracked here.
  json payload =
      updates_payload(*changes, {{"name", "name"},
                                 {"description", "description"},
                                 {"concurrency_limit", "concurrency_limit"}});
  if (!payload.is_null())
    out.push_back(event_at(at, name, resource, related, std::move(payload)));
  if (changes->contains("status") && doc.at("status").is_string())
    out.push_back(
        event_at(at, "prefect.work-queue." + kebab_status(text(doc, "status")),
                 resource, related));
  return out;
}

// Which Prefect events `e` announces at `stage`.
result announcements(storage::write_batch& b, const events::any_event& e,
                     const fold_context& at, announce_stage stage) {
  const bool before = stage == announce_stage::before_fold;
  return std::visit(
      overloaded{
          // `announce` writes a creation's rows itself, from the event's
          // deployment (announce_deployment).
          [&](const events::deployment_created&) -> result {
            return announced{};
          },
          [&](const events::deployment_updated& x) -> result {
            if (before || x.quiet)
              return announced{};
            announced out;
            // deployments-api.md §14: a poll's READY and the foreman's
            // NOT_READY (only `status` and `last_polled` move then).
            if (const auto s = x.changes.find("status");
                s != x.changes.end() && s->is_object() &&
                s->value("to", json()).is_string()) {
              auto status = deployment_event(
                  b, at, x.id,
                  s->at("to") == "READY" ? "prefect.deployment.ready"
                                         : "prefect.deployment.not-ready");
              if (!status)
                return status;
              out = std::move(*status);
            }
            json payload = updates_payload(
                x.changes,
                {{"description", "description"},
                 {"tags", "tags"},
                 {"parameters", "parameters"},
                 {"parameter_openapi_schema", "parameter_openapi_schema"},
                 {"enforce_parameter_schema", "enforce_parameter_schema"},
                 {"entrypoint", "entrypoint"},
                 {"path", "path"},
                 {"pull_steps", "pull_steps"},
                 {"work_queue_id", "work_queue_id"},
                 {"job_variables", "infra_overrides"},
                 {"paused", "paused"},
                 {"labels", "labels"},
                 {"version", "version"},
                 {"concurrency_limit_id", "concurrency_limit_id"},
                 {"concurrency_options", "concurrency_options"}});
            if (payload.is_null())
              return out;
            auto updated = deployment_event(
                b, at, x.id, "prefect.deployment.updated", std::move(payload));
            if (!updated)
              return updated;
            for (auto& status_event : out)
              updated->push_back(std::move(status_event));
            return updated;
          },
          [&](const events::deployment_deleted& x) -> result {
            if (!before || x.quiet)
              return announced{};
            return deployment_event(b, at, x.id, "prefect.deployment.deleted");
          },
          [&](const events::flow_created& x) -> result {
            if (before)
              return announced{};
            return flow_event(b, at, x.value.id, "prefect.flow.created");
          },
          [&](const events::flow_updated& x) -> result {
            if (before)
              return announced{};
            return flow_event(b, at, x.id, "prefect.flow.updated");
          },
          [&](const events::flow_deleted& x) -> result {
            if (!before)
              return announced{};
            return flow_event(b, at, x.id, "prefect.flow.deleted");
          },
          [&](const events::resource_created& x) -> result {
            if (before)
              return announced{};
            // A run the scheduler inserted announces nothing
            // (flow_run_event); the row the fold just wrote is this
            // document's text, so it need not be read and parsed back.
            if (x.kind == resource_kind::flow_run)
              if (const auto it = x.value.find("auto_scheduled");
                  it != x.value.end() && *it == true)
                return announced{};
            return resource_event(b, at, x.kind,
                                  events::uuid_field(x.value, "id"), "created",
                                  nullptr);
          },
          [&](const events::resource_updated& x) -> result {
            if (before)
              return announced{};
            return resource_event(b, at, x.kind, x.id, "updated", &x.changes);
          },
          [&](const events::resource_deleted& x) -> result {
            if (!before || x.quiet)
              return announced{};
            return resource_event(b, at, x.kind, x.id, "deleted", nullptr);
          },
          [&](const events::concurrency_limit_created& x) -> result {
            if (before)
              return announced{};
            return limit_event(x.value, at, "created");
          },
          [&](const events::concurrency_limit_updated& x) -> result {
            if (before)
              return announced{};
            return limit_event(b, at, x.id, "updated");
          },
          [&](const events::concurrency_limit_deleted& x) -> result {
            if (!before || x.quiet)
              return announced{};
            return limit_event(b, at, x.id, "deleted");
          },
          // A deployment's limit resized, and workers: the reference's
          // workers announce nothing (workers-automations §2.2).
          [&](const auto&) -> result { return announced{}; },
      },
      e);
}

// The pool a status event is about, for the `follows` chain.
std::optional<events::uuid> status_pool(const prefect_event& e) {
  if (!e.event.starts_with("prefect.work-pool.") ||
      e.resource.contains("prefect.resource.role"))
    return std::nullopt;
  const auto id = events::resource_id(e.resource);
  return events::uuid::parse(std::string_view(id).substr(
      std::string_view("prefect.work-pool.").size()));
}

} // namespace

std::string feed_key(events::log_position position, std::uint64_t index) {
  return u64_bytes(position.value) + u64_bytes(index);
}

std::string event_key(events::timestamp occurred, std::string_view feed) {
  std::string key = order_bytes(occurred);
  key.append(feed);
  return key;
}

std::string_view event_key_of(std::string_view index_key) {
  return index_key.substr(index_key.size() - event_key_size);
}

std::string_view feed_key_of(std::string_view event_key) {
  return event_key.substr(8, feed_key_size);
}

events::timestamp occurred_of(std::string_view event_key) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) |
        static_cast<unsigned char>(event_key[static_cast<std::size_t>(i)]);
  return {static_cast<std::int64_t>(v ^ (1ULL << 63))};
}

void put_event_rows(storage::write_batch& b, std::string_view key,
                    const prefect_event& e, std::string_view rendered) {
  const std::string k(key);
  // Only queries and the hub read the feed's tables, from the database after
  // the commit; no decision reads them through the batch but `event_ids`
  // (a client event whose id is already known is dropped), so the rest skip
  // the batch's index (a skip-list insert per row, a sixth of a create's
  // writes).
  b.put_unread(table::event_rows, k, rendered);
  b.put(table::event_ids, id_key(e.id), k);
  b.put_unread(table::event_resources,
               events::resource_id(e.resource) + '\0' + k, "");
  for (const auto& r : e.related)
    if (const auto id = events::resource_id(r); !id.empty())
      b.put_unread(table::event_related, id + '\0' + k,
                   r.value("prefect.resource.role", std::string()));
  b.put_unread(table::event_names, e.event + '\0' + k, "");
  b.put_unread(table::event_feed, feed_key_of(k), k);
}

void erase_event_rows(storage::write_batch& b, std::string_view key,
                      const prefect_event& e) {
  const std::string k(key);
  b.del(table::event_rows, k);
  b.del(table::event_ids, id_key(e.id));
  b.del(table::event_resources, events::resource_id(e.resource) + '\0' + k);
  for (const auto& r : e.related)
    if (const auto id = events::resource_id(r); !id.empty())
      b.del(table::event_related, id + '\0' + k);
  b.del(table::event_names, e.event + '\0' + k);
  b.del(table::event_feed, feed_key_of(k));
}

std::expected<bool, errc> event_id_known(storage::reader& r,
                                         const events::uuid& id) {
  auto row = r.get(table::event_ids, id_key(id));
  if (!row)
    return std::unexpected(row.error());
  return row->has_value();
}

std::expected<void, errc>
announce_deployment_created(storage::write_batch& b, const fold_context& at,
                            const events::deployment& d, std::uint64_t& index) {
  return announce_deployment(b, at, d, "prefect.deployment.created", index);
}

std::expected<void, errc> announce(storage::write_batch& b,
                                   const events::any_event& e,
                                   const fold_context& at, announce_stage stage,
                                   std::uint64_t& index) {
  if (const auto* created = std::get_if<events::deployment_created>(&e);
      created && stage == announce_stage::after_fold)
    return announce_deployment_created(b, at, created->value, index);
  auto list = announcements(b, e, at, stage);
  if (!list)
    return std::unexpected(list.error());
  for (auto& ev : *list) {
    // Flow-run state events carry their state's id (events-api §9.5); the
    // rest get one derived from their record.
    if (ev.id.is_nil())
      ev.id = events::announced_event_id(at.command_id, at.position,
                                         static_cast<unsigned>(index),
                                         at.recorded_at);
    if (const auto pool = status_pool(ev)) {
      auto previous = b.get(table::event_status, id_key(*pool));
      if (!previous)
        return std::unexpected(previous.error());
      if (*previous && (*previous)->size() == 24) {
        const auto& prev = **previous;
        events::uuid prev_id;
        std::memcpy(prev_id.bytes.data(), prev.data(), 16);
        if (ev.occurred.micros -
                occurred_of(std::string_view(prev).substr(16)).micros <
            follows_window_micros)
          ev.follows = prev_id;
      }
      b.put(table::event_status, id_key(*pool),
            id_key(ev.id) + order_bytes(ev.occurred));
    }
    const auto key = event_key(ev.occurred, feed_key(at.position, index));
    put_event_rows(b, key, ev, events::render_event(ev));
    ++index;
  }
  // A deleted pool's status chain goes with it.
  if (const auto* deleted = std::get_if<events::resource_deleted>(&e);
      deleted && deleted->kind == resource_kind::work_pool &&
      stage == announce_stage::after_fold)
    b.del(table::event_status, id_key(deleted->id));
  return {};
}

} // namespace deployd::actors
