// Conditional writes (issue 16 item 4): which stream a command changes, and
// whether its `If-Match` / `If-None-Match` hold. Called by the writer as it
// decides each command, so a condition and the write it guards see the same
// state (nothing else decides in between): race-free by construction.
// Internal to actors/; no CAF.
#pragma once

#include "actors/commands.hpp"
#include "storage/event_log.hpp"

#include <expected>
#include <optional>

namespace deployd::actors {

/// The one resource a command changes: its stream and whether it exists
/// now (as seen through the batch).
struct write_target {
  events::stream_id stream;
  bool exists = false;
};

/// The resource `cmd` changes, resolved through `b` (by id or by name); nothing
/// when the command changes none or several (bulk deletes, creations of runs,
/// polls, client events...).
[[nodiscard]] std::expected<std::optional<write_target>, storage::errc>
target_of(const command& cmd, storage::write_batch& b);

/// The rejection (412, or 400 on a route with no single resource) when the
/// command's tag conditions do not hold; nothing when they do or there are
/// none. Writer thread only.
[[nodiscard]] std::expected<std::optional<events::rejection>, storage::errc>
check_tags(const command& cmd, const write_conditions& conditions,
           storage::write_batch& b);

/// The strong ETag of a stream version: `"N"`.
[[nodiscard]] std::string etag_of(events::stream_version v);

} // namespace deployd::actors
