// Client bootstrap endpoints: health, readiness, versions, hello, CSRF.
#include "http/handlers/handlers.hpp"
#include "http/responses.hpp"
#include "http/services.hpp"

namespace deployd::http::handlers {

void get_health(services&, const request&, path_params, responder reply) {
  reply(json_text(200, "true"));
}

void get_ready(services&, const request&, path_params, responder reply) {
  reply(json_text(200, R"({"message":"OK"})"));
}

void get_version(services&, const request&, path_params, responder reply) {
  reply(json_text(200, R"("0.8.4")"));
}

void get_hello(services&, const request&, path_params, responder reply) {
  reply(json_text(200, "\"\xf0\x9f\x91\x8b\""));
}

void get_admin_version(services& s, const request&, path_params,
                       responder reply) {
  reply(json_text(200, dump(events::json(s.api.server_version))));
}

void get_csrf_token(services&, const request& req, path_params,
                    responder reply) {
  if (!query_param(req.query, "client")) {
    events::field_errors errors{
        events::field_error{"missing", events::json::array({"query", "client"}),
                            "Field required", nullptr, nullptr}};
    reply(validation_failed(errors, nullptr));
    return;
  }
  reply(detail(422, "CSRF protection is disabled."));
}

} // namespace deployd::http::handlers
