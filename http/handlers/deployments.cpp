// Deployment endpoints: create-or-upsert and reads.
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

#include <chrono>

namespace deployd::http::handlers {

void post_deployments(services& s, const request& req, path_params,
                      responder reply) {
  auto body = read_json_body(req);
  if (!body) {
    reply(std::move(body.error()));
    return;
  }
  // Validation needs "now" only as the default anchor of interval
  // schedules; the decision records it in the event, so replay is exact.
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  auto cmd = parse_create_deployment(std::move(*body), s.api,
                                     events::timestamp{now});
  if (!cmd) {
    reply(std::move(cmd.error()));
    return;
  }
  s.writer.submit(std::move(*cmd), new_command_id(),
                  [reply = std::move(reply)](actors::command_result r) {
                    reply(write_response(r));
                  });
}

void get_deployment(services& s, const request&, path_params params,
                    responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  answer_read(
    s, [&reads = s.reads, id](auto tier) { return reads.deployment(id, tier); },
    "Deployment not found", std::move(reply));
}

void get_deployment_by_name(services& s, const request&, path_params params,
                            responder reply) {
  answer_read(
    s,
    [&reads = s.reads, flow = std::move(params.at(0)),
     name = std::move(params.at(1))](auto tier) {
      return reads.deployment_by_name(flow, name, tier);
    },
    "Deployment not found", std::move(reply));
}

} // namespace deployd::http::handlers
