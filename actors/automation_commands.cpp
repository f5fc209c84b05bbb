// Command handlers for automations as stored objects
// (workers-automations.md §3): one JSON document per automation on the
// `automation/<id>` stream; relations to resources are folded from it.
// Nothing here evaluates a trigger or runs an action.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "actors/work_pools.hpp"
#include "events/automation.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"

namespace deployd::actors {

using events::json;
using events::resource_kind;
using storage::errc;

namespace {

constexpr const char* not_found_text = "Automation not found";

command_result not_found() {
  return rejected({events::rejection_code::not_found_exception, not_found_text});
}

// The pool a deployment's runs go to (its queue's pool), if any.
std::expected<std::optional<json>, errc>
pool_of(storage::write_batch& b, const events::deployment& d) {
  if (!d.work_queue_id)
    return std::optional<json>{};
  auto queue = load_resource(b, resource_kind::work_queue, *d.work_queue_id);
  if (!queue || !*queue)
    return queue;
  const auto pool_id =
      events::uuid::parse((*queue)->value("work_pool_id", std::string()));
  if (!pool_id)
    return std::optional<json>{};
  return load_resource(b, resource_kind::work_pool, *pool_id);
}

// `validate_job_variables_for_run_deployment_action` over `actions`: each
// selected run-deployment with job variables (on create: not `{}` either)
// needs its deployment (404), and its job variables, over the pool's
// defaults, must satisfy the pool's variables schema with required fields.
// The failures of every action are joined with a space.
std::optional<events::rejection> check_job_variables_of(storage::write_batch& b,
                                                        const json& actions,
                                                        bool create,
                                                        errc& failure,
                                                        bool& failed_storage) {
  std::vector<std::string> problems;
  for (const auto& action : actions) {
    if (action.value("type", "") != "run-deployment")
      continue;
    const auto id = events::uuid::parse(action.value("deployment_id", ""));
    const auto jv = action.find("job_variables");
    if (!id || jv == action.end() || jv->is_null() ||
        (create && jv->is_object() && jv->empty()))
      continue;
    auto d = load_deployment(b, *id);
    if (!d) {
      failure = d.error();
      failed_storage = true;
      return std::nullopt;
    }
    if (!*d)
      return events::rejection{events::rejection_code::not_found,
                               "Deployment not found."};
    auto pool = pool_of(b, **d);
    if (!pool) {
      failure = pool.error();
      failed_storage = true;
      return std::nullopt;
    }
    if (!*pool)
      continue;
    const auto check = check_job_variables(**pool, *jv, true, true);
    if (check.result != job_variable_check::outcome::ok)
      problems.push_back(check.message);
  }
  if (problems.empty())
    return std::nullopt;
  std::string text = "Error creating automation:";
  for (const auto& p : problems)
    text += " " + p;
  return events::rejection{events::rejection_code::unprocessable, text};
}

std::string rendered(json doc) {
  doc.erase("owner_resource");
  return events::dump_json(doc);
}

} // namespace

command_result handle(const events::create_automation& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  errc failure = errc::io_error;
  bool failed_storage = false;
  if (auto bad = check_job_variables_of(b, cmd.body.at("actions"), true,
                                        failure, failed_storage))
    return rejected(std::move(*bad));
  if (failed_storage)
    return failed(failure);
  json doc = json::object();
  doc["id"] = env.ids.next().str();
  doc["created"] = events::format_timestamp(env.now);
  doc["updated"] = events::format_timestamp(env.now);
  for (const auto& [key, value] : cmd.body.items())
    doc[key] = value;
  events::assign_trigger_ids(doc.at("trigger"), env.ids);
  auto body = rendered(doc);
  auto r = apply(event_list{events::resource_created{resource_kind::automation,
                                                     std::move(doc)}},
                 b, env, command_id, std::move(body));
  r.created = true;
  return r;
}

command_result handle(const events::replace_automation& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  errc failure = errc::io_error;
  bool failed_storage = false;
  // The reference checks job variables before it looks the automation up.
  if (auto bad = check_job_variables_of(b, cmd.body.at("actions"), false,
                                        failure, failed_storage))
    return rejected(std::move(*bad));
  if (failed_storage)
    return failed(failure);
  auto existing = load_resource(b, resource_kind::automation, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return not_found();
  const json& before = **existing;
  json after = before;
  for (const auto& [key, value] : cmd.body.items())
    after[key] = value;
  events::assign_trigger_ids(after.at("trigger"), env.ids);
  after["updated"] = events::format_timestamp(env.now);
  return apply(event_list{events::resource_updated{
                   resource_kind::automation, cmd.id,
                   events::document_diff(before, after)}},
               b, env, command_id, "");
}

command_result handle(const events::patch_automation& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::automation, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return not_found();
  const json& before = **existing;
  json after = before;
  // AutomationPartialUpdate's `enabled` defaults to true: an empty body is
  // validated as enabling, and writes only `updated`.
  after["enabled"] = cmd.body.value("enabled", true);
  if (auto loop = events::run_deployment_loop(after))
    return rejected({events::rejection_code::invalid_model, *loop});
  if (!cmd.body.contains("enabled"))
    after["enabled"] = before.at("enabled");
  after["updated"] = events::format_timestamp(env.now);
  return apply(event_list{events::resource_updated{
                   resource_kind::automation, cmd.id,
                   events::document_diff(before, after)}},
               b, env, command_id, "");
}

command_result handle(const events::delete_automation& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto existing = load_resource(b, resource_kind::automation, cmd.id);
  if (!existing)
    return failed(existing.error());
  if (!*existing)
    return not_found();
  return apply(event_list{events::resource_deleted{resource_kind::automation,
                                                   cmd.id, env.now}},
               b, env, command_id, "");
}

command_result handle(const events::delete_automations_owned_by& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  auto ids = automations_related_to(b, cmd.resource_id, true);
  if (!ids)
    return failed(ids.error());
  event_list deleted;
  for (const auto& id : *ids) {
    auto doc = load_resource(b, resource_kind::automation, id);
    if (!doc)
      return failed(doc.error());
    // The reference deletes those created up to now.
    if (!*doc || events::parse_timestamp((*doc)->value("created", ""))
                         .value_or(events::timestamp{})
                         .micros > env.now.micros)
      continue;
    // The reference announces no prefect.automation.deleted for these.
    deleted.push_back(
        events::resource_deleted{resource_kind::automation, id, env.now, true});
  }
  if (deleted.empty())
    return no_content({});
  return apply(std::move(deleted), b, env, command_id, "");
}

} // namespace deployd::actors
