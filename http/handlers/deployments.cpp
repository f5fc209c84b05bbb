// Deployment endpoints: create-or-upsert and reads.
#include "actors/queries.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

namespace deployd::http::handlers {

namespace {

// The six filter keys of a validated deployments query body.
actors::deployment_query query_of(const events::json& body) {
  actors::deployment_query q;
  q.deployments = param(body, "deployments");
  q.flows = param(body, "flows");
  q.flow_runs = param(body, "flow_runs");
  q.task_runs = param(body, "task_runs");
  q.work_pools = param(body, "work_pools");
  q.work_pool_queues = param(body, "work_pool_queues");
  if (const auto sort = param(body, "sort"); sort.is_string())
    q.sort = sort.get<std::string>();
  return q;
}

} // namespace

void post_deployments(services& s, const request& req, path_params,
                      responder reply) {
  auto body = read_json_body(req);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  auto cmd = parse_create_deployment(std::move(*body), s.api, request_time());
  if (!cmd) {
    reply(std::move(cmd.error()));
    return;
  }
  submit(s, req, std::move(*cmd), on_success::created_or_ok, std::move(reply));
}

void patch_deployment(services& s, const request& req, path_params params,
                      responder reply) {
  auto body = read_json_body(req);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  auto cmd = parse_update_deployment(*events::uuid::parse(params.at(0)),
                                     std::move(*body), s.api, request_time());
  if (!cmd) {
    reply(std::move(cmd.error()));
    return;
  }
  submit(s, req, std::move(*cmd), on_success::no_content, std::move(reply));
}

void delete_deployment(services& s, const request& req, path_params params,
                       responder reply) {
  submit(s, req, events::delete_deployment{*events::uuid::parse(params.at(0))},
         on_success::no_content, std::move(reply));
}

void post_pause_deployment(services& s, const request& req, path_params params,
                           responder reply) {
  submit(
      s, req,
      events::set_deployment_paused{*events::uuid::parse(params.at(0)), true},
      on_success::ok, std::move(reply));
}

void post_resume_deployment(services& s, const request& req, path_params params,
                            responder reply) {
  submit(
      s, req,
      events::set_deployment_paused{*events::uuid::parse(params.at(0)), false},
      on_success::ok, std::move(reply));
}

void post_deployments_filter(services& s, const request& req, path_params,
                             responder reply) {
  auto body = query_body(req, "Body_read_deployments_deployments_filter_post");
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  auto q = query_of(*body);
  if (const auto offset = param(*body, "offset"); offset.is_number_integer())
    q.offset = offset.get<std::int64_t>();
  q.limit = limit_of(*body);
  answer_filter(s, std::move(q), actors::find_deployments,
                actors::deployment_views, std::move(reply));
}

void post_deployments_count(services& s, const request& req, path_params,
                            responder reply) {
  auto body = query_body(req, "Body_count_deployments_deployments_count_post", false);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  answer_count(s, query_of(*body), actors::count_deployments, std::move(reply));
}

void post_deployments_paginate(services& s, const request& req, path_params,
                               responder reply) {
  auto body =
      query_body(req, "Body_paginate_deployments_deployments_paginate_post");
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  answer_page(s, query_of(*body), page_of(*body), limit_of(*body),
              actors::find_deployments, actors::count_deployments,
              actors::deployment_views, std::move(reply));
}

void post_deployments_bulk_delete(services& s, const request& req, path_params,
                                  responder reply) {
  auto body = query_body(
      req, "Body_bulk_delete_deployments_deployments_bulk_delete_post", false);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  const auto limit = param(*body, "limit");
  submit(s, req,
         events::bulk_delete_deployments{
             param(*body, "deployments"),
             limit.is_number_integer() ? limit.get<std::int64_t>() : 50},
         on_success::ok, std::move(reply));
}

// The ETag comes with the body, from the view row (`answer_tagged_read`).
void get_deployment(services& s, const request& req, path_params params,
                    responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  answer_tagged_read(
      s, req,
      [&reads = s.reads, id](auto tier) {
        return reads.deployment_row(id, tier);
      },
      "Deployment not found", std::move(reply));
}

void get_deployment_by_name(services& s, const request& req,
                            path_params params, responder reply) {
  answer_tagged_read(
      s, req,
      [&reads = s.reads, flow = std::move(params.at(0)),
       name = std::move(params.at(1))](auto tier) {
        return reads.deployment_row_by_name(flow, name, tier);
      },
      "Deployment not found", std::move(reply));
}

} // namespace deployd::http::handlers
