// Flow endpoints: create (get-or-create by name) and read.
#include "actors/queries.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/openapi_validator.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

namespace deployd::http::handlers {

namespace {

actors::flow_query query_of(const events::json& body) {
  actors::flow_query q;
  q.flows = param(body, "flows");
  q.deployments = param(body, "deployments");
  q.flow_runs = param(body, "flow_runs");
  q.task_runs = param(body, "task_runs");
  q.work_pools = param(body, "work_pools");
  if (const auto sort = param(body, "sort"); sort.is_string())
    q.sort = sort.get<std::string>();
  return q;
}

} // namespace

void post_flows(services& s, const request& req, path_params, responder reply) {
  auto body = read_json_body(req);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  auto cmd = parse_create_flow(*body);
  if (!cmd) {
    reply(std::move(cmd.error()));
    return;
  }
  submit(s, req, std::move(*cmd), on_success::created_or_ok, std::move(reply));
}

void patch_flow(services& s, const request& req, path_params params,
                responder reply) {
  auto body = read_json_body(req);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  events::validator v;
  if (!body->present || body->value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    reply(validation_failed(v.errors(), nullptr));
    return;
  }
  auto coerced = validate_against(v, "FlowUpdate", body->value);
  if (!coerced) {
    reply(validation_failed(v.errors(), body->value));
    return;
  }
  events::update_flow cmd{*events::uuid::parse(params.at(0)), std::nullopt};
  if (const auto tags = param(*coerced, "tags"); tags.is_array())
    cmd.tags = tags.get<std::vector<std::string>>();
  submit(s, req, std::move(cmd), on_success::no_content, std::move(reply));
}

void delete_flow(services& s, const request& req, path_params params,
                 responder reply) {
  submit(s, req, events::delete_flow{*events::uuid::parse(params.at(0))},
         on_success::no_content, std::move(reply));
}

void post_flows_filter(services& s, const request& req, path_params,
                       responder reply) {
  auto body = query_body(req, "Body_read_flows_flows_filter_post");
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  auto q = query_of(*body);
  if (const auto offset = param(*body, "offset"); offset.is_number_integer())
    q.offset = offset.get<std::int64_t>();
  q.limit = limit_of(*body);
  answer_filter(s, std::move(q), actors::find_flows, actors::flow_views,
                std::move(reply));
}

void post_flows_count(services& s, const request& req, path_params,
                      responder reply) {
  auto body = query_body(req, "Body_count_flows_flows_count_post", false);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  answer_count(s, query_of(*body), actors::count_flows, std::move(reply));
}

void post_flows_paginate(services& s, const request& req, path_params,
                         responder reply) {
  auto body = query_body(req, "Body_paginate_flows_flows_paginate_post");
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  answer_page(s, query_of(*body), page_of(*body), limit_of(*body),
              actors::find_flows, actors::count_flows, actors::flow_views,
              std::move(reply));
}

void post_flows_bulk_delete(services& s, const request& req, path_params,
                            responder reply) {
  auto body =
      query_body(req, "Body_bulk_delete_flows_flows_bulk_delete_post", false);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  const auto limit = param(*body, "limit");
  submit(s, req,
         events::bulk_delete_flows{
             param(*body, "flows"),
             limit.is_number_integer() ? limit.get<std::int64_t>() : 50},
         on_success::ok, std::move(reply));
}

void get_flow(services& s, const request&, path_params params,
              responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  answer_read(
      s, [&reads = s.reads, id](auto tier) { return reads.flow(id, tier); },
      "Flow not found", std::move(reply));
}

void get_flow_by_name(services& s, const request&, path_params params,
                      responder reply) {
  answer_read(
      s,
      [&reads = s.reads, name = std::move(params.at(0))](auto tier) {
        return reads.flow_by_name(name, tier);
      },
      "Flow not found", std::move(reply));
}

} // namespace deployd::http::handlers
