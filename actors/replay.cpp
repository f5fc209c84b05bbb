#include "actors/replay.hpp"

#include "actors/projections.hpp"
#include "events/codec.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace deployd::actors {

namespace {

using storage::errc;

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

} // namespace

std::expected<replay_stats, errc> catch_up(storage::event_log& target,
                                           const storage::event_log& source,
                                           std::size_t batch_events,
                                           bool durable) {
  const auto start = std::chrono::steady_clock::now();
  auto from = target.projected_position();
  if (!from)
    return std::unexpected(from.error());
  replay_stats stats;
  auto batch = target.begin();
  std::size_t in_batch = 0;
  std::optional<errc> failure;
  auto visited =
      source.for_each_from({from->value + 1}, [&](const storage::record& r) {
        auto event = events::decode(r.name, r.schema_version, r.payload);
        if (!event) {
          // An undecodable record in our own log is a bug, not an input error.
          std::fprintf(stderr,
                       "deployd: record %llu (%s v%d) cannot be decoded\n",
                       static_cast<unsigned long long>(r.position.value),
                       r.name.c_str(), r.schema_version);
          std::abort();
        }
        if (auto folded = fold(batch, *event, r.payload); !folded) {
          failure = folded.error();
          return false;
        }
        batch.set_projected(r.position);
        ++stats.events;
        if (++in_batch == batch_events) {
          if (auto c = target.commit_unlogged(batch); !c) {
            failure = c.error();
            return false;
          }
          batch = target.begin();
          in_batch = 0;
        }
        return true;
      });
  if (!visited)
    return std::unexpected(visited.error());
  if (failure)
    return std::unexpected(*failure);
  // The batches so far skipped the write-ahead log: flush them to table
  // files, then record the final position with a synced commit.
  if (auto c = target.commit_unlogged(batch); !c)
    return std::unexpected(c.error());
  if (!durable) {
    stats.seconds = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    return stats;
  }
  if (auto f = target.flush(); !f)
    return std::unexpected(f.error());
  auto last = target.begin();
  if (auto p = target.projected_position(); p)
    last.set_projected(*p);
  if (auto c = target.commit(last, true); !c)
    return std::unexpected(c.error());
  stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return stats;
}

std::expected<replay_stats, errc> replay(storage::event_log& log) {
  if (auto dropped = log.drop_projections(); !dropped)
    return std::unexpected(dropped.error());
  return catch_up(log, log);
}

std::expected<verify_report, errc> verify(const storage::event_log& log,
                                          const std::string& scratch_dir) {
  storage::open_options options;
  options.data_dir = scratch_dir;
  options.durable = false;
  auto scratch = storage::event_log::open(options);
  if (!scratch)
    return std::unexpected(scratch.error());
  auto rebuilt = catch_up(**scratch, log, 2048, false);
  if (!rebuilt)
    return std::unexpected(rebuilt.error());

  // Two passes of point lookups instead of loading tables: memory stays
  // flat however large the read model is.
  verify_report report;
  std::optional<errc> failure;
  for (std::size_t i = 0; i < storage::table_count; ++i) {
    const auto t = static_cast<storage::table>(i);
    auto note = [&](const std::string& what) {
      ++report.differences;
      if (report.first_difference.empty())
        report.first_difference =
            std::string(storage::table_name(t)) + ": " + what;
    };
    auto compare = [&](const storage::event_log& a, const storage::event_log& b,
                       bool count, const char* only) {
      return a.scan(t, "", [&](std::string_view key, std::string_view value) {
        if (count)
          ++report.rows_compared;
        auto other = b.get(t, key);
        if (!other) {
          failure = other.error();
          return false;
        }
        if (!*other)
          note(std::string(only) + " has key " + printable(key));
        else if (count && **other != value)
          note("key " + printable(key) + " differs: live " + printable(value) +
               " replayed " + printable(**other));
        return true;
      });
    };
    if (auto done = compare(log, **scratch, true, "only live"); !done)
      return std::unexpected(done.error());
    if (auto done = compare(**scratch, log, false, "only replay"); !done)
      return std::unexpected(done.error());
    if (failure)
      return std::unexpected(*failure);
  }
  return report;
}

} // namespace deployd::actors
