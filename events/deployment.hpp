// The deployment aggregate: its state, commands and events.
//
// A deployment is a flow configured to run: parameters, schedules, where it
// runs and how many at once. `deployment` is the state the writer decides
// against and projections store; `deployment_view` adds what is derived from
// other aggregates (the linked limit and queue) to form the API response.
// Knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/concurrency_limit.hpp"
#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::events {

/// One schedule of a deployment (the DeploymentSchedule object).
struct deployment_schedule {
  uuid id;
  timestamp created;
  timestamp updated;
  uuid deployment_id;
  json schedule; ///< normalised interval / cron / rrule object
  bool active = true;
  std::optional<std::int64_t> max_scheduled_runs;
  json parameters = json::object();
  std::optional<std::string> slug;

  bool operator==(const deployment_schedule&) const = default;
};

/// Current state of one deployment.
struct deployment {
  uuid id;
  timestamp created;
  timestamp updated;
  std::string name;
  std::optional<std::string> version;
  std::optional<std::string> description;
  uuid flow_id;
  bool paused = false;
  /// Most recently written first, the order the API lists them in.
  std::vector<deployment_schedule> schedules;
  /// The linked global concurrency limit, if any.
  std::optional<uuid> concurrency_limit_id;
  json concurrency_options = nullptr;
  json job_variables = json::object();
  json parameters = json::object();
  std::vector<std::string> tags;
  json labels = json::object();
  /// The stored `work_queue_name` column (filters match this value).
  std::optional<std::string> work_queue_name;
  std::optional<uuid> work_queue_id;
  std::optional<timestamp> last_polled;
  json parameter_openapi_schema = json::object();
  std::optional<std::string> path;
  json pull_steps = json::array();
  std::optional<std::string> entrypoint;
  std::optional<uuid> storage_document_id;
  std::optional<uuid> infrastructure_document_id;
  json created_by = nullptr;
  json updated_by = nullptr;
  std::string status = "NOT_READY";
  bool enforce_parameter_schema = true;

  bool operator==(const deployment&) const = default;
};

/// The fields of `deployment`, in stored (and response) order.
enum class deployment_field : std::uint8_t {
  id,
  created,
  updated,
  name,
  version,
  description,
  flow_id,
  paused,
  schedules,
  concurrency_limit_id,
  concurrency_options,
  job_variables,
  parameters,
  tags,
  labels,
  work_queue_name,
  work_queue_id,
  last_polled,
  parameter_openapi_schema,
  path,
  pull_steps,
  entrypoint,
  storage_document_id,
  infrastructure_document_id,
  created_by,
  updated_by,
  status,
  enforce_parameter_schema,
};

inline constexpr std::size_t deployment_field_count = 28;

/// Stored name of a field (`"work_queue_name"`).
[[nodiscard]] std::string_view field_name(deployment_field f);
/// Field by stored name; nothing for an unknown name.
[[nodiscard]] std::optional<deployment_field>
deployment_field_named(std::string_view name);
/// The stored JSON value of one field.
[[nodiscard]] json field_value(const deployment& d, deployment_field f);
/// Sets one field from its stored JSON value; throws std::invalid_argument
/// (or a nlohmann exception) on a malformed value.
void set_field(deployment& d, deployment_field f, const json& value);

/// Stored form: every field in order.
[[nodiscard]] json to_json(const deployment& d);
/// `to_json(d)` serialised (the same bytes as `dump(-1, ' ', false,
/// replace)`), written directly: the payload of every deployment_created
/// and the state row of every deployment write.
[[nodiscard]] std::string stored_text(const deployment& d);
/// Inverse of `to_json`; throws on a malformed document.
[[nodiscard]] deployment deployment_from_json(const json& j);
/// The same, moving the document's values into the deployment.
[[nodiscard]] deployment deployment_from_json(json&& j);

/// Stored form of one schedule (the interval as `to_json(schedule)` writes
/// it).
[[nodiscard]] json to_json(const deployment_schedule& s);
[[nodiscard]] deployment_schedule schedule_from_stored(const json& j);
/// The DeploymentSchedule response object: the stored form with the
/// interval a float (`schedule_response`).
[[nodiscard]] json schedule_response(const deployment_schedule& s);
/// Schedules in their stored form (a deployment state's `schedules`) as
/// response objects, in the same order.
[[nodiscard]] json schedules_response(const json& stored);

/// What a deployment response derives from other aggregates.
struct deployment_links {
  std::optional<concurrency_limit> limit;
  std::optional<std::string> queue_name; ///< the linked queue's name
  std::optional<std::string> pool_name;  ///< the linked queue's pool
};

/// The API response object of §2, serialised.
[[nodiscard]] std::string render_deployment(const deployment& d,
                                            const deployment_links& links);
/// The same as a JSON value.
[[nodiscard]] json deployment_response(const deployment& d,
                                       const deployment_links& links);

// -- commands ----------------------------------------------------------------

/// A request field that may be absent, present as null, or present with a
/// value; for nullable fields where absence and null differ.
template <class T>
struct nullable_input {
  bool present = false;
  std::optional<T> value;

  [[nodiscard]] bool is_null() const {
    return present && !value;
  }
  bool operator==(const nullable_input&) const = default;
};

/// One schedule of a create/upsert request, validated and normalised.
struct schedule_input {
  json schedule;
  bool active = true;
  json parameters = json::object();
  std::optional<std::string> slug;
  /// Kept only by the schedules sub-resource; create/upsert drop it.
  std::optional<std::int64_t> max_scheduled_runs;

  bool operator==(const schedule_input&) const = default;
};

/// `POST /deployments/`: create, or upsert on (flow_id, name).
struct create_deployment {
  std::string name;
  uuid flow_id;
  std::optional<bool> paused;
  std::vector<schedule_input> schedules;
  nullable_input<std::int64_t> concurrency_limit;
  nullable_input<json> concurrency_options;
  nullable_input<uuid> global_concurrency_limit_id;
  std::optional<bool> enforce_parameter_schema;
  nullable_input<json> parameter_openapi_schema;
  json parameters = json::object();
  std::optional<std::vector<std::string>> tags;
  json labels = json::object(); ///< request labels; null arrives as {}
  nullable_input<json> pull_steps;
  nullable_input<std::string> work_queue_name;
  nullable_input<std::string> work_pool_name;
  nullable_input<uuid> storage_document_id;
  nullable_input<uuid> infrastructure_document_id;
  nullable_input<std::string> description;
  nullable_input<std::string> path;
  nullable_input<std::string> version;
  nullable_input<std::string> entrypoint;
  std::optional<json> job_variables;

  bool operator==(const create_deployment&) const = default;
};

/// One schedule of a PATCH body (DeploymentScheduleUpdate), validated.
struct schedule_update_input {
  std::optional<json> schedule; ///< normalised; nothing when null/absent
  std::optional<bool> active;
  std::optional<std::int64_t> max_scheduled_runs;
  json parameters = json::object(); ///< always written; absent means {}
  std::optional<std::string> slug;
  std::optional<std::string> replaces;

  bool operator==(const schedule_update_input&) const = default;
};

/// `PATCH /deployments/{id}`: only present keys apply.
struct update_deployment {
  uuid id;
  nullable_input<std::string> version;
  nullable_input<std::string> description;
  std::optional<bool> paused;
  std::optional<std::vector<schedule_update_input>> schedules;
  nullable_input<std::int64_t> concurrency_limit;
  nullable_input<json> concurrency_options;
  nullable_input<uuid> global_concurrency_limit_id;
  nullable_input<json> parameters; ///< null -> integrity conflict (409)
  nullable_input<json> parameter_openapi_schema;
  std::optional<std::vector<std::string>> tags;
  nullable_input<std::string> work_queue_name;
  nullable_input<std::string> work_pool_name;
  nullable_input<std::string> path;
  nullable_input<json> job_variables;
  nullable_input<json> pull_steps;
  nullable_input<std::string> entrypoint;
  nullable_input<uuid> storage_document_id;
  nullable_input<uuid> infrastructure_document_id;
  nullable_input<bool> enforce_parameter_schema; ///< null -> 409
  /// Set by the writer when `__prefect_kind` hydration of `parameters`
  /// failed (requests leave it empty: the writer hydrates, reading workspace
  /// variables); answered (400) only after the deployment is known to exist.
  std::optional<std::string> hydration_error;

  bool operator==(const update_deployment&) const = default;
};

/// `POST /deployments/{id}/schedules`: add schedules (request order).
struct create_schedules {
  uuid deployment_id;
  std::vector<schedule_input> schedules;

  bool operator==(const create_schedules&) const = default;
};

/// `PATCH /deployments/{id}/schedules/{schedule_id}`.
struct update_schedule {
  uuid deployment_id;
  uuid schedule_id;
  schedule_update_input changes;

  bool operator==(const update_schedule&) const = default;
};

/// `DELETE /deployments/{id}/schedules/{schedule_id}`.
struct delete_schedule {
  uuid deployment_id;
  uuid schedule_id;

  bool operator==(const delete_schedule&) const = default;
};

/// `pause_deployment` / `resume_deployment`: set `paused`.
struct set_deployment_paused {
  uuid id;
  bool paused = true;

  bool operator==(const set_deployment_paused&) const = default;
};

/// `DELETE /deployments/{id}`.
struct delete_deployment {
  uuid id;

  bool operator==(const delete_deployment&) const = default;
};

/// `POST /deployments/bulk_delete`: up to `limit` deployments matching a
/// DeploymentFilter (validated JSON; null = all), in name order.
struct bulk_delete_deployments {
  json filter;
  std::int64_t limit = 50;

  bool operator==(const bulk_delete_deployments&) const = default;
};

// -- events ------------------------------------------------------------------

/// A deployment came into existence; carries its whole initial state.
struct deployment_created {
  static constexpr const char* stored_name = "deployment_created";
  static constexpr int schema_version = 1;

  deployment value;

  bool operator==(const deployment_created&) const = default;
};

/// Fields of a deployment changed. `changes` maps each changed stored field
/// name to `{"from": old, "to": new}`, in field order; `updated` is one of
/// them whenever the timestamp moved.
struct deployment_updated {
  static constexpr const char* stored_name = "deployment_updated";
  static constexpr int schema_version = 1;

  uuid id;
  json changes = json::object();
  /// The reference announces no Prefect event for this change: the
  /// pause/resume endpoints, and links a cascade cleared (stored as
  /// `"quiet": true` only when set; absent in older records).
  bool quiet = false;

  bool operator==(const deployment_updated&) const = default;
};

/// A deployment was deleted; its stream stays readable.
struct deployment_deleted {
  static constexpr const char* stored_name = "deployment_deleted";
  static constexpr int schema_version = 1;

  uuid id;
  timestamp deleted;
  /// Deleted by a cascade (its flow or a block document went): the
  /// reference announces no Prefect event (stored only when set).
  bool quiet = false;

  bool operator==(const deployment_deleted&) const = default;
};

/// The `changes` object between two states (empty when equal).
[[nodiscard]] json diff(const deployment& before, const deployment& after);
/// Applies a `changes` object (the `to` values); throws on an unknown
/// field or a malformed value.
void apply_changes(deployment& d, const json& changes);

[[nodiscard]] std::string to_string(const create_deployment& c);
[[nodiscard]] std::string to_string(const deployment_created& e);
[[nodiscard]] std::string to_string(const deployment_updated& e);

} // namespace deployd::events
