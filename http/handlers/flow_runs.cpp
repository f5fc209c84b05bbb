// Flow run endpoints (flow-runs.md §3-§8, related-resources.md §5): create
// from a deployment (one or in bulk), create ad hoc, read, filter, count,
// paginate, PATCH, DELETE, set_state; and what workers and runners poll
// (`POST /work_pools/{name}/get_scheduled_flow_runs`,
// `POST /deployments/get_scheduled_flow_runs`,
// `GET /deployments/{id}/work_queue_check`).
//
// The polls read the `run_index` rows of SCHEDULED runs by deployment and by
// work queue (actors/projections.hpp `run_query_rows`), in the order they
// answer, and load only the runs they return. `/flow_runs/filter`, `/count`
// and `/paginate` take their candidates from the rows by state type and by
// deployment when the filter requires one of them (`run_plan`), and count
// rows without loading a run when that is all the filter asks (every run,
// or some state types: the kept `n` counts, no scan). Sorted `ID_DESC` (the
// default), a page merges those rows newest first and stops once full,
// rendering the runs from their stored text (`append_rendered_flow_run`).
// In every other sort, a page walks that sort's `run_index` rows in order
// and stops once full (`row_sorted_runs`); 256 candidates or fewer are
// sorted as documents.
#include "actors/projections.hpp"
#include "actors/queries.hpp"
#include "actors/run_filter.hpp"
#include "events/flow_run.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"
#include "events/resource.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/openapi_validator.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>
#include <set>

namespace deployd::http::handlers {

namespace {

using events::json;
using events::resource_kind;

constexpr std::size_t max_bulk_runs = 100;
// Commands one `POST /deployments/{id}/schedule` may take in a cluster
// (each makes at least one run).
constexpr std::size_t max_schedule_rounds = 100'000;

using actors::filter_terms::combine;
using actors::filter_terms::in_list;
using actors::filter_terms::micros;
using actors::filter_terms::present;

// The related filters a run query supports: `flows` by id, `deployments` by
// id, `work_pools` and `work_pool_queues` by id or name.
bool related_matches(const json& body, const json& run) {
  auto by = [&](const char* key, const char* id_field,
                const char* name_field) {
    const json f = param(body, key);
    if (!f.is_object())
      return true;
    std::vector<bool> parts;
    if (present(f, "id") && present(f.at("id"), "any_"))
      parts.push_back(in_list(f.at("id").at("any_"), run.at(id_field)));
    if (name_field && present(f, "name") && present(f.at("name"), "any_"))
      parts.push_back(in_list(f.at("name").at("any_"), run.at(name_field)));
    return combine(f, parts);
  };
  return by("flows", "flow_id", nullptr) &&
         by("deployments", "deployment_id", nullptr) &&
         by("work_pools", "work_pool_id", "work_pool_name") &&
         by("work_pool_queues", "work_queue_id", "work_queue_name");
}

std::expected<std::vector<json>, storage::errc> all_runs(storage::reader& r) {
  return actors::resources_under(
      r, std::string(1, static_cast<char>(resource_kind::flow_run)));
}

// Whether (time `x`, id `a`) comes before (`y`, `b`) in a time sort: nulls
// first ascending; the reference sorts on the time alone, so ties are ours
// to order: by id ascending, and a descending sort is the exact reverse of
// the ascending one (nulls last, ties by id descending). This is the order
// of the `run_index` time rows (time, then id), walked either way.
template <class Id>
bool time_before(const std::optional<std::int64_t>& x, const Id& a,
                 const std::optional<std::int64_t>& y, const Id& b,
                 bool desc) {
  if (desc)
    return time_before(y, b, x, a, false);
  if (x != y)
    return !x || (y && *x < *y);
  return a < b;
}

// Sort keys of flow-runs.md §4.2 (`time_before` for the time sorts).
void sort_runs(std::vector<json>& runs, const std::string& sort) {
  auto time_key = [](const json& run, const char* field) {
    return micros(run.at(field));
  };
  auto by_time = [&](auto key, bool desc) {
    std::stable_sort(runs.begin(), runs.end(), [&](const json& a, const json& b) {
      return time_before(key(a), a.at("id").get_ref<const std::string&>(),
                         key(b), b.at("id").get_ref<const std::string&>(),
                         desc);
    });
  };
  auto start = [&](const json& run) {
    auto t = time_key(run, "start_time");
    return t ? t : time_key(run, "expected_start_time");
  };
  if (sort == "START_TIME_ASC" || sort == "START_TIME_DESC")
    by_time(start, sort == "START_TIME_DESC");
  else if (sort == "EXPECTED_START_TIME_ASC" ||
           sort == "EXPECTED_START_TIME_DESC")
    by_time([&](const json& r) { return time_key(r, "expected_start_time"); },
            sort == "EXPECTED_START_TIME_DESC");
  else if (sort == "NEXT_SCHEDULED_START_TIME_ASC")
    by_time([&](const json& r) { return time_key(r, "next_scheduled_start_time"); },
            false);
  else if (sort == "END_TIME_DESC")
    by_time([&](const json& r) { return time_key(r, "end_time"); }, true);
  else if (sort == "NAME_ASC" || sort == "NAME_DESC")
    // As the `m` rows: ties by id ascending, NAME_DESC the exact reverse.
    std::stable_sort(runs.begin(), runs.end(), [&](const json& a, const json& b) {
      const bool desc = sort == "NAME_DESC";
      const json& x = desc ? b : a;
      const json& y = desc ? a : b;
      if (x.at("name") != y.at("name"))
        return x.at("name") < y.at("name");
      return x.at("id").get_ref<const std::string&>() <
             y.at("id").get_ref<const std::string&>();
    });
  else // ID_DESC: ids are UUIDv7, so newest first
    std::stable_sort(runs.begin(), runs.end(), [](const json& a, const json& b) {
      return a.at("id").get<std::string>() > b.at("id").get<std::string>();
    });
}


events::timestamp now() {
  return request_time();
}

// -- what the run index answers ---------------------------------------------

// Criteria of a FlowRunFilter (`actors::flow_run_matches`).
constexpr const char* run_criteria[] = {
    "id",         "name",
    "tags",       "deployment_id",
    "work_queue_name", "state",
    "flow_version", "start_time",
    "end_time",   "expected_start_time",
    "next_scheduled_start_time", "parent_task_run_id",
    "idempotency_key", "created_by"};

std::vector<std::string> present_criteria(const json& f) {
  std::vector<std::string> out;
  for (const char* key : run_criteria)
    if (present(f, key))
      out.emplace_back(key);
  return out;
}

bool uses_or(const json& f) {
  return f.is_object() && f.value("operator", "and_") == "or_";
}

// Whether `related_matches` tests anything of filter `key`.
bool related_constrains(const json& body, const char* key, bool by_name) {
  const json f = param(body, key);
  if (!f.is_object())
    return false;
  return (present(f, "id") && present(f.at("id"), "any_")) ||
         (by_name && present(f, "name") && present(f.at("name"), "any_"));
}

// The index rows a query's candidates come from: the runs of some
// deployments, or of some state types, or (neither) every run.
struct run_plan {
  enum class source { all, deployments, states } from = source::all;
  std::set<std::string> values; // deployment id keys, or state types
  // Whether the rows are exactly the matches (no run need be loaded).
  bool exact = false;
};

run_plan plan_of(const json& body) {
  run_plan plan;
  const json f = param(body, "flow_runs");
  const auto criteria = present_criteria(f);
  const bool others = related_constrains(body, "flows", false) ||
                      related_constrains(body, "work_pools", true) ||
                      related_constrains(body, "work_pool_queues", true);
  // A criterion every match meets: the filter's only one, or all are.
  const bool required = criteria.size() == 1 || !uses_or(f);
  auto ids_of = [&](const json& list) {
    for (const auto& v : list) {
      if (!v.is_string())
        continue;
      const auto id = events::uuid::parse(v.get<std::string>());
      // Runs hold canonical ids; any other spelling matches none.
      if (id && id->str() == v.get<std::string>())
        plan.values.insert(actors::id_key(*id));
    }
  };
  if (related_constrains(body, "deployments", false)) {
    plan.from = run_plan::source::deployments;
    ids_of(param(body, "deployments").at("id").at("any_"));
    plan.exact = !others && criteria.empty();
    return plan;
  }
  if (required && present(f, "deployment_id")) {
    const json& c = f.at("deployment_id");
    const bool not_any = present(c, "not_any_") && !c.at("not_any_").empty();
    const int parts = int(present(c, "any_")) + int(not_any) +
                      int(present(c, "is_null_"));
    if (present(c, "any_") && (parts == 1 || !uses_or(c))) {
      plan.from = run_plan::source::deployments;
      ids_of(c.at("any_"));
      plan.exact = !others && criteria.size() == 1 && parts == 1;
      return plan;
    }
  }
  if (required && present(f, "state")) {
    const json& c = f.at("state");
    const bool by_name = present(c, "name");
    if (present(c, "type") && present(c.at("type"), "any_") &&
        (!by_name || !uses_or(c))) {
      const json& t = c.at("type");
      plan.from = run_plan::source::states;
      for (const auto& v : t.at("any_"))
        if (v.is_string())
          plan.values.insert(v.get<std::string>());
      const bool only_any = !(present(t, "not_any_") && !t.at("not_any_").empty()) &&
                            !present(t, "is_null_");
      plan.exact = !others && criteria.size() == 1 && !by_name && only_any;
      return plan;
    }
  }
  plan.exact = !others && criteria.empty();
  return plan;
}

// The candidates' run id keys, ascending (every run's for `source::all`).
std::expected<std::vector<std::string>, storage::errc>
candidates(storage::reader& r, const run_plan& plan) {
  std::vector<std::string> ids;
  auto collect = [&](const std::string& prefix) {
    return r.scan(storage::table::run_index, prefix,
                  [&](std::string_view key, std::string_view) {
                    ids.emplace_back(key.substr(key.size() - 16));
                    return true;
                  });
  };
  std::vector<std::string> prefixes;
  if (plan.from == run_plan::source::all)
    prefixes.emplace_back("s");
  for (const auto& v : plan.values)
    prefixes.push_back(plan.from == run_plan::source::states
                           ? actors::run_keys::state_prefix(v)
                           : "e" + v);
  for (const auto& p : prefixes)
    if (auto scanned = collect(p); !scanned)
      return std::unexpected(scanned.error());
  if (prefixes.size() > 1)
    std::sort(ids.begin(), ids.end());
  return ids;
}

bool run_matches(const json& body, const json& run) {
  return actors::flow_run_matches(param(body, "flow_runs"), run) &&
         related_matches(body, run);
}

// The stored text of run `id`, or nothing when it is gone.
std::expected<std::optional<std::string>, storage::errc>
stored_run(storage::reader& r, const events::uuid& id) {
  return r.get(storage::table::resources,
               actors::resource_key(resource_kind::flow_run, id));
}

// A query's filter as a test of stored run texts: only the members its
// criteria and related filters read are taken from the text
// (`events::stored_run_members`, no DOM of the whole run) and parsed, a
// few small values instead of a ~2 KB document with its parameters and
// state; the filter is taken out of the body once, not per run.
class run_probe {
public:
  explicit run_probe(const json& body)
      : body_(body), filter_(param(body, "flow_runs")) {
    // The members each criterion of `actors::flow_run_matches` reads.
    static const std::map<std::string_view, std::vector<std::string_view>>
        read_by{{"id", {"id"}},
                {"name", {"name"}},
                {"tags", {"tags"}},
                {"deployment_id", {"deployment_id"}},
                {"work_queue_name", {"work_queue_name"}},
                {"state", {"state_type", "state_name"}},
                {"flow_version", {"flow_version"}},
                {"start_time", {"start_time", "expected_start_time"}},
                {"end_time", {"end_time"}},
                {"expected_start_time", {"expected_start_time"}},
                {"next_scheduled_start_time", {"next_scheduled_start_time"}},
                {"parent_task_run_id", {"parent_task_run_id"}},
                {"idempotency_key", {"idempotency_key"}},
                {"created_by", {"created_by"}}};
    auto need = [&](std::string_view member) {
      if (std::find(keys_.begin(), keys_.end(), member) == keys_.end())
        keys_.push_back(member);
    };
    if (filter_.is_object())
      for (const auto& [key, members] : read_by)
        if (present(filter_, std::string(key).c_str()))
          for (const auto member : members)
            need(member);
    // `related_matches`.
    const std::pair<const char*, std::vector<std::string_view>> related[] = {
        {"flows", {"flow_id"}},
        {"deployments", {"deployment_id"}},
        {"work_pools", {"work_pool_id", "work_pool_name"}},
        {"work_pool_queues", {"work_queue_id", "work_queue_name"}}};
    for (const auto& [key, members] : related)
      if (param(body, key).is_object()) {
        related_ = true;
        for (const auto member : members)
          need(member);
      }
  }

  /// Whether the run stored as `text` matches.
  [[nodiscard]] bool matches(std::string_view text) const {
    std::vector<std::string_view> values(keys_.size());
    if (!events::stored_run_members(text, keys_, values))
      return test(events::parse_json(text));
    json run = json::object();
    for (std::size_t i = 0; i < keys_.size(); ++i)
      run[std::string(keys_[i])] =
          values[i].empty() ? json(nullptr) : events::parse_json(values[i]);
    return test(run);
  }

private:
  [[nodiscard]] bool test(const json& run) const {
    return actors::flow_run_matches(filter_, run) &&
           (!related_ || related_matches(body_, run));
  }

  const json& body_;
  json filter_;
  bool related_ = false;
  std::vector<std::string_view> keys_;
};

// The runs the folds counted in some state types (`n` rows; every type
// when `types` is null).
std::expected<std::int64_t, storage::errc>
kept_count(storage::reader& r, const std::set<std::string>* types) {
  std::int64_t n = 0;
  auto add = [&](std::string_view, std::string_view value) {
    std::int64_t k = 0;
    std::from_chars(value.data(), value.data() + value.size(), k);
    n += k;
    return true;
  };
  if (!types) {
    if (auto scanned = r.scan(storage::table::run_index, "n", add); !scanned)
      return std::unexpected(scanned.error());
    return n;
  }
  for (const auto& type : *types) {
    auto row =
        r.get(storage::table::run_index, actors::run_keys::count_key(type));
    if (!row)
      return std::unexpected(row.error());
    if (*row)
      add({}, **row);
  }
  return n;
}

// The number of runs a query matches.
std::expected<std::int64_t, storage::errc> count_runs(storage::reader& r,
                                                      const json& body) {
  const auto plan = plan_of(body);
  if (plan.exact && plan.from != run_plan::source::deployments)
    // Every run, or those of some state types: the folds keep their counts
    // (`n` rows), so nothing is scanned but those few rows.
    return kept_count(r, plan.from == run_plan::source::all ? nullptr
                                                             : &plan.values);
  std::int64_t n = 0;
  const run_probe probe(body);
  if (plan.from == run_plan::source::all) {
    // Every run, in one sequential scan of their texts.
    auto scanned = r.scan(
        storage::table::resources,
        std::string(1, static_cast<char>(resource_kind::flow_run)),
        [&](std::string_view, std::string_view text) {
          n += probe.matches(text);
          return true;
        });
    if (!scanned)
      return std::unexpected(scanned.error());
    return n;
  }
  // Only the runs of the plan's rows (its deployments or state types).
  auto ids = candidates(r, plan);
  if (!ids)
    return std::unexpected(ids.error());
  if (plan.exact)
    return static_cast<std::int64_t>(ids->size());
  for (const auto& key : *ids) {
    auto text = stored_run(r, actors::id_from_key_suffix(key));
    if (!text)
      return std::unexpected(text.error());
    if (*text && probe.matches(**text))
      ++n;
  }
  return n;
}

// The first key after every key starting with `p` (empty: none).
std::string key_successor(std::string p) {
  while (!p.empty() && static_cast<unsigned char>(p.back()) == 0xff)
    p.pop_back();
  if (!p.empty())
    p.back() = static_cast<char>(static_cast<unsigned char>(p.back()) + 1);
  return p;
}

// The run ids under some `run_index` prefixes whose keys end with the run
// id (a state type's `s` rows, a deployment's `e` rows), newest first (ids
// are UUIDv7) across all of them: each prefix is read backwards in chunks
// and the chunks' heads merged, so a page reads about its own size of keys
// per prefix instead of every candidate.
class newest_ids {
public:
  newest_ids(storage::reader& r, const std::vector<std::string>& prefixes,
             std::size_t chunk)
      : r_(r), chunk_(std::max<std::size_t>(chunk, 1)) {
    for (const auto& p : prefixes)
      cursors_.push_back({p, key_successor(p), false, {}, 0});
  }

  /// The next id key (16 bytes), or nothing once every prefix is read.
  std::expected<std::optional<std::string>, storage::errc> next() {
    cursor* best = nullptr;
    for (auto& c : cursors_) {
      if (c.at == c.ids.size() && !c.done)
        if (auto filled = fill(c); !filled)
          return std::unexpected(filled.error());
      if (c.at < c.ids.size() && (!best || c.ids[c.at] > best->ids[best->at]))
        best = &c;
    }
    if (!best)
      return std::nullopt;
    return std::move(best->ids[best->at++]);
  }

private:
  struct cursor {
    std::string prefix;
    std::string upper; // exclusive: the last key read, or past the prefix
    bool done = false;
    std::vector<std::string> ids;
    std::size_t at = 0;
  };

  std::expected<void, storage::errc> fill(cursor& c) {
    c.ids.clear();
    c.at = 0;
    std::string last;
    auto scanned = r_.scan_range(
        storage::table::run_index, c.prefix, c.upper,
        [&](std::string_view key, std::string_view) {
          c.ids.emplace_back(key.substr(key.size() - 16));
          last = key;
          return c.ids.size() < chunk_;
        },
        storage::scan_order::reverse);
    if (!scanned)
      return std::unexpected(scanned.error());
    c.done = c.ids.size() < chunk_;
    c.upper = std::move(last);
    return {};
  }

  storage::reader& r_;
  std::size_t chunk_;
  std::vector<cursor> cursors_;
};

// The matches of a query sorted by `ID_DESC` (newest first), from `offset`,
// at most `limit`, as their stored texts: read newest first, stopping once
// the page is full; a run is parsed only when the index rows do not say it
// matches.
std::expected<std::vector<std::string>, storage::errc>
newest_runs(storage::reader& r, const json& body, std::int64_t offset,
            std::int64_t limit) {
  std::vector<std::string> out;
  if (limit <= 0)
    return out;
  const auto plan = plan_of(body);
  const run_probe probe(body);
  std::int64_t skipped = 0;
  // Takes one candidate; false once the page is full.
  auto take = [&](std::string_view text) {
    if (!plan.exact && !probe.matches(text))
      return true;
    if (skipped < offset) {
      ++skipped;
      return true;
    }
    out.emplace_back(text);
    return static_cast<std::int64_t>(out.size()) < limit;
  };
  if (plan.from == run_plan::source::all) {
    // Every run, newest first, straight from the documents.
    const std::string kind(1, static_cast<char>(resource_kind::flow_run));
    auto scanned = r.scan(
        storage::table::resources, kind,
        [&](std::string_view, std::string_view value) { return take(value); },
        storage::scan_order::reverse);
    if (!scanned)
      return std::unexpected(scanned.error());
    return out;
  }
  std::vector<std::string> prefixes;
  for (const auto& v : plan.values)
    prefixes.push_back(plan.from == run_plan::source::states
                           ? actors::run_keys::state_prefix(v)
                           : "e" + v);
  // An exact plan needs `offset + limit` keys at most from each prefix.
  const auto want = static_cast<std::size_t>(
      plan.exact ? std::min<std::int64_t>(offset + limit, 4096)
                 : std::clamp<std::int64_t>(2 * limit, 16, 1024));
  newest_ids ids(r, prefixes, want);
  while (true) {
    auto key = ids.next();
    if (!key)
      return std::unexpected(key.error());
    if (!*key)
      break;
    if (plan.exact && skipped < offset) {
      ++skipped;
      continue;
    }
    auto text = stored_run(r, actors::id_from_key_suffix(**key));
    if (!text)
      return std::unexpected(text.error());
    if (*text && !take(**text))
      break;
  }
  return out;
}

// Every match of a query, unsorted: the plan's candidates that match.
std::expected<std::vector<json>, storage::errc>
matching_runs(storage::reader& r, const json& body) {
  const auto plan = plan_of(body);
  std::vector<json> out;
  if (plan.from == run_plan::source::all) {
    auto all = all_runs(r);
    if (!all)
      return std::unexpected(all.error());
    for (auto& run : *all)
      if (run_matches(body, run))
        out.push_back(std::move(run));
    return out;
  }
  auto ids = candidates(r, plan);
  if (!ids)
    return std::unexpected(ids.error());
  std::vector<std::pair<std::string, json>> keyed;
  for (const auto& key : *ids) {
    auto run = actors::load_resource(r, resource_kind::flow_run,
                                     actors::id_from_key_suffix(key));
    if (!run)
      return std::unexpected(run.error());
    if (*run && run_matches(body, **run))
      keyed.emplace_back(actors::resource_name_key(resource_kind::flow_run, **run),
                         std::move(**run));
  }
  // In the order `all_runs` reads (by name key), so that the stable sorts
  // break ties as they do over every run.
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [key, run] : keyed)
    out.push_back(std::move(run));
  return out;
}

// Candidates up to this many are sorted as documents (`matching_runs`);
// more, or every run, walk the sort's rows (`row_sorted_runs`).
constexpr std::size_t few_candidates = 256;

// -- pages in a sort's order ----------------------------------------------------

// One order of `run_index` (its `x`, `y`, `f`, `g` or `m` rows) read forward
// or backward in chunks that double as the walk goes on (from `chunk`, at
// most 4,096 keys): each row as its order bytes (the key after the prefix:
// time or name, then the run id in the last 16 bytes) and whether its value
// is empty.
class order_cursor {
public:
  struct row {
    std::string order;
    bool empty_value = true;
  };

  order_cursor(storage::reader& r, std::string_view prefix, bool reverse,
               std::size_t chunk)
      : r_(r), from_(prefix), to_(key_successor(std::string(prefix))),
        skip_(prefix.size()), reverse_(reverse),
        chunk_(std::clamp<std::size_t>(chunk, 1, max_chunk)) {
  }

  /// The next row, or nullptr once every row is read.
  std::expected<const row*, storage::errc> peek() {
    if (at_ == rows_.size() && !done_)
      if (auto filled = fill(); !filled)
        return std::unexpected(filled.error());
    return at_ < rows_.size() ? &rows_[at_] : nullptr;
  }
  void pop() {
    ++at_;
  }

private:
  static constexpr std::size_t max_chunk = 4096;

  std::expected<void, storage::errc> fill() {
    rows_.clear();
    at_ = 0;
    std::string last;
    auto scanned = r_.scan_range(
        storage::table::run_index, from_, to_,
        [&](std::string_view key, std::string_view value) {
          last = key;
          rows_.push_back({std::string(key.substr(skip_)), value.empty()});
          return rows_.size() < chunk_;
        },
        reverse_ ? storage::scan_order::reverse : storage::scan_order::forward);
    if (!scanned)
      return std::unexpected(scanned.error());
    done_ = rows_.size() < chunk_;
    if (reverse_)
      to_ = std::move(last); // exclusive
    else
      from_ = last + '\0';
    chunk_ = std::min(chunk_ * 2, max_chunk);
    return {};
  }

  storage::reader& r_;
  std::string from_;
  std::string to_;
  std::size_t skip_;
  bool reverse_;
  std::size_t chunk_;
  bool done_ = false;
  std::vector<row> rows_;
  std::size_t at_ = 0;
};

// Every run in a sort of `row_sorted_runs`, as id keys: the rows under
// `prefix` in order (sort key, then id: `time_before` for the times);
// `START_TIME_*` (`by_start`, over the `x` rows) merges the `x` rows of runs
// without a start time (valued empty) with the `y` rows, which is
// `coalesce(start_time, expected_start_time)`.
class row_order {
public:
  row_order(storage::reader& r, std::string_view prefix, bool by_start,
            bool desc, std::size_t chunk)
      : desc_(desc), by_start_(by_start), expected_(r, prefix, desc, chunk),
        started_(r, actors::run_keys::start_prefix, desc, chunk) {
  }

  /// The next run's id key (16 bytes), or nothing once all are read.
  std::expected<std::optional<std::string>, storage::errc> next() {
    const order_cursor::row* a = nullptr;
    while (true) {
      auto peeked = expected_.peek();
      if (!peeked)
        return std::unexpected(peeked.error());
      a = *peeked;
      if (!a || !by_start_ || a->empty_value)
        break;
      expected_.pop(); // started: its place is its `y` row
    }
    const order_cursor::row* b = nullptr;
    if (by_start_) {
      auto peeked = started_.peek();
      if (!peeked)
        return std::unexpected(peeked.error());
      b = *peeked;
    }
    if (!a && !b)
      return std::nullopt;
    const bool take_a =
        a && (!b || (desc_ ? a->order > b->order : a->order < b->order));
    auto& from = take_a ? expected_ : started_;
    const auto& order = (take_a ? a : b)->order;
    std::string id = order.substr(order.size() - 16);
    from.pop();
    return id;
  }

private:
  bool desc_;
  bool by_start_;
  order_cursor expected_;
  order_cursor started_;
};

// The `run_index` rows a sort walks (`row_order`), whether it is
// `START_TIME_*` (the `x` rows merged with the `y` rows) and whether it
// walks them backward; nothing for `ID_DESC` (`newest_runs`) and unknown
// sorts.
struct sort_rows {
  std::string_view prefix;
  bool by_start = false;
  bool desc = false;
};
std::optional<sort_rows> rows_of(const std::string& sort) {
  namespace keys = actors::run_keys;
  if (sort == "EXPECTED_START_TIME_ASC" || sort == "EXPECTED_START_TIME_DESC")
    return sort_rows{keys::expected_prefix, false, sort.ends_with("_DESC")};
  if (sort == "START_TIME_ASC" || sort == "START_TIME_DESC")
    return sort_rows{keys::expected_prefix, true, sort.ends_with("_DESC")};
  if (sort == "END_TIME_DESC")
    return sort_rows{keys::end_prefix, false, true};
  if (sort == "NEXT_SCHEDULED_START_TIME_ASC")
    return sort_rows{keys::next_prefix, false, false};
  if (sort == "NAME_ASC" || sort == "NAME_DESC")
    return sort_rows{keys::name_prefix, false, sort == "NAME_DESC"};
  return std::nullopt;
}

// The matches of a query in a sort other than `ID_DESC` (`rows_of`) from
// `offset`, at most `limit`, as stored texts: the runs
// in the sort's order (`row_order`) until the page is full, each tested
// against the whole filter, so about `offset + limit` rows and runs are
// read when most runs match. When the plan names index rows (deployments,
// or state types that few runs are in), their run ids are read first (keys
// only) and a run outside them is passed over unread; with no filter, or
// exactly the plan's rows, a run is read only for the page. Nothing when
// the sort is another one or the plan has few candidates (`matching_runs`
// sorts those as documents).
std::expected<std::optional<std::vector<std::string>>, storage::errc>
row_sorted_runs(storage::reader& r, const json& body, const std::string& sort,
                std::int64_t offset, std::int64_t limit) {
  using answer = std::optional<std::vector<std::string>>;
  const auto rows = rows_of(sort);
  if (!rows)
    return answer{};
  const auto plan = plan_of(body);
  bool by_members = plan.from == run_plan::source::deployments;
  if (plan.from == run_plan::source::states) {
    auto some = kept_count(r, &plan.values);
    if (!some)
      return std::unexpected(some.error());
    if (*some <= static_cast<std::int64_t>(few_candidates))
      return answer{};
    auto all = kept_count(r, nullptr);
    if (!all)
      return std::unexpected(all.error());
    // Under an eighth of the runs: pass the others over by their keys.
    by_members = *some * 8 < *all;
  }
  std::vector<std::string> members; // ascending
  if (by_members) {
    auto ids = candidates(r, plan);
    if (!ids)
      return std::unexpected(ids.error());
    if (ids->size() <= few_candidates)
      return answer{};
    members = std::move(*ids);
  }
  std::vector<std::string> out;
  if (limit <= 0)
    return answer{std::move(out)};
  offset = std::max<std::int64_t>(offset, 0);
  // Whether the rows alone say a run matches.
  const bool known =
      plan.exact && (plan.from == run_plan::source::all || by_members);
  const run_probe probe(body);
  row_order order(
      r, rows->prefix, rows->by_start, rows->desc,
      static_cast<std::size_t>(std::clamp<std::int64_t>(std::min<std::int64_t>(offset, 4096) + limit + 1, 16, 4096)));
  // A run that starts while the walk goes on may be met twice (its `x`
  // row, then its `y` row): it counts once.
  std::set<std::string> counted;
  std::int64_t skipped = 0;
  while (static_cast<std::int64_t>(out.size()) < limit) {
    auto key = order.next();
    if (!key)
      return std::unexpected(key.error());
    if (!*key)
      break;
    if (by_members && !std::binary_search(members.begin(), members.end(), **key))
      continue;
    if (known && skipped < offset) {
      if (counted.insert(**key).second)
        ++skipped;
      continue;
    }
    auto text = stored_run(r, actors::id_from_key_suffix(**key));
    if (!text)
      return std::unexpected(text.error());
    if (!*text || (!known && !probe.matches(**text)))
      continue;
    if (!counted.insert(**key).second)
      continue;
    if (skipped < offset) {
      ++skipped;
      continue;
    }
    out.push_back(std::move(**text));
  }
  return answer{std::move(out)};
}

// The SCHEDULED runs of `deployments` due by `cutoff` (all when none;
// a run without a next scheduled start time only then, first), soonest
// first, at most `limit`: each deployment's `w` rows in order, read in
// chunks and merged (about `limit` keys in all rather than `limit` from
// each deployment).
std::expected<std::vector<events::uuid>, storage::errc>
due_runs(storage::reader& r, const std::vector<events::uuid>& deployments,
         std::optional<std::int64_t> cutoff, std::int64_t limit) {
  std::vector<events::uuid> out;
  if (limit <= 0)
    return out;
  const std::string zero(8, '\0');
  const std::string last =
      cutoff ? actors::order_bytes(events::timestamp{*cutoff}) : std::string();
  std::set<std::string> distinct;
  for (const auto& id : deployments)
    distinct.insert(actors::id_key(id));
  const auto at = actors::run_keys::time_at;
  struct cursor {
    std::string from; // the next key to read
    std::string end;  // past the deployment's rows
    bool done = false;
    std::vector<std::string> due; // keys after the deployment id
    std::size_t next = 0;
  };
  std::vector<cursor> cursors;
  for (const auto& id : distinct) {
    const auto prefix = "w" + id;
    cursors.push_back({prefix, key_successor(prefix), false, {}, 0});
  }
  const auto share =
      limit / static_cast<std::int64_t>(std::max<std::size_t>(cursors.size(), 1));
  const auto chunk = static_cast<std::size_t>(
      std::min(limit, std::max<std::int64_t>(share + 1, 8)));
  auto fill = [&](cursor& c) -> std::expected<void, storage::errc> {
    c.due.clear();
    c.next = 0;
    std::string read;
    bool past = false;
    auto scanned = r.scan_range(
        storage::table::run_index, c.from, c.end,
        [&](std::string_view key, std::string_view) {
          read = key;
          const auto time = key.substr(at, 8);
          if (cutoff && time == zero)
            return true;
          if (cutoff && time > last) {
            past = true;
            return false;
          }
          c.due.emplace_back(key.substr(at));
          return c.due.size() < chunk;
        });
    if (!scanned)
      return std::unexpected(scanned.error());
    c.done = past || c.due.size() < chunk;
    c.from = read + '\0';
    return {};
  };
  while (static_cast<std::int64_t>(out.size()) < limit) {
    cursor* best = nullptr;
    for (auto& c : cursors) {
      if (c.next == c.due.size() && !c.done)
        if (auto filled = fill(c); !filled)
          return std::unexpected(filled.error());
      if (c.next < c.due.size() && (!best || c.due[c.next] < best->due[best->next]))
        best = &c;
    }
    if (!best)
      break;
    out.push_back(actors::id_from_key_suffix(best->due[best->next++]));
  }
  return out;
}

// Appends a stored run's text as the API answers it at `t` (a
// WorkerFlowRunResponse item with `worker`): copied from the text, or through
// its document when the text cannot be (a RUNNING run).
void append_stored_run(std::string& out, std::string_view stored,
                       events::timestamp t, bool worker) {
  if (events::append_rendered_flow_run(out, stored, t, worker))
    return;
  const json doc = events::parse_json(stored);
  events::append_json(out, worker ? events::worker_flow_run(doc, t)
                                  : events::render_flow_run(doc, t));
}

// Appends run `id` as the API answers it at `t` (a WorkerFlowRunResponse
// item with `worker`), from its stored text; false when it is gone.
std::expected<bool, storage::errc> append_run(storage::reader& r,
                                              const events::uuid& id,
                                              std::string& out,
                                              events::timestamp t,
                                              bool worker) {
  auto row = stored_run(r, id);
  if (!row)
    return std::unexpected(row.error());
  if (!*row)
    return false;
  append_stored_run(out, **row, t, worker);
  return true;
}

// The runs `ids` as a JSON list.
std::expected<std::string, storage::errc>
render_ids(storage::reader& r, const std::vector<events::uuid>& ids,
           bool worker) {
  const auto t = request_time();
  std::string out;
  out.reserve(ids.size() * 2304 + 2); // a scheduled run renders to ~2.2 KB
  out.push_back('[');
  for (const auto& id : ids) {
    const auto mark = out.size();
    if (out.size() > 1)
      out.push_back(',');
    auto added = append_run(r, id, out, t, worker);
    if (!added)
      return std::unexpected(added.error());
    if (!*added)
      out.resize(mark);
  }
  out.push_back(']');
  return out;
}

// Stored runs' texts as the API's JSON list.
std::string render_texts(const std::vector<std::string>& runs) {
  const auto t = now();
  std::size_t size = 2;
  for (const auto& run : runs)
    size += run.size() + 64;
  std::string out;
  out.reserve(size);
  out.push_back('[');
  for (const auto& run : runs) {
    if (out.size() > 1)
      out.push_back(',');
    append_stored_run(out, run, t, false);
  }
  out.push_back(']');
  return out;
}

std::string render_list(const std::vector<json>& runs, std::int64_t offset,
                        std::int64_t limit) {
  const auto t = now();
  std::string out = "[";
  for (std::int64_t i = offset;
       i < static_cast<std::int64_t>(runs.size()) && i < offset + limit; ++i) {
    if (out.size() > 1)
      out.push_back(',');
    events::append_json(out,
                        events::render_flow_run(runs[static_cast<std::size_t>(i)], t));
  }
  out.push_back(']');
  return out;
}

std::string sort_of(const json& body) {
  const auto s = param(body, "sort");
  return s.is_string() ? s.get<std::string>() : std::string("ID_DESC");
}

// Whether a poll of `deployments` and `queues` should be recorded now: not
// when the same ones were recorded less than a second ago. The writer would
// load each and find it READY and polled under a second ago (its
// coalescing), and a pool's poll names every deployment of its queues, so a
// busy poller would keep the writer loading.
bool poll_due(services& s, const std::vector<events::uuid>& deployments,
              const std::vector<events::uuid>& queues) {
  std::string key = std::to_string(reinterpret_cast<std::uintptr_t>(&s)) + ':';
  for (const auto& id : deployments)
    key += actors::id_key(id);
  key += ':';
  for (const auto& id : queues)
    key += actors::id_key(id);
  const auto now_micros = request_time().micros;
  static std::mutex guard;
  static std::unordered_map<std::string, std::int64_t> recent;
  const std::lock_guard lock(guard);
  if (recent.size() > 4096)
    recent.clear();
  auto [it, added] = recent.try_emplace(std::move(key), now_micros);
  if (!added) {
    if (now_micros - it->second < 1'000'000)
      return false;
    it->second = now_micros;
  }
  return true;
}

// Records a poll after the answer has left (the reference does it in a
// background task); its result is not awaited by the client.
void submit_poll(services& s, std::vector<events::uuid> deployments,
                 std::vector<events::uuid> queues) {
  if (deployments.empty() && queues.empty())
    return;
  submit(s, events::record_poll{std::move(deployments), std::move(queues)},
         on_success::no_content, [](response) {});
}

void record_poll(services& s, std::vector<events::uuid> deployments,
                 std::vector<events::uuid> queues) {
  if ((deployments.empty() && queues.empty()) ||
      !poll_due(s, deployments, queues))
    return;
  submit_poll(s, std::move(deployments), std::move(queues));
}

} // namespace

// -- creation ---------------------------------------------------------------

void post_deployment_create_flow_run(services& s, const request& req,
                                     path_params params, responder reply) {
  auto body = model_body(req, "DeploymentFlowRunCreate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req,
         events::create_flow_run{*events::uuid::parse(params.at(0)),
                                 std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

void post_deployment_create_flow_run_bulk(services& s, const request& req,
                                          path_params params, responder reply) {
  auto raw = read_json_body(req);
  if (!raw)
    return reply(std::move(raw.error()));
  events::validator v;
  if (!raw->present || !raw->value.is_array()) {
    v.fail("list_type", "Input should be a valid list",
           raw->present ? raw->value : json(nullptr));
    return reply(validation_failed(v.errors(),
                                   raw->present ? raw->value : json(nullptr)));
  }
  if (raw->value.size() > max_bulk_runs)
    return reply(detail(400, "Cannot create more than 100 flow runs at once."));
  json items = json::array();
  for (std::size_t i = 0; i < raw->value.size(); ++i) {
    auto g = v.at(json(i));
    auto coerced = validate_against(v, "DeploymentFlowRunCreate", raw->value[i]);
    if (coerced)
      items.push_back(std::move(*coerced));
  }
  if (!v.ok())
    return reply(validation_failed(v.errors(), raw->value));
  submit(s, req,
         events::create_flow_runs_bulk{*events::uuid::parse(params.at(0)),
                                       std::move(items)},
         on_success::ok, std::move(reply));
}

void post_deployment_schedule(services& s, const request& req,
                              path_params params, responder reply) {
  auto body =
      query_body(req, "Body_schedule_deployment_deployments__id__schedule_post",
                 false);
  if (!body)
    return reply(std::move(body.error()));
  // Absent values take the scheduler's settings (flow-runs.md §3.3).
  events::schedule_window w = s.schedule_defaults;
  if (const auto t = micros(param(*body, "start_time")))
    w.start_time = *t;
  if (const auto t = micros(param(*body, "end_time")))
    w.end_time = *t;
  if (const json v = param(*body, "min_time"); v.is_number())
    w.min_time_micros = std::llround(v.get<double>() * 1e6);
  if (const json v = param(*body, "min_runs"); v.is_number_integer())
    w.min_runs = v.get<std::int64_t>();
  if (const json v = param(*body, "max_runs"); v.is_number_integer())
    w.max_runs = v.get<std::int64_t>();
  // In a cluster a command makes the runs that fit in one entry of the
  // replicated log and answers {"more": true, "start_time": <the window's
  // start, µs>}: the same command again, with that start, goes on (the runs
  // are idempotent by key) until all are there.
  const auto id = *events::uuid::parse(params.at(0));
  submit_until(
      s, events::schedule_flow_runs{id, w},
      [id, w](const actors::command_result& r)
          -> std::optional<actors::command> {
        if (r.body == "null")
          return std::nullopt;
        auto again = w;
        again.start_time =
            events::parse_json(r.body).at("start_time").get<std::int64_t>();
        return events::schedule_flow_runs{id, again};
      },
      max_schedule_rounds, on_success::ok, std::move(reply));
}

void post_flow_runs(services& s, const request& req, path_params,
                    responder reply) {
  auto body = model_body(req, "FlowRunCreate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::create_flow_run{std::nullopt, std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

// -- reads --------------------------------------------------------------------

void get_flow_run(services& s, const request&, path_params params,
                  responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  run_query(
      s,
      [id](storage::reader& r) {
        auto run = actors::load_resource(r, resource_kind::flow_run, id);
        if (!run)
          return storage_failed(run.error());
        if (!*run)
          return detail(404, "Flow run not found");
        return json_text(200,
                         events::dump_json(events::render_flow_run(**run, now())));
      },
      std::move(reply));
}

void post_flow_runs_filter(services& s, const request& req, path_params,
                           responder reply) {
  auto body = query_body(req, "Body_read_flow_runs_flow_runs_filter_post");
  if (!body)
    return reply(std::move(body.error()));
  const auto offset_v = param(*body, "offset");
  const std::int64_t offset =
      offset_v.is_number_integer() ? offset_v.get<std::int64_t>() : 0;
  run_snapshot_query(
      s,
      [b = std::move(*body), offset](storage::reader& r) {
        if (sort_of(b) == "ID_DESC") {
          auto page = newest_runs(r, b, offset, limit_of(b));
          if (!page)
            return storage_failed(page.error());
          return json_text(200, render_texts(*page));
        }
        auto timed = row_sorted_runs(r, b, sort_of(b), offset, limit_of(b));
        if (!timed)
          return storage_failed(timed.error());
        if (*timed)
          return json_text(200, render_texts(**timed));
        auto found = matching_runs(r, b);
        if (!found)
          return storage_failed(found.error());
        sort_runs(*found, sort_of(b));
        return json_text(200, render_list(*found, offset, limit_of(b)));
      },
      std::move(reply));
}

void post_flow_runs_count(services& s, const request& req, path_params,
                          responder reply) {
  auto body =
      query_body(req, "Body_count_flow_runs_flow_runs_count_post", false);
  if (!body)
    return reply(std::move(body.error()));
  run_query(
      s,
      [b = std::move(*body)](storage::reader& r) {
        auto n = count_runs(r, b);
        if (!n)
          return storage_failed(n.error());
        return json_text(200, std::to_string(*n));
      },
      std::move(reply));
}

void post_flow_runs_paginate(services& s, const request& req, path_params,
                             responder reply) {
  auto body = query_body(req, "Body_paginate_flow_runs_flow_runs_paginate_post");
  if (!body)
    return reply(std::move(body.error()));
  run_snapshot_query(
      s,
      [b = std::move(*body)](storage::reader& r) {
        const auto limit = limit_of(b);
        const auto page = page_of(b);
        if (sort_of(b) == "ID_DESC") {
          auto n = count_runs(r, b);
          if (!n)
            return storage_failed(n.error());
          auto runs = newest_runs(r, b, (page - 1) * limit, limit);
          if (!runs)
            return storage_failed(runs.error());
          return page_response(render_texts(*runs), *n, limit, page);
        }
        auto timed = row_sorted_runs(r, b, sort_of(b), (page - 1) * limit, limit);
        if (!timed)
          return storage_failed(timed.error());
        if (*timed) {
          auto n = count_runs(r, b);
          if (!n)
            return storage_failed(n.error());
          return page_response(render_texts(**timed), *n, limit, page);
        }
        auto found = matching_runs(r, b);
        if (!found)
          return storage_failed(found.error());
        sort_runs(*found, sort_of(b));
        return page_response(render_list(*found, (page - 1) * limit, limit),
                             static_cast<std::int64_t>(found->size()), limit,
                             page);
      },
      std::move(reply));
}

// -- changes --------------------------------------------------------------------

void patch_flow_run(services& s, const request& req, path_params params,
                    responder reply) {
  auto body = model_body(req, "FlowRunUpdate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req,
         events::update_flow_run{*events::uuid::parse(params.at(0)),
                                 std::move(*body)},
         on_success::no_content, std::move(reply));
}

void delete_flow_run(services& s, const request& req, path_params params,
                     responder reply) {
  submit(s, req, events::delete_flow_run{*events::uuid::parse(params.at(0))},
         on_success::no_content, std::move(reply));
}

void post_flow_run_set_state(services& s, const request& req,
                             path_params params, responder reply) {
  auto raw = read_json_body(req);
  if (!raw)
    return reply(std::move(raw.error()));
  const json body = raw->present ? raw->value : json(nullptr);
  auto valid = validate_body(
      "Body_set_flow_run_state_flow_runs__id__set_state_post",
      body.is_null() ? json::object() : body, body);
  if (!valid)
    return reply(std::move(valid.error()));
  const json force = param(*valid, "force");
  submit(s, req,
         events::set_flow_run_state{*events::uuid::parse(params.at(0)),
                                    param(*valid, "state"),
                                    force.is_boolean() && force.get<bool>()},
         on_success::created_or_ok, std::move(reply));
}

// -- polling --------------------------------------------------------------------

void post_deployments_get_scheduled_flow_runs(services& s, const request& req,
                                              path_params, responder reply) {
  auto body = query_body(
      req,
      "Body_get_scheduled_flow_runs_for_deployments_deployments_get_"
      "scheduled_flow_runs_post");
  if (!body)
    return reply(std::move(body.error()));
  std::vector<events::uuid> ids;
  for (const auto& id : param(*body, "deployment_ids"))
    if (auto parsed = events::uuid::parse(id.get<std::string>()))
      ids.push_back(*parsed);
  const json before = param(*body, "scheduled_before");
  const auto limit = limit_of(*body);
  run_query(
      s,
      [&s, ids, before, limit](storage::reader& r) {
        auto runs = due_runs(r, ids, micros(before), limit);
        if (!runs)
          return storage_failed(runs.error());
        auto text = render_ids(r, *runs, false);
        if (!text)
          return storage_failed(text.error());
        record_poll(s, ids, {});
        return json_text(200, std::move(*text));
      },
      std::move(reply));
}

void post_work_pool_get_scheduled_flow_runs(services& s, const request& req,
                                            path_params params,
                                            responder reply) {
  auto body = query_body(
      req,
      "Body_get_scheduled_flow_runs_work_pools__name__get_scheduled_flow_"
      "runs_post");
  if (!body)
    return reply(std::move(body.error()));
  run_query(
      s,
      [&s, pool_name = params.at(0), b = std::move(*body)](storage::reader& r) {
        auto pool = actors::find_pool(r, pool_name);
        if (!pool)
          return storage_failed(pool.error());
        if (!*pool)
          return detail(404, "Work pool \"" + pool_name + "\" not found.");
        const json& p = **pool;
        auto queues = actors::resources_under(
            r, actors::resource_name_key(
                   resource_kind::work_queue,
                   {{"work_pool_id", p.at("id")}, {"name", ""}}));
        if (!queues)
          return storage_failed(queues.error());
        const json names = param(b, "work_queue_names");
        std::vector<json> polled;
        // An empty list means every queue, as the reference's `if not
        // work_queue_names`.
        if (names.is_array() && !names.empty()) {
          for (const auto& n : names) {
            auto it = std::find_if(queues->begin(), queues->end(),
                                   [&](const json& q) { return q.at("name") == n; });
            if (it == queues->end())
              return detail(404, "Work pool queue '" + pool_name + "/" +
                                     n.get<std::string>() + "' not found.");
            polled.push_back(*it);
          }
        } else {
          polled = *queues;
        }
        std::vector<events::uuid> queue_ids;
        for (const auto& q : polled)
          queue_ids.push_back(events::uuid_field(q, "id"));
        // The deployments linked to the polled queues are read only when
        // the poll is recorded (at most once a second for the same queues):
        // a queue may hold thousands.
        if (!queue_ids.empty() && poll_due(s, {}, queue_ids)) {
          std::vector<events::uuid> deployment_ids;
          for (const auto& qid : queue_ids) {
            auto scanned = r.scan(storage::table::queue_links, actors::id_key(qid),
                                  [&](std::string_view key, std::string_view) {
                                    deployment_ids.push_back(
                                        actors::id_from_key_suffix(key));
                                    return true;
                                  });
            if (!scanned)
              return storage_failed(scanned.error());
          }
          submit_poll(s, std::move(deployment_ids), std::move(queue_ids));
        }

        const auto limit = limit_of(b);
        if (p.value("is_paused", false))
          return json_text(200, "[]");
        const auto before = micros(param(b, "scheduled_before"));
        const auto after = micros(param(b, "scheduled_after"));
        const auto pool_id = events::uuid_field(p, "id");
        // Open slots per queue and for the pool (PENDING and RUNNING runs
        // hold one each), counted from the `b` rows when a limit asks.
        bool limited = p.at("concurrency_limit").is_number_integer();
        for (const auto& q : polled)
          limited = limited || (!q.value("is_paused", false) &&
                                q.at("concurrency_limit").is_number_integer());
        std::map<std::string, std::int64_t> busy;
        std::int64_t pool_busy = 0;
        if (limited) {
          const std::string none(16, '\0');
          auto scanned = r.scan(
              storage::table::run_index, actors::run_keys::busy_prefix(pool_id),
              [&](std::string_view key, std::string_view) {
                ++pool_busy;
                const auto queue = key.substr(17, 16);
                if (queue != none)
                  ++busy[actors::id_from_key_suffix(queue).str()];
                return true;
              });
          if (!scanned)
            return storage_failed(scanned.error());
        }
        struct candidate {
          std::int64_t priority;
          std::string when; // time bytes, then the key's tail
          events::uuid run;
        };
        std::vector<candidate> picked;
        const std::string from =
            after ? actors::order_bytes(events::timestamp{*after}) : std::string();
        const std::string to =
            before ? actors::order_bytes(events::timestamp{*before}) : std::string();
        for (const auto& q : polled) {
          if (q.value("is_paused", false))
            continue;
          const auto qid = q.at("id").get<std::string>();
          std::int64_t room = limit;
          if (q.at("concurrency_limit").is_number_integer())
            room = std::min(room, std::max<std::int64_t>(
                                      0, q.at("concurrency_limit").get<std::int64_t>() -
                                             busy[qid]));
          if (room <= 0)
            continue;
          // The queue's due runs, soonest first, from `after` to `before`.
          const auto prefix =
              actors::run_keys::queue_prefix(events::uuid_field(q, "id"));
          const auto priority = q.value("priority", std::int64_t{1});
          std::int64_t taken = 0;
          auto scanned = r.scan_range(
              storage::table::run_index, prefix + from, {},
              [&](std::string_view key, std::string_view) {
                if (!key.starts_with(prefix))
                  return false;
                const auto tail = key.substr(actors::run_keys::time_at);
                if (before && tail.substr(0, 8) > to)
                  return false;
                picked.push_back({priority, std::string(tail),
                                  actors::id_from_key_suffix(key)});
                return ++taken < room;
              });
          if (!scanned)
            return storage_failed(scanned.error());
        }
        std::stable_sort(picked.begin(), picked.end(), [](const auto& x, const auto& y) {
          return x.priority != y.priority
                     ? x.priority < y.priority
                     : x.when.compare(0, 8, y.when, 0, 8) < 0;
        });
        std::int64_t room = limit;
        if (p.at("concurrency_limit").is_number_integer())
          room = std::min(room, std::max<std::int64_t>(
                                    0, p.at("concurrency_limit").get<std::int64_t>() -
                                           pool_busy));
        std::vector<events::uuid> chosen;
        for (const auto& c : picked) {
          if (static_cast<std::int64_t>(chosen.size()) >= room)
            break;
          chosen.push_back(c.run);
        }
        auto text = render_ids(r, chosen, true);
        if (!text)
          return storage_failed(text.error());
        return json_text(200, std::move(*text));
      },
      std::move(reply));
}

void get_deployment_work_queue_check(services& s, const request&,
                                     path_params params, responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  run_query(
      s,
      [&s, id](storage::reader& r) {
        auto d = s.reads.deployment(id, storage::read_tier::any);
        if (!d)
          return storage_failed(d.error());
        if (!*d)
          return detail(404, "Deployment not found");
        // Legacy queue filters are not modelled: no queue carries one, so
        // none picks the deployment (the PostgreSQL answer, flow-runs.md
        // §3.5).
        (void)r;
        return json_text(200, "[]");
      },
      std::move(reply));
}

} // namespace deployd::http::handlers
