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

events::flow evolve(const events::flow_created& e) {
  return e.value;
}

} // namespace deployd::actors
