// Work pool and work queue endpoints.
#include "actors/work_pools.hpp"

#include "actors/projections.hpp"
#include "events/python/json_schema.hpp"
#include "events/python/json_text.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/openapi_validator.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <set>

namespace deployd::http::handlers {

namespace {

using events::json;
using events::resource_kind;

std::string pool_key(const std::string& name) {
  return actors::resource_name_key(resource_kind::work_pool, {{"name", name}});
}

// Whether the client is Prefect 3.3.7 or older (`User-Agent: prefect/<v>
// (API ...)`), whose WorkPool model has no
// `storage_configuration.default_result_storage_block_id`: the reference
// leaves the key out for it.
bool legacy_storage_client(const request& req) {
  static const std::regex version(R"(^prefect/(\d+)\.(\d+)\.(\d+))");
  std::smatch m;
  if (!req.user_agent || !std::regex_search(*req.user_agent, m, version))
    return false;
  std::array<long, 3> v{};
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto digits = m[i + 1].str();
    if (digits.size() > 9)
      return false;
    v[i] = std::stol(digits);
  }
  return v <= std::array<long, 3>{3, 3, 7};
}

// The responder to use for a pool (or list of pools) sent to this client.
responder pool_responder(const request& req, responder reply) {
  if (!legacy_storage_client(req))
    return reply;
  return [reply = std::move(reply)](response r) {
    if (r.status >= 200 && r.status < 300 && !r.body.empty()) {
      json doc;
      try {
        doc = events::parse_json(r.body);
      } catch (const std::exception&) {
        doc = json(json::value_t::discarded);
      }
      auto strip = [](json& pool) {
        if (!pool.is_object())
          return;
        const auto it = pool.find("storage_configuration");
        if (it != pool.end() && it->is_object())
          it->erase("default_result_storage_block_id");
      };
      if (doc.is_array())
        for (auto& pool : doc)
          strip(pool);
      else
        strip(doc);
      if (!doc.is_discarded())
        r.body = events::dump_json(doc);
    }
    reply(std::move(r));
  };
}

std::string pool_not_found(const std::string& name) {
  return "Work pool \"" + name + "\" not found.";
}

// Prefect's `validate_base_job_template`.
std::optional<std::string> template_problem(const json& tmpl) {
  if (!tmpl.is_object() || tmpl.empty())
    return std::nullopt;
  const auto config = tmpl.find("job_configuration");
  const auto variables = tmpl.find("variables");
  if (config == tmpl.end() || variables == tmpl.end() ||
      !events::python_truthy(*config) || !events::python_truthy(*variables))
    return "The `base_job_template` must contain both a `job_configuration` "
           "key and a `variables` key.";
  static const std::regex placeholder(R"(\{\{\s*([\w\.\-\[\]$]+)\s*\}\})");
  std::set<std::string> used;
  if (config->is_object())
    for (const auto& [key, value] : config->items()) {
      const auto text = events::dump_json(value);
      for (auto it =
               std::sregex_iterator(text.begin(), text.end(), placeholder);
           it != std::sregex_iterator(); ++it)
        used.insert((*it)[1].str());
    }
  std::set<std::string> declared;
  if (const auto props = variables->find("properties");
      variables->is_object() && props != variables->end() && props->is_object())
    for (const auto& [key, value] : props->items())
      declared.insert(key);
  std::string missing;
  for (const auto& name : used)
    if (!declared.contains(name))
      missing += (missing.empty() ? "" : " ,") + name;
  if (missing.empty())
    return std::nullopt;
  return "The variables specified in the job configuration template must be "
         "present as properties in the variables schema. Your job "
         "configuration uses the following undeclared variable(s): " +
         missing + ".";
}

// The custom validators of WorkPoolCreate / WorkPoolUpdate on top of the
// schema; a 422 (validation shape or detail) when one fails.
std::optional<response> pool_body_problem(const json& body, const json& echo) {
  events::validator v;
  if (const auto name = body.find("name"); name != body.end()) {
    auto stripped = name->get<std::string>();
    stripped.erase(std::remove_if(stripped.begin(), stripped.end(),
                                  [](char c) {
                                    return c == ' ' || c == '\'' || c == '"';
                                  }),
                   stripped.end());
    if (stripped.empty()) {
      auto g = v.at("name");
      v.value_error("name cannot be an empty string", *name);
    }
  }
  if (const auto tmpl = body.find("base_job_template"); tmpl != body.end())
    if (auto problem = template_problem(*tmpl)) {
      auto g = v.at("base_job_template");
      v.value_error(*problem, *tmpl);
    }
  if (!v.ok())
    return validation_failed(v.errors(), echo);
  if (const auto tmpl = body.find("base_job_template");
      tmpl != body.end() && tmpl->contains("variables")) {
    const auto& variables = tmpl->at("variables");
    if (auto problem = events::schema_problem(variables))
      return detail(422, "Invalid schema: " + *problem);
    // Defaults must fit their properties (block references are resolved by
    // the reference first; those are not checked here).
    json defaults = json::object();
    if (const auto props = variables.find("properties");
        props != variables.end() && props->is_object())
      for (const auto& [key, prop] : props->items())
        if (prop.is_object() && prop.contains("default") &&
            !(prop.at("default").is_object() &&
              prop.at("default").contains("$ref")))
          defaults[key] = prop.at("default");
    const auto check = events::check_parameters(
        events::preprocess_schema(variables, true), defaults, true);
    if (check.result != events::parameter_check::outcome::valid)
      return detail(422, "Validation failed for work pool's job variable "
                         "defaults: " +
                             check.reason);
  }
  return std::nullopt;
}

bool reserved(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower.starts_with("prefect");
}

bool any_match(const json& filter, const char* field, const char* op,
               const json& doc) {
  const auto f = filter.find(field);
  if (f == filter.end() || f->is_null())
    return true;
  const auto list = f->find(op);
  if (list == f->end() || list->is_null())
    return true;
  const auto value = doc.value(field, json(nullptr));
  return std::find(list->begin(), list->end(), value) != list->end();
}

std::int64_t int_param(const json& body, const char* key,
                       std::int64_t fallback) {
  const auto v = param(body, key);
  return v.is_number_integer() ? v.get<std::int64_t>() : fallback;
}

std::string page_of(const std::vector<json>& docs, std::int64_t offset,
                    std::int64_t limit) {
  json out = json::array();
  for (std::size_t i =
           static_cast<std::size_t>(std::max<std::int64_t>(0, offset));
       i < docs.size() && static_cast<std::int64_t>(out.size()) < limit; ++i)
    out.push_back(docs[i]);
  return dump(out);
}

} // namespace

void post_work_pools(services& s, const request& req, path_params,
                     responder reply) {
  auto body = model_body(req, "WorkPoolCreate");
  if (!body)
    return reply(std::move(body.error()));
  if (auto bad = pool_body_problem(*body, *body))
    return reply(std::move(*bad));
  if (reserved(body->at("name").get<std::string>()))
    return reply(detail(
        403,
        "Work pools starting with 'Prefect' are reserved for internal use."));
  submit(s, req, events::create_work_pool{std::move(*body)},
         on_success::created_or_ok, pool_responder(req, std::move(reply)));
}

void get_work_pool(services& s, const request& req, path_params params,
                   responder reply) {
  const auto name = params.at(0);
  answer_read(
      s,
      [&reads = s.reads, key = pool_key(name)](auto tier) {
        return reads.resource_named(key, tier);
      },
      pool_not_found(name), pool_responder(req, std::move(reply)));
}

void patch_work_pool(services& s, const request& req, path_params params,
                     responder reply) {
  auto body = model_body(req, "WorkPoolUpdate");
  if (!body)
    return reply(std::move(body.error()));
  if (auto bad = pool_body_problem(*body, *body))
    return reply(std::move(*bad));
  submit(s, req, events::update_work_pool{params.at(0), std::move(*body)},
         on_success::no_content, std::move(reply));
}

void delete_work_pool(services& s, const request& req, path_params params,
                      responder reply) {
  submit(s, req, events::delete_work_pool{params.at(0)}, on_success::no_content,
         std::move(reply));
}

void post_work_pools_filter(services& s, const request& req, path_params,
                            responder reply) {
  auto body = query_body(req, "Body_read_work_pools_work_pools_filter_post");
  if (!body)
    return reply(std::move(body.error()));
  const json filter = param(*body, "work_pools");
  const auto offset = int_param(*body, "offset", 0);
  const auto limit = limit_of(*body);
  run_query(
      s,
      [filter, offset, limit](storage::reader& r) {
        auto pools = actors::resources_under(
            r, std::string(1, static_cast<char>(resource_kind::work_pool)));
        if (!pools)
          return storage_failed(pools.error());
        std::vector<json> matched;
        for (auto& p : *pools)
          if (!filter.is_object() || (any_match(filter, "id", "any_", p) &&
                                      any_match(filter, "name", "any_", p) &&
                                      any_match(filter, "type", "any_", p)))
            matched.push_back(std::move(p));
        return json_text(200, page_of(matched, offset, limit));
      },
      pool_responder(req, std::move(reply)));
}

void post_pool_queues(services& s, const request& req, path_params params,
                      responder reply) {
  auto body = model_body(req, "WorkQueueCreate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::create_work_queue{params.at(0), std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

void post_work_queues(services& s, const request& req, path_params,
                      responder reply) {
  auto body = model_body(req, "WorkQueueCreate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::create_work_queue{std::nullopt, std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

void get_pool_queue(services& s, const request&, path_params params,
                    responder reply) {
  run_query(
      s,
      [pool = params.at(0), name = params.at(1)](storage::reader& r) {
        auto p = actors::find_resource(r, pool_key(pool));
        if (!p)
          return storage_failed(p.error());
        if (!*p)
          return detail(404, pool_not_found(pool));
        auto q = actors::find_resource(
            r, actors::resource_name_key(
                   resource_kind::work_queue,
                   {{"work_pool_id", (**p).at("id")}, {"name", name}}));
        if (!q)
          return storage_failed(q.error());
        if (!*q)
          return detail(404, "Work pool queue '" + pool + "/" + name +
                                 "' not found.");
        return json_text(200, dump(**q));
      },
      std::move(reply));
}

void post_pool_queues_filter(services& s, const request& req,
                             path_params params, responder reply) {
  auto body = query_body(
      req,
      "Body_read_work_queues_work_pools__work_pool_name__queues_filter_post");
  if (!body)
    return reply(std::move(body.error()));
  const json filter = param(*body, "work_queues");
  const auto offset = int_param(*body, "offset", 0);
  const auto limit = limit_of(*body);
  run_query(
      s,
      [pool = params.at(0), filter, offset, limit](storage::reader& r) {
        auto p = actors::find_resource(r, pool_key(pool));
        if (!p)
          return storage_failed(p.error());
        if (!*p)
          return detail(404, pool_not_found(pool));
        auto queues = actors::resources_under(
            r, actors::resource_name_key(
                   resource_kind::work_queue,
                   {{"work_pool_id", (**p).at("id")}, {"name", ""}}));
        if (!queues)
          return storage_failed(queues.error());
        std::vector<json> matched;
        for (auto& q : *queues) {
          bool ok =
              !filter.is_object() || (any_match(filter, "id", "any_", q) &&
                                      any_match(filter, "name", "any_", q));
          if (ok && filter.is_object())
            if (const auto n = filter.find("name");
                n != filter.end() && n->is_object() &&
                n->contains("startswith_") && n->at("startswith_").is_array()) {
              std::string name = q.at("name");
              std::transform(name.begin(), name.end(), name.begin(),
                             [](unsigned char c) { return std::tolower(c); });
              bool any = false;
              for (const auto& prefix : n->at("startswith_")) {
                std::string lower = prefix.get<std::string>();
                std::transform(lower.begin(), lower.end(), lower.begin(),
                               [](unsigned char c) { return std::tolower(c); });
                any = any || name.starts_with(lower);
              }
              ok = any;
            }
          if (ok)
            matched.push_back(std::move(q));
        }
        std::stable_sort(matched.begin(), matched.end(),
                         [](const json& a, const json& b) {
                           return a.at("priority").get<std::int64_t>() <
                                  b.at("priority").get<std::int64_t>();
                         });
        return json_text(200, page_of(matched, offset, limit));
      },
      std::move(reply));
}

void get_work_queue(services& s, const request&, path_params params,
                    responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  answer_read(
      s,
      [&reads = s.reads, id](auto tier) {
        return reads.resource(resource_kind::work_queue, id, tier);
      },
      "work queue not found", std::move(reply));
}

void get_work_queue_by_name(services& s, const request&, path_params params,
                            responder reply) {
  run_query(
      s,
      [name = params.at(0)](storage::reader& r) {
        // Only in the default-agent-pool when it exists, else in any pool.
        auto agent =
            actors::find_resource(r, pool_key(actors::default_agent_pool));
        if (!agent)
          return storage_failed(agent.error());
        std::string prefix(1, static_cast<char>(resource_kind::work_queue));
        if (*agent)
          prefix = actors::resource_name_key(
              resource_kind::work_queue,
              {{"work_pool_id", (**agent).at("id")}, {"name", ""}});
        auto queues = actors::resources_under(r, prefix);
        if (!queues)
          return storage_failed(queues.error());
        for (const auto& q : *queues)
          if (q.at("name") == name)
            return json_text(200, dump(q));
        return detail(404, "work queue not found");
      },
      std::move(reply));
}

} // namespace deployd::http::handlers
