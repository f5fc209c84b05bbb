// Every event deployd has ever written, by stored name and schema version.
//
// The stored name and version are a contract with every log on disk: never
// reuse or renumber them, and keep retired entries here. `any_event` is the
// variant of the current structs; folds visit it with one lambda per event so
// a new event does not compile until every fold handles it. Knows nothing of
// HTTP, storage or CAF.
#pragma once

#include "events/concurrency_limit.hpp"
#include "events/deployment.hpp"
#include "events/flow.hpp"
#include "events/ids.hpp"
#include "events/resource.hpp"
#include "events/worker.hpp"

#include <array>
#include <string_view>
#include <variant>

namespace deployd::events {

using any_event =
    std::variant<flow_created, flow_updated, flow_deleted, deployment_created,
                 deployment_updated, deployment_deleted,
                 concurrency_limit_created, concurrency_limit_resized,
                 concurrency_limit_deleted, concurrency_limit_updated,
                 resource_created, resource_updated, resource_deleted,
                 worker_created, worker_heartbeat_recorded,
                 worker_marked_offline, worker_deleted>;

struct catalog_entry {
  std::string_view name;
  int version;
  bool retired;
};

/// Every (name, version) ever written. A test decodes a golden payload for
/// each one from tests/data/events/<name>.v<version>.json.
inline constexpr std::array<catalog_entry, 40> catalog = {{
    {"flow_created", 1, false},
    {"deployment_created", 1, false},
    {"deployment_updated", 1, false},
    {"concurrency_limit_created", 1, false},
    {"concurrency_limit_resized", 1, false},
    {"concurrency_limit_deleted", 1, false},
    {"flow_updated", 1, false},
    {"flow_deleted", 1, false},
    {"deployment_deleted", 1, false},
    {"concurrency_limit_updated", 1, false},
    {"work_pool_created", 1, false},
    {"work_pool_updated", 1, false},
    {"work_pool_deleted", 1, false},
    {"work_queue_created", 1, false},
    {"work_queue_updated", 1, false},
    {"work_queue_deleted", 1, false},
    {"block_type_created", 1, false},
    {"block_type_updated", 1, false},
    {"block_type_deleted", 1, false},
    {"block_schema_created", 1, false},
    {"block_schema_updated", 1, false},
    {"block_schema_deleted", 1, false},
    {"block_document_created", 1, false},
    {"block_document_updated", 1, false},
    {"block_document_deleted", 1, false},
    {"worker_created", 1, false},
    {"worker_heartbeat_recorded", 1, false},
    {"worker_marked_offline", 1, false},
    {"worker_deleted", 1, false},
    {"variable_created", 1, false},
    {"variable_updated", 1, false},
    {"variable_deleted", 1, false},
    {"flow_run_created", 1, false},
    {"flow_run_updated", 1, false},
    {"flow_run_deleted", 1, false},
    {"automation_created", 1, false},
    {"automation_updated", 1, false},
    {"automation_deleted", 1, false},
    {"idempotency_key_created", 1, false},
    {"idempotency_key_deleted", 1, false},
}};

/// The stream an event belongs to (`deployment/<id>`, ...).
[[nodiscard]] stream_id stream_of(const any_event& e);

/// Stored name of an event.
[[nodiscard]] std::string stored_name(const any_event& e);

/// One-line description for logs.
[[nodiscard]] std::string to_string(const any_event& e);

} // namespace deployd::events
