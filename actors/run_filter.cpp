// FlowRunFilter (flow-runs.md §4.2) against a stored run document: the
// filter of /flow_runs/filter and the `flow_runs` sub-filter of deployment
// and flow queries. Pure; no CAF.
#include "actors/run_filter.hpp"

#include "actors/queries.hpp"
#include "events/time.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace deployd::actors {

using events::json;

namespace filter_terms {

bool present(const json& parent, const char* key) {
  if (!parent.is_object())
    return false;
  const auto it = parent.find(key);
  return it != parent.end() && !it->is_null();
}

bool in_list(const json& list, const json& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::optional<std::int64_t> micros(const json& v) {
  if (!v.is_string())
    return std::nullopt;
  auto t = events::parse_timestamp(v.get<std::string>());
  return t ? std::optional<std::int64_t>(t->micros) : std::nullopt;
}

bool combine(const json& f, const std::vector<bool>& parts) {
  if (parts.empty())
    return true;
  const bool use_or = f.is_object() && f.value("operator", "and_") == "or_";
  return use_or ? std::find(parts.begin(), parts.end(), true) != parts.end()
                : std::find(parts.begin(), parts.end(), false) == parts.end();
}

} // namespace filter_terms

namespace {

using namespace filter_terms;

// `any_` / `not_any_` / `is_null_` of one criterion against a value.
void match_list(const json& c, const json& value, std::vector<bool>& parts) {
  if (present(c, "any_"))
    parts.push_back(in_list(c.at("any_"), value));
  if (present(c, "not_any_") && !c.at("not_any_").empty())
    parts.push_back(!in_list(c.at("not_any_"), value));
  if (present(c, "is_null_"))
    parts.push_back(c.at("is_null_").get<bool>() == value.is_null());
}

// `before_` / `after_` (inclusive) of a time criterion.
void match_time(const json& c, const json& value, std::vector<bool>& parts) {
  const auto t = micros(value);
  if (present(c, "before_"))
    parts.push_back(t && *t <= micros(c.at("before_")).value_or(0));
  if (present(c, "after_"))
    parts.push_back(t && *t >= micros(c.at("after_")).value_or(0));
}

} // namespace

bool flow_run_matches(const json& f, const json& run) {
  if (!f.is_object())
    return true;
  std::vector<bool> terms;
  auto criterion = [&](const char* key, auto&& fn) {
    if (!present(f, key))
      return;
    const json& c = f.at(key);
    std::vector<bool> parts;
    fn(c, parts);
    terms.push_back(combine(c, parts));
  };
  criterion("id", [&](const json& c, auto& p) { match_list(c, run.at("id"), p); });
  criterion("name", [&](const json& c, auto& p) {
    match_list(c, run.at("name"), p);
    if (present(c, "like_"))
      p.push_back(ilike_contains(run.at("name").get<std::string>(),
                                         c.at("like_").get<std::string>()));
  });
  criterion("tags", [&](const json& c, auto& p) {
    const auto& tags = run.at("tags");
    if (present(c, "all_")) {
      bool all = true;
      for (const auto& t : c.at("all_"))
        all = all && in_list(tags, t);
      p.push_back(all);
    }
    if (present(c, "any_")) {
      bool any = false;
      for (const auto& t : c.at("any_"))
        any = any || in_list(tags, t);
      p.push_back(any);
    }
    if (present(c, "is_null_"))
      p.push_back(c.at("is_null_").get<bool>() == tags.empty());
  });
  criterion("deployment_id", [&](const json& c, auto& p) {
    match_list(c, run.at("deployment_id"), p);
  });
  criterion("work_queue_name", [&](const json& c, auto& p) {
    match_list(c, run.at("work_queue_name"), p);
  });
  criterion("state", [&](const json& c, auto& p) {
    if (present(c, "type")) {
      std::vector<bool> sub;
      match_list(c.at("type"), run.at("state_type"), sub);
      p.push_back(combine(json::object(), sub));
    }
    if (present(c, "name")) {
      std::vector<bool> sub;
      match_list(c.at("name"), run.at("state_name"), sub);
      p.push_back(combine(json::object(), sub));
    }
  });
  criterion("flow_version", [&](const json& c, auto& p) {
    match_list(c, run.at("flow_version"), p);
  });
  criterion("start_time", [&](const json& c, auto& p) {
    const json& start = run.at("start_time").is_null()
                            ? run.at("expected_start_time")
                            : run.at("start_time");
    match_time(c, start, p);
    if (present(c, "is_null_"))
      p.push_back(c.at("is_null_").get<bool>() == run.at("start_time").is_null());
  });
  criterion("end_time", [&](const json& c, auto& p) {
    match_time(c, run.at("end_time"), p);
    if (present(c, "is_null_"))
      p.push_back(c.at("is_null_").get<bool>() == run.at("end_time").is_null());
  });
  criterion("expected_start_time", [&](const json& c, auto& p) {
    match_time(c, run.at("expected_start_time"), p);
  });
  criterion("next_scheduled_start_time", [&](const json& c, auto& p) {
    match_time(c, run.at("next_scheduled_start_time"), p);
  });
  criterion("parent_task_run_id", [&](const json& c, auto& p) {
    match_list(c, run.at("parent_task_run_id"), p);
  });
  criterion("idempotency_key", [&](const json& c, auto& p) {
    match_list(c, run.at("idempotency_key"), p);
  });
  criterion("created_by", [&](const json& c, auto& p) {
    const auto& by = run.at("created_by");
    if (present(c, "id_"))
      p.push_back(by.is_object() && in_list(c.at("id_"), by.value("id", json())));
    if (present(c, "type_"))
      p.push_back(by.is_object() &&
                  in_list(c.at("type_"), by.value("type", json())));
    if (present(c, "is_null_"))
      p.push_back(c.at("is_null_").get<bool>() == by.is_null());
  });
  return combine(f, terms);
}

} // namespace deployd::actors
