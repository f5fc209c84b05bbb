// Command handlers for workspace variables (flow-runs.md §10): one JSON
// document per variable, unique by name, on the `variable/<id>` stream.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"
#include "events/python/python_repr.hpp"

namespace deployd::actors {

using events::json;
using events::resource_kind;
using storage::errc;

namespace {

std::string name_key(const std::string& name) {
  return resource_name_key(resource_kind::variable, json{{"name", name}});
}

// The variable an update or delete names, by id or by name.
template <class Command>
std::expected<std::optional<json>, errc> target(storage::write_batch& b,
                                                const Command& cmd) {
  if (cmd.id)
    return load_resource(b, resource_kind::variable, *cmd.id);
  return find_resource(b, name_key(cmd.name.value_or(std::string())));
}

command_result not_found() {
  return rejected({events::rejection_code::not_found, "Variable not found."});
}

} // namespace

command_result handle(const events::create_variable& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const auto name = cmd.body.at("name").get<std::string>();
  auto existing = find_resource(b, name_key(name));
  if (!existing)
    return failed(existing.error());
  if (*existing)
    return rejected({events::rejection_code::conflict,
                     "A variable with the name " +
                         events::python_repr(json(name)) + " already exists."});
  json doc = json::object();
  doc["id"] = env.ids.next().str();
  doc["created"] = events::format_timestamp(env.now);
  doc["updated"] = events::format_timestamp(env.now);
  doc["name"] = name;
  doc["value"] = cmd.body.at("value");
  doc["tags"] = cmd.body.value("tags", json::array());
  auto body = events::dump_json(doc);
  auto r = apply(event_list{events::resource_created{resource_kind::variable,
                                                     std::move(doc)}},
                 b, env, command_id, std::move(body));
  r.created = true;
  return r;
}

command_result handle(const events::update_variable& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = target(b, cmd);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return not_found();
  const json& before = **existing;
  json after = before;
  for (const auto& [key, value] : cmd.body.items()) {
    // `name` and `tags` are NOT NULL columns: the reference's integrity
    // error (409), as is a rename onto a taken name.
    if ((key == "name" || key == "tags") && value.is_null())
      return rejected({events::rejection_code::integrity_conflict, {}});
    after[key] = value;
  }
  if (after.at("name") != before.at("name")) {
    auto taken =
        find_resource(b, name_key(after.at("name").get<std::string>()));
    if (!taken)
      return failed(taken.error());
    if (*taken)
      return rejected({events::rejection_code::integrity_conflict, {}});
  }
  after["updated"] = events::format_timestamp(env.now);
  return apply(event_list{events::resource_updated{
                   resource_kind::variable, events::uuid_field(before, "id"),
                   events::document_diff(before, after)}},
               b, env, command_id, "");
}

command_result handle(const events::delete_variable& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = target(b, cmd);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return not_found();
  return apply(event_list{events::resource_deleted{
                   resource_kind::variable,
                   events::uuid_field(**existing, "id"), env.now}},
               b, env, command_id, "");
}

} // namespace deployd::actors
