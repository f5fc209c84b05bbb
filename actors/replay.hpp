// Rebuilding the read model from the log alone: catch-up on start, full
// replay, and verification against a scratch rebuild. No CAF include; these
// run before the actor system starts or in the offline tools.
#pragma once

#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <string>

namespace deployd::actors {

struct replay_stats {
  std::uint64_t events = 0;
  double seconds = 0.0;
};

/// Folds every record of `source` after `target`'s projected position into
/// `target`'s projection tables, committing every `batch_events` records
/// unsynced; when `durable`, the last commit is synced and the memtables
/// flushed (a throwaway target skips that). From position 0 it first clears
/// the tables. The log is decoded on a second thread. `target` may be
/// `source`.
[[nodiscard]] std::expected<replay_stats, storage::errc>
catch_up(storage::event_log& target, const storage::event_log& source,
         std::size_t batch_events = 512, bool durable = true);

/// Drops every projection and folds the whole log again.
[[nodiscard]] std::expected<replay_stats, storage::errc>
replay(storage::event_log& log);

/// The first difference found between two read models, if any.
struct verify_report {
  std::uint64_t rows_compared = 0;
  std::uint64_t differences = 0;
  std::string first_difference; ///< empty when identical
};

/// Replays `log` into a fresh database under `scratch_dir` and compares every
/// projection row with the live ones.
[[nodiscard]] std::expected<verify_report, storage::errc>
verify(const storage::event_log& log, const std::string& scratch_dir);

} // namespace deployd::actors
