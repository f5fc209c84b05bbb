// The flow aggregate: its state, commands and events.
//
// A flow is a named unit of work; deployments point at one. Flow names are
// unique; creating an existing name returns that flow untouched (201 vs 200
// is decided by whether an event was emitted). Knows nothing of HTTP,
// storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deployd::events {

/// Current state of one flow, as stored and served.
struct flow {
  uuid id;
  timestamp created;
  timestamp updated;
  std::string name;
  std::vector<std::string> tags;
  json labels = json::object();

  bool operator==(const flow&) const = default;
};

// -- commands ----------------------------------------------------------------

/// `POST /flows/`: create the flow unless its name exists.
struct create_flow {
  std::string name;
  std::vector<std::string> tags;
  json labels = json::object();

  bool operator==(const create_flow&) const = default;
};

/// `PATCH /flows/{id}`: only tags can change.
struct update_flow {
  uuid id;
  std::optional<std::vector<std::string>> tags;

  bool operator==(const update_flow&) const = default;
};

/// `DELETE /flows/{id}`: the flow and, by cascade, its deployments.
struct delete_flow {
  uuid id;

  bool operator==(const delete_flow&) const = default;
};

/// `POST /flows/bulk_delete`: up to `limit` flows matching a FlowFilter
/// (validated JSON; null = all), in name order.
struct bulk_delete_flows {
  json filter;
  std::int64_t limit = 50;

  bool operator==(const bulk_delete_flows&) const = default;
};

// -- events ------------------------------------------------------------------

/// A flow came into existence. Carries the whole initial state.
struct flow_created {
  static constexpr const char* stored_name = "flow_created";
  static constexpr int schema_version = 1;

  flow value;

  bool operator==(const flow_created&) const = default;
};

/// Fields of a flow changed: `changes` maps field name to {from, to}.
struct flow_updated {
  static constexpr const char* stored_name = "flow_updated";
  static constexpr int schema_version = 1;

  uuid id;
  json changes = json::object();

  bool operator==(const flow_updated&) const = default;
};

/// A flow was deleted (its deployments' deletions precede it in the log).
struct flow_deleted {
  static constexpr const char* stored_name = "flow_deleted";
  static constexpr int schema_version = 1;

  uuid id;
  timestamp deleted;

  bool operator==(const flow_deleted&) const = default;
};

/// Applies a flow_updated `changes` object; throws on an unknown field.
void apply_changes(flow& f, const json& changes);

/// The wire form of a flow (`id, created, updated, name, tags, labels`).
[[nodiscard]] json to_json(const flow& f);
/// Inverse of `to_json`; throws on a malformed stored document.
[[nodiscard]] flow flow_from_json(const json& j);

[[nodiscard]] std::string to_string(const create_flow& c);
[[nodiscard]] std::string to_string(const flow_created& e);

} // namespace deployd::events
