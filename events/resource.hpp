// Document aggregates: work pools, work queues, block types, block schemas,
// block documents, workspace variables, flow runs (events/flow_run.hpp) and
// automations (events/automation.hpp).
//
// Their state is the API object itself (a JSON document with `id`,
// `created`, `updated`, ...), so one set of events serves them all:
// `<kind>_created` carries the whole document, `<kind>_updated` the old and
// new value of each changed field, `<kind>_deleted` the deletion. Each kind
// has its own stream (`work_pool/<id>`, ...) and its own stored event names.
// Knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::events {

/// The kinds of document aggregate. Stored as part of event names and row
/// keys: append, never renumber.
enum class resource_kind : std::uint8_t {
  work_pool = 1,
  work_queue = 2,
  block_type = 3,
  block_schema = 4,
  block_document = 5,
  variable = 6,
  flow_run = 7,
  automation = 8,
  /// An `Idempotency-Key` and the answer it stands for (issue 16 item 5;
  /// actors/idempotency.hpp).
  idempotency_key = 9,
};

/// `work_pool`, `work_queue`, ... (the stream prefix and event-name stem).
[[nodiscard]] std::string_view kind_name(resource_kind k);
[[nodiscard]] std::optional<resource_kind> kind_named(std::string_view name);

/// A document came into existence; `value` is the whole document.
struct resource_created {
  static constexpr const char* suffix = "_created";
  static constexpr int schema_version = 1;

  resource_kind kind = resource_kind::work_pool;
  json value;

  bool operator==(const resource_created&) const = default;
};

/// Fields of a document changed: `changes` maps each field to {from, to}.
struct resource_updated {
  static constexpr const char* suffix = "_updated";
  static constexpr int schema_version = 1;

  resource_kind kind = resource_kind::work_pool;
  uuid id;
  json changes = json::object();

  bool operator==(const resource_updated&) const = default;
};

/// A document was deleted; its stream stays readable.
struct resource_deleted {
  static constexpr const char* suffix = "_deleted";
  static constexpr int schema_version = 1;

  resource_kind kind = resource_kind::work_pool;
  uuid id;
  timestamp deleted;
  /// Announces no Prefect event (an automation removed by an owned-by
  /// delete); `"quiet": true` only when set, absent in older records.
  bool quiet = false;

  bool operator==(const resource_deleted&) const = default;
};

// -- commands (bodies are validated and coerced by http/) ---------------------

/// `POST /work_pools/`.
struct create_work_pool {
  json body;
  bool operator==(const create_work_pool&) const = default;
};
/// `PATCH /work_pools/{name}`.
struct update_work_pool {
  std::string name;
  json body;
  bool operator==(const update_work_pool&) const = default;
};
/// `DELETE /work_pools/{name}`: the pool, its queues, and the links of the
/// deployments that used them.
struct delete_work_pool {
  std::string name;
  bool operator==(const delete_work_pool&) const = default;
};
/// `POST /work_pools/{pool}/queues`, or `POST /work_queues/` (no pool: the
/// `default-agent-pool`, created on demand).
struct create_work_queue {
  std::optional<std::string> pool;
  json body;
  bool operator==(const create_work_queue&) const = default;
};
/// `POST /v2/concurrency_limits/`.
struct create_concurrency_limit {
  json body;
  bool operator==(const create_concurrency_limit&) const = default;
};
/// `PATCH /v2/concurrency_limits/{id_or_name}`.
struct update_concurrency_limit {
  std::string id_or_name;
  json body;
  bool operator==(const update_concurrency_limit&) const = default;
};
/// `DELETE /v2/concurrency_limits/{id_or_name}`.
struct delete_concurrency_limit {
  std::string id_or_name;
  bool operator==(const delete_concurrency_limit&) const = default;
};
/// `POST /block_types/`.
struct create_block_type {
  json body;
  bool operator==(const create_block_type&) const = default;
};
/// `PATCH /block_types/{id}`.
struct update_block_type {
  uuid id;
  json body;
  bool operator==(const update_block_type&) const = default;
};
/// `POST /block_schemas/`.
struct create_block_schema {
  json body;
  bool operator==(const create_block_schema&) const = default;
};
/// `POST /block_documents/`.
struct create_block_document {
  json body;
  bool operator==(const create_block_document&) const = default;
};
/// `DELETE /block_documents/{id}`: also deletes the deployments that
/// reference it (the reference's foreign keys cascade).
struct delete_block_document {
  uuid id;
  bool operator==(const delete_block_document&) const = default;
};
/// `PATCH /block_documents/{id}`: a validated BlockDocumentUpdate body
/// (only the keys the request set).
struct update_block_document {
  uuid id;
  json body;
  bool operator==(const update_block_document&) const = default;
};
/// `DELETE /block_types/{id}`: also deletes its schemas, their documents
/// and the deployments that reference those (the reference's foreign keys
/// cascade).
struct delete_block_type {
  uuid id;
  bool operator==(const delete_block_type&) const = default;
};

/// `POST /variables/`: a validated VariableCreate body (`name`, `value`,
/// `tags`).
struct create_variable {
  json body;
  bool operator==(const create_variable&) const = default;
};
/// `PATCH /variables/{id}` or `/variables/name/{name}`: only the keys of
/// `body` are written (a null `name` or `tags` is the reference's integrity
/// error). Exactly one of `id` and `name` is set.
struct update_variable {
  std::optional<uuid> id;
  std::optional<std::string> name;
  json body;
  bool operator==(const update_variable&) const = default;
};
/// `DELETE /variables/{id}` or `/variables/name/{name}`; one of the two set.
struct delete_variable {
  std::optional<uuid> id;
  std::optional<std::string> name;
  bool operator==(const delete_variable&) const = default;
};

/// The periodic sweep of idempotency keys older than the retention: at
/// most `max` `idempotency_key_deleted` events per command.
struct expire_idempotency_keys {
  std::int64_t retention_seconds = 86'400;
  std::int64_t max = 10'000;
  bool operator==(const expire_idempotency_keys&) const = default;
};

/// `<kind>/<id>`.
[[nodiscard]] stream_id resource_stream(resource_kind k, const uuid& id);

/// The `{field: {from, to}}` object between two documents (every top-level
/// key whose value differs, in `after`'s key order, then removed keys).
[[nodiscard]] json document_diff(const json& before, const json& after);
/// Applies a changes object to a document.
void apply_document_changes(json& doc, const json& changes);

} // namespace deployd::events
