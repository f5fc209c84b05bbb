#include "actors/queries.hpp"

#include "actors/projections.hpp"
#include "actors/run_filter.hpp"
#include "events/python/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_map>

namespace deployd::actors {

namespace {

using events::json;
using events::uuid;
using storage::errc;
using storage::scan_order;
using storage::table;

// The compact per-deployment record filters are evaluated on.
struct summary {
  uuid id;
  std::string name;
  uuid flow_id;
  std::vector<std::string> tags;
  bool paused = false;
  std::optional<std::string> work_queue_name;
  std::optional<uuid> work_queue_id;
  std::int64_t created = 0;
  std::int64_t updated = 0;
};

std::optional<summary> parse_summary(const uuid& id, std::string_view text) {
  try {
    const auto j = json::parse(text);
    summary s;
    s.id = id;
    s.name = j.at("n").get<std::string>();
    s.flow_id = *uuid::parse(j.at("f").get<std::string>());
    s.tags = j.at("t").get<std::vector<std::string>>();
    s.paused = j.at("p").get<bool>();
    if (!j.at("q").is_null())
      s.work_queue_name = j.at("q").get<std::string>();
    if (!j.at("w").is_null())
      s.work_queue_id = uuid::parse(j.at("w").get<std::string>());
    s.created = j.at("c").get<std::int64_t>();
    s.updated = j.at("u").get<std::int64_t>();
    return s;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool present(const json& parent, const char* key) {
  const auto it = parent.find(key);
  return it != parent.end() && !it->is_null();
}

const json& child(const json& parent, const char* key) {
  static const json null_value;
  const auto it = parent.find(key);
  return it == parent.end() ? null_value : *it;
}

bool is_or(const json& filter) {
  return filter.is_object() && filter.value("operator", "and_") == "or_";
}

// Combines the terms of one filter object with its operator; no terms
// matches everything (SQLAlchemy's and_() / or_() of nothing is true here).
bool combine(const std::vector<bool>& terms, bool use_or) {
  if (terms.empty())
    return true;
  if (use_or)
    return std::any_of(terms.begin(), terms.end(), [](bool b) { return b; });
  return std::all_of(terms.begin(), terms.end(), [](bool b) { return b; });
}

bool contains_string(const json& list, std::string_view value) {
  for (const auto& item : list)
    if (item.is_string() && item.get_ref<const std::string&>() == value)
      return true;
  return false;
}

bool contains_uuid(const json& list, const uuid& id) {
  for (const auto& item : list)
    if (item.is_string() && uuid::parse(item.get<std::string>()) == id)
      return true;
  return false;
}

bool has_tag(const std::vector<std::string>& tags, std::string_view tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

// {any_, not_any_} on an id.
void id_terms(const json& f, const uuid& id, std::vector<bool>& terms) {
  if (present(f, "any_"))
    terms.push_back(contains_uuid(f.at("any_"), id));
  if (present(f, "not_any_"))
    terms.push_back(!contains_uuid(f.at("not_any_"), id));
}

// {any_, like_} on a name.
void name_terms(const json& f, std::string_view name,
                std::vector<bool>& terms) {
  if (present(f, "any_"))
    terms.push_back(contains_string(f.at("any_"), name));
  if (present(f, "like_"))
    terms.push_back(ilike_contains(name, f.at("like_").get<std::string>()));
}

// {operator, all_, any_, is_null_} on tags.
bool tags_match(const json& f, const std::vector<std::string>& tags) {
  std::vector<bool> terms;
  if (present(f, "all_")) {
    bool all = true;
    for (const auto& t : f.at("all_"))
      all = all && has_tag(tags, t.get<std::string>());
    terms.push_back(all);
  }
  if (present(f, "any_")) {
    bool any = false;
    for (const auto& t : f.at("any_"))
      any = any || has_tag(tags, t.get<std::string>());
    terms.push_back(any);
  }
  if (present(f, "is_null_"))
    terms.push_back(f.at("is_null_").get<bool>() ? tags.empty()
                                                 : !tags.empty());
  return combine(terms, is_or(f));
}

// Caches what filters look up about flows during one query.
class flow_lookup {
public:
  explicit flow_lookup(storage::reader& r) : reader_(r) {
  }

  [[nodiscard]] storage::reader& reader() {
    return reader_;
  }

  std::expected<const json*, errc> flow(const uuid& id) {
    auto it = flows_.find(id);
    if (it == flows_.end()) {
      auto row = reader_.get(table::flows, id_key(id));
      if (!row)
        return std::unexpected(row.error());
      json value = *row ? events::parse_json(**row) : json(nullptr);
      it = flows_.emplace(id, std::move(value)).first;
    }
    return it->second.is_null() ? nullptr : &it->second;
  }

  std::expected<bool, errc> has_deployments(const uuid& id) {
    bool any = false;
    auto scanned = reader_.scan(table::deployment_names, id_key(id),
                                [&](std::string_view, std::string_view) {
                                  any = true;
                                  return false;
                                });
    if (!scanned)
      return std::unexpected(scanned.error());
    return any;
  }

  // Whether some run of flow `id` (of `deployment`, when given) matches
  // `filter`: the reference's EXISTS over flow runs. A flow's runs are
  // read once per query.
  std::expected<bool, errc> some_run(const uuid& id,
                                     const std::optional<uuid>& deployment,
                                     const json& filter) {
    auto it = runs_.find(id);
    if (it == runs_.end()) {
      auto runs = resources_under(
          reader_, std::string(1, static_cast<char>(
                                      events::resource_kind::flow_run)) +
                       id_key(id));
      if (!runs)
        return std::unexpected(runs.error());
      it = runs_.emplace(id, std::move(*runs)).first;
    }
    const json wanted = deployment ? json(deployment->str()) : json();
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](const json& run) {
                         return (!deployment ||
                                 run.value("deployment_id", json()) == wanted) &&
                                flow_run_matches(filter, run);
                       });
  }

private:
  storage::reader& reader_;
  std::unordered_map<uuid, json> flows_;
  std::unordered_map<uuid, std::vector<json>> runs_;
};

std::expected<bool, errc> flow_matches(const json& f, const json& flow,
                                       flow_lookup& flows) {
  if (!f.is_object())
    return true;
  const auto id = *uuid::parse(flow.at("id").get<std::string>());
  std::vector<bool> terms;
  if (present(f, "id")) {
    std::vector<bool> sub;
    id_terms(f.at("id"), id, sub);
    terms.push_back(combine(sub, false));
  }
  if (present(f, "deployment")) {
    const auto& d = f.at("deployment");
    std::vector<bool> sub;
    if (present(d, "is_null_")) {
      auto has = flows.has_deployments(id);
      if (!has)
        return std::unexpected(has.error());
      sub.push_back(d.at("is_null_").get<bool>() ? !*has : *has);
    }
    terms.push_back(combine(sub, is_or(d)));
  }
  if (present(f, "name")) {
    std::vector<bool> sub;
    name_terms(f.at("name"), flow.at("name").get<std::string>(), sub);
    terms.push_back(combine(sub, false));
  }
  if (present(f, "tags"))
    terms.push_back(tags_match(
        f.at("tags"), flow.at("tags").get<std::vector<std::string>>()));
  return combine(terms, is_or(f));
}

std::expected<bool, errc>
deployment_filter_matches(const json& f, const summary& s, flow_lookup& flows) {
  if (!f.is_object())
    return true;
  std::vector<bool> terms;
  if (present(f, "id")) {
    std::vector<bool> sub;
    id_terms(f.at("id"), s.id, sub);
    terms.push_back(combine(sub, false));
  }
  if (present(f, "name")) {
    std::vector<bool> sub;
    name_terms(f.at("name"), s.name, sub);
    terms.push_back(combine(sub, false));
  }
  if (present(f, "flow_or_deployment_name")) {
    const auto& like = child(f.at("flow_or_deployment_name"), "like_");
    if (like.is_null()) {
      terms.push_back(true);
    } else {
      const auto pattern = like.get<std::string>();
      bool match = ilike_contains(s.name, pattern);
      if (!match) {
        auto flow = flows.flow(s.flow_id);
        if (!flow)
          return std::unexpected(flow.error());
        match = *flow &&
                ilike_contains((**flow).at("name").get<std::string>(), pattern);
      }
      terms.push_back(match);
    }
  }
  if (present(f, "paused")) {
    const auto& eq = child(f.at("paused"), "eq_");
    terms.push_back(eq.is_null() || eq.get<bool>() == s.paused);
  }
  if (present(f, "tags"))
    terms.push_back(tags_match(f.at("tags"), s.tags));
  if (present(f, "work_queue_name")) {
    const auto& any = child(f.at("work_queue_name"), "any_");
    terms.push_back(
        any.is_null() ||
        (s.work_queue_name && contains_string(any, *s.work_queue_name)));
  }
  // `concurrency_limit` is accepted and ignored (deprecated).
  return combine(terms, is_or(f));
}

// {any_} of an id/name/type field of a pool or queue document.
bool doc_any(const json& filter, const char* field, const json& doc) {
  if (!present(filter, field))
    return true;
  const auto& f = filter.at(field);
  if (!present(f, "any_"))
    return true;
  const auto& value = doc.at(field);
  for (const auto& item : f.at("any_"))
    if (item == value)
      return true;
  return false;
}

// WorkQueueFilter on the linked queue: id any_, name any_ / startswith_.
bool queue_matches(const json& f, const json& queue) {
  if (!f.is_object())
    return true;
  std::vector<bool> terms;
  if (present(f, "id"))
    terms.push_back(doc_any(f, "id", queue));
  if (present(f, "name")) {
    const auto& name = f.at("name");
    std::vector<bool> sub;
    if (present(name, "any_"))
      sub.push_back(doc_any(f, "name", queue));
    if (present(name, "startswith_")) {
      const auto text = queue.at("name").get<std::string>();
      bool any = false;
      for (const auto& prefix : name.at("startswith_"))
        any = any ||
              ilike_contains(text.substr(0, prefix.get<std::string>().size()),
                             prefix.get<std::string>());
      sub.push_back(any);
    }
    terms.push_back(combine(sub, false));
  }
  return combine(terms, is_or(f));
}

// WorkPoolFilter on the linked queue's pool: id, name, type any_.
bool pool_matches(const json& f, const json& pool) {
  if (!f.is_object())
    return true;
  std::vector<bool> terms;
  for (const char* field : {"id", "name", "type"})
    if (present(f, field))
      terms.push_back(doc_any(f, field, pool));
  return combine(terms, is_or(f));
}

std::expected<bool, errc> linked_queue_matches(const deployment_query& q,
                                               const summary& s,
                                               storage::reader& r) {
  if (!s.work_queue_id)
    return false;
  auto queue =
      load_resource(r, events::resource_kind::work_queue, *s.work_queue_id);
  if (!queue)
    return std::unexpected(queue.error());
  if (!*queue || !queue_matches(q.work_pool_queues, **queue))
    return false;
  if (!q.work_pools.is_object())
    return true;
  auto pool = load_resource(
      r, events::resource_kind::work_pool,
      *uuid::parse((*queue)->at("work_pool_id").get<std::string>()));
  if (!pool)
    return std::unexpected(pool.error());
  return *pool && pool_matches(q.work_pools, **pool);
}

std::expected<bool, errc> query_matches(const deployment_query& q,
                                        const summary& s, flow_lookup& flows) {
  // "There exists a run of this deployment matching ...", joined with its
  // task runs when `task_runs` is given; deployd records no task runs, so
  // that join is empty.
  if (!q.task_runs.is_null())
    return false;
  if (!q.flow_runs.is_null()) {
    auto some = flows.some_run(s.flow_id, s.id, q.flow_runs);
    if (!some || !*some)
      return some;
  }
  if (!q.work_pools.is_null() || !q.work_pool_queues.is_null()) {
    auto linked = linked_queue_matches(q, s, flows.reader());
    if (!linked || !*linked)
      return linked;
  }
  auto own = deployment_filter_matches(q.deployments, s, flows);
  if (!own || !*own)
    return own;
  if (!q.flows.is_object())
    return true;
  auto flow = flows.flow(s.flow_id);
  if (!flow)
    return std::unexpected(flow.error());
  if (!*flow)
    return false;
  return flow_matches(q.flows, **flow, flows);
}

std::expected<std::optional<summary>, errc> load_summary(storage::reader& r,
                                                         const uuid& id) {
  auto row = r.get(table::deployment_summaries, id_key(id));
  if (!row)
    return std::unexpected(row.error());
  if (!*row)
    return std::optional<summary>{};
  return parse_summary(id, **row);
}

// Sort keys matching the index order of each sort.
bool before(const summary& a, const summary& b, const std::string& sort) {
  if (sort == "NAME_DESC")
    return std::tie(b.name, b.id) < std::tie(a.name, a.id);
  if (sort == "CREATED_DESC")
    return std::tie(b.created, b.id) < std::tie(a.created, a.id);
  if (sort == "UPDATED_DESC")
    return std::tie(b.updated, b.id) < std::tie(a.updated, a.id);
  return std::tie(a.name, a.id) < std::tie(b.name, b.id);
}

// Candidate ids from the most selective indexed criterion of an AND filter;
// nothing when the query needs an ordered scan instead.
std::expected<std::optional<std::vector<uuid>>, errc>
candidates(storage::reader& r, const deployment_query& q) {
  std::set<uuid> ids;
  // Index rows end with the deployment id, except deployment_names, whose
  // value is the id.
  auto collect_suffix = [&](table t, const std::string& prefix) {
    return r.scan(t, prefix, [&](std::string_view key, std::string_view value) {
      ids.insert(
          id_from_key_suffix(t == table::deployment_names ? value : key));
      return true;
    });
  };
  const json& d = q.deployments;
  const bool and_filter = d.is_object() && !is_or(d);
  if (and_filter && present(d, "id") && present(d.at("id"), "any_")) {
    for (const auto& item : d.at("id").at("any_"))
      if (auto id = uuid::parse(item.get<std::string>()))
        ids.insert(*id);
    return std::vector<uuid>(ids.begin(), ids.end());
  }
  if (and_filter && present(d, "name") && present(d.at("name"), "any_")) {
    for (const auto& name : d.at("name").at("any_")) {
      std::string prefix = name.get<std::string>();
      prefix.push_back('\0');
      if (auto s = collect_suffix(table::deployment_by_name, prefix); !s)
        return std::unexpected(s.error());
    }
    return std::vector<uuid>(ids.begin(), ids.end());
  }
  const json& f = q.flows;
  if (f.is_object() && !is_or(f) &&
      ((present(f, "id") && present(f.at("id"), "any_")) ||
       (present(f, "name") && present(f.at("name"), "any_")))) {
    std::set<uuid> flow_ids;
    if (present(f, "id") && present(f.at("id"), "any_")) {
      for (const auto& item : f.at("id").at("any_"))
        if (auto id = uuid::parse(item.get<std::string>()))
          flow_ids.insert(*id);
    } else {
      for (const auto& name : f.at("name").at("any_")) {
        auto id = r.get(table::flow_names, name.get<std::string>());
        if (!id)
          return std::unexpected(id.error());
        if (*id)
          flow_ids.insert(id_from_key_suffix(**id));
      }
    }
    for (const auto& flow_id : flow_ids)
      if (auto s = collect_suffix(table::deployment_names, id_key(flow_id)); !s)
        return std::unexpected(s.error());
    return std::vector<uuid>(ids.begin(), ids.end());
  }
  if (and_filter && present(d, "tags") && !is_or(d.at("tags"))) {
    const auto& tags = d.at("tags");
    const json* source = nullptr;
    if (present(tags, "all_") && !tags.at("all_").empty())
      source = &tags.at("all_");
    else if (present(tags, "any_"))
      source = &tags.at("any_");
    if (source) {
      const bool all = present(tags, "all_") && source == &tags.at("all_");
      for (const auto& tag : *source) {
        if (auto s = collect_suffix(table::deployment_tags,
                                    length_prefixed(tag.get<std::string>()));
            !s)
          return std::unexpected(s.error());
        if (all)
          break; // the first tag of all_ already bounds the candidates
      }
      return std::vector<uuid>(ids.begin(), ids.end());
    }
  }
  if (and_filter && present(d, "work_queue_name") &&
      present(d.at("work_queue_name"), "any_")) {
    for (const auto& name : d.at("work_queue_name").at("any_"))
      if (auto s = collect_suffix(table::deployment_queue_names,
                                  length_prefixed(name.get<std::string>()));
          !s)
        return std::unexpected(s.error());
    return std::vector<uuid>(ids.begin(), ids.end());
  }
  return std::optional<std::vector<uuid>>{};
}

// The index and prefix an ordered scan walks, and in which direction.
struct ordered_source {
  table index = table::deployment_by_name;
  std::string prefix;
  scan_order order = scan_order::forward;
};

ordered_source ordered_scan(const deployment_query& q) {
  ordered_source src;
  if (q.sort == "NAME_DESC")
    src.order = scan_order::reverse;
  else if (q.sort == "CREATED_DESC")
    src = {table::deployment_by_created, {}, scan_order::reverse};
  else if (q.sort == "UPDATED_DESC")
    src = {table::deployment_by_updated, {}, scan_order::reverse};
  // A lone tag under a name sort: the tag index is in name order already.
  const json& d = q.deployments;
  if ((q.sort == "NAME_ASC" || q.sort == "NAME_DESC") && d.is_object() &&
      !is_or(d) && present(d, "tags") && !is_or(d.at("tags"))) {
    const auto& tags = d.at("tags");
    const json* single = nullptr;
    if (present(tags, "all_") && tags.at("all_").size() == 1)
      single = &tags.at("all_")[0];
    else if (!present(tags, "all_") && present(tags, "any_") &&
             tags.at("any_").size() == 1)
      single = &tags.at("any_")[0];
    if (single) {
      src.index = table::deployment_tags;
      src.prefix = length_prefixed(single->get<std::string>());
    }
  }
  return src;
}

bool no_filters(const deployment_query& q) {
  return q.deployments.is_null() && q.flows.is_null() &&
         q.flow_runs.is_null() && q.task_runs.is_null() &&
         q.work_pools.is_null() && q.work_pool_queues.is_null();
}

// Whether every row of the ordered scan matches, so no summary need be read:
// no filter at all, or nothing but the one tag the tag index is walked for.
bool scan_answers_alone(const deployment_query& q, const ordered_source& src) {
  if (no_filters(q))
    return true;
  if (src.index != table::deployment_tags || !q.flows.is_null() ||
      !q.flow_runs.is_null() || !q.task_runs.is_null() ||
      !q.work_pools.is_null() || !q.work_pool_queues.is_null())
    return false;
  auto only = [](const json& object, const char* key) {
    for (const auto& [k, v] : object.items())
      if (k != key && k != "operator" && !v.is_null())
        return false;
    return true;
  };
  const auto& tags = q.deployments.at("tags");
  return only(q.deployments, "tags") &&
         (only(tags, "all_") || only(tags, "any_"));
}

// Visits matching summaries in sort order until `visit` returns false. When
// the index scan alone answers the query, the summaries carry only the id.
std::expected<void, errc>
for_each_match(storage::reader& r, const deployment_query& q,
               const std::function<bool(const summary&)>& visit) {
  flow_lookup flows(r);
  std::optional<errc> failure;
  auto check = [&](const summary& s) -> std::optional<bool> {
    auto m = query_matches(q, s, flows);
    if (!m) {
      failure = m.error();
      return std::nullopt;
    }
    return *m;
  };
  const auto src = ordered_scan(q);
  const bool tag_stream = src.index == table::deployment_tags;
  if (!tag_stream) {
    auto picked = candidates(r, q);
    if (!picked)
      return std::unexpected(picked.error());
    if (*picked) {
      std::vector<summary> matches;
      for (const auto& id : **picked) {
        auto s = load_summary(r, id);
        if (!s)
          return std::unexpected(s.error());
        if (!*s)
          continue;
        auto ok = check(**s);
        if (!ok)
          return std::unexpected(*failure);
        if (*ok)
          matches.push_back(std::move(**s));
      }
      std::sort(matches.begin(), matches.end(),
                [&](const summary& a, const summary& b) {
                  return before(a, b, q.sort);
                });
      for (const auto& s : matches)
        if (!visit(s))
          break;
      return {};
    }
  }
  const bool alone = scan_answers_alone(q, src);
  summary bare;
  auto scanned = r.scan(
      src.index, src.prefix,
      [&](std::string_view key, std::string_view) {
        const auto id = id_from_key_suffix(key);
        if (alone) {
          bare.id = id;
          return visit(bare);
        }
        auto s = load_summary(r, id);
        if (!s) {
          failure = s.error();
          return false;
        }
        if (!*s)
          return true;
        auto ok = check(**s);
        if (!ok)
          return false;
        return !*ok || visit(**s);
      },
      src.order);
  if (!scanned)
    return scanned;
  if (failure)
    return std::unexpected(*failure);
  return {};
}

template <class Query, class Visit>
std::expected<std::vector<uuid>, errc> page_of(const Query& q,
                                               Visit&& for_each) {
  std::vector<uuid> out;
  std::int64_t skipped = 0;
  if (q.limit && *q.limit <= 0)
    return out;
  auto done = for_each([&](const uuid& id) {
    if (skipped < q.offset) {
      ++skipped;
      return true;
    }
    out.push_back(id);
    return !q.limit || static_cast<std::int64_t>(out.size()) < *q.limit;
  });
  if (!done)
    return std::unexpected(done.error());
  return out;
}

// The rows of `ids` in `t` as a JSON array; `body` takes a row's JSON
// from it.
template <typename Body>
std::expected<std::string, errc> views_array(storage::reader& r, table t,
                                             const std::vector<uuid>& ids,
                                             Body body) {
  std::string out = "[";
  for (const auto& id : ids) {
    auto row = r.get(t, id_key(id));
    if (!row)
      return std::unexpected(row.error());
    if (!*row)
      continue;
    if (out.size() > 1)
      out.push_back(',');
    out += body(**row);
  }
  out.push_back(']');
  return out;
}

// -- flows
// ---------------------------------------------------------------------

std::expected<bool, errc> flow_query_matches(storage::reader& r,
                                             const flow_query& q,
                                             const json& flow,
                                             flow_lookup& flows) {
  if (!q.task_runs.is_null())
    return false;
  if (!q.flow_runs.is_null()) {
    auto some = flows.some_run(*uuid::parse(flow.at("id").get<std::string>()),
                               std::nullopt, q.flow_runs);
    if (!some || !*some)
      return some;
  }
  auto own = flow_matches(q.flows, flow, flows);
  if (!own || !*own)
    return own;
  if (q.deployments.is_null() && q.work_pools.is_null())
    return true;
  // As the reference: one EXISTS over the flow's deployments, with the
  // deployment filter and, through its work queue, the work pool filter.
  deployment_query dq;
  dq.deployments = q.deployments;
  dq.work_pools = q.work_pools;
  dq.flows = json{{"id", {{"any_", json::array({flow.at("id")})}}}};
  dq.limit = 1;
  bool any = false;
  auto visited = for_each_match(r, dq, [&](const summary&) {
    any = true;
    return false;
  });
  if (!visited)
    return std::unexpected(visited.error());
  return any;
}

std::expected<void, errc>
for_each_flow(storage::reader& r, const flow_query& q,
              const std::function<bool(const uuid&)>& visit) {
  table index = table::flow_names;
  scan_order order = scan_order::forward;
  if (q.sort == "NAME_DESC")
    order = scan_order::reverse;
  else if (q.sort == "CREATED_DESC")
    index = table::flow_by_created, order = scan_order::reverse;
  else if (q.sort == "UPDATED_DESC")
    index = table::flow_by_updated, order = scan_order::reverse;
  flow_lookup flows(r);
  std::optional<errc> failure;
  auto scanned = r.scan(
      index, "",
      [&](std::string_view key, std::string_view value) {
        const auto id =
            id_from_key_suffix(index == table::flow_names ? value : key);
        auto flow = flows.flow(id);
        if (!flow) {
          failure = flow.error();
          return false;
        }
        if (!*flow)
          return true;
        auto ok = flow_query_matches(r, q, **flow, flows);
        if (!ok) {
          failure = ok.error();
          return false;
        }
        return !*ok || visit(id);
      },
      order);
  if (!scanned)
    return scanned;
  if (failure)
    return std::unexpected(*failure);
  return {};
}

} // namespace

bool ilike_contains(std::string_view text, std::string_view pattern) {
  // '%' + pattern + '%' matched with backtracking over '%'.
  std::string p = "%";
  p.append(pattern);
  p.push_back('%');
  const auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  std::size_t t = 0, i = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (i < p.size() && p[i] == '%') {
      star = i++;
      mark = t;
    } else if (i < p.size() && (p[i] == '_' || lower(p[i]) == lower(text[t]))) {
      // '_' matches one character; UTF-8 continuation bytes follow it.
      if (p[i] == '_')
        while (t + 1 < text.size() &&
               (static_cast<unsigned char>(text[t + 1]) & 0xc0) == 0x80)
          ++t;
      ++i;
      ++t;
    } else if (star != std::string::npos) {
      i = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (i < p.size() && p[i] == '%')
    ++i;
  return i == p.size();
}

std::expected<std::vector<uuid>, errc>
find_deployments(storage::reader& r, const deployment_query& q) {
  return page_of(q, [&](const std::function<bool(const uuid&)>& take) {
    return for_each_match(r, q, [&](const summary& s) { return take(s.id); });
  });
}

std::expected<std::int64_t, errc> count_deployments(storage::reader& r,
                                                    const deployment_query& q) {
  std::int64_t n = 0;
  if (no_filters(q)) {
    auto scanned = r.scan(table::deployment_by_name, "",
                          [&](std::string_view, std::string_view) {
                            ++n;
                            return true;
                          });
    if (!scanned)
      return std::unexpected(scanned.error());
    return n;
  }
  auto done = for_each_match(r, q, [&](const summary&) {
    ++n;
    return true;
  });
  if (!done)
    return std::unexpected(done.error());
  return n;
}

std::expected<std::vector<uuid>, errc> find_flows(storage::reader& r,
                                                  const flow_query& q) {
  return page_of(q, [&](const std::function<bool(const uuid&)>& take) {
    return for_each_flow(r, q, take);
  });
}

std::expected<std::int64_t, errc> count_flows(storage::reader& r,
                                              const flow_query& q) {
  std::int64_t n = 0;
  auto done = for_each_flow(r, q, [&](const uuid&) {
    ++n;
    return true;
  });
  if (!done)
    return std::unexpected(done.error());
  return n;
}

std::expected<std::string, errc>
deployment_views(storage::reader& r, const std::vector<uuid>& ids) {
  return views_array(r, table::deployment_views, ids,
                     &deployment_view_row::body);
}

std::expected<std::string, errc> flow_views(storage::reader& r,
                                            const std::vector<uuid>& ids) {
  return views_array(r, table::flows, ids,
                     [](std::string_view row) { return row; });
}

} // namespace deployd::actors
