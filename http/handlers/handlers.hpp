// Request handlers, one function per endpoint, verb first. Each parses the
// request into a command or query, asks the writer or the read model, and
// answers through `reply` (now or later). They know nothing of sockets.
#pragma once

#include "http/message.hpp"
#include "http/router.hpp"

namespace deployd::http::handlers {

// -- admin / client bootstrap (handlers/admin.cpp) ---------------------------
void get_health(services&, const request&, path_params, responder);
void get_ready(services&, const request&, path_params, responder);
void get_version(services&, const request&, path_params, responder);
void get_hello(services&, const request&, path_params, responder);
void get_admin_version(services&, const request&, path_params, responder);
void get_csrf_token(services&, const request&, path_params, responder);

// -- flows (handlers/flows.cpp) -----------------------------------------------
void post_flows(services&, const request&, path_params, responder);
void get_flow(services&, const request&, path_params, responder);
void get_flow_by_name(services&, const request&, path_params, responder);
void patch_flow(services&, const request&, path_params, responder);
void delete_flow(services&, const request&, path_params, responder);
void post_flows_filter(services&, const request&, path_params, responder);
void post_flows_count(services&, const request&, path_params, responder);
void post_flows_paginate(services&, const request&, path_params, responder);
void post_flows_bulk_delete(services&, const request&, path_params,
                            responder);

// -- deployments (handlers/deployments.cpp) ------------------------------------
void post_deployments(services&, const request&, path_params, responder);
void get_deployment(services&, const request&, path_params, responder);
void get_deployment_by_name(services&, const request&, path_params,
                            responder);
void patch_deployment(services&, const request&, path_params, responder);
void delete_deployment(services&, const request&, path_params, responder);
void post_pause_deployment(services&, const request&, path_params,
                           responder);
void post_resume_deployment(services&, const request&, path_params,
                            responder);
void post_deployments_filter(services&, const request&, path_params,
                             responder);
void post_deployments_count(services&, const request&, path_params,
                            responder);
void post_deployments_paginate(services&, const request&, path_params,
                               responder);
void post_deployments_bulk_delete(services&, const request&, path_params,
                                  responder);

// -- deployment schedules (handlers/schedules.cpp) ----------------------------
void get_schedules(services&, const request&, path_params, responder);
void post_schedules(services&, const request&, path_params, responder);
void patch_schedule(services&, const request&, path_params, responder);
void delete_schedule(services&, const request&, path_params, responder);

} // namespace deployd::http::handlers
