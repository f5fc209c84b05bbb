// Prefect's event model (`ReceivedEvent`): what `/api/events` serves, for
// the events deployd derives from its log and for the events clients send.
//
// An event names a primary resource and related resources by labels (flat
// string -> string objects), carries a free-form payload, and has an id:
// chosen by the client for client events, derived from the log position for
// the events deployd announces (the same id after a replay and on every
// node). Also the two writer commands for client events. Knows nothing of
// HTTP, storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::events {

/// One event as stored and served (Prefect's ReceivedEvent).
struct prefect_event {
  timestamp occurred;
  std::string event;
  /// The primary resource's labels (`prefect.resource.id` first).
  json resource = json::object();
  /// Related resources: an array of label objects.
  json related = json::array();
  json payload = json::object();
  uuid id;
  std::optional<uuid> follows;
  timestamp received;

  bool operator==(const prefect_event&) const = default;
};

/// The ReceivedEvent JSON object, keys in the reference's order (occurred,
/// event, resource, related, payload, id, follows, received).
[[nodiscard]] json to_json(const prefect_event& e);
/// `to_json(e)` as compact text (big integers and floats as the reference
/// writes them).
[[nodiscard]] std::string render_event(const prefect_event& e);
/// Inverse of `to_json`; throws on a malformed document.
[[nodiscard]] prefect_event prefect_event_from_json(const json& j);

/// `resource["prefect.resource.id"]` (empty when missing).
[[nodiscard]] std::string resource_id(const json& labels);

/// The id of the `index`-th event announced for the record at `position`
/// (written by command `command_id` at `recorded_at`): a UUIDv7 whose time
/// is `recorded_at` and whose random bits are a SHA-256 of the rest, so the
/// same log gives the same ids on every node and after every replay.
[[nodiscard]] uuid announced_event_id(const uuid& command_id,
                                      log_position position, unsigned index,
                                      timestamp recorded_at);

// -- client events: limits (events-api §1, §2) -------------------------------

/// `PREFECT_SERVER_EVENTS_MAXIMUM_EVENT_NAME_LENGTH`.
inline constexpr std::size_t max_event_name_length = 1024;
/// `PREFECT_SERVER_EVENTS_MAXIMUM_RELATED_RESOURCES`.
inline constexpr std::size_t max_related_resources = 100;
/// `PREFECT_SERVER_EVENTS_MAXIMUM_LABELS_PER_RESOURCE`.
inline constexpr std::size_t max_labels_per_resource = 500;
/// `PREFECT_SERVER_EVENTS_MAXIMUM_SIZE_BYTES`: larger events are dropped
/// silently (the request still succeeds).
inline constexpr std::size_t max_event_size_bytes = 1'500'000;

// -- commands
// ------------------------------------------------------------------

/// `POST /api/events` and `/api/events/in`: store these client events (in
/// order), each unless its id is already known. `received` is stamped by
/// the writer. Validated by http/.
struct record_client_events {
  std::vector<prefect_event> events;

  bool operator==(const record_client_events&) const = default;
};

/// The retention sweep: delete client events that occurred more than
/// `retention_seconds` before the writer's now (Prefect's db-vacuum of
/// events). Sent by a timer.
struct expire_client_events {
  std::int64_t retention_seconds = 7 * 24 * 3600;

  bool operator==(const expire_client_events&) const = default;
};

} // namespace deployd::events
