#include "events/flow.hpp"

#include "events/json_fields.hpp"

#include <stdexcept>

namespace deployd::events {

json to_json(const flow& f) {
  json j = json::object();
  j["id"] = f.id.str();
  j["created"] = format_timestamp(f.created);
  j["updated"] = format_timestamp(f.updated);
  j["name"] = f.name;
  j["tags"] = f.tags;
  j["labels"] = f.labels;
  return j;
}

flow flow_from_json(const json& j) {
  flow f;
  f.id = uuid_field(j, "id");
  f.created = timestamp_field(j, "created");
  f.updated = timestamp_field(j, "updated");
  f.name = j.at("name").get<std::string>();
  f.tags = j.at("tags").get<std::vector<std::string>>();
  f.labels = j.at("labels");
  return f;
}

void apply_changes(flow& f, const json& changes) {
  for (const auto& [key, change] : changes.items()) {
    const auto& to = change.at("to");
    if (key == "tags")
      f.tags = to.get<std::vector<std::string>>();
    else if (key == "updated")
      f.updated = timestamp_field(change, "to");
    else
      throw std::invalid_argument("unknown flow field '" + key + "'");
  }
}

std::string to_string(const create_flow& c) {
  return "create_flow{name=" + c.name + "}";
}

std::string to_string(const flow_created& e) {
  return "flow_created{id=" + e.value.id.str() + ", name=" + e.value.name + "}";
}

} // namespace deployd::events
