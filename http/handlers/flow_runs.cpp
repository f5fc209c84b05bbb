// Flow run endpoints (flow-runs.md §3-§8, related-resources.md §5): create
// from a deployment (one or in bulk), create ad hoc, read, filter, count,
// paginate, PATCH, DELETE, set_state; and what workers and runners poll
// (`POST /work_pools/{name}/get_scheduled_flow_runs`,
// `POST /deployments/get_scheduled_flow_runs`,
// `GET /deployments/{id}/work_queue_check`).
//
// Queries scan every run (one document each); there is no secondary index
// for runs yet.
#include "actors/projections.hpp"
#include "actors/queries.hpp"
#include "actors/run_filter.hpp"
#include "events/flow_run.hpp"
#include "events/json_fields.hpp"
#include "events/json_text.hpp"
#include "events/resource.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/openapi_validator.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

namespace deployd::http::handlers {

namespace {

using events::json;
using events::resource_kind;

constexpr std::size_t max_bulk_runs = 100;

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

// Sort keys of flow-runs.md §4.2; nulls first ascending, last descending.
void sort_runs(std::vector<json>& runs, const std::string& sort) {
  auto time_key = [](const json& run, const char* field) {
    return micros(run.at(field));
  };
  auto by_time = [&](auto key, bool desc) {
    std::stable_sort(runs.begin(), runs.end(), [&](const json& a, const json& b) {
      const auto x = key(a);
      const auto y = key(b);
      if (x == y)
        return false;
      if (!desc)
        return !x || (y && *x < *y);
      return !y || (x && *x > *y);
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
    std::stable_sort(runs.begin(), runs.end(), [&](const json& a, const json& b) {
      return sort == "NAME_ASC" ? a.at("name") < b.at("name")
                                : a.at("name") > b.at("name");
    });
  else // ID_DESC: ids are UUIDv7, so newest first
    std::stable_sort(runs.begin(), runs.end(), [](const json& a, const json& b) {
      return a.at("id").get<std::string>() > b.at("id").get<std::string>();
    });
}

std::expected<std::vector<json>, storage::errc>
matching_runs(storage::reader& r, const json& body) {
  auto all = all_runs(r);
  if (!all)
    return std::unexpected(all.error());
  const json filter = param(body, "flow_runs");
  std::vector<json> out;
  for (auto& run : *all)
    if (actors::flow_run_matches(filter, run) && related_matches(body, run))
      out.push_back(std::move(run));
  return out;
}

events::timestamp now() {
  return request_time();
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

// Records a poll after the answer has left (the reference does it in a
// background task); its result is not awaited by the client.
void record_poll(services& s, std::vector<events::uuid> deployments,
                 std::vector<events::uuid> queues) {
  if (deployments.empty() && queues.empty())
    return;
  submit(s, events::record_poll{std::move(deployments), std::move(queues)},
         on_success::no_content, [](response) {});
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
  submit(s,
         events::schedule_flow_runs{*events::uuid::parse(params.at(0)), w},
         on_success::ok, std::move(reply));
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
  run_query(
      s,
      [b = std::move(*body), offset](storage::reader& r) {
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
        auto found = matching_runs(r, b);
        if (!found)
          return storage_failed(found.error());
        return json_text(200, std::to_string(found->size()));
      },
      std::move(reply));
}

void post_flow_runs_paginate(services& s, const request& req, path_params,
                             responder reply) {
  auto body = query_body(req, "Body_paginate_flow_runs_flow_runs_paginate_post");
  if (!body)
    return reply(std::move(body.error()));
  run_query(
      s,
      [b = std::move(*body)](storage::reader& r) {
        auto found = matching_runs(r, b);
        if (!found)
          return storage_failed(found.error());
        sort_runs(*found, sort_of(b));
        const auto limit = limit_of(b);
        const auto page = page_of(b);
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
        auto all = all_runs(r);
        if (!all)
          return storage_failed(all.error());
        std::set<std::string> wanted;
        for (const auto& id : ids)
          wanted.insert(id.str());
        const auto cutoff = micros(before);
        std::vector<json> runs;
        for (auto& run : *all) {
          if (run.at("state_type") != "SCHEDULED" ||
              !run.at("deployment_id").is_string() ||
              !wanted.contains(run.at("deployment_id").get<std::string>()))
            continue;
          if (cutoff && micros(run.at("next_scheduled_start_time"))
                                .value_or(INT64_MAX) > *cutoff)
            continue;
          runs.push_back(std::move(run));
        }
        sort_runs(runs, "NEXT_SCHEDULED_START_TIME_ASC");
        record_poll(s, ids, {});
        return json_text(200, render_list(runs, 0, limit));
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
        std::vector<events::uuid> deployment_ids;
        for (const auto& q : polled) {
          const auto qid = events::uuid_field(q, "id");
          queue_ids.push_back(qid);
          auto scanned = r.scan(storage::table::queue_links, actors::id_key(qid),
                                [&](std::string_view key, std::string_view) {
                                  deployment_ids.push_back(
                                      actors::id_from_key_suffix(key));
                                  return true;
                                });
          if (!scanned)
            return storage_failed(scanned.error());
        }
        record_poll(s, std::move(deployment_ids), std::move(queue_ids));

        const auto limit = limit_of(b);
        json out = json::array();
        if (p.value("is_paused", false))
          return json_text(200, "[]");
        auto all = all_runs(r);
        if (!all)
          return storage_failed(all.error());
        const auto before = micros(param(b, "scheduled_before"));
        const auto after = micros(param(b, "scheduled_after"));
        // Open slots per queue and for the pool (PENDING and RUNNING runs
        // hold one each).
        std::map<std::string, std::int64_t> busy;
        std::int64_t pool_busy = 0;
        for (const auto& run : *all) {
          const auto& type = run.at("state_type");
          if ((type == "PENDING" || type == "RUNNING") &&
              run.at("work_pool_id") == p.at("id")) {
            ++pool_busy;
            if (run.at("work_queue_id").is_string())
              ++busy[run.at("work_queue_id").get<std::string>()];
          }
        }
        struct candidate {
          std::int64_t priority;
          std::int64_t when;
          const json* run;
        };
        std::vector<candidate> picked;
        std::map<std::string, std::int64_t> per_queue;
        for (const auto& q : polled) {
          if (q.value("is_paused", false))
            continue;
          const auto qid = q.at("id").get<std::string>();
          std::int64_t room = INT64_MAX;
          if (q.at("concurrency_limit").is_number_integer())
            room = std::max<std::int64_t>(
                0, q.at("concurrency_limit").get<std::int64_t>() - busy[qid]);
          std::vector<candidate> mine;
          for (const auto& run : *all) {
            if (run.at("state_type") != "SCHEDULED" || run.at("work_queue_id") != qid ||
                run.at("empirical_policy").value("retry_type", json()) == "in_process")
              continue;
            const auto when =
                micros(run.at("next_scheduled_start_time")).value_or(0);
            if ((before && when > *before) || (after && when < *after))
              continue;
            mine.push_back({q.value("priority", std::int64_t{1}), when, &run});
          }
          std::sort(mine.begin(), mine.end(), [](const auto& x, const auto& y) {
            return x.when < y.when;
          });
          if (static_cast<std::int64_t>(mine.size()) > room)
            mine.resize(static_cast<std::size_t>(room));
          picked.insert(picked.end(), mine.begin(), mine.end());
        }
        std::stable_sort(picked.begin(), picked.end(), [](const auto& x, const auto& y) {
          return x.priority != y.priority ? x.priority < y.priority : x.when < y.when;
        });
        std::int64_t room = limit;
        if (p.at("concurrency_limit").is_number_integer())
          room = std::min(room, std::max<std::int64_t>(
                                    0, p.at("concurrency_limit").get<std::int64_t>() -
                                           pool_busy));
        const auto t = now();
        for (const auto& c : picked) {
          if (static_cast<std::int64_t>(out.size()) >= room)
            break;
          out.push_back(events::worker_flow_run(*c.run, t));
        }
        return json_text(200, events::dump_json(out));
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
