// Flow endpoints: create (get-or-create by name) and read.
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

namespace deployd::http::handlers {

void post_flows(services& s, const request& req, path_params,
                responder reply) {
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
  s.writer.submit(std::move(*cmd), new_command_id(),
                  [reply = std::move(reply)](actors::command_result r) {
                    reply(write_response(r));
                  });
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
