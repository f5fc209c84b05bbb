// Flow runs (flow-runs.md): their commands, the FlowRun document, states,
// and the orchestration rules a worker's path meets (§7).
//
// A flow run is a document aggregate (`resource_kind::flow_run`, stream
// `flow_run/<id>`): `flow_run_created` carries the whole run, every state
// change and PATCH is a `flow_run_updated` with the changed fields,
// `flow_run_deleted` ends it. The functions here are pure: the writer passes
// the time and the new ids, so a replay writes the same bytes. Knows nothing
// of HTTP, storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/schedule.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace deployd::events {

// -- commands (bodies are validated by http/) ---------------------------------

/// `POST /deployments/{id}/create_flow_run` (a DeploymentFlowRunCreate
/// body) or, without `deployment_id`, `POST /flow_runs/` (FlowRunCreate).
struct create_flow_run {
  std::optional<uuid> deployment_id;
  json body;
  bool operator==(const create_flow_run&) const = default;
};
/// `POST /deployments/{id}/create_flow_run/bulk`: at most 100 items, each
/// created (or failed) on its own.
struct create_flow_runs_bulk {
  uuid deployment_id;
  json items = json::array();
  bool operator==(const create_flow_runs_bulk&) const = default;
};
/// `PATCH /flow_runs/{id}` with a FlowRunUpdate body.
struct update_flow_run {
  uuid id;
  json body;
  bool operator==(const update_flow_run&) const = default;
};
/// `DELETE /flow_runs/{id}`.
struct delete_flow_run {
  uuid id;
  bool operator==(const delete_flow_run&) const = default;
};
/// `POST /flow_runs/{id}/set_state`: `state` is a StateCreate.
struct set_flow_run_state {
  uuid id;
  json state;
  bool force = false;
  bool operator==(const set_flow_run_state&) const = default;
};
/// A poll of workers or runners: the deployments and work queues get
/// `last_polled = now` and `status: READY` (deployments-api.md §13,
/// flow-runs.md §6).
struct record_poll {
  std::vector<uuid> deployment_ids;
  std::vector<uuid> queue_ids;
  bool operator==(const record_poll&) const = default;
};

/// The rule of `POST /deployments/{id}/schedule` and of the scheduler
/// (flow-runs.md §3.3, §11.3): for each active schedule, its dates from
/// `start` on, at most `max_runs` and none after `end`, stopping once
/// `min_runs` are taken and the last is at least `min_time` after `start`.
/// Times and durations in microseconds.
struct schedule_window {
  std::optional<std::int64_t> start_time; ///< absent: the writer's now
  std::optional<std::int64_t> end_time;   ///< absent: start + max_scheduled
  std::int64_t min_time_micros = 3'600'000'000;
  std::int64_t min_runs = 3;
  std::int64_t max_runs = 100;
  std::int64_t max_scheduled_micros = 8'640'000'000'000;
  bool operator==(const schedule_window&) const = default;
};
/// `POST /deployments/{id}/schedule`: the deployment's auto-scheduled runs
/// in `window`, each once (idempotency key `scheduled <deployment>
/// <schedule> <date>`); `paused` is not checked, an unknown deployment
/// does nothing.
struct schedule_flow_runs {
  uuid deployment_id;
  schedule_window window;
  bool operator==(const schedule_flow_runs&) const = default;
};
/// One pass of the scheduler service over a page of deployments (§11.2):
/// unpaused deployments with an active schedule that needs runs (fewer
/// than `min_runs` future auto-scheduled runs of that schedule, or the
/// last before now + `min_time`), in id order after `after`; or, when
/// `recent_micros` > 0, those updated within that window (the
/// recent-deployments loop, no "needs runs" test). Stops after
/// `batch_size` deployments or once `insert_batch_size` runs are made.
/// Answers `{"next": <last deployment id looked at> | null}`.
struct schedule_due_runs {
  std::optional<uuid> after;
  std::int64_t recent_micros = 0;
  std::int64_t batch_size = 100;
  std::int64_t insert_batch_size = 500;
  schedule_window window;
  bool operator==(const schedule_due_runs&) const = default;
};
/// One pass of the late-runs service (§12): runs named `Scheduled` whose
/// `next_scheduled_start_time` is at least `after_micros` before now get
/// the state `Late` (at most `limit` per pass). Answers `{"marked": n}`.
struct mark_late_runs {
  std::int64_t after_micros = 15'000'000;
  std::int64_t limit = 500;
  bool operator==(const mark_late_runs&) const = default;
};

/// The fire times of `s` that `w` takes between `start` and `end`
/// (schedule_window), ascending. Pure.
[[nodiscard]] std::vector<timestamp> window_dates(const schedule& s,
                                                  timestamp start,
                                                  timestamp end,
                                                  const schedule_window& w);

/// `scheduled <deployment id> <schedule id> <date>`: the idempotency key of
/// an auto-scheduled run (§11.4).
[[nodiscard]] std::string scheduled_run_key(const uuid& deployment,
                                            const uuid& schedule_id,
                                            const schedule& s, timestamp at);

// -- states -------------------------------------------------------------------

/// Whether `type` is COMPLETED, FAILED, CANCELLED or CRASHED.
[[nodiscard]] bool is_terminal_state(const std::string& type);

/// A State object (§1.1) from a StateCreate: the name defaults from the
/// type, `state_details` has all 18 keys (unknown ones dropped), a
/// SCHEDULED state's `scheduled_time` defaults to `now`.
[[nodiscard]] json make_state(const json& create, const uuid& id,
                              timestamp now, const uuid& run_id);

/// The empirical policy defaults (§2.1).
[[nodiscard]] json default_empirical_policy();

/// A random-looking two-word run name (`crimson-lemur`), picked by `seed`.
[[nodiscard]] std::string run_name(const uuid& seed);

/// A version-7 UUID for `t` (ids sort by creation time, as the
/// reference's), its random bits taken from `random`.
[[nodiscard]] uuid uuid_v7(timestamp t, const uuid& random);

/// The run document as the API answers it at `now`: `estimated_run_time`
/// and `estimated_start_time_delta` are computed (§2.1).
[[nodiscard]] json render_flow_run(json run, timestamp now);
/// The WorkerFlowRunResponse item (§2.2).
[[nodiscard]] json worker_flow_run(const json& run, timestamp now);
/// `render_flow_run` (or, with `worker`, `worker_flow_run`) of a stored
/// run document's compact text, appended to `out` without building a DOM:
/// the stored members are copied and the two computed ones written. False
/// (and `out` unchanged) when the text is not such a document or the run
/// is RUNNING (its estimate needs the state): render the parsed document.
[[nodiscard]] bool append_rendered_flow_run(std::string& out,
                                            std::string_view stored,
                                            timestamp now, bool worker = false);

/// The values of the top-level members named `keys` of a stored run
/// document's compact text, written to `values` in the order of `keys`
/// (empty views for absent members), without building a DOM. False when the
/// text is not such a document.
[[nodiscard]] bool stored_run_members(std::string_view stored,
                                      std::span<const std::string_view> keys,
                                      std::span<std::string_view> values);

/// Writes `state` as the run's current state, with the global transforms
/// (§7.4): unique timestamp, derived times, counts, `updated`.
void apply_state(json& run, json state, timestamp now);

// -- orchestration --------------------------------------------------------------

/// What `orchestrate` decided (§7.1).
struct orchestration {
  std::string status; ///< ACCEPT, REJECT, ABORT or WAIT
  json details;
  /// The state to write: the proposal (ACCEPT) or a replacement (REJECT);
  /// nothing when the run keeps its state.
  std::optional<json> write;
  /// Changes of `empirical_policy` the rules made (retry_type).
  std::optional<json> empirical_policy;
};

/// Decides a proposed state for `run` (CoreFlowPolicy, or MinimalFlowPolicy
/// when `force`). `proposed` is the State built by `make_state`;
/// `replacement_id` is the id of a state a rule writes instead.
[[nodiscard]] orchestration orchestrate(const json& run, const json& proposed,
                                        bool force, timestamp now,
                                        const uuid& replacement_id);

} // namespace deployd::events
