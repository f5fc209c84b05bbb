#include "actors/replay.hpp"

#include "actors/fold_stored.hpp"
#include "actors/projections.hpp"
#include "events/codec.hpp"
#include "events/stored_deployment.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <unistd.h>
#include <variant>
#include <vector>

namespace deployd::actors {

namespace {

using storage::errc;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

std::string printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
    if (out.size() > 200) {
      out += "...";
      break;
    }
  }
  return out;
}

// Records decoded ahead of the fold, handed over in chunks: a reader thread
// walks and decodes the log (a fifth of the work) while the caller folds.
// Folded chunks go back to the reader, which frees their documents (a tenth
// of the fold thread's time when it did that itself).
// A deployment's creation, the most frequent record, is read without a
// document when its payload is in the form this binary writes
// (`read_stored_deployment`); anything else is decoded as an `any_event`.
struct decoded {
  fold_context at;
  std::variant<events::any_event, events::stored_deployment> event;
  std::string payload;
};

class decode_pipe {
public:
  using chunk = std::vector<decoded>;
  static constexpr std::size_t chunk_size = 256;
  static constexpr std::size_t max_chunks = 8;

  // Producer side. False when the consumer has stopped.
  bool push(chunk&& c) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return full_.size() < max_chunks || stopped_; });
    if (stopped_)
      return false;
    full_.push_back(std::move(c));
    not_empty_.notify_one();
    return true;
  }
  void finish(std::expected<void, errc> result, double cpu_seconds) {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
    cpu_seconds_ = cpu_seconds;
    finished_ = true;
    not_empty_.notify_one();
  }

  // Consumer side. Empty when the producer has finished.
  std::optional<chunk> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !full_.empty() || finished_; });
    if (full_.empty())
      return std::nullopt;
    auto c = std::move(full_.front());
    full_.pop_front();
    not_full_.notify_one();
    return c;
  }
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    not_full_.notify_one();
  }
  // Consumer side: a chunk folded, for the producer to free.
  void give_back(chunk&& c) {
    std::lock_guard lock(mutex_);
    folded_.push_back(std::move(c));
  }
  // Producer side: the chunks folded since the last call.
  std::vector<chunk> take_back() {
    std::lock_guard lock(mutex_);
    return std::exchange(folded_, {});
  }
  std::expected<void, errc> result() const {
    std::lock_guard lock(mutex_);
    return result_;
  }
  // The producer's CPU, once it has finished.
  double cpu_seconds() const {
    std::lock_guard lock(mutex_);
    return cpu_seconds_;
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<chunk> full_;
  std::vector<chunk> folded_;
  bool stopped_ = false;
  bool finished_ = false;
  std::expected<void, errc> result_;
  double cpu_seconds_ = 0.0;
};

void decode_log(const storage::event_log& source, events::log_position from,
                decode_pipe& pipe) {
  decode_pipe::chunk chunk;
  chunk.reserve(decode_pipe::chunk_size);
  bool open = true;
  // A full chunk goes to the fold; false when the fold has stopped.
  auto hand_over = [&] {
    if (chunk.size() < decode_pipe::chunk_size)
      return true;
    open = pipe.push(std::move(chunk));
    pipe.take_back(); // freed here, off the fold thread
    chunk = {};
    chunk.reserve(decode_pipe::chunk_size);
    return open;
  };
  auto visited = source.for_each_from(from, [&](const storage::record& r) {
    const fold_context at{r.position, r.recorded_at, r.command_id, nullptr,
                          r.version};
    if (r.schema_version == events::deployment_created::schema_version &&
        r.name == events::deployment_created::stored_name) {
      events::stored_deployment created;
      if (events::read_stored_deployment(r.payload, created)) {
        chunk.push_back({at, std::move(created), r.payload});
        return hand_over();
      }
    }
    auto event = events::decode(r.name, r.schema_version, r.payload);
    if (!event) {
      // An undecodable record in our own log is a bug, not an input error.
      std::fprintf(stderr, "deployd: record %llu (%s v%d) cannot be decoded\n",
                   static_cast<unsigned long long>(r.position.value),
                   r.name.c_str(), r.schema_version);
      std::abort();
    }
    chunk.push_back({at, std::move(*event), r.payload});
    return hand_over();
  });
  if (open && !chunk.empty())
    pipe.push(std::move(chunk));
  pipe.take_back();
  pipe.finish(visited, thread_cpu_seconds());
}

std::expected<void, errc> index_client_events(storage::event_log& target,
                                              const storage::event_log& source,
                                              std::size_t batch_events) {
  auto batch = target.begin();
  std::size_t in_batch = 0;
  std::optional<errc> failure;
  auto scanned = source.scan(
      storage::table::client_events, "",
      [&](std::string_view key, std::string_view value) {
        if (auto folded = fold_client_event(batch, key, value); !folded) {
          failure = folded.error();
          return false;
        }
        if (++in_batch == batch_events) {
          if (auto c = target.commit(batch, false); !c) {
            failure = c.error();
            return false;
          }
          batch = target.begin();
          in_batch = 0;
        }
        return true;
      });
  if (!scanned)
    return std::unexpected(scanned.error());
  if (failure)
    return std::unexpected(*failure);
  if (auto c = target.commit(batch, false); !c)
    return std::unexpected(c.error());
  return {};
}

// What verify's fold does at its end instead of building table files: the
// rebuilt rows of the buffered tables compared with the live ones as they
// are merged (`storage::event_log::finish_bulk_compare`).
struct bulk_compare {
  const storage::event_log* live = nullptr;
  storage::event_log::table_diff_visitor visit;
  /// The tables compared there (empty when the fold was not a bulk one).
  std::vector<bool> compared;
};

std::expected<replay_stats, errc>
fold_into(storage::event_log& target, const storage::event_log& source,
          std::size_t batch_events, bool durable, const progress_fn& progress,
          bulk_compare* compare);

} // namespace

progress_fn terminal_progress(std::string what) {
  if (isatty(STDERR_FILENO) != 1)
    return {};
  using clock = std::chrono::steady_clock;
  struct state {
    std::string what;
    clock::time_point start = clock::now();
    clock::time_point last{};
    bool drawn = false;
    ~state() {
      if (drawn)
        std::fputc('\n', stderr);
    }
  };
  auto s = std::make_shared<state>();
  s->what = std::move(what);
  return [s](std::uint64_t done, std::uint64_t total) {
    const auto now = clock::now();
    if (done < total && now - s->last < std::chrono::milliseconds(250))
      return;
    s->last = now;
    const double seconds =
        std::chrono::duration<double>(now - s->start).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    char eta[32] = "-";
    if (rate > 0 && done <= total)
      std::snprintf(eta, sizeof eta, "%.0f s",
                    static_cast<double>(total - done) / rate);
    std::fprintf(stderr,
                 "\r%s: %llu / %llu events (%.1f%%), %.0f events/s, ETA %s   ",
                 s->what.c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total),
                 total ? 100.0 * static_cast<double>(done) /
                             static_cast<double>(total)
                       : 100.0,
                 rate, eta);
    std::fflush(stderr);
    s->drawn = true;
  };
}

std::expected<replay_stats, errc> catch_up(storage::event_log& target,
                                           const storage::event_log& source,
                                           std::size_t batch_events,
                                           bool durable,
                                           const progress_fn& progress) {
  return fold_into(target, source, batch_events, durable, progress, nullptr);
}

namespace {

std::expected<replay_stats, errc>
fold_into(storage::event_log& target, const storage::event_log& source,
          std::size_t batch_events, bool durable, const progress_fn& progress,
          bulk_compare* compare) {
  const auto start = std::chrono::steady_clock::now();
  const double start_cpu = thread_cpu_seconds();
  auto from = target.projected_position();
  if (!from)
    return std::unexpected(from.error());
  // Position 0 means no read model: whatever rows a replay killed half-way
  // left behind go first.
  if (from->value == 0)
    if (auto cleared = target.clear_projections(); !cleared)
      return std::unexpected(cleared.error());
  replay_stats stats;
  // From nothing, the rows go to sorted table files ingested at the end
  // (storage/README.md, "bulk rebuild"); the position stays 0 until then.
  const bool bulk = from->value == 0;
  if (bulk)
    if (auto begun = target.begin_bulk_rebuild(); !begun)
      return std::unexpected(begun.error());
  struct abandon_bulk {
    storage::event_log* log;
    ~abandon_bulk() {
      if (log)
        log->abandon_bulk_rebuild();
    }
  } abandon{bulk ? &target : nullptr};
  events::log_position last_folded = *from;
  // Client events are not in the log: a fold from nothing indexes every one
  // the source keeps (their feed rows are projections like the rest).
  if (from->value == 0)
    if (auto indexed = index_client_events(target, source, batch_events);
        !indexed)
      return std::unexpected(indexed.error());
  decode_pipe pipe;
  std::thread reader(decode_log, std::cref(source),
                     events::log_position{from->value + 1}, std::ref(pipe));
  // However the fold ends (an error, an exception), the reader is told to
  // stop and joined.
  struct stop_reader {
    decode_pipe& pipe;
    std::thread& reader;
    ~stop_reader() {
      pipe.stop();
      reader.join();
    }
  };
  std::optional<stop_reader> stopper{std::in_place, pipe, reader};
  auto batch = target.begin();
  std::size_t in_batch = 0;
  std::optional<errc> failure;
  const std::uint64_t total =
      source.last_position().value > from->value
          ? source.last_position().value - from->value
          : 0;
  while (!failure) {
    auto chunk = pipe.pop();
    if (!chunk)
      break;
    if (progress)
      progress(stats.events, total);
    for (const auto& d : *chunk) {
      auto folded = std::visit(
          [&](const auto& event) { return fold(batch, event, d.at, d.payload); },
          d.event);
      if (!folded) {
        failure = folded.error();
        break;
      }
      batch.set_projected(d.at.position);
      last_folded = d.at.position;
      ++stats.events;
      if (++in_batch == batch_events) {
        if (auto c = target.commit(batch, false); !c) {
          failure = c.error();
          break;
        }
        batch = target.begin();
        in_batch = 0;
      }
    }
    pipe.give_back(std::move(*chunk));
  }
  stopper.reset();
  if (failure)
    return std::unexpected(*failure);
  if (auto visited = pipe.result(); !visited)
    return std::unexpected(visited.error());
  // Every batch went through the WAL unsynced (a write that skips the WAL
  // can outlive its neighbours in another table: RocksDB flushes tables one
  // by one). The last commit syncs them all; the flush then spares the next
  // start from replaying that WAL.
  if (progress)
    progress(stats.events, total);
  stats.fold_seconds = seconds_since(start);
  stats.fold_cpu_seconds = thread_cpu_seconds() - start_cpu;
  stats.decode_cpu_seconds = pipe.cpu_seconds();
  if (auto c = target.commit(batch, durable && !bulk); !c)
    return std::unexpected(c.error());
  if (bulk && compare) {
    // A throwaway rebuild: compared as it is merged, nothing kept.
    abandon.log = nullptr;
    auto compared = target.finish_bulk_compare(*compare->live, compare->visit);
    if (!compared)
      return std::unexpected(compared.error());
    compare->compared = std::move(*compared);
    stats.seconds = seconds_since(start);
    stats.finish_seconds = stats.seconds - stats.fold_seconds;
    stats.finish_cpu_seconds =
        thread_cpu_seconds() - start_cpu - stats.fold_cpu_seconds;
    return stats;
  }
  if (bulk) {
    abandon.log = nullptr;
    if (auto f = target.finish_bulk_rebuild(last_folded, durable); !f)
      return std::unexpected(f.error());
  } else if (durable) {
    if (auto f = target.flush(); !f)
      return std::unexpected(f.error());
  }
  // Every row is now in this binary's format only if the fold started from
  // nothing; a partial catch-up leaves the stamp to prepare_read_model.
  if (from->value == 0)
    if (auto s = target.set_read_model_format(read_model_format); !s)
      return std::unexpected(s.error());
  stats.seconds = seconds_since(start);
  stats.finish_seconds = stats.seconds - stats.fold_seconds;
  stats.finish_cpu_seconds =
      thread_cpu_seconds() - start_cpu - stats.fold_cpu_seconds;
  return stats;
}

} // namespace

std::expected<replay_stats, errc> replay(storage::event_log& log,
                                         const progress_fn& progress) {
  auto from = log.projected_position();
  if (!from)
    return std::unexpected(from.error());
  // From 0, catch_up clears the tables itself.
  if (from->value != 0)
    if (auto dropped = log.drop_projections(); !dropped)
      return std::unexpected(dropped.error());
  return catch_up(log, log, 512, true, progress);
}

std::expected<prepared_read_model, errc>
prepare_read_model(storage::event_log& log) {
  prepared_read_model out;
  auto format = log.read_model_format();
  if (!format)
    return std::unexpected(format.error());
  auto from = log.projected_position();
  if (!from)
    return std::unexpected(from.error());
  out.found_format = *format;
  if (*format != read_model_format) {
    // Rows of another format: fold everything again (catch_up stamps it).
    out.rebuilt = true;
    auto stats = replay(log);
    if (!stats)
      return std::unexpected(stats.error());
    out.stats = *stats;
    return out;
  }
  if (*from < log.last_position()) {
    auto stats = catch_up(log, log);
    if (!stats)
      return std::unexpected(stats.error());
    out.stats = *stats;
  }
  return out;
}

std::expected<verify_report, errc> verify(const storage::event_log& log,
                                          const std::string& scratch_dir,
                                          const progress_fn& progress) {
  storage::open_options options;
  options.data_dir = scratch_dir;
  options.durable = false;
  auto scratch = storage::event_log::open(options);
  if (!scratch)
    return std::unexpected(scratch.error());
  // One merge walk of each table in both databases: memory stays flat
  // however large the read model is, and every row is read once. A fold
  // from nothing compares its buffered tables as it merges them (no table
  // files written, ingested and read back); the tables the fold read, and
  // every table after a partial catch-up, are walked in both databases
  // afterwards. Tables are independent: two threads take them in turn,
  // and their findings are put together in table order.
  verify_report report;
  auto live_format = log.read_model_format();
  if (!live_format)
    return std::unexpected(live_format.error());
  report.live_format = *live_format;
  struct table_report {
    std::uint64_t rows_compared = 0;
    std::uint64_t differences = 0;
    std::string first_difference;
    std::expected<void, errc> done;
  };
  std::vector<table_report> found(storage::table_count);
  auto visit_row = [&](storage::table t, std::string_view key,
                       std::optional<std::string_view> live,
                       std::optional<std::string_view> replayed) {
    auto& part = found[static_cast<std::size_t>(t)];
    auto note = [&](const std::string& what) {
      ++part.differences;
      if (part.first_difference.empty())
        part.first_difference =
            std::string(storage::table_name(t)) + ": " + what;
    };
    if (live)
      ++part.rows_compared;
    if (!replayed)
      note("only live has key " + printable(key));
    else if (!live)
      note("only replay has key " + printable(key));
    else if (*live != *replayed)
      note("key " + printable(key) + " differs: live " + printable(*live) +
           " replayed " + printable(*replayed));
    return true;
  };
  bulk_compare merged{&log, visit_row, {}};
  auto rebuilt = fold_into(**scratch, log, 2048, false, progress, &merged);
  if (!rebuilt)
    return std::unexpected(rebuilt.error());
  auto compare = [&](std::size_t i) {
    const auto t = static_cast<storage::table>(i);
    found[i].done = log.compare_table(
        t, **scratch,
        [&](std::string_view key, std::optional<std::string_view> live,
            std::optional<std::string_view> replayed) {
          return visit_row(t, key, live, replayed);
        });
  };
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next++) < storage::table_count;)
      // Client events are not rebuilt (the log does not hold them); the
      // feed rows that index them are, and are compared.
      if (storage::is_projection(static_cast<storage::table>(i)) &&
          !(i < merged.compared.size() && merged.compared[i]))
        compare(i);
  };
  {
    std::thread helper(work);
    work();
    helper.join();
  }
  for (auto& part : found) {
    if (!part.done)
      return std::unexpected(part.done.error());
    report.rows_compared += part.rows_compared;
    report.differences += part.differences;
    if (report.first_difference.empty())
      report.first_difference = std::move(part.first_difference);
  }
  return report;
}

} // namespace deployd::actors
