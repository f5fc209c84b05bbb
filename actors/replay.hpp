// Rebuilding the read model from the log alone: catch-up on start, full
// replay, and verification against a scratch rebuild. No CAF include; these
// run before the actor system starts or in the offline tools.
#pragma once

#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <string>

namespace deployd::actors {

struct replay_stats {
  std::uint64_t events = 0;
  double seconds = 0.0;
  /// The fold (until the last record is folded), and after it the table
  /// files and their ingest (a fold from nothing) or the flush: wall time
  /// and the calling thread's CPU in each, in seconds. The calling thread
  /// is the critical path: on idle cores the wall time is about the sum of
  /// its two CPU figures.
  double fold_seconds = 0.0;
  double fold_cpu_seconds = 0.0;
  /// The reader thread's CPU (reading and decoding the log), beside the
  /// fold.
  double decode_cpu_seconds = 0.0;
  double finish_seconds = 0.0;
  double finish_cpu_seconds = 0.0;
};

/// Called now and then while a fold runs: events folded so far, and the
/// events to fold in all.
using progress_fn =
    std::function<void(std::uint64_t done, std::uint64_t total)>;

/// A progress line on stderr ("<what>: done / total events, rate, ETA"),
/// redrawn at most 4 times a second, when stderr is a terminal; an empty
/// function (no output) when it is not.
[[nodiscard]] progress_fn terminal_progress(std::string what);

/// Folds every record of `source` after `target`'s projected position into
/// `target`'s projection tables, committing every `batch_events` records
/// unsynced; when `durable`, the last commit is synced and the memtables
/// flushed (a throwaway target skips that). From position 0 it first clears
/// the tables and then rebuilds them in bulk (`storage::event_log::
/// begin_bulk_rebuild`: sorted table files, ingested at the end, the
/// position recorded last). The log is decoded on a second thread. `target`
/// may be `source`.
[[nodiscard]] std::expected<replay_stats, storage::errc>
catch_up(storage::event_log& target, const storage::event_log& source,
         std::size_t batch_events = 512, bool durable = true,
         const progress_fn& progress = {});

/// Drops every projection and folds the whole log again.
[[nodiscard]] std::expected<replay_stats, storage::errc>
replay(storage::event_log& log, const progress_fn& progress = {});

/// What `prepare_read_model` did.
struct prepared_read_model {
  replay_stats stats;             ///< events folded (0: nothing to do)
  std::uint32_t found_format = 0; ///< the stamp the database had
  bool rebuilt = false; ///< the stamp differed: every row was folded again
};

/// Makes the read model current before serving: a database whose rows were
/// written in another `read_model_format` (an older binary) is dropped and
/// folded again; otherwise the projections catch up with the log. Stamps
/// the format either way. Call before the writer starts.
[[nodiscard]] std::expected<prepared_read_model, storage::errc>
prepare_read_model(storage::event_log& log);

/// The first difference found between two read models, if any.
struct verify_report {
  std::uint64_t rows_compared = 0;
  std::uint64_t differences = 0;
  std::string first_difference; ///< empty when identical
  /// The live read model's format stamp (differences are expected when it
  /// is not `read_model_format`: serve or replay rebuilds it).
  std::uint32_t live_format = 0;
};

/// Replays `log` into a fresh database under `scratch_dir` and compares every
/// projection row with the live ones.
[[nodiscard]] std::expected<verify_report, storage::errc>
verify(const storage::event_log& log, const std::string& scratch_dir,
       const progress_fn& progress = {});

} // namespace deployd::actors
