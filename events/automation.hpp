// Automations as stored objects (workers-automations.md §3): their commands
// and the pure rules the writer and `http/` share.
//
// An automation is a document aggregate (`resource_kind::automation`,
// stream `automation/<id>`): `automation_created` carries the whole
// Automation (plus `owner_resource` when the create named one; the read
// model keeps that only as a relation), `automation_updated` the changed
// fields, `automation_deleted` the deletion. deployd stores and lists
// automations; it never evaluates triggers or runs actions. Knows nothing
// of HTTP, storage or CAF.
#pragma once

#include "events/clock.hpp"
#include "events/ids.hpp"
#include "events/json.hpp"

#include <optional>
#include <string>
#include <vector>

namespace deployd::events {

// -- commands (bodies are validated and made canonical by http/) --------------

/// `POST /automations/`: a canonical AutomationCreate (every field with its
/// default, triggers without ids) and `owner_resource` when given.
struct create_automation {
  json body;
  bool operator==(const create_automation&) const = default;
};
/// `PUT /automations/{id}`: the canonical fields of an AutomationUpdate
/// body; only those are written.
struct replace_automation {
  uuid id;
  json body;
  bool operator==(const replace_automation&) const = default;
};
/// `PATCH /automations/{id}`: `{"enabled": bool}` or `{}`.
struct patch_automation {
  uuid id;
  json body;
  bool operator==(const patch_automation&) const = default;
};
/// `DELETE /automations/{id}`.
struct delete_automation {
  uuid id;
  bool operator==(const delete_automation&) const = default;
};
/// `DELETE /automations/owned-by/{resource_id}`: every automation owned by
/// the resource (never an error).
struct delete_automations_owned_by {
  std::string resource_id;
  bool operator==(const delete_automations_owned_by&) const = default;
};

// -- rules ------------------------------------------------------------------------

/// One row of the reference's `automation_related_resource`.
struct automation_relation {
  std::string resource_id;
  bool owned = false;
  bool operator==(const automation_relation&) const = default;
};

/// The relations of an automation document: `owner` (owned) and
/// `prefect.deployment.<id>` for each `run-deployment` action of `actions`
/// with `source: selected` (not owned; owned when it is the owner too).
/// Sorted by resource id, one per resource.
[[nodiscard]] std::vector<automation_relation>
automation_relations(const json& automation,
                     const std::optional<std::string>& owner);

/// The reference's `prevent_run_deployment_loops` on an automation (its
/// `enabled`, `trigger` and `actions`): the ValueError text, or nothing.
[[nodiscard]] std::optional<std::string>
run_deployment_loop(const json& automation);

/// Gives `trigger` and every nested trigger a fresh id from `ids` (the
/// reference discards client ids), keeping the key order `type`, `id`, ...
void assign_trigger_ids(json& trigger, id_source& ids);

} // namespace deployd::events
