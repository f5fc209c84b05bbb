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

// -- events ------------------------------------------------------------------

/// A flow came into existence. Carries the whole initial state.
struct flow_created {
  static constexpr const char* stored_name = "flow_created";
  static constexpr int schema_version = 1;

  flow value;

  bool operator==(const flow_created&) const = default;
};

/// The wire form of a flow (`id, created, updated, name, tags, labels`).
[[nodiscard]] json to_json(const flow& f);
/// Inverse of `to_json`; throws on a malformed stored document.
[[nodiscard]] flow flow_from_json(const json& j);

[[nodiscard]] std::string to_string(const create_flow& c);
[[nodiscard]] std::string to_string(const flow_created& e);

} // namespace deployd::events
