// History and time travel (issue 16 item 3): a stream's records as the
// history route lists them, and a deployment or flow as `GET` answered it
// at a version or a time: the fold of its stream up to there, with what the
// response derives from other streams (the linked concurrency limit, work
// queue and pool) folded up to the same log position. Reads the log only
// (`event_log::read_stream`), so it may block on disk: call it from the
// blocking-read pool or a tool, never from a Beast I/O thread or the writer.
// No CAF include.
#pragma once

#include "events/ids.hpp"
#include "events/time.hpp"
#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace deployd::actors {

/// The records of `stream` as a JSON array of `{"version", "position",
/// "recorded_at", "event", "changes"}` (`changes`: an update's
/// `{field: {from, to}}`; for a creation every field from null; `{}` for a
/// deletion). Nothing when the stream has no record.
[[nodiscard]] std::expected<std::optional<std::string>, storage::errc>
history_json(const storage::event_log& log, const events::stream_id& stream);

/// Which moment of a stream: its version N, or the last version recorded
/// at or before a time.
struct as_of {
  std::optional<std::uint64_t> version;
  std::optional<events::timestamp> time;
};

/// A resource as it was.
struct past_state {
  enum class status : std::uint8_t { absent, present, deleted };
  status state = status::absent;
  /// present: the response GET gave; deleted: the last one before.
  std::string body;
  /// The version answered (deleted: the deletion's version).
  std::uint64_t version = 0;
  /// deleted: when.
  events::timestamp deleted_at;
};

[[nodiscard]] std::expected<past_state, storage::errc>
deployment_at(const storage::event_log& log, const events::uuid& id,
              const as_of& when);
[[nodiscard]] std::expected<past_state, storage::errc>
flow_at(const storage::event_log& log, const events::uuid& id,
        const as_of& when);

} // namespace deployd::actors
