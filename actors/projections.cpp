#include "actors/projections.hpp"

#include "actors/event_feed.hpp"
#include "actors/fold_stored.hpp"
#include "events/automation.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"
#include "events/json_writer.hpp"
#include "events/stored_deployment.hpp"
#include "storage/bytes.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace deployd::actors {

namespace {

using events::json;
using storage::errc;
using storage::table;

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

std::string dump(const json& j) {
  return events::dump_json(j);
}

events::uuid uuid_from_key(std::string_view bytes) {
  events::uuid id;
  std::memcpy(id.bytes.data(), bytes.data(), 16);
  return id;
}

// -- secondary index keys -----------------------------------------------------

// {"n","f","t","p","q","w","c","u","r"}: what filters (and the foreman's
// staleness sweep: "r", `last_polled` in microseconds while READY, else
// null; always last) read without loading the deployment.
std::string summary_of(const events::deployment& d) {
  std::string out;
  out.reserve(160);
  events::json_writer w(out);
  w.key("n").value(std::string_view(d.name));
  w.key("f").plain(d.flow_id.str());
  w.key("t").strings(d.tags);
  w.key("p").value(d.paused);
  w.key("q").optional(d.work_queue_name);
  w.key("w").optional(d.work_queue_id);
  w.key("c").number(d.created.micros);
  w.key("u").number(d.updated.micros);
  w.key("r");
  if (d.status == "READY" && d.last_polled)
    w.number(d.last_polled->micros);
  else
    w.null();
  w.close();
  return out;
}

// Whether the scheduler can make runs for `d` (schedule_deployment makes
// none for a paused deployment or an inactive schedule).
bool may_schedule(const events::deployment& d) {
  if (d.paused)
    return false;
  for (const auto& s : d.schedules)
    if (s.active)
      return true;
  return false;
}

// One index row of a deployment: every table that lists it besides its
// state and view rows (the summary row's value is its filter record).
struct deployment_row {
  table t;
  std::string key;
  std::string value;
};

std::vector<deployment_row> deployment_index_rows(const events::deployment& d) {
  const auto id = id_key(d.id);
  std::vector<deployment_row> rows;
  rows.reserve(8 + d.tags.size());
  if (may_schedule(d))
    rows.push_back({table::scheduled_deployments, id, ""});
  rows.push_back({table::deployment_by_name, name_order_key(d.name, d.id), ""});
  rows.push_back(
      {table::deployment_by_created, time_order_key(d.created, d.id), ""});
  rows.push_back(
      {table::deployment_by_updated, time_order_key(d.updated, d.id), ""});
  for (const auto& tag : d.tags)
    rows.push_back(
        {table::deployment_tags, tag_order_key(tag, d.name, d.id), ""});
  if (d.work_queue_name)
    rows.push_back({table::deployment_queue_names,
                    length_prefixed(*d.work_queue_name) + id, ""});
  rows.push_back({table::deployment_summaries, id, summary_of(d)});
  if (d.concurrency_limit_id)
    rows.push_back(
        {table::limit_links, id_key(*d.concurrency_limit_id) + id, ""});
  if (d.work_queue_id)
    rows.push_back({table::queue_links, id_key(*d.work_queue_id) + id, ""});
  for (const auto& doc : {d.storage_document_id, d.infrastructure_document_id})
    if (doc)
      rows.push_back({table::block_links, id_key(*doc) + id, ""});
  return rows;
}

void put_indexes(storage::write_batch& b, const events::deployment& d) {
  for (const auto& row : deployment_index_rows(d))
    b.put(row.t, row.key, row.value);
}

void erase_indexes(storage::write_batch& b, const events::deployment& d) {
  for (const auto& row : deployment_index_rows(d))
    b.del(row.t, row.key);
}

// An update's index rows: deletes the rows of `before` that `after` does not
// have and writes those of `after` that are new or changed. Rows the update
// leaves as they were (most of them when an upsert changes parameters) are
// not written at all, where a delete and a put of each went into the batch,
// the WAL and the memtables before. The rows that remain are the same.
void reindex(storage::write_batch& b, const events::deployment& before,
             const events::deployment& after) {
  const auto old_rows = deployment_index_rows(before);
  const auto new_rows = deployment_index_rows(after);
  const auto same_key = [](const deployment_row& x, const deployment_row& y) {
    return x.t == y.t && x.key == y.key;
  };
  for (const auto& row : old_rows)
    if (std::none_of(new_rows.begin(), new_rows.end(),
                     [&](const deployment_row& n) { return same_key(row, n); }))
      b.del(row.t, row.key);
  for (const auto& row : new_rows)
    if (std::none_of(old_rows.begin(), old_rows.end(),
                     [&](const deployment_row& o) {
                       return same_key(row, o) && o.value == row.value;
                     }))
      b.put(row.t, row.key, row.value);
}

std::expected<events::deployment_links, errc>
load_links(storage::write_batch& b, const events::deployment& d) {
  events::deployment_links links;
  if (d.concurrency_limit_id) {
    auto limit = load_limit(b, *d.concurrency_limit_id);
    if (!limit)
      return std::unexpected(limit.error());
    links.limit = std::move(*limit);
  }
  if (d.work_queue_id) {
    auto queue =
        load_resource(b, events::resource_kind::work_queue, *d.work_queue_id);
    if (!queue)
      return std::unexpected(queue.error());
    if (*queue) {
      links.queue_name = (*queue)->at("name").get<std::string>();
      auto pool =
          load_resource(b, events::resource_kind::work_pool,
                        *events::uuid::parse(
                            (*queue)->at("work_pool_id").get<std::string>()));
      if (!pool)
        return std::unexpected(pool.error());
      if (*pool)
        links.pool_name = (*pool)->at("name").get<std::string>();
    }
  }
  return links;
}

// Writes the state row (`state`, or `d` serialised) and the view row of
// `d` at `version` of its stream; `stored`, when set, is `d` as read from
// `state` (its JSON members still text there).
std::expected<void, errc>
store_deployment(storage::write_batch& b, const events::deployment& d,
                 events::stream_version version, std::string_view state = {},
                 const events::stored_deployment* stored = nullptr) {
  auto links = load_links(b, d);
  if (!links)
    return std::unexpected(links.error());
  const auto key = id_key(d.id);
  if (state.empty())
    b.put(table::deployments, key, events::stored_text(d));
  else
    b.put(table::deployments, key, state);
  b.put(table::deployment_views, key,
        deployment_view_row::make(
            version, stored ? events::render_deployment(*stored, state, *links)
                            : events::render_deployment(d, *links)));
  return {};
}

// Re-renders every deployment linked (through `links`) to a changed limit
// or queue.
std::expected<void, errc> rerender_linked(storage::write_batch& b,
                                          const events::uuid& target,
                                          table links = table::limit_links) {
  std::vector<events::uuid> linked;
  auto scanned = b.scan(links, id_key(target),
                        [&](std::string_view key, std::string_view) {
                          linked.push_back(uuid_from_key(key.substr(16)));
                          return true;
                        });
  if (!scanned)
    return scanned;
  for (const auto& id : linked) {
    auto d = load_deployment(b, id);
    if (!d)
      return std::unexpected(d.error());
    if (!*d)
      continue;
    // Its stream did not change: the version stays the view's.
    auto view = b.get(table::deployment_views, id_key(id));
    if (!view)
      return std::unexpected(view.error());
    const events::stream_version version{
        *view ? deployment_view_row::version(**view) : 0};
    if (auto stored = store_deployment(b, **d, version); !stored)
      return stored;
  }
  return {};
}

std::expected<void, errc>
fold_created(storage::write_batch& b, const events::deployment& d,
             events::stream_version version, std::string_view payload,
             const events::stored_deployment* stored = nullptr) {
  b.put(table::deployment_names, deployment_name_key(d.flow_id, d.name),
        id_key(d.id));
  put_indexes(b, d);
  // The payload of deployment_created is the stored state document itself.
  return store_deployment(b, d, version, payload, stored);
}

std::expected<void, errc> fold_updated(storage::write_batch& b,
                                       const events::deployment_updated& e,
                                       events::stream_version version) {
  auto loaded = load_deployment(b, e.id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded) {
    std::fprintf(stderr, "deployd: update of unknown deployment %s\n",
                 e.id.str().c_str());
    std::abort();
  }
  const events::deployment before = **loaded;
  events::deployment after = before;
  try {
    events::apply_changes(after, e.changes);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "deployd: cannot apply update of %s: %s\n",
                 e.id.str().c_str(), ex.what());
    std::abort();
  }
  if (before.flow_id != after.flow_id || before.name != after.name) {
    b.del(table::deployment_names,
          deployment_name_key(before.flow_id, before.name));
    b.put(table::deployment_names,
          deployment_name_key(after.flow_id, after.name), id_key(after.id));
  }
  reindex(b, before, after);
  return store_deployment(b, after, version);
}

std::expected<void, errc>
fold_deployment_deleted(storage::write_batch& b,
                        const events::deployment_deleted& e) {
  auto loaded = load_deployment(b, e.id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return {};
  const auto& d = **loaded;
  const auto key = id_key(d.id);
  erase_indexes(b, d);
  b.del(table::deployment_names, deployment_name_key(d.flow_id, d.name));
  b.del(table::deployments, key);
  b.del(table::deployment_views, key);
  return {};
}

void put_flow(storage::write_batch& b, const events::flow& f) {
  const auto key = id_key(f.id);
  b.put(table::flows, key, dump(to_json(f)));
  b.put(table::flow_names, f.name, key);
  b.put(table::flow_by_created, time_order_key(f.created, f.id), "");
  b.put(table::flow_by_updated, time_order_key(f.updated, f.id), "");
}

void erase_flow(storage::write_batch& b, const events::flow& f) {
  b.del(table::flows, id_key(f.id));
  b.del(table::flow_names, f.name);
  b.del(table::flow_by_created, time_order_key(f.created, f.id));
  b.del(table::flow_by_updated, time_order_key(f.updated, f.id));
}

template <class Event>
std::expected<void, errc> fold_flow_change(storage::write_batch& b,
                                           const Event& e) {
  auto loaded = load_flow(b, e.id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return {};
  erase_flow(b, **loaded);
  if constexpr (std::is_same_v<Event, events::flow_updated>) {
    auto f = **loaded;
    try {
      events::apply_changes(f, e.changes);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "deployd: cannot apply update of flow %s: %s\n",
                   e.id.str().c_str(), ex.what());
      std::abort();
    }
    put_flow(b, f);
  }
  return {};
}

// -- automation relations (workers-automations.md §3.6) ----------------------

std::string relation_by_resource_key(std::string_view resource,
                                     const events::uuid& id) {
  return 'r' + length_prefixed(resource) + id_key(id);
}

std::string relation_by_automation_key(const events::uuid& id,
                                       std::string_view resource) {
  return 'a' + id_key(id) + std::string(resource);
}

void put_relation(storage::write_batch& b, const events::uuid& id,
                  const std::string& resource, bool owned) {
  const std::string flag = owned ? "1" : "0";
  b.put(table::automation_relations, relation_by_resource_key(resource, id),
        flag);
  b.put(table::automation_relations, relation_by_automation_key(id, resource),
        flag);
}

// Drops the automation's relations (only the unowned ones with
// `keep_owned`), returning the resources of those kept.
std::expected<std::vector<std::string>, errc>
drop_relations(storage::write_batch& b, const events::uuid& id,
               bool keep_owned) {
  const std::string prefix = 'a' + id_key(id);
  std::vector<std::pair<std::string, bool>> rows;
  auto scanned = b.scan(table::automation_relations, prefix,
                        [&](std::string_view key, std::string_view value) {
                          rows.emplace_back(key.substr(prefix.size()),
                                            value == "1");
                          return true;
                        });
  if (!scanned)
    return std::unexpected(scanned.error());
  std::vector<std::string> kept;
  for (const auto& [resource, owned] : rows) {
    if (keep_owned && owned) {
      kept.push_back(resource);
      continue;
    }
    b.del(table::automation_relations, relation_by_resource_key(resource, id));
    b.del(table::automation_relations,
          relation_by_automation_key(id, resource));
  }
  return kept;
}

std::string state_type_of(const json& run) {
  const auto it = run.find("state_type");
  return it != run.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
}

// Adds `delta` to the `n` row of `state_type` (a row gone at 0).
std::expected<void, errc> add_to_count(storage::write_batch& b,
                                       std::string_view state_type,
                                       std::int64_t delta) {
  const auto key = run_keys::count_key(state_type);
  auto row = b.get(table::run_index, key);
  if (!row)
    return std::unexpected(row.error());
  std::int64_t n = 0;
  if (*row)
    std::from_chars((*row)->data(), (*row)->data() + (*row)->size(), n);
  n += delta;
  if (n <= 0)
    b.del(table::run_index, key);
  else
    b.put(table::run_index, key, std::to_string(n));
  return {};
}

// Adds `delta` to the count of runs in `run`'s state type: in `counts` when
// given (written later, once for all the runs of a command), else in its row.
std::expected<void, errc> count_run(storage::write_batch& b, const json& run,
                                    std::int64_t delta, run_counts* counts) {
  if (counts) {
    counts->add(state_type_of(run), delta);
    return {};
  }
  return add_to_count(b, state_type_of(run), delta);
}

void put_run_index(storage::write_batch& b, const json& run) {
  for (const auto& row : run_index_rows(run))
    b.put(table::run_index, row.key, row.value);
  // Only queries read these (HTTP threads, from the database): no decision
  // reads them through the writer's batch, so they skip its index.
  for (const auto& row : run_query_rows(run))
    b.put_unread(table::run_index, row.key, row.value);
}

void del_run_index(storage::write_batch& b, const json& run) {
  for (const auto& row : run_index_rows(run))
    b.del(table::run_index, row.key);
  for (const auto& row : run_query_rows(run))
    b.del(table::run_index, row.key);
}

// `payload`, when not empty, is the event's encoded payload: the dump of
// `e.value` (events::encode), stored as the state row as it is.
std::expected<void, errc> fold_resource(storage::write_batch& b,
                                        const events::resource_created& e,
                                        std::string_view payload,
                                        run_counts* counts) {
  const auto id = events::uuid_field(e.value, "id");
  if (e.kind == events::resource_kind::automation) {
    // The owner is a relation only: the Automation never shows it.
    json doc = e.value;
    std::optional<std::string> owner;
    if (const auto it = doc.find("owner_resource"); it != doc.end()) {
      if (it->is_string())
        owner = it->get<std::string>();
      doc.erase(it);
    }
    for (const auto& r : events::automation_relations(doc, owner))
      put_relation(b, id, r.resource_id, r.owned);
    b.put(table::resources, resource_key(e.kind, id), dump(doc));
    b.put(table::resource_names, resource_name_key(e.kind, doc), id_key(id));
    return {};
  }
  if (payload.empty())
    b.put(table::resources, resource_key(e.kind, id), dump(e.value));
  else
    b.put(table::resources, resource_key(e.kind, id), payload);
  b.put(table::resource_names, resource_name_key(e.kind, e.value), id_key(id));
  if (e.kind == events::resource_kind::flow_run) {
    put_run_index(b, e.value);
    return count_run(b, e.value, 1, counts);
  }
  return {};
}

std::expected<void, errc> fold_resource(storage::write_batch& b,
                                        const events::resource_updated& e,
                                        run_counts* counts) {
  auto loaded = load_resource(b, e.kind, e.id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return {};
  json doc = std::move(**loaded);
  b.del(table::resource_names, resource_name_key(e.kind, doc));
  const bool run = e.kind == events::resource_kind::flow_run;
  if (run)
    del_run_index(b, doc);
  const auto state_before = run ? state_type_of(doc) : std::string();
  events::apply_document_changes(doc, e.changes);
  if (run) {
    put_run_index(b, doc);
    if (const auto state_after = state_type_of(doc);
        state_after != state_before) {
      json was{{"state_type", state_before}};
      if (auto counted = count_run(b, was, -1, counts); !counted)
        return counted;
      if (auto counted = count_run(b, doc, 1, counts); !counted)
        return counted;
    }
  }
  b.put(table::resources, resource_key(e.kind, e.id), dump(doc));
  b.put(table::resource_names, resource_name_key(e.kind, doc), id_key(e.id));
  if (e.kind == events::resource_kind::work_queue && e.changes.contains("name"))
    return rerender_linked(b, e.id, table::queue_links);
  if (e.kind == events::resource_kind::automation &&
      e.changes.contains("actions")) {
    // PUT: the unowned relations follow the new actions; owned ones stay.
    auto kept = drop_relations(b, e.id, true);
    if (!kept)
      return std::unexpected(kept.error());
    for (const auto& r : events::automation_relations(doc, std::nullopt))
      if (std::find(kept->begin(), kept->end(), r.resource_id) == kept->end())
        put_relation(b, e.id, r.resource_id, false);
  }
  return {};
}

std::expected<void, errc> fold_resource(storage::write_batch& b,
                                        const events::resource_deleted& e,
                                        run_counts* counts) {
  auto loaded = load_resource(b, e.kind, e.id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return {};
  b.del(table::resource_names, resource_name_key(e.kind, **loaded));
  b.del(table::resources, resource_key(e.kind, e.id));
  if (e.kind == events::resource_kind::automation)
    if (auto dropped = drop_relations(b, e.id, false); !dropped)
      return std::unexpected(dropped.error());
  if (e.kind == events::resource_kind::flow_run) {
    del_run_index(b, **loaded);
    return count_run(b, **loaded, -1, counts);
  }
  return {};
}

std::expected<void, errc>
fold_limit_updated(storage::write_batch& b,
                   const events::concurrency_limit_updated& e) {
  auto loaded = b.get(table::limits, id_key(e.id));
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return {};
  json doc = events::parse_json(**loaded);
  b.del(table::limit_names, doc.at("name").get<std::string>());
  events::apply_document_changes(doc, e.changes);
  b.put(table::limits, id_key(e.id), dump(doc));
  b.put(table::limit_names, doc.at("name").get<std::string>(), id_key(e.id));
  return rerender_linked(b, e.id);
}

std::expected<void, errc> fold_limit(storage::write_batch& b,
                                     const events::concurrency_limit& l) {
  b.put(table::limits, id_key(l.id), dump(to_json(l)));
  b.put(table::limit_names, l.name, id_key(l.id));
  return rerender_linked(b, l.id);
}

std::expected<void, errc>
fold_limit_resized(storage::write_batch& b,
                   const events::concurrency_limit_resized& e) {
  auto loaded = load_limit(b, e.id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (!*loaded)
    return {};
  auto l = **loaded;
  l.limit = e.to;
  l.updated = e.updated;
  return fold_limit(b, l);
}

std::expected<void, errc>
fold_limit_deleted(storage::write_batch& b,
                   const events::concurrency_limit_deleted& e) {
  auto loaded = load_limit(b, e.id);
  if (!loaded)
    return std::unexpected(loaded.error());
  if (*loaded)
    b.del(table::limit_names, (*loaded)->name);
  b.del(table::limits, id_key(e.id));
  std::vector<std::string> links;
  auto scanned = b.scan(table::limit_links, id_key(e.id),
                        [&](std::string_view key, std::string_view) {
                          links.emplace_back(key);
                          return true;
                        });
  if (!scanned)
    return scanned;
  auto rendered = rerender_linked(b, e.id);
  for (const auto& key : links)
    b.del(table::limit_links, key);
  return rendered;
}

// -- workers
// ---------------------------------------------------------------------

// Writes a worker's rows: its rendered document under its heartbeat key,
// and where to find it by id. The name row is written at creation only.
void put_worker(storage::write_batch& b, const events::worker& w) {
  const auto key =
      worker_heartbeat_key(w.work_pool_id, w.last_heartbeat_time, w.id);
  b.put(table::worker_keys, id_key(w.id), key);
  b.put(table::worker_heartbeats, key, events::render_worker(w));
}

// The stored worker an event names; a missing one is a bug (the decision
// that emitted the event saw it).
std::expected<events::worker, errc> stored_worker(storage::write_batch& b,
                                                  const events::uuid& id) {
  auto found = load_worker(b, id);
  if (!found)
    return std::unexpected(found.error());
  if (!*found) {
    std::fprintf(stderr, "deployd: event for unknown worker %s\n",
                 id.str().c_str());
    std::abort();
  }
  return std::move(**found);
}

void erase_heartbeat_row(storage::write_batch& b, const events::worker& w) {
  b.del(table::worker_heartbeats,
        worker_heartbeat_key(w.work_pool_id, w.last_heartbeat_time, w.id));
}

std::expected<void, errc>
fold_heartbeat(storage::write_batch& b,
               const events::worker_heartbeat_recorded& e) {
  auto w = stored_worker(b, e.id);
  if (!w)
    return std::unexpected(w.error());
  erase_heartbeat_row(b, *w);
  w->last_heartbeat_time = e.time;
  w->status = events::worker_status::online;
  if (e.heartbeat_interval_seconds)
    w->heartbeat_interval_seconds = e.heartbeat_interval_seconds;
  put_worker(b, *w);
  return {};
}

std::expected<void, errc> fold_offline(storage::write_batch& b,
                                       const events::worker_marked_offline& e) {
  auto w = stored_worker(b, e.id);
  if (!w)
    return std::unexpected(w.error());
  w->status = events::worker_status::offline;
  w->updated = e.updated;
  put_worker(b, *w);
  return {};
}

std::expected<void, errc> fold_worker_deleted(storage::write_batch& b,
                                              const events::worker_deleted& e) {
  auto w = stored_worker(b, e.id);
  if (!w)
    return std::unexpected(w.error());
  erase_heartbeat_row(b, *w);
  b.del(table::worker_keys, id_key(w->id));
  b.del(table::worker_names, worker_name_key(w->work_pool_id, w->name));
  return {};
}

template <class T, class Parse>
std::expected<std::optional<T>, errc>
load_json_row(storage::write_batch& b, table t, std::string_view key,
              Parse parse) {
  auto row = b.get(t, key);
  if (!row)
    return std::unexpected(row.error());
  if (!*row)
    return std::optional<T>{};
  try {
    return std::optional<T>{parse(events::parse_json(**row))};
  } catch (const std::exception& e) {
    // Our own rows are written by fold alone: a bad one is a bug.
    std::fprintf(stderr, "deployd: corrupt %s row: %s\n",
                 storage::table_name(t), e.what());
    std::abort();
  }
}

} // namespace

std::string id_key(const events::uuid& id) {
  return std::string(reinterpret_cast<const char*>(id.bytes.data()), 16);
}

std::string order_bytes(events::timestamp t) {
  // Flip the sign bit so negative times sort before positive ones.
  const auto v = static_cast<std::uint64_t>(t.micros) ^ (1ULL << 63);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

std::string time_order_key(events::timestamp t, const events::uuid& id) {
  return order_bytes(t) + id_key(id);
}

std::string name_order_key(std::string_view name, const events::uuid& id) {
  std::string key(name);
  key.push_back('\0');
  key += id_key(id);
  return key;
}

std::string length_prefixed(std::string_view text) {
  const auto n = static_cast<std::uint32_t>(text.size());
  std::string out;
  out.reserve(4 + text.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>(n >> (24 - 8 * i)));
  out.append(text);
  return out;
}

std::string tag_order_key(std::string_view tag, std::string_view name,
                          const events::uuid& id) {
  return length_prefixed(tag) + name_order_key(name, id);
}

events::uuid id_from_key_suffix(std::string_view key) {
  events::uuid id;
  std::memcpy(id.bytes.data(), key.data() + key.size() - 16, 16);
  return id;
}

std::string deployment_name_key(const events::uuid& flow_id,
                                std::string_view name) {
  std::string key = id_key(flow_id);
  key.append(name);
  return key;
}

namespace {

// The projection rows of one event (the feed is written around it).
std::expected<void, errc> fold_rows(storage::write_batch& b,
                                    const events::any_event& e,
                                    std::string_view payload,
                                    const fold_context& at) {
  run_counts* counts = at.counts;
  return std::visit(
      overloaded{
          [&](const events::flow_created& x) -> std::expected<void, errc> {
            put_flow(b, x.value);
            return {};
          },
          [&](const events::flow_updated& x) { return fold_flow_change(b, x); },
          [&](const events::flow_deleted& x) { return fold_flow_change(b, x); },
          [&](const events::deployment_deleted& x) {
            return fold_deployment_deleted(b, x);
          },
          [&](const events::deployment_created& x) {
            return fold_created(b, x.value, at.version, payload);
          },
          [&](const events::deployment_updated& x) {
            return fold_updated(b, x, at.version);
          },
          [&](const events::concurrency_limit_created& x) {
            return fold_limit(b, x.value);
          },
          [&](const events::concurrency_limit_resized& x) {
            return fold_limit_resized(b, x);
          },
          [&](const events::concurrency_limit_deleted& x) {
            return fold_limit_deleted(b, x);
          },
          [&](const events::concurrency_limit_updated& x) {
            return fold_limit_updated(b, x);
          },
          [&](const events::resource_created& x) {
            return fold_resource(b, x, payload, counts);
          },
          [&](const events::resource_updated& x) {
            return fold_resource(b, x, counts);
          },
          [&](const events::resource_deleted& x) {
            return fold_resource(b, x, counts);
          },
          [&](const events::worker_created& x) -> std::expected<void, errc> {
            b.put(table::worker_names,
                  worker_name_key(x.value.work_pool_id, x.value.name),
                  id_key(x.value.id));
            put_worker(b, x.value);
            return {};
          },
          [&](const events::worker_heartbeat_recorded& x) {
            return fold_heartbeat(b, x);
          },
          [&](const events::worker_marked_offline& x) {
            return fold_offline(b, x);
          },
          [&](const events::worker_deleted& x) {
            return fold_worker_deleted(b, x);
          },
      },
      e);
}

} // namespace

std::expected<void, errc> fold(storage::write_batch& b,
                               const events::any_event& e,
                               const fold_context& at,
                               std::string_view payload) {
  // Deletions announce what was there; the rest what is there after.
  std::uint64_t index = 0;
  if (auto a = announce(b, e, at, announce_stage::before_fold, index); !a)
    return a;
  if (auto folded = fold_rows(b, e, payload, at); !folded)
    return folded;
  return announce(b, e, at, announce_stage::after_fold, index);
}

std::expected<void, errc> fold(storage::write_batch& b,
                               const events::stored_deployment& created,
                               const fold_context& at,
                               std::string_view payload) {
  // What `fold` does for the event: a creation announces nothing before
  // its rows, and its one feed event after them.
  if (auto folded =
          fold_created(b, created.value, at.version, payload, &created);
      !folded)
    return folded;
  std::uint64_t index = 0;
  return announce_deployment_created(b, at, created.value, index);
}

void run_counts::add(std::string_view state_type, std::int64_t delta) {
  for (auto& [type, sum] : deltas)
    if (type == state_type) {
      sum += delta;
      return;
    }
  deltas.emplace_back(std::string(state_type), delta);
}

std::expected<void, errc> write_run_counts(storage::write_batch& b,
                                           const run_counts& counts) {
  for (const auto& [type, delta] : counts.deltas)
    if (delta != 0)
      if (auto added = add_to_count(b, type, delta); !added)
        return added;
  return {};
}

std::expected<void, errc> fold_client_event(storage::write_batch& b,
                                            std::string_view key,
                                            std::string_view stored) {
  const auto e = events::prefect_event_from_json(events::parse_json(stored));
  put_event_rows(b, key, e, stored);
  return {};
}

std::expected<void, errc> drop_client_event(storage::write_batch& b,
                                            std::string_view key,
                                            std::string_view stored) {
  const auto e = events::prefect_event_from_json(events::parse_json(stored));
  erase_event_rows(b, key, e);
  b.del(table::client_events, key);
  return {};
}

std::string worker_name_key(const events::uuid& pool_id,
                            std::string_view name) {
  std::string key = id_key(pool_id);
  key.append(name);
  return key;
}

std::string worker_heartbeat_key(const events::uuid& pool_id,
                                 events::timestamp heartbeat,
                                 const events::uuid& id) {
  // The time bytes are inverted so that a forward scan (cheaper than a
  // backward one in RocksDB) reads the newest heartbeat first.
  auto time = order_bytes(heartbeat);
  for (auto& c : time)
    c = static_cast<char>(~static_cast<unsigned char>(c));
  return id_key(pool_id) + time + id_key(id);
}

events::timestamp heartbeat_of_key(std::string_view key) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(~key[16 + i]);
  return {static_cast<std::int64_t>(v ^ (1ULL << 63))};
}

bool worker_is_online(std::string_view rendered) {
  return rendered.ends_with("\"status\":\"ONLINE\"}");
}

std::expected<std::optional<json>, errc> find_pool(storage::reader& r,
                                                   std::string_view name) {
  return find_resource(r, resource_name_key(events::resource_kind::work_pool,
                                            json{{"name", std::string(name)}}));
}

std::expected<std::optional<events::uuid>, errc>
pool_id_named(storage::reader& r, std::string_view name) {
  auto id = r.get(table::resource_names,
                  resource_name_key(events::resource_kind::work_pool,
                                    json{{"name", std::string(name)}}));
  if (!id)
    return std::unexpected(id.error());
  if (!*id)
    return std::optional<events::uuid>{};
  return std::optional<events::uuid>{id_from_key_suffix(**id)};
}

std::expected<std::optional<events::worker>, errc>
load_worker(storage::reader& r, const events::uuid& id) {
  auto key = r.get(table::worker_keys, id_key(id));
  if (!key)
    return std::unexpected(key.error());
  if (!*key)
    return std::optional<events::worker>{};
  auto row = r.get(table::worker_heartbeats, **key);
  if (!row)
    return std::unexpected(row.error());
  if (!*row) {
    std::fprintf(stderr, "deployd: worker key row without its worker\n");
    std::abort();
  }
  return std::optional<events::worker>{
      events::worker_from_json(events::parse_json(**row))};
}

std::expected<std::optional<events::worker>, errc>
find_worker(storage::reader& r, const events::uuid& pool_id,
            std::string_view name) {
  auto id = r.get(table::worker_names, worker_name_key(pool_id, name));
  if (!id)
    return std::unexpected(id.error());
  if (!*id)
    return std::optional<events::worker>{};
  return load_worker(r, uuid_from_key(**id));
}

std::expected<std::vector<events::worker>, errc>
workers_of(storage::reader& r, const events::uuid& pool_id) {
  std::vector<events::worker> out;
  auto scanned = r.scan(
      table::worker_heartbeats, id_key(pool_id),
      [&](std::string_view, std::string_view value) {
        out.push_back(events::worker_from_json(events::parse_json(value)));
        return true;
      });
  if (!scanned)
    return std::unexpected(scanned.error());
  return out;
}

std::expected<std::optional<events::flow>, errc>
load_flow(storage::write_batch& b, const events::uuid& id) {
  // Every deployment event loads its flow (names in the feed), and a log
  // has far fewer flows than deployments: the last row parsed is kept, per
  // thread, and reused while the stored bytes are the same.
  thread_local std::string last_row;
  thread_local std::optional<events::flow> last_flow;
  auto row = b.get(table::flows, id_key(id));
  if (!row)
    return std::unexpected(row.error());
  if (!*row)
    return std::optional<events::flow>{};
  if (!last_flow || **row != last_row) {
    try {
      last_flow = events::flow_from_json(events::parse_json(**row));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "deployd: corrupt flows row: %s\n", e.what());
      std::abort();
    }
    last_row = std::move(**row);
  }
  return last_flow;
}

std::expected<std::optional<events::flow>, errc>
load_flow_by_name(storage::write_batch& b, std::string_view name) {
  auto id = b.get(table::flow_names, name);
  if (!id)
    return std::unexpected(id.error());
  if (!*id)
    return std::optional<events::flow>{};
  return load_flow(b, uuid_from_key(**id));
}

std::expected<std::optional<events::deployment>, errc>
load_deployment(storage::write_batch& b, const events::uuid& id) {
  return load_json_row<events::deployment>(
      b, table::deployments, id_key(id), [](events::json&& j) {
        return events::deployment_from_json(std::move(j));
      });
}

std::expected<std::optional<events::deployment>, errc>
find_deployment(storage::write_batch& b, const events::uuid& flow_id,
                std::string_view name) {
  auto id = b.get(table::deployment_names, deployment_name_key(flow_id, name));
  if (!id)
    return std::unexpected(id.error());
  if (!*id)
    return std::optional<events::deployment>{};
  return load_deployment(b, uuid_from_key(**id));
}

std::expected<std::optional<events::concurrency_limit>, errc>
load_limit(storage::write_batch& b, const events::uuid& id) {
  return load_json_row<events::concurrency_limit>(
      b, table::limits, id_key(id), events::concurrency_limit_from_json);
}

std::string resource_key(events::resource_kind kind, const events::uuid& id) {
  return std::string(1, static_cast<char>(kind)) + id_key(id);
}

std::string resource_name_key(events::resource_kind kind, const json& doc) {
  using events::resource_kind;
  std::string key(1, static_cast<char>(kind));
  auto str = [&](const char* field) {
    const auto it = doc.find(field);
    return it != doc.end() && it->is_string() ? it->get<std::string>()
                                              : std::string();
  };
  auto id = [&](const char* field) {
    const auto parsed = events::uuid::parse(str(field));
    return parsed ? id_key(*parsed) : std::string(16, '\0');
  };
  switch (kind) {
  case resource_kind::work_pool:
    key += str("name");
    break;
  case resource_kind::work_queue:
    key += id("work_pool_id") + str("name");
    break;
  case resource_kind::block_type:
    key += str("slug");
    break;
  case resource_kind::block_schema:
    key += str("checksum") + '\0' + str("version");
    break;
  case resource_kind::block_document:
    key += id("block_type_id") + str("name");
    break;
  case resource_kind::variable:
    key += str("name");
    break;
  case resource_kind::automation:
    // Names are not unique: the id is the key.
    key += id("id");
    break;
  case resource_kind::flow_run:
    // Unique by (flow, idempotency key) when the run has a key.
    key += id("flow_id");
    if (doc.contains("idempotency_key") && doc.at("idempotency_key").is_string())
      key += '\1' + str("idempotency_key");
    else
      key += '\0' + id("id");
    break;
  case resource_kind::idempotency_key:
    key += str("key");
    break;
  }
  return key;
}

namespace {

// The members of a run document the index rows are made of, found in one
// pass over its members (each `find` walks the ordered members).
struct run_fields {
  const json* id = nullptr;
  const json* state_type = nullptr;
  const json* state_name = nullptr;
  const json* deployment_id = nullptr;
  const json* work_pool_id = nullptr;
  const json* work_queue_id = nullptr;
  const json* next_start = nullptr;
  const json* created_by = nullptr;
  const json* run_count = nullptr;
  const json* auto_scheduled = nullptr;
  const json* empirical_policy = nullptr;
  const json* expected_start = nullptr;
  const json* start = nullptr;
  const json* end = nullptr;
  const json* name = nullptr;

  explicit run_fields(const json& run) {
    if (!run.is_object())
      return;
    for (const auto& [key, value] : run.get_ref<const json::object_t&>()) {
      const json** slot = key == "id"                          ? &id
                          : key == "state_type"                ? &state_type
                          : key == "state_name"                ? &state_name
                          : key == "deployment_id"             ? &deployment_id
                          : key == "work_pool_id"              ? &work_pool_id
                          : key == "work_queue_id"             ? &work_queue_id
                          : key == "next_scheduled_start_time" ? &next_start
                          : key == "created_by"                ? &created_by
                          : key == "run_count"                 ? &run_count
                          : key == "auto_scheduled"            ? &auto_scheduled
                          : key == "empirical_policy" ? &empirical_policy
                          : key == "expected_start_time" ? &expected_start
                          : key == "start_time"          ? &start
                          : key == "end_time"            ? &end
                          : key == "name"                ? &name
                                                         : nullptr;
      // The first of a name, as `find` would.
      if (slot && !*slot)
        *slot = &value;
    }
  }
  static std::string_view text(const json* v) {
    return v && v->is_string() ? std::string_view(v->get_ref<const std::string&>())
                               : std::string_view();
  }
};

} // namespace

std::vector<index_row> run_index_rows(const json& run) {
  std::vector<index_row> rows;
  const run_fields f(run);
  if (run_fields::text(f.state_type) != "SCHEDULED")
    return rows;
  const auto id = events::uuid::parse(run_fields::text(f.id));
  if (!id)
    return rows;
  const auto at = events::parse_timestamp(run_fields::text(f.next_start))
                      .value_or(events::timestamp{});
  const auto time = order_bytes(at);
  if (const auto deployment =
          events::uuid::parse(run_fields::text(f.deployment_id))) {
    std::optional<events::uuid> schedule;
    const auto* by = f.created_by;
    if (by && by->is_object() && by->value("type", json()) == "SCHEDULE" &&
        by->value("id", json()).is_string())
      schedule = events::uuid::parse(by->at("id").get<std::string>());
    const auto* count = f.run_count;
    const bool never_ran = !count || !count->is_number() ||
                           count->get<std::int64_t>() == 0;
    std::string value;
    value += f.auto_scheduled && *f.auto_scheduled == true ? 'a' : 'm';
    value += never_ran && run_fields::text(f.state_name) !=
                              "AwaitingConcurrencySlot"
                 ? 'd'
                 : 'k';
    rows.push_back({run_index_prefix(*deployment, schedule) +
                        (schedule ? std::string() : std::string(16, '\0')) +
                        time + id_key(*id),
                    std::move(value)});
  }
  if (run_fields::text(f.state_name) == "Scheduled")
    rows.push_back({"t" + time + id_key(*id), std::string()});
  return rows;
}

std::vector<index_row> run_query_rows(const json& run) {
  std::vector<index_row> rows;
  const run_fields f(run);
  // Only ids in their canonical spelling: the queries compare the text.
  const auto uuid_of = [&](const json* field) -> std::optional<events::uuid> {
    const auto value = run_fields::text(field);
    auto parsed = events::uuid::parse(value);
    if (parsed && parsed->str() == value)
      return parsed;
    return std::nullopt;
  };
  const auto id = events::uuid::parse(run_fields::text(f.id));
  if (!id)
    return rows;
  const std::string run_id = id_key(*id);
  const auto state = run_fields::text(f.state_type);
  rows.push_back({run_keys::state_prefix(state) + run_id, std::string()});
  const auto deployment = uuid_of(f.deployment_id);
  if (deployment)
    rows.push_back({run_keys::deployment_prefix(*deployment) + run_id,
                    std::string()});
  const auto pool = uuid_of(f.work_pool_id);
  const auto queue = uuid_of(f.work_queue_id);
  // The time orders of `/flow_runs/filter` (`x`, and `y` once the run has
  // a start time): a time as `filter_terms::micros` reads it, null (or
  // unreadable) as 8 zero bytes, which sort before every real time.
  const auto time_of = [](const json* field) -> std::optional<std::string> {
    if (const auto t = events::parse_timestamp(run_fields::text(field)))
      return order_bytes(*t);
    return std::nullopt;
  };
  const auto started = time_of(f.start);
  rows.push_back({std::string(run_keys::expected_prefix) +
                      time_of(f.expected_start).value_or(std::string(8, '\0')) +
                      run_id,
                  started ? "s" : ""});
  if (started)
    rows.push_back({std::string(run_keys::start_prefix) + *started + run_id,
                    std::string()});
  // `END_TIME_DESC` and `NEXT_SCHEDULED_START_TIME_ASC` (the stored members,
  // null as 8 zero bytes) and `NAME_*` (`run_keys::name_order`).
  const std::string zero_time(8, '\0');
  rows.push_back({std::string(run_keys::end_prefix) +
                      time_of(f.end).value_or(zero_time) + run_id,
                  std::string()});
  rows.push_back({std::string(run_keys::next_prefix) +
                      time_of(f.next_start).value_or(zero_time) + run_id,
                  std::string()});
  rows.push_back({std::string(run_keys::name_prefix) +
                      run_keys::name_order(run_fields::text(f.name)) + run_id,
                  std::string()});
  if ((state == "PENDING" || state == "RUNNING") && pool)
    rows.push_back({run_keys::busy_prefix(*pool) +
                        (queue ? id_key(*queue) : std::string(16, '\0')) +
                        run_id,
                    std::string()});
  if (state != "SCHEDULED")
    return rows;
  // After the time: the run's unique name key (flow id, then its
  // idempotency key or id), the order in which runs were read before these
  // rows existed, so runs due at the same time keep their order; the id last.
  const std::string tail =
      resource_name_key(events::resource_kind::flow_run, run).substr(1) + run_id;
  const auto next = events::parse_timestamp(run_fields::text(f.next_start));
  if (deployment)
    rows.push_back({run_keys::poll_prefix(*deployment) +
                        (next ? order_bytes(*next) : std::string(8, '\0')) +
                        tail,
                    std::string()});
  const auto* policy = f.empirical_policy;
  const bool in_process =
      policy && policy->is_object() &&
      policy->value("retry_type", json()) == "in_process";
  if (queue && !in_process)
    rows.push_back({run_keys::queue_prefix(*queue) +
                        order_bytes(next.value_or(events::timestamp{})) + tail,
                    std::string()});
  return rows;
}

namespace run_keys {

std::string count_key(std::string_view state_type) {
  return "n" + std::string(state_type);
}

std::string state_prefix(std::string_view state_type) {
  std::string key = "s";
  key += state_type;
  key.push_back('\0');
  return key;
}
std::string deployment_prefix(const events::uuid& deployment) {
  return "e" + id_key(deployment);
}
std::string busy_prefix(const events::uuid& pool) { return "b" + id_key(pool); }
std::string poll_prefix(const events::uuid& deployment) {
  return "w" + id_key(deployment);
}
std::string queue_prefix(const events::uuid& queue) {
  return "q" + id_key(queue);
}
std::string name_order(std::string_view name) {
  // A zero byte as 0x00 0xff and the end as 0x00 0x00: byte order of the
  // keys is the names' byte order, a name before its extensions.
  std::string out;
  out.reserve(name.size() + 2);
  for (const char c : name) {
    out.push_back(c);
    if (c == '\0')
      out.push_back('\xff');
  }
  out.append(2, '\0');
  return out;
}

} // namespace run_keys

std::string run_index_prefix(const events::uuid& deployment,
                             const std::optional<events::uuid>& schedule) {
  std::string key = "d" + id_key(deployment);
  if (schedule)
    key += id_key(*schedule);
  return key;
}

std::expected<std::optional<json>, errc>
load_resource(storage::reader& r, events::resource_kind kind,
              const events::uuid& id) {
  auto row = r.get(table::resources, resource_key(kind, id));
  if (!row)
    return std::unexpected(row.error());
  if (!*row)
    return std::optional<json>{};
  return std::optional<json>{events::parse_json(**row)};
}

std::expected<std::optional<json>, errc>
find_resource(storage::reader& r, const std::string& name_key) {
  auto id = r.get(table::resource_names, name_key);
  if (!id)
    return std::unexpected(id.error());
  if (!*id)
    return std::optional<json>{};
  return load_resource(r, static_cast<events::resource_kind>(name_key.at(0)),
                       id_from_key_suffix(**id));
}

std::expected<std::vector<events::uuid>, errc>
automations_related_to(storage::reader& r, std::string_view resource_id,
                       bool owned_only) {
  const std::string prefix = 'r' + length_prefixed(resource_id);
  std::vector<events::uuid> ids;
  auto scanned = r.scan(table::automation_relations, prefix,
                        [&](std::string_view key, std::string_view value) {
                          if (!owned_only || value == "1")
                            ids.push_back(id_from_key_suffix(key));
                          return true;
                        });
  if (!scanned)
    return std::unexpected(scanned.error());
  return ids;
}

std::expected<std::vector<json>, errc>
resources_under(storage::reader& r, const std::string& name_prefix) {
  std::vector<events::uuid> ids;
  auto scanned = r.scan(table::resource_names, name_prefix,
                        [&](std::string_view, std::string_view value) {
                          ids.push_back(id_from_key_suffix(value));
                          return true;
                        });
  if (!scanned)
    return std::unexpected(scanned.error());
  std::vector<json> out;
  const auto kind = static_cast<events::resource_kind>(name_prefix.at(0));
  for (const auto& id : ids) {
    auto doc = load_resource(r, kind, id);
    if (!doc)
      return std::unexpected(doc.error());
    if (*doc)
      out.push_back(std::move(**doc));
  }
  return out;
}

std::expected<std::optional<std::string>, errc>
deployment_view(storage::write_batch& b, const events::uuid& id) {
  auto row = b.get(table::deployment_views, id_key(id));
  if (row && *row)
    deployment_view_row::to_body(**row);
  return row;
}

std::string deployment_view_row::make(events::stream_version v,
                                      std::string_view body) {
  std::string row;
  row.reserve(version_bytes + body.size());
  storage::put_le<version_bytes>(row, v.value);
  row.append(body);
  return row;
}

std::uint64_t deployment_view_row::version(std::string_view row) {
  storage::byte_reader in{row};
  const auto v = in.le<version_bytes>();
  return in.ok ? v : 0;
}

std::string_view deployment_view_row::body(std::string_view row) {
  return row.substr(std::min(row.size(), version_bytes));
}

void deployment_view_row::to_body(std::string& row) {
  row.erase(0, std::min(row.size(), version_bytes));
}

std::expected<std::optional<std::string>, errc>
flow_view(storage::write_batch& b, const events::uuid& id) {
  return b.get(table::flows, id_key(id));
}

// -- read_model
// ----------------------------------------------------------------

namespace {

read_model::text view_body(read_model::text row) {
  if (row && *row)
    deployment_view_row::to_body(**row);
  return row;
}

} // namespace

read_model::text read_model::deployment_row(const events::uuid& id,
                                            storage::read_tier tier) const {
  return log_.get(table::deployment_views, id_key(id), tier);
}

read_model::text
read_model::deployment_row_by_name(std::string_view flow_name,
                                   std::string_view deployment_name,
                                   storage::read_tier tier) const {
  auto flow_id = log_.get(table::flow_names, flow_name, tier);
  if (!flow_id || !*flow_id)
    return flow_id;
  std::string key = **flow_id;
  key.append(deployment_name);
  auto id = log_.get(table::deployment_names, key, tier);
  if (!id || !*id)
    return id;
  return log_.get(table::deployment_views, **id, tier);
}

read_model::text read_model::deployment(const events::uuid& id,
                                        storage::read_tier tier) const {
  return view_body(deployment_row(id, tier));
}

read_model::text
read_model::deployment_by_name(std::string_view flow_name,
                               std::string_view deployment_name,
                               storage::read_tier tier) const {
  return view_body(deployment_row_by_name(flow_name, deployment_name, tier));
}

read_model::text read_model::flow(const events::uuid& id,
                                  storage::read_tier tier) const {
  return log_.get(table::flows, id_key(id), tier);
}

read_model::text read_model::schedules(const events::uuid& deployment_id,
                                       storage::read_tier tier) const {
  auto row = log_.get(table::deployments, id_key(deployment_id), tier);
  if (!row || !*row)
    return row;
  const auto state = events::parse_json(**row);
  return std::optional<std::string>{
      dump(events::schedules_response(state.at("schedules")))};
}

read_model::text read_model::resource(events::resource_kind kind,
                                      const events::uuid& id,
                                      storage::read_tier tier) const {
  return log_.get(table::resources, resource_key(kind, id), tier);
}

read_model::text read_model::resource_named(const std::string& name_key,
                                            storage::read_tier tier) const {
  auto id = log_.get(table::resource_names, name_key, tier);
  if (!id || !*id)
    return id;
  return log_.get(table::resources, std::string(1, name_key.at(0)) + **id,
                  tier);
}

read_model::text read_model::limit(const std::string& id_or_name,
                                   storage::read_tier tier) const {
  if (auto id = events::uuid::parse(id_or_name))
    return log_.get(table::limits, id_key(*id), tier);
  auto id = log_.get(table::limit_names, id_or_name, tier);
  if (!id || !*id)
    return id;
  return log_.get(table::limits, **id, tier);
}

read_model::text read_model::flow_by_name(std::string_view name,
                                          storage::read_tier tier) const {
  auto id = log_.get(table::flow_names, name, tier);
  if (!id || !*id)
    return id;
  return log_.get(table::flows, **id, tier);
}

} // namespace deployd::actors
