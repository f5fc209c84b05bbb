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
void get_deployd_cluster(services&, const request&, path_params, responder);

// -- history and time travel (handlers/history.cpp) ---------------------------
void get_deployd_deployment_history(services&, const request&, path_params,
                                    responder);
void get_deployd_deployment_at(services&, const request&, path_params,
                               responder);
void get_deployd_flow_history(services&, const request&, path_params,
                              responder);
void get_deployd_flow_at(services&, const request&, path_params, responder);

// -- flows (handlers/flows.cpp) -----------------------------------------------
void post_flows(services&, const request&, path_params, responder);
void get_flow(services&, const request&, path_params, responder);
void get_flow_by_name(services&, const request&, path_params, responder);
void patch_flow(services&, const request&, path_params, responder);
void delete_flow(services&, const request&, path_params, responder);
void post_flows_filter(services&, const request&, path_params, responder);
void post_flows_count(services&, const request&, path_params, responder);
void post_flows_paginate(services&, const request&, path_params, responder);
void post_flows_bulk_delete(services&, const request&, path_params, responder);

// -- deployments (handlers/deployments.cpp)
// ------------------------------------
void post_deployments(services&, const request&, path_params, responder);
void get_deployment(services&, const request&, path_params, responder);
void get_deployment_by_name(services&, const request&, path_params, responder);
void patch_deployment(services&, const request&, path_params, responder);
void delete_deployment(services&, const request&, path_params, responder);
void post_pause_deployment(services&, const request&, path_params, responder);
void post_resume_deployment(services&, const request&, path_params, responder);
void post_deployments_filter(services&, const request&, path_params, responder);
void post_deployments_count(services&, const request&, path_params, responder);
void post_deployments_paginate(services&, const request&, path_params,
                               responder);
void post_deployments_bulk_delete(services&, const request&, path_params,
                                  responder);

// -- deployment schedules (handlers/schedules.cpp) ----------------------------
void get_schedules(services&, const request&, path_params, responder);
void post_schedules(services&, const request&, path_params, responder);
void patch_schedule(services&, const request&, path_params, responder);
void delete_schedule(services&, const request&, path_params, responder);

// -- work pools and queues (handlers/work_pools.cpp)
// ----------------------------
void post_work_pools(services&, const request&, path_params, responder);
void get_work_pool(services&, const request&, path_params, responder);
void patch_work_pool(services&, const request&, path_params, responder);
void delete_work_pool(services&, const request&, path_params, responder);
void post_work_pools_filter(services&, const request&, path_params, responder);
void post_pool_queues(services&, const request&, path_params, responder);
void get_pool_queue(services&, const request&, path_params, responder);
void post_pool_queues_filter(services&, const request&, path_params, responder);
void post_work_queues(services&, const request&, path_params, responder);
void get_work_queue(services&, const request&, path_params, responder);
void get_work_queue_by_name(services&, const request&, path_params, responder);

// -- workers of a pool (handlers/workers.cpp) ---------------------------------
void post_worker_heartbeat(services&, const request&, path_params, responder);
void post_workers_filter(services&, const request&, path_params, responder);
void delete_worker(services&, const request&, path_params, responder);
void get_worker_channel(services&, const request&, path_params, responder);

// -- v2 concurrency limits (handlers/concurrency_limits.cpp)
// ---------------------
void post_concurrency_limits(services&, const request&, path_params, responder);
void get_concurrency_limit(services&, const request&, path_params, responder);
void patch_concurrency_limit(services&, const request&, path_params, responder);
void delete_concurrency_limit(services&, const request&, path_params,
                              responder);
void post_concurrency_limits_filter(services&, const request&, path_params,
                                    responder);

// -- blocks (handlers/blocks.cpp)
// ---------------------------------------------------
void post_block_types(services&, const request&, path_params, responder);
void get_block_type_by_slug(services&, const request&, path_params, responder);
void patch_block_type(services&, const request&, path_params, responder);
void post_block_schemas(services&, const request&, path_params, responder);
void get_block_schema_by_checksum(services&, const request&, path_params,
                                  responder);
void post_block_documents(services&, const request&, path_params, responder);
void get_block_document(services&, const request&, path_params, responder);
void delete_block_document(services&, const request&, path_params, responder);
void patch_block_document(services&, const request&, path_params, responder);
void delete_block_type(services&, const request&, path_params, responder);

// -- automations (handlers/automations.cpp)
void post_automations(services&, const request&, path_params, responder);
void get_automation(services&, const request&, path_params, responder);
void put_automation(services&, const request&, path_params, responder);
void patch_automation(services&, const request&, path_params, responder);
void delete_automation(services&, const request&, path_params, responder);
void delete_automations_owned_by(services&, const request&, path_params,
                                 responder);
void post_automations_filter(services&, const request&, path_params,
                             responder);
void post_automations_count(services&, const request&, path_params,
                            responder);
void get_automations_related_to(services&, const request&, path_params,
                                responder);

// -- workspace variables (handlers/variables.cpp)
// -------------------------------------------
void post_variables(services&, const request&, path_params, responder);
void get_variable(services&, const request&, path_params, responder);
void get_variable_by_name(services&, const request&, path_params, responder);
void patch_variable(services&, const request&, path_params, responder);
void patch_variable_by_name(services&, const request&, path_params, responder);
void delete_variable(services&, const request&, path_params, responder);
void delete_variable_by_name(services&, const request&, path_params,
                             responder);
void post_variables_filter(services&, const request&, path_params, responder);
void post_variables_count(services&, const request&, path_params, responder);
// -- operations (handlers/operations.cpp) --------------------------------------
void get_metrics(services&, const request&, path_params, responder);
void get_docs(services&, const request&, path_params, responder);
void get_docs_bundle_js(services&, const request&, path_params, responder);
void get_docs_css(services&, const request&, path_params, responder);

// -- events (handlers/events.cpp)
// ------------------------------------------------------
void post_events(services&, const request&, path_params, responder);
void post_events_filter(services&, const request&, path_params, responder);
void get_events_filter_next(services&, const request&, path_params, responder);
void post_events_count_by(services&, const request&, path_params, responder);

// -- flow runs and polls (handlers/flow_runs.cpp)
void post_deployment_create_flow_run(services&, const request&, path_params,
                                     responder);
void post_deployment_create_flow_run_bulk(services&, const request&,
                                          path_params, responder);
void post_flow_runs(services&, const request&, path_params, responder);
void get_flow_run(services&, const request&, path_params, responder);
void post_flow_runs_filter(services&, const request&, path_params, responder);
void post_flow_runs_count(services&, const request&, path_params, responder);
void post_flow_runs_paginate(services&, const request&, path_params, responder);
void patch_flow_run(services&, const request&, path_params, responder);
void delete_flow_run(services&, const request&, path_params, responder);
void post_flow_run_set_state(services&, const request&, path_params, responder);
void post_deployment_schedule(services&, const request&, path_params,
                              responder);
void post_deployments_get_scheduled_flow_runs(services&, const request&,
                                              path_params, responder);
void post_work_pool_get_scheduled_flow_runs(services&, const request&,
                                            path_params, responder);
void get_deployment_work_queue_check(services&, const request&, path_params,
                                     responder);

} // namespace deployd::http::handlers
