// Command handlers for work pools, work queues, v2 concurrency limits and
// blocks.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "actors/work_pools.hpp"
#include "actors/workers.hpp"
#include "events/checksum.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>
#include <vector>

namespace deployd::actors {

using events::json;
using events::resource_kind;
using storage::errc;
using storage::table;

namespace {

std::string dump(const json& j) {
  return events::dump_json(j);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

events::rejection reject(events::rejection_code code, std::string detail) {
  return {code, std::move(detail)};
}

// Applies the events of a creation and answers 201 with `body`.
command_result apply_created(event_list events, storage::write_batch& b,
                             decision_env& env, const events::uuid& command_id,
                             std::string body) {
  auto r = apply(std::move(events), b, env, command_id, std::move(body));
  r.created = true;
  return r;
}

// Creates one JSON-document resource and answers 201 with it.
command_result create_document(resource_kind kind, const json& doc,
                               storage::write_batch& b, decision_env& env,
                               const events::uuid& command_id) {
  return apply_created(event_list{events::resource_created{kind, doc}}, b, env,
                       command_id, dump(doc));
}

std::string pool_not_found(const std::string& name) {
  return "Work pool \"" + name + "\" not found.";
}

std::string name_key(resource_kind kind, const json& doc) {
  return resource_name_key(kind, doc);
}

std::expected<std::optional<json>, errc> pool_named(storage::reader& r,
                                                    const std::string& name) {
  return find_pool(r, name);
}

// -- concurrency limits
// ----------------------------------------------------------

std::expected<std::optional<events::concurrency_limit>, errc>
limit_by_id_or_name(storage::write_batch& b, const std::string& id_or_name) {
  if (auto id = events::uuid::parse(id_or_name))
    return load_limit(b, *id);
  auto id = b.get(table::limit_names, id_or_name);
  if (!id)
    return std::unexpected(id.error());
  if (!*id)
    return std::optional<events::concurrency_limit>{};
  return load_limit(b, id_from_key_suffix(**id));
}

} // namespace

// -- work pools
// -------------------------------------------------------------------

command_result handle(const events::create_work_pool& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const auto name = cmd.body.at("name").get<std::string>();
  auto existing = pool_named(b, name);
  if (!existing)
    return failed(existing.error());
  if (*existing)
    return rejected(reject(events::rejection_code::conflict,
                           "A work pool with this name already exists."));
  pool_world world;
  auto events = create_pool(cmd.body, world, env);
  const auto body = dump(world.pools.front());
  return apply_created(std::move(events), b, env, command_id, body);
}

command_result handle(const events::update_work_pool& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = pool_named(b, cmd.name);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(
        reject(events::rejection_code::not_found, pool_not_found(cmd.name)));
  if (lower(cmd.name).starts_with("prefect"))
    for (const auto& [key, value] : cmd.body.items())
      if (key != "is_paused" && key != "concurrency_limit")
        return rejected(reject(
            events::rejection_code::forbidden,
            "Worker pools starting with 'Prefect' are reserved for internal "
            "use "
            "and can only be updated to set concurrency limits or pause."));
  json after = **existing;
  for (const auto& [key, value] : cmd.body.items()) {
    if (key == "storage_configuration" && value.is_object()) {
      for (const auto& [k, v] : value.items())
        after[key][k] = v;
    } else {
      after[key] = value;
    }
  }
  // Only a PATCH that names `is_paused` writes a status (every time, even
  // unchanged): PAUSED, or READY when a stored-ONLINE worker exists.
  if (const auto paused = cmd.body.find("is_paused");
      after.at("type") != "prefect-agent" && paused != cmd.body.end() &&
      paused->is_boolean()) {
    auto workers = workers_of(b, events::uuid_field(after, "id"));
    if (!workers)
      return failed(workers.error());
    after["status"] = status_after_pause_change(paused->get<bool>(), *workers);
  }
  after["active_slots"] =
      after.at("concurrency_limit").is_null() ? json(nullptr) : json(0);
  after["updated"] = events::format_timestamp(env.now);
  event_list out{events::resource_updated{
      resource_kind::work_pool, events::uuid_field(after, "id"),
      events::document_diff(**existing, after)}};
  return apply(std::move(out), b, env, command_id, "");
}

command_result handle(const events::delete_work_pool& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  if (lower(cmd.name).starts_with("prefect"))
    return rejected(reject(
        events::rejection_code::forbidden,
        "Work pools starting with 'Prefect' are reserved for internal use."));
  auto existing = pool_named(b, cmd.name);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(
        reject(events::rejection_code::not_found, pool_not_found(cmd.name)));
  const auto pool_id = events::uuid_field(**existing, "id");
  auto queues = resources_under(
      b, name_key(resource_kind::work_queue,
                  {{"work_pool_id", pool_id.str()}, {"name", ""}}));
  if (!queues)
    return failed(queues.error());
  event_list out;
  // The pool's workers go with it (the reference's foreign key cascades).
  auto workers = workers_of(b, pool_id);
  if (!workers)
    return failed(workers.error());
  for (const auto& w : *workers)
    out.push_back(events::worker_deleted{w.id, env.now});
  for (const auto& q : *queues) {
    const auto queue_id = events::uuid_field(q, "id");
    // Deployments that used the queue keep existing, unlinked (the
    // reference's foreign key sets null).
    auto linked = ids_under(b, table::queue_links, id_key(queue_id));
    if (!linked)
      return failed(linked.error());
    for (const auto& deployment : *linked)
      out.push_back(events::deployment_updated{
          deployment,
          json{{"work_queue_id", {{"from", queue_id.str()}, {"to", nullptr}}}},
          true});
    out.push_back(
        events::resource_deleted{resource_kind::work_queue, queue_id, env.now});
  }
  out.push_back(
      events::resource_deleted{resource_kind::work_pool, pool_id, env.now});
  return apply(std::move(out), b, env, command_id, "");
}

command_result handle(const events::create_work_queue& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const std::string pool_name = cmd.pool.value_or(default_agent_pool);
  pool_world world;
  auto pool = pool_named(b, pool_name);
  if (!pool)
    return failed(pool.error());
  event_list out;
  if (*pool) {
    world.pools.push_back(**pool);
    auto queues = resources_under(
        b, name_key(resource_kind::work_queue,
                    {{"work_pool_id", (**pool).at("id")}, {"name", ""}}));
    if (!queues)
      return failed(queues.error());
    world.queues = std::move(*queues);
  } else if (!cmd.pool) {
    // The legacy endpoint creates the default-agent-pool on demand; its
    // "default" queue is then the answer for that name.
    out = create_pool(
        json{{"name", default_agent_pool}, {"type", "prefect-agent"}}, world,
        env);
    if (cmd.body.at("name") == "default") {
      return apply_created(std::move(out), b, env, command_id,
                           dump(world.queues.front()));
    }
  }
  auto created = create_queue(pool_name, cmd.body, world, env);
  if (!created) {
    if (!cmd.pool && created.error().code == events::rejection_code::conflict)
      created.error().subject = "A work queue with this name already exists.";
    if (created.error().code == events::rejection_code::unknown_work_pool)
      return rejected(
          reject(events::rejection_code::not_found, pool_not_found(pool_name)));
    return rejected(created.error());
  }
  std::string body;
  for (const auto& e : *created)
    if (const auto* c = std::get_if<events::resource_created>(&e);
        c && c->kind == resource_kind::work_queue)
      body = dump(c->value);
  for (auto& e : *created)
    out.push_back(std::move(e));
  return apply_created(std::move(out), b, env, command_id, body);
}

// -- v2 concurrency limits
// ------------------------------------------------------------

command_result handle(const events::create_concurrency_limit& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const auto name = cmd.body.at("name").get<std::string>();
  auto taken = b.get(table::limit_names, name);
  if (!taken)
    return failed(taken.error());
  if (*taken)
    return rejected({events::rejection_code::integrity_conflict, {}});
  events::concurrency_limit l;
  l.id = env.ids.next();
  l.created = env.now;
  l.updated = env.now;
  l.name = name;
  l.limit = cmd.body.at("limit").get<std::int64_t>();
  l.active = cmd.body.value("active", true);
  l.active_slots = cmd.body.value("active_slots", std::int64_t{0});
  l.denied_slots = cmd.body.value("denied_slots", std::int64_t{0});
  l.slot_decay_per_second = cmd.body.value("slot_decay_per_second", 0.0);
  const auto body = dump(events::limit_response(l));
  return apply_created(event_list{events::concurrency_limit_created{l}}, b, env,
                       command_id, body);
}

command_result handle(const events::update_concurrency_limit& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = limit_by_id_or_name(b, cmd.id_or_name);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(reject(events::rejection_code::not_found,
                           "Concurrency Limit not found"));
  const json before = to_json(**existing);
  json after = before;
  for (const auto& [key, value] : cmd.body.items())
    after[key] = value;
  if (after.at("name") != before.at("name")) {
    auto taken = b.get(table::limit_names, after.at("name").get<std::string>());
    if (!taken)
      return failed(taken.error());
    if (*taken)
      return rejected({events::rejection_code::integrity_conflict, {}});
  }
  after["updated"] = events::format_timestamp(env.now);
  return apply(event_list{events::concurrency_limit_updated{
                   (*existing)->id, events::document_diff(before, after)}},
               b, env, command_id, "");
}

command_result handle(const events::delete_concurrency_limit& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = limit_by_id_or_name(b, cmd.id_or_name);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(reject(events::rejection_code::not_found,
                           "Concurrency Limit not found"));
  const auto id = (*existing)->id;
  auto linked = ids_under(b, table::limit_links, id_key(id));
  if (!linked)
    return failed(linked.error());
  event_list out;
  for (const auto& deployment : *linked)
    out.push_back(events::deployment_updated{
        deployment,
        json{{"concurrency_limit_id", {{"from", id.str()}, {"to", nullptr}}}},
        true});
  out.push_back(events::concurrency_limit_deleted{id, env.now});
  return apply(std::move(out), b, env, command_id, "");
}

// -- blocks
// ------------------------------------------------------------------------------

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

json escaped(const json& v) {
  return v.is_string() ? json(html_escape(v.get<std::string>())) : v;
}

} // namespace

command_result handle(const events::create_block_type& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const auto name = cmd.body.at("name").get<std::string>();
  if (lower(name).starts_with("prefect"))
    return rejected(reject(events::rejection_code::forbidden,
                           "Block type names beginning with 'Prefect' are "
                           "reserved."));
  auto existing = find_resource(
      b, name_key(resource_kind::block_type, {{"slug", cmd.body.at("slug")}}));
  if (!existing)
    return failed(existing.error());
  if (*existing)
    return rejected(
        reject(events::rejection_code::conflict,
               "Block type with name \"" + name + "\" already exists"));
  json doc = json::object();
  doc["id"] = env.ids.next().str();
  doc["created"] = events::format_timestamp(env.now);
  doc["updated"] = events::format_timestamp(env.now);
  doc["name"] = name;
  doc["slug"] = cmd.body.at("slug");
  doc["logo_url"] = cmd.body.value("logo_url", json(nullptr));
  doc["documentation_url"] = cmd.body.value("documentation_url", json(nullptr));
  doc["description"] = escaped(cmd.body.value("description", json(nullptr)));
  doc["code_example"] = escaped(cmd.body.value("code_example", json(nullptr)));
  doc["is_protected"] = false;
  return create_document(resource_kind::block_type, doc, b, env, command_id);
}

command_result handle(const events::update_block_type& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::block_type, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(
        reject(events::rejection_code::not_found, "Block type not found"));
  json after = **existing;
  for (const auto& [key, value] : cmd.body.items())
    after[key] =
        key == "description" || key == "code_example" ? escaped(value) : value;
  after["updated"] = events::format_timestamp(env.now);
  return apply(event_list{events::resource_updated{
                   resource_kind::block_type, cmd.id,
                   events::document_diff(**existing, after)}},
               b, env, command_id, "");
}

command_result handle(const events::create_block_schema& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const auto type_id = events::uuid_field(cmd.body, "block_type_id");
  auto type = load_resource(b, resource_kind::block_type, type_id);
  if (!type)
    return failed(type.error());
  if (!*type)
    return rejected(reject(events::rejection_code::not_found,
                           "Block type " + type_id.str() + " not found."));
  const json fields = cmd.body.value("fields", json::object());
  const auto checksum = events::block_schema_checksum(fields);
  const json version = cmd.body.value("version", json("non-versioned"));
  auto existing = find_resource(
      b, name_key(resource_kind::block_schema,
                  {{"checksum", checksum}, {"version", version}}));
  if (!existing)
    return failed(existing.error());
  if (*existing) {
    auto r = no_content({});
    r.body = dump(**existing);
    return r; // 200 with the schema that has this checksum and version
  }
  json doc = json::object();
  doc["id"] = env.ids.next().str();
  doc["created"] = events::format_timestamp(env.now);
  doc["updated"] = events::format_timestamp(env.now);
  doc["checksum"] = checksum;
  doc["fields"] = fields;
  doc["block_type_id"] = type_id.str();
  doc["block_type"] = **type;
  doc["capabilities"] = cmd.body.value("capabilities", json::array());
  doc["version"] = version;
  return create_document(resource_kind::block_schema, doc, b, env, command_id);
}

command_result handle(const events::create_block_document& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const auto schema_id = events::uuid_field(cmd.body, "block_schema_id");
  const auto type_id = events::uuid_field(cmd.body, "block_type_id");
  auto type = load_resource(b, resource_kind::block_type, type_id);
  if (!type)
    return failed(type.error());
  if (!*type)
    return rejected(reject(events::rejection_code::not_found,
                           "Block type " + type_id.str() + " not found."));
  auto schema = load_resource(b, resource_kind::block_schema, schema_id);
  if (!schema)
    return failed(schema.error());
  if (!*schema)
    return rejected({events::rejection_code::integrity_conflict, {}});
  const bool anonymous = cmd.body.value("is_anonymous", false);
  std::string name = cmd.body.value("name", std::string());
  if (name.empty() && anonymous)
    name = "anonymous-" + env.ids.next().str();
  auto existing = find_resource(
      b, name_key(resource_kind::block_document,
                  {{"block_type_id", type_id.str()}, {"name", name}}));
  if (!existing)
    return failed(existing.error());
  if (*existing)
    return rejected(
        reject(events::rejection_code::conflict, "Block already exists"));
  json doc = json::object();
  doc["id"] = env.ids.next().str();
  doc["created"] = events::format_timestamp(env.now);
  doc["updated"] = events::format_timestamp(env.now);
  doc["name"] = name;
  doc["data"] = cmd.body.value("data", json::object());
  doc["block_schema_id"] = schema_id.str();
  doc["block_schema"] = **schema;
  doc["block_type_id"] = type_id.str();
  doc["block_type_name"] = (*type)->at("name");
  doc["block_type"] = **type;
  doc["block_document_references"] = json::object();
  doc["is_anonymous"] = anonymous;
  return create_document(resource_kind::block_document, doc, b, env,
                         command_id);
}

namespace {

// A block document's deletion, after the deployments that reference it (the
// reference's foreign keys cascade; those are quiet, and `gone` keeps a
// deployment from being deleted twice). `quiet`: the document's own
// deletion announces nothing either (a cascade from its block type).
std::expected<void, errc>
delete_block_document_events(storage::write_batch& b, const events::uuid& id,
                             events::timestamp now, bool quiet,
                             std::set<events::uuid>& gone, event_list& out) {
  auto linked = ids_under(b, table::block_links, id_key(id));
  if (!linked)
    return std::unexpected(linked.error());
  for (const auto& deployment : *linked)
    if (gone.insert(deployment).second)
      out.push_back(events::deployment_deleted{deployment, now, true});
  out.push_back(
    events::resource_deleted{resource_kind::block_document, id, now, quiet});
  return {};
}

} // namespace

command_result handle(const events::delete_block_document& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::block_document, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(
        reject(events::rejection_code::not_found, "Block document not found"));
  event_list out;
  std::set<events::uuid> gone;
  if (auto listed = delete_block_document_events(b, cmd.id, env.now, false,
                                                 gone, out);
      !listed)
    return failed(listed.error());
  return apply(std::move(out), b, env, command_id, "");
}

} // namespace deployd::actors

// -- block document updates and block type deletion (PATCH
// /block_documents/{id}, DELETE /block_types/{id}), as the reference's
// models/block_documents.update_block_document and block_types.delete_block_type
// ------------------------------------------------------------------------------

namespace deployd::actors {

namespace {

using path = std::vector<std::string>;
// A flattened document in its key order (the reference's dicts keep theirs).
using flat_data = std::vector<std::pair<path, json>>;

// Prefect's dict_to_flatdict: non-empty nested objects flattened to key
// paths; other values (empty objects too) kept at their path.
void flatten(const json& value, path& at, flat_data& out) {
  for (const auto& [key, inner] : value.items()) {
    at.push_back(key);
    if (inner.is_object() && !inner.empty())
      flatten(inner, at, out);
    else
      out.emplace_back(at, inner);
    at.pop_back();
  }
}

flat_data flat(const json& data) {
  flat_data out;
  path at;
  if (data.is_object())
    flatten(data, at, out);
  return out;
}

// Prefect's flatdict_to_dict.
json unflatten(const flat_data& in) {
  json out = json::object();
  for (const auto& [keys, value] : in) {
    json* node = &out;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
      json& next = (*node)[keys[i]];
      if (!next.is_object())
        next = json::object();
      node = &next;
    }
    (*node)[keys.back()] = value;
  }
  return out;
}

template <class Flat>
auto find_path(Flat& data, const path& key) {
  return std::find_if(data.begin(), data.end(),
                      [&](const auto& entry) { return entry.first == key; });
}

path split_dots(const std::string& s) {
  path out;
  std::size_t from = 0;
  for (;;) {
    const auto dot = s.find('.', from);
    out.push_back(s.substr(from, dot - from));
    if (dot == std::string::npos)
      return out;
    from = dot + 1;
  }
}

// What the reference's obfuscate() gives for any value.
constexpr std::string_view obfuscated = "********";

// A value posted back as its mask keeps the stored secret: a client that
// saves every field of a block it read without secrets must not overwrite
// them with the mask.
json keep_masked_secrets(const json& update, const json& current,
                         const json& schema) {
  auto updated = flat(update);
  const auto stored = flat(current);
  const json empty = json::object();
  const auto fields_it = schema.find("fields");
  const json& fields =
    fields_it != schema.end() && fields_it->is_object() ? *fields_it : empty;
  const auto secrets = fields.find("secret_fields");
  if (secrets == fields.end() || !secrets->is_array())
    return update;
  for (const auto& field : *secrets) {
    if (!field.is_string())
      continue;
    const auto key = split_dots(field.get<std::string>());
    const auto current_secret = find_path(stored, key);
    if (current_secret != stored.end() && !current_secret->second.is_null()) {
      const auto it = find_path(updated, key);
      if (it != updated.end() && it->second == obfuscated)
        it->second = current_secret->second;
      continue;
    }
    const auto star = std::find(key.begin(), key.end(), "*");
    if (star == key.end())
      continue;
    const auto prefix = static_cast<std::size_t>(star - key.begin());
    for (auto& [data_key, value] : updated) {
      if (data_key.size() < prefix ||
          !std::equal(key.begin(), key.begin() + static_cast<long>(prefix),
                      data_key.begin()) ||
          value != obfuscated)
        continue;
      if (const auto kept = find_path(stored, data_key); kept != stored.end())
        value = kept->second;
    }
  }
  return unflatten(updated);
}

} // namespace

command_result handle(const events::update_block_document& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::block_document, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(
      reject(events::rejection_code::not_found, "Block document not found"));
  const json& before = **existing;
  const bool merge = cmd.body.value("merge_existing_data", true);
  // Without merging every field counts as set (data {} when absent); with
  // it, a request without data changes nothing, not even the schema.
  if (merge && !cmd.body.contains("data"))
    return apply(event_list{}, b, env, command_id, "");
  json after = before;
  const json current =
    before.contains("data") ? before.at("data") : json::object();
  json data = keep_masked_secrets(cmd.body.value("data", json::object()),
                                  current, before.value("block_schema", json::object()));
  if (merge) {
    json merged = current.is_object() ? current : json::object();
    for (const auto& [key, value] : data.items())
      merged[key] = value;
    data = std::move(merged);
  }
  after["data"] = std::move(data);
  const auto proposed = cmd.body.find("block_schema_id");
  if (proposed != cmd.body.end() && proposed->is_string() &&
      proposed->get<std::string>() != before.value("block_schema_id", "")) {
    const auto schema_id = events::uuid::parse(proposed->get<std::string>());
    auto schema = schema_id ? load_resource(b, resource_kind::block_schema,
                                            *schema_id)
                            : std::expected<std::optional<json>, errc>{};
    if (!schema)
      return failed(schema.error());
    // The reference asserts here (a 500); a 404 says what is wrong.
    if (!*schema)
      return rejected(reject(events::rejection_code::not_found,
                             "Block schema " + proposed->get<std::string>() +
                               " not found"));
    if ((*schema)->value("block_type_id", "") !=
        before.value("block_type_id", ""))
      return rejected(reject(events::rejection_code::bad_request,
                             "Must migrate block document to a block schema "
                             "of the same block type."));
    after["block_schema_id"] = proposed->get<std::string>();
    after["block_schema"] = **schema;
  }
  if (after == before)
    return apply(event_list{}, b, env, command_id, "");
  after["updated"] = events::format_timestamp(env.now);
  return apply(event_list{events::resource_updated{
                 resource_kind::block_document, cmd.id,
                 events::document_diff(before, after)}},
               b, env, command_id, "");
}

command_result handle(const events::delete_block_type& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::block_type, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return rejected(
      reject(events::rejection_code::not_found, "Block type not found"));
  if ((*existing)->value("is_protected", false))
    return rejected(reject(events::rejection_code::forbidden,
                           "protected block types cannot be deleted."));
  // The foreign keys cascade: the type's schemas, the documents of the type
  // or of those schemas, and the deployments that reference the documents.
  // Only the type's own deletion is announced, as the reference does.
  const auto type_id = cmd.id.str();
  auto schemas = resources_under(
    b, std::string(1, static_cast<char>(resource_kind::block_schema)));
  if (!schemas)
    return failed(schemas.error());
  std::set<std::string> gone_schemas;
  for (const auto& schema : *schemas)
    if (schema.value("block_type_id", "") == type_id)
      gone_schemas.insert(schema.value("id", ""));
  auto documents = resources_under(
    b, std::string(1, static_cast<char>(resource_kind::block_document)));
  if (!documents)
    return failed(documents.error());
  event_list out;
  std::set<events::uuid> gone_deployments;
  for (const auto& doc : *documents) {
    if (doc.value("block_type_id", "") != type_id &&
        !gone_schemas.contains(doc.value("block_schema_id", "")))
      continue;
    if (auto listed = delete_block_document_events(
          b, events::uuid_field(doc, "id"), env.now, true, gone_deployments,
          out);
        !listed)
      return failed(listed.error());
  }
  for (const auto& schema : gone_schemas)
    if (const auto id = events::uuid::parse(schema))
      out.push_back(events::resource_deleted{resource_kind::block_schema, *id,
                                             env.now, true});
  out.push_back(
    events::resource_deleted{resource_kind::block_type, cmd.id, env.now});
  return apply(std::move(out), b, env, command_id, "");
}

} // namespace deployd::actors
