// The global concurrency limit aggregate (v2 limits), as deployments use it.
//
// A deployment's `concurrency_limit: N` creates, resizes or deletes a limit
// named `deployment:<id>`; `global_concurrency_limit_id` links an existing
// one. Knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <string>

namespace deployd::events {

/// Current state of one limit.
struct concurrency_limit {
  uuid id;
  timestamp created;
  timestamp updated;
  bool active = true;
  std::string name;
  std::int64_t limit = 0;
  std::int64_t active_slots = 0;
  std::int64_t denied_slots = 0;
  double slot_decay_per_second = 0.0;
  double avg_slot_occupancy_seconds = 2.0;

  bool operator==(const concurrency_limit&) const = default;
};

// -- events ------------------------------------------------------------------

/// A limit came into existence; carries its whole initial state.
struct concurrency_limit_created {
  static constexpr const char* stored_name = "concurrency_limit_created";
  static constexpr int schema_version = 1;

  concurrency_limit value;

  bool operator==(const concurrency_limit_created&) const = default;
};

/// A limit's size changed.
struct concurrency_limit_resized {
  static constexpr const char* stored_name = "concurrency_limit_resized";
  static constexpr int schema_version = 1;

  uuid id;
  timestamp updated;
  std::int64_t from = 0;
  std::int64_t to = 0;

  bool operator==(const concurrency_limit_resized&) const = default;
};

/// Fields of a limit changed through the v2 endpoints: `changes` maps each
/// stored field to {from, to}.
struct concurrency_limit_updated {
  static constexpr const char* stored_name = "concurrency_limit_updated";
  static constexpr int schema_version = 1;

  uuid id;
  json changes = json::object();

  bool operator==(const concurrency_limit_updated&) const = default;
};

/// A limit was deleted; its stream stays readable.
struct concurrency_limit_deleted {
  static constexpr const char* stored_name = "concurrency_limit_deleted";
  static constexpr int schema_version = 1;

  uuid id;
  timestamp deleted;
  /// Deleted through a deployment (its `concurrency_limit` went or the
  /// deployment did): the reference announces no Prefect event (stored only
  /// when set).
  bool quiet = false;

  bool operator==(const concurrency_limit_deleted&) const = default;
};

/// Stored form: every field of the v2 limit object.
[[nodiscard]] json to_json(const concurrency_limit& l);
[[nodiscard]] concurrency_limit concurrency_limit_from_json(const json& j);

/// The ConcurrencyLimitV2 response object (create): the stored fields, with
/// `slot_decay_per_second` and `avg_slot_occupancy_seconds` floats (`0.0`,
/// `2.0`) as the reference's float columns answer them.
[[nodiscard]] json limit_response(const concurrency_limit& l);

/// The GlobalConcurrencyLimitResponse object (reads, and the
/// `global_concurrency_limit` inside a deployment response): exactly id,
/// created, updated, active, name, limit, active_slots,
/// slot_decay_per_second (a float).
[[nodiscard]] json deployment_view_of(const concurrency_limit& l);

/// `deployment:<deployment id>`.
[[nodiscard]] std::string deployment_limit_name(const uuid& deployment_id);

} // namespace deployd::events
