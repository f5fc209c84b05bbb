#include "events/automation.hpp"

#include <algorithm>
#include <map>

namespace deployd::events {

namespace {

std::string text_of(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
}

// ResourceSpecification.matches_every_resource_of_kind: no labels, or only
// `prefect.resource.id` naming `<kind>.*`.
bool matches_every_resource_of_kind(const json& spec, std::string_view kind) {
  if (!spec.is_object() || spec.empty())
    return true;
  if (spec.size() != 1)
    return false;
  const auto it = spec.find("prefect.resource.id");
  if (it == spec.end())
    return false;
  const std::string wanted = std::string(kind) + ".*";
  if (it->is_string())
    return *it == wanted;
  if (it->is_array())
    return std::any_of(it->begin(), it->end(),
                       [&](const json& v) { return v == wanted; });
  return false;
}

// `match_related` may be one specification or a list of them.
bool related_match_every(const json& spec, std::string_view kind) {
  if (spec.is_array())
    return std::all_of(spec.begin(), spec.end(), [&](const json& s) {
      return matches_every_resource_of_kind(s, kind);
    });
  return matches_every_resource_of_kind(spec, kind);
}

} // namespace

std::vector<automation_relation>
automation_relations(const json& automation,
                     const std::optional<std::string>& owner) {
  std::map<std::string, bool> rows;
  if (owner)
    rows[*owner] = true;
  if (const auto actions = automation.find("actions");
      actions != automation.end() && actions->is_array())
    for (const auto& action : *actions) {
      if (text_of(action, "type") != "run-deployment" ||
          text_of(action, "source") != "selected")
        continue;
      const auto id = text_of(action, "deployment_id");
      if (id.empty())
        continue;
      rows.try_emplace("prefect.deployment." + id, false);
    }
  std::vector<automation_relation> out;
  out.reserve(rows.size());
  for (const auto& [resource, owned] : rows)
    out.push_back({resource, owned});
  return out;
}

std::optional<std::string> run_deployment_loop(const json& automation) {
  if (!automation.value("enabled", true))
    return std::nullopt;
  const auto trigger = automation.find("trigger");
  if (trigger == automation.end() || !trigger->is_object() ||
      trigger->value("type", "event") != "event" ||
      text_of(*trigger, "posture") != "Reactive")
    return std::nullopt;
  static const std::vector<std::string> problematic = {
      "prefect.flow-run.Scheduled", "prefect.flow-run.Pending",
      "prefect.flow-run.Running", "prefect.flow-run.*"};
  const auto expect = trigger->value("expect", json::array());
  const bool risky = std::any_of(expect.begin(), expect.end(), [](const json& e) {
    return e.is_string() &&
           std::find(problematic.begin(), problematic.end(),
                     e.get<std::string>()) != problematic.end();
  });
  if (!risky)
    return std::nullopt;
  const auto actions = automation.value("actions", json::array());
  for (const auto& action : actions) {
    if (text_of(action, "type") != "run-deployment")
      continue;
    const auto source = text_of(action, "source");
    if (source == "inferred")
      return "Running an inferred deployment from a flow run state change "
             "event will lead to an infinite loop of flow runs.  Please "
             "choose a specific deployment and add additional filtering "
             "labels to the match or match_related for this automation's "
             "trigger.";
    if (source == "selected" &&
        matches_every_resource_of_kind(
            trigger->value("match", json::object()), "prefect.flow-run") &&
        related_match_every(trigger->value("match_related", json::object()),
                            "prefect.flow-run"))
      return "Running a selected deployment from a flow run state change "
             "event may lead to an infinite loop of flow runs.  Please "
             "include additional filtering labels on either match or "
             "match_related to narrow down which flow runs will trigger this "
             "automation to exclude flow runs from the deployment you've "
             "selected.";
  }
  return std::nullopt;
}

void assign_trigger_ids(json& trigger, id_source& ids) {
  if (!trigger.is_object())
    return;
  json out = json::object();
  for (auto& [key, value] : trigger.items()) {
    if (key == "id")
      continue;
    out[key] = std::move(value);
    if (key == "type")
      out["id"] = ids.next().str();
  }
  if (!out.contains("id"))
    out["id"] = ids.next().str();
  if (const auto nested = out.find("triggers");
      nested != out.end() && nested->is_array())
    for (auto& child : *nested)
      assign_trigger_ids(child, ids);
  trigger = std::move(out);
}

} // namespace deployd::events
