// Queries over the Prefect event feed: `/api/events/filter` pages and
// `count-by` (events-api §4-§6), run against any `storage::reader`.
//
// A query walks one index in time order: the event-id, resource-id,
// related-id or event-name index when the filter names ids or names (one
// range scan per value), else the events themselves between `since` and
// `until`. Candidates are checked against the whole filter; when the index
// walked is the whole filter, nothing is parsed. Runs on the blocking-read
// pool (it may touch the disk). No CAF include.
#pragma once

#include "events/event_filter.hpp"
#include "events/json.hpp"
#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::actors {

/// Called for each matching event in the filter's order with its event key
/// and stored JSON text; return false to stop.
using event_match_visitor =
    std::function<bool(std::string_view key, std::string_view text)>;

/// Visits every event matching `f` (but `resource.distinct`) in order.
/// With a `feed_head` (a feed key), events that entered the feed after it
/// are left out: the pages of one query stay a snapshot of the feed as the
/// first page saw it.
[[nodiscard]] std::expected<void, storage::errc>
for_each_event(storage::reader& r, const events::event_filter& f,
               const event_match_visitor& visit,
               std::string_view feed_head = {});

/// The newest feed key (all zero bytes when the feed is empty).
[[nodiscard]] std::expected<std::string, storage::errc>
feed_head(storage::reader& r);

/// One page of events (JSON texts) and, when counted, the total.
struct event_page {
  std::vector<std::string> events;
  std::int64_t total = 0;
};

/// Events `offset` .. `offset + limit` of `f` (distinct resources when
/// `resource.distinct`). With `count_total` the whole result is walked to
/// count it; without, the walk stops after the page.
[[nodiscard]] std::expected<event_page, storage::errc>
read_events(storage::reader& r, const events::event_filter& f,
            std::int64_t offset, std::int64_t limit, bool count_total,
            std::string_view feed_head = {});

/// What `count-by` counts (the path parameter).
enum class event_countable : std::uint8_t { day, time, event, resource };

/// The buckets of a `count-by` request.
struct count_buckets {
  std::int64_t delta_micros = 86'400'000'000;
  /// Start of the first bucket, and how many.
  std::int64_t first_start = 0;
  std::int64_t count = 0;
};

/// Buckets of `interval` × `unit` (week, day, hour, minute, second) aligned
/// to 2024-04-01T00:00:00Z over [since, until] (an `until` in the future
/// ends at the end of the current unit period); `n` = ceil((until - since)
/// / delta) is what the reference checks against 1000.
[[nodiscard]] count_buckets time_buckets(const events::event_filter& f,
                                         std::string_view unit, double interval,
                                         events::timestamp now,
                                         std::int64_t& n);

/// The EventCount list of `count-by/{countable}` as JSON text.
[[nodiscard]] std::expected<std::string, storage::errc>
count_events(storage::reader& r, const events::event_filter& f,
             event_countable what, const count_buckets& buckets);

} // namespace deployd::actors
