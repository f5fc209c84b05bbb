#include "events/resource.hpp"

namespace deployd::events {

std::string_view kind_name(resource_kind k) {
  switch (k) {
  case resource_kind::work_pool:
    return "work_pool";
  case resource_kind::work_queue:
    return "work_queue";
  case resource_kind::block_type:
    return "block_type";
  case resource_kind::block_schema:
    return "block_schema";
  case resource_kind::block_document:
    return "block_document";
  case resource_kind::variable:
    return "variable";
  case resource_kind::flow_run:
    return "flow_run";
  case resource_kind::automation:
    return "automation";
  case resource_kind::idempotency_key:
    return "idempotency_key";
  }
  return "unknown";
}

std::optional<resource_kind> kind_named(std::string_view name) {
  for (auto k : {resource_kind::work_pool, resource_kind::work_queue,
                 resource_kind::block_type, resource_kind::block_schema,
                 resource_kind::block_document, resource_kind::variable,
                 resource_kind::flow_run, resource_kind::automation,
                 resource_kind::idempotency_key})
    if (kind_name(k) == name)
      return k;
  return std::nullopt;
}

stream_id resource_stream(resource_kind k, const uuid& id) {
  return {std::string(kind_name(k)) + "/" + id.str()};
}

json document_diff(const json& before, const json& after) {
  json changes = json::object();
  for (const auto& [key, value] : after.items()) {
    const auto it = before.find(key);
    const json from = it == before.end() ? json(nullptr) : *it;
    if (it == before.end() || *it != value)
      changes[key] = json{{"from", from}, {"to", value}};
  }
  for (const auto& [key, value] : before.items())
    if (!after.contains(key))
      changes[key] = json{{"from", value}, {"to", nullptr}, {"removed", true}};
  return changes;
}

void apply_document_changes(json& doc, const json& changes) {
  for (const auto& [key, change] : changes.items()) {
    if (change.value("removed", false))
      doc.erase(key);
    else
      doc[key] = change.at("to");
  }
}

} // namespace deployd::events
