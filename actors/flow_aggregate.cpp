#include "actors/flow_aggregate.hpp"

namespace deployd::actors {

event_list decide(const events::create_flow& cmd,
                  const std::optional<events::flow>& existing,
                  decision_env& env) {
  if (existing)
    return {};
  events::flow f;
  f.id = env.ids.next();
  f.created = env.now;
  f.updated = env.now;
  f.name = cmd.name;
  f.tags = cmd.tags;
  f.labels = cmd.labels;
  return {events::flow_created{std::move(f)}};
}

std::expected<event_list, events::rejection>
decide(const events::update_flow& cmd,
       const std::optional<events::flow>& existing, decision_env& env) {
  if (!existing)
    return std::unexpected(
        events::rejection{events::rejection_code::flow_not_found, {}});
  events::json changes = events::json::object();
  changes["updated"] = {{"from", events::format_timestamp(existing->updated)},
                        {"to", events::format_timestamp(env.now)}};
  if (cmd.tags && *cmd.tags != existing->tags)
    changes["tags"] = {{"from", existing->tags}, {"to", *cmd.tags}};
  return event_list{events::flow_updated{existing->id, std::move(changes)}};
}

std::expected<event_list, events::rejection>
decide(const events::delete_flow& cmd,
       const std::optional<events::flow>& existing,
       const std::vector<events::uuid>& deployments, decision_env& env) {
  if (!existing)
    return std::unexpected(
        events::rejection{events::rejection_code::flow_not_found, {}});
  event_list out;
  for (const auto& id : deployments)
    out.push_back(events::deployment_deleted{id, env.now, true});
  out.push_back(events::flow_deleted{cmd.id, env.now});
  return out;
}

events::flow evolve(const events::flow_created& e) {
  return e.value;
}

} // namespace deployd::actors
