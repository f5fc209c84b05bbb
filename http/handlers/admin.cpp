// Client bootstrap endpoints: health, readiness, versions, hello, CSRF.
#include "http/handlers/handlers.hpp"
#include "http/responses.hpp"
#include "http/services.hpp"

namespace deployd::http::handlers {

void get_health(services&, const request&, path_params, responder reply) {
  reply(json_text(200, "true"));
}

void get_ready(services& s, const request&, path_params, responder reply) {
  // A cluster node is ready once it has caught up with the log head it read
  // at start; the reference's body for "not ready".
  if (!s.writer.ready()) {
    reply(json_text(503, R"({"message":"Database is not available"})"));
    return;
  }
  reply(json_text(200, R"({"message":"OK"})"));
}

void get_deployd_cluster(services& s, const request&, path_params,
                         responder reply) {
  events::json out = events::json::object();
  const auto status = s.writer.cluster();
  if (!status) {
    // The embedded single node: its own leader, always caught up.
    const auto applied = s.writer.positions().applied().value;
    out["node"] = nullptr;
    out["role"] = "single";
    out["leader"] = nullptr;
    out["applied"] = applied;
    out["log_head"] = applied;
    out["members"] = events::json::array();
    reply(json_text(200, dump(out)));
    return;
  }
  out["node"] = status->node;
  out["role"] = status->role;
  out["leader"] = status->leader ? events::json(*status->leader) : nullptr;
  out["applied"] = status->applied;
  out["log_head"] = std::max(status->log_head, status->applied);
  out["ready"] = status->ready;
  out["etcd_reachable"] = status->etcd_reachable;
  auto members = events::json::array();
  for (const auto& m : status->members)
    members.push_back({{"node", m.node},
                       {"role", m.role},
                       {"applied", m.applied},
                       {"peer", m.peer},
                       {"http", m.http}});
  out["members"] = std::move(members);
  reply(json_text(200, dump(out)));
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
