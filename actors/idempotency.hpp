// Idempotent retries (issue 16 item 5): an `Idempotency-Key` and the answer
// of the write it came with, kept as a document of kind `idempotency_key`
// (`idempotency_key_created` / `_deleted` on stream `idempotency_key/<id>`).
//
// Why in the log: the key must be recorded in the same atomic batch as the
// write it belongs to, survive restart and `replay`, and be on every node of
// a cluster (a retry after a failover lands on another node). Records in the
// log give all three with the machinery that exists (the batch, the fold,
// the replicated entry). The cost: a keyed write appends one more record.
// Keys older than the retention are treated as absent when a request
// arrives and deleted by a periodic sweep (`expire_idempotency_keys`).
//
// The writer calls these as it decides, so two requests with one key are
// decided one after the other: the second sees the first's record, even in
// the same batch. Internal to actors/; no CAF.
#pragma once

#include "actors/commands.hpp"
#include "actors/decision.hpp"
#include "storage/event_log.hpp"

#include <chrono>
#include <expected>
#include <optional>

namespace deployd::actors {

/// What an earlier request with the same key says about this one.
struct recalled_key {
  /// The answer to give instead of deciding: the first answer again
  /// (`replayed`), or a 422 when the key came with another request.
  std::optional<command_result> answer;
  /// A record of this key past the retention (deleted when the key is
  /// recorded again).
  std::optional<events::uuid> expired;
};

/// Looks `conditions.idempotency_key` up through `b`.
[[nodiscard]] std::expected<recalled_key, storage::errc>
recall_key(storage::write_batch& b, const write_conditions& conditions,
           events::timestamp now, std::chrono::seconds retention);

/// Records the key with `result` (an ok result) in `b`: one
/// `idempotency_key_created` (after an `_deleted` of `expired`).
[[nodiscard]] std::expected<void, storage::errc>
remember_key(storage::write_batch& b, const write_conditions& conditions,
             const command_result& result,
             const std::optional<events::uuid>& expired, decision_env& env,
             const events::uuid& command_id);

/// A UUID whose first 48 bits are the milliseconds of `t` (UUIDv7 layout)
/// and the rest from `ids`: key documents sort by the time they were
/// recorded, so the sweep reads only the expired ones.
[[nodiscard]] events::uuid time_ordered_id(events::timestamp t,
                                           events::id_source& ids);

} // namespace deployd::actors
