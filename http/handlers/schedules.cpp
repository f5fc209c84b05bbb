// The schedules sub-resource of a deployment.
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

namespace deployd::http::handlers {

void get_schedules(services& s, const request&, path_params params,
                   responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  answer_read(
      s,
      [&reads = s.reads, id](auto tier) { return reads.schedules(id, tier); },
      "Deployment not found.", std::move(reply));
}

void post_schedules(services& s, const request& req, path_params params,
                    responder reply) {
  auto body = read_json_body(req);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  auto cmd = parse_create_schedules(*events::uuid::parse(params.at(0)),
                                    std::move(*body), request_time());
  if (!cmd) {
    reply(std::move(cmd.error()));
    return;
  }
  submit(s, req, std::move(*cmd), on_success::created, std::move(reply));
}

void patch_schedule(services& s, const request& req, path_params params,
                    responder reply) {
  auto body = read_json_body(req);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  auto cmd = parse_update_schedule(*events::uuid::parse(params.at(0)),
                                   *events::uuid::parse(params.at(1)),
                                   std::move(*body), request_time());
  if (!cmd) {
    reply(std::move(cmd.error()));
    return;
  }
  submit(s, req, std::move(*cmd), on_success::no_content, std::move(reply));
}

void delete_schedule(services& s, const request& req, path_params params,
                     responder reply) {
  submit(s, req,
         events::delete_schedule{*events::uuid::parse(params.at(0)),
                                 *events::uuid::parse(params.at(1))},
         on_success::no_content, std::move(reply));
}

} // namespace deployd::http::handlers
