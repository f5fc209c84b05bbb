#include "actors/event_queries.hpp"

#include "actors/event_feed.hpp"
#include "actors/projections.hpp"
#include "events/python/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace deployd::actors {

namespace {

using events::event_filter;
using events::json;
using storage::errc;
using storage::table;

// Where candidates come from.
enum class source : std::uint8_t {
  ids,
  resource_ids,
  related_ids,
  any_ids,
  names,
  walk
};

bool has(const std::optional<std::vector<std::string>>& v) {
  return v && !v->empty();
}

bool blank_text(const std::optional<std::string>& t) {
  return !t || std::all_of(t->begin(), t->end(), [](unsigned char c) {
    return std::isspace(c) != 0;
  });
}

bool related_empty(const events::event_related_filter& r) {
  return !r.id && !r.role && !r.resources_in_roles && !r.labels;
}

bool any_empty(const events::event_any_resource_filter& a) {
  return !a.id && !a.id_prefix && !a.labels;
}

// The criteria of a filter besides its time window, by kind.
struct criteria {
  bool ids = false;
  bool resource_id = false;
  bool resource_other = false; // id_prefix or labels
  bool names = false;
  bool name_other = false;
  bool related = false;
  bool any = false;
  bool text = false;
};

criteria criteria_of(const event_filter& f) {
  criteria c;
  c.ids = !f.ids.empty();
  if (f.resource) {
    c.resource_id = has(f.resource->id);
    c.resource_other = has(f.resource->id_prefix) || f.resource->labels;
  }
  if (f.event) {
    c.names = has(f.event->name);
    c.name_other = has(f.event->prefix) || has(f.event->exclude_prefix) ||
                   has(f.event->exclude_name);
  }
  c.related = std::any_of(f.related.begin(), f.related.end(),
                          [](const auto& r) { return !related_empty(r); });
  c.any = std::any_of(f.any_resource.begin(), f.any_resource.end(),
                      [](const auto& a) { return !any_empty(a); });
  c.text = !blank_text(f.text);
  return c;
}

source choose(const event_filter& f, const criteria& c) {
  if (c.ids)
    return source::ids;
  if (c.resource_id)
    return source::resource_ids;
  for (const auto& r : f.related)
    if (has(r.id))
      return source::related_ids;
  for (const auto& a : f.any_resource)
    if (has(a.id))
      return source::any_ids;
  if (c.names)
    return source::names;
  return source::walk;
}

// Whether the index walked already is the whole filter.
bool covered(source s, const criteria& c) {
  const bool others =
      c.resource_other || c.name_other || c.related || c.any || c.text;
  switch (s) {
  case source::walk:
    return !others && !c.ids && !c.resource_id && !c.names;
  case source::ids:
    return !others && !c.resource_id && !c.names;
  case source::resource_ids:
    return !others && !c.ids && !c.names;
  case source::names:
    return !others && !c.ids && !c.resource_id;
  case source::related_ids:
  case source::any_ids:
    return false;
  }
  return false;
}

// Event keys of `id` in a `<text> \0 <event key>` index within [lo, hi).
std::expected<void, errc> collect(storage::reader& r, table t,
                                  const std::string& value,
                                  const std::string& lo, const std::string& hi,
                                  std::vector<std::string>& out) {
  std::string prefix = value;
  prefix.push_back('\0');
  return r.scan_range(t, prefix + lo, prefix + hi,
                      [&](std::string_view key, std::string_view) {
                        // A value holding \0 can make a longer key share
                        // the prefix: the event key is always the last 24
                        // bytes, and the full match below decides.
                        if (key.size() == prefix.size() + event_key_size)
                          out.emplace_back(event_key_of(key));
                        return true;
                      });
}

std::expected<std::vector<std::string>, errc>
candidates(storage::reader& r, const event_filter& f, source s,
           const std::string& lo, const std::string& hi) {
  std::vector<std::string> keys;
  auto scan_all =
      [&](table t,
          const std::vector<std::string>& values) -> std::expected<void, errc> {
    for (const auto& v : values)
      if (auto done = collect(r, t, v, lo, hi, keys); !done)
        return done;
    return {};
  };
  std::expected<void, errc> done;
  switch (s) {
  case source::ids:
    for (const auto& id : f.ids) {
      auto key = r.get(table::event_ids, id_key(id));
      if (!key)
        return std::unexpected(key.error());
      if (*key && **key >= lo && **key < hi)
        keys.push_back(std::move(**key));
    }
    break;
  case source::resource_ids:
    done = scan_all(table::event_resources, *f.resource->id);
    break;
  case source::related_ids:
    for (const auto& rel : f.related)
      if (has(rel.id)) {
        done = scan_all(table::event_related, *rel.id);
        break;
      }
    break;
  case source::any_ids:
    for (const auto& a : f.any_resource)
      if (has(a.id)) {
        done = scan_all(table::event_resources, *a.id);
        if (done)
          done = scan_all(table::event_related, *a.id);
        break;
      }
    break;
  case source::names:
    done = scan_all(table::event_names, *f.event->name);
    break;
  case source::walk:
    break;
  }
  if (!done)
    return std::unexpected(done.error());
  if (f.ascending)
    std::sort(keys.begin(), keys.end());
  else
    std::sort(keys.begin(), keys.end(), std::greater<>());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

bool check(const event_filter& f, bool is_covered, std::string_view text) {
  if (is_covered)
    return true;
  return events::matches(
      f, events::prefect_event_from_json(events::parse_json(text)));
}

std::string resource_of(std::string_view text) {
  const auto j = events::parse_json(text);
  return events::resource_id(j.at("resource"));
}

// Python's isoformat() of a UTC time: `+00:00`, micros only when set.
std::string iso_label(events::timestamp t) {
  auto s = events::format_timestamp(t);
  s.pop_back(); // the Z
  return s + "+00:00";
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  auto q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

// 2024-04-01T00:00:00Z, a Monday: where the reference aligns buckets.
constexpr std::int64_t pivot_micros = 1711929600LL * 1'000'000;

std::int64_t unit_micros(std::string_view unit) {
  constexpr std::int64_t second = 1'000'000;
  if (unit == "week")
    return 7 * 86400 * second;
  if (unit == "day")
    return 86400 * second;
  if (unit == "hour")
    return 3600 * second;
  if (unit == "minute")
    return 60 * second;
  return second;
}

} // namespace

std::expected<std::string, errc> feed_head(storage::reader& r) {
  // An empty feed has a head too: nothing at all is after it... but every
  // event that comes later.
  std::string head(feed_key_size, '\0');
  auto scanned = r.scan(
      table::event_feed, "",
      [&](std::string_view key, std::string_view) {
        head = key;
        return false;
      },
      storage::scan_order::reverse);
  if (!scanned)
    return std::unexpected(scanned.error());
  return head;
}

std::expected<void, errc> for_each_event(storage::reader& r,
                                         const event_filter& f,
                                         const event_match_visitor& visit,
                                         std::string_view head) {
  if (f.since > f.until)
    return {};
  // Events that entered the feed after `head` are not part of this query.
  const auto later = [&](std::string_view key) {
    return !head.empty() && feed_key_of(key) > head;
  };
  const auto lo = order_bytes(f.since);
  const auto hi = order_bytes({f.until.micros + 1});
  const auto c = criteria_of(f);
  const auto s = choose(f, c);
  const bool is_covered = covered(s, c);
  if (s == source::walk) {
    return r.scan_range(
        table::event_rows, lo, hi,
        [&](std::string_view key, std::string_view value) {
          return later(key) || !check(f, is_covered, value) ||
                 visit(key, value);
        },
        f.ascending ? storage::scan_order::forward
                    : storage::scan_order::reverse);
  }
  auto keys = candidates(r, f, s, lo, hi);
  if (!keys)
    return std::unexpected(keys.error());
  for (const auto& key : *keys) {
    if (later(key))
      continue;
    auto row = r.get(table::event_rows, key);
    if (!row)
      return std::unexpected(row.error());
    if (!*row)
      continue; // an index row without its event would be a bug; skip it
    if (check(f, is_covered, **row) && !visit(key, **row))
      break;
  }
  return {};
}

std::expected<event_page, errc>
read_events(storage::reader& r, const event_filter& f, std::int64_t offset,
            std::int64_t limit, bool count_total, std::string_view head) {
  event_page page;
  std::int64_t index = 0;
  const bool distinct = f.resource && f.resource->distinct;
  std::set<std::string> seen;
  auto walked = for_each_event(
      r, f,
      [&](std::string_view, std::string_view text) {
        if (distinct && !seen.insert(resource_of(text)).second)
          return true;
        if (index >= offset && index < offset + limit)
          page.events.emplace_back(text);
        ++index;
        return count_total || index < offset + limit;
      },
      head);
  if (!walked)
    return std::unexpected(walked.error());
  page.total = index;
  return page;
}

count_buckets time_buckets(const event_filter& f, std::string_view unit,
                           double interval, events::timestamp now,
                           std::int64_t& n) {
  count_buckets out;
  const auto unit_us = unit_micros(unit);
  out.delta_micros = std::max<std::int64_t>(
      1, std::llround(interval * static_cast<double>(unit_us)));
  const double span = static_cast<double>(f.until.micros - f.since.micros);
  n = static_cast<std::int64_t>(
      std::ceil(span / static_cast<double>(out.delta_micros)));
  const auto k0 = floor_div(f.since.micros - pivot_micros, out.delta_micros);
  out.first_start = pivot_micros + k0 * out.delta_micros;
  auto end = f.until.micros;
  if (f.until > now) {
    // No buckets for the future beyond the current unit period.
    const auto period = floor_div(now.micros - pivot_micros, unit_us);
    end = pivot_micros + (period + 1) * unit_us;
  }
  out.count = 0;
  if (end > out.first_start)
    out.count = floor_div(end - out.first_start - 1, out.delta_micros) + 1;
  return out;
}

std::expected<std::string, errc> count_events(storage::reader& r,
                                              const event_filter& f,
                                              event_countable what,
                                              const count_buckets& buckets) {
  if (what == event_countable::day || what == event_countable::time) {
    std::vector<std::int64_t> counts(
        static_cast<std::size_t>(std::max<std::int64_t>(0, buckets.count)), 0);
    auto walked =
        for_each_event(r, f, [&](std::string_view key, std::string_view) {
          const auto k =
              floor_div(occurred_of(key).micros - buckets.first_start,
                        buckets.delta_micros);
          if (k >= 0 && k < buckets.count)
            ++counts[static_cast<std::size_t>(k)];
          return true;
        });
    if (!walked)
      return std::unexpected(walked.error());
    json out = json::array();
    for (std::int64_t i = 0; i < buckets.count; ++i) {
      const events::timestamp start{buckets.first_start +
                                    i * buckets.delta_micros};
      const events::timestamp end{start.micros + buckets.delta_micros - 1};
      out.push_back(json{{"value", std::to_string(i)},
                         {"label", iso_label(start)},
                         {"count", counts[static_cast<std::size_t>(i)]},
                         {"start_time", events::format_timestamp(start)},
                         {"end_time", events::format_timestamp(end)}});
    }
    return events::dump_json(out);
  }
  struct tally {
    std::string label;
    std::int64_t count = 0;
    events::timestamp first{std::numeric_limits<std::int64_t>::max()};
    events::timestamp last{std::numeric_limits<std::int64_t>::min()};
  };
  std::map<std::string, tally> tallies;
  auto walked =
      for_each_event(r, f, [&](std::string_view, std::string_view text) {
        const auto e =
            events::prefect_event_from_json(events::parse_json(text));
        const auto value = what == event_countable::event
                               ? e.event
                               : events::resource_id(e.resource);
        auto& t = tallies[value];
        ++t.count;
        t.first = std::min(t.first, e.occurred);
        if (e.occurred >= t.last) {
          t.last = e.occurred;
          if (what == event_countable::event) {
            t.label = value;
          } else {
            // The newest event's name for the resource.
            const auto name = e.resource.find("prefect.resource.name");
            const auto alt = e.resource.find("prefect.name");
            if (name != e.resource.end() && name->is_string())
              t.label = name->get<std::string>();
            else if (alt != e.resource.end() && alt->is_string())
              t.label = alt->get<std::string>();
            else
              t.label = value;
          }
        }
        return true;
      });
  if (!walked)
    return std::unexpected(walked.error());
  std::vector<std::pair<std::string, tally>> sorted(tallies.begin(),
                                                    tallies.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.second.count != b.second.count)
      return a.second.count > b.second.count;
    return a.second.label < b.second.label;
  });
  json out = json::array();
  for (const auto& [value, t] : sorted)
    out.push_back(json{{"value", value},
                       {"label", t.label},
                       {"count", t.count},
                       {"start_time", events::format_timestamp(t.first)},
                       {"end_time", events::format_timestamp(t.last)}});
  return events::dump_json(out);
}

} // namespace deployd::actors
