#include "http/routes.hpp"

#include "http/handlers/etag.hpp"
#include "http/handlers/handlers.hpp"
#include "http/openapi.hpp"
#include "http/responses.hpp"

#include <memory>
#include <string>

namespace deployd::http {

router make_routes() {
  namespace h = handlers;
  using h::tagged;
  router r;
  // -- server ----------------------------------------------------------------
  r.add("GET", "/api/health", h::get_health);
  r.add("GET", "/api/ready", h::get_ready);
  r.add("GET", "/api/version", h::get_version);
  r.add("GET", "/api/hello", h::get_hello);
  r.add("GET", "/api/admin/version", h::get_admin_version);
  r.add("GET", "/api/csrf-token", h::get_csrf_token);
  // -- deployd's own -----------------------------------------------------------
  r.add("GET", "/api/deployd/cluster", h::get_deployd_cluster);
  r.add("GET", "/api/deployd/deployments/{id}/history",
        h::get_deployd_deployment_history);
  r.add("GET", "/api/deployd/deployments/{id}/at", h::get_deployd_deployment_at);
  r.add("GET", "/api/deployd/flows/{id}/history", h::get_deployd_flow_history);
  r.add("GET", "/api/deployd/flows/{id}/at", h::get_deployd_flow_at);
  // -- flows -----------------------------------------------------------------
  r.add("POST", "/api/flows/", h::post_flows);
  r.add("POST", "/api/flows/filter", h::post_flows_filter);
  r.add("POST", "/api/flows/count", h::post_flows_count);
  r.add("POST", "/api/flows/paginate", h::post_flows_paginate);
  r.add("POST", "/api/flows/bulk_delete", h::post_flows_bulk_delete);
  r.add("GET", "/api/flows/{id}", h::with_etag(tagged::flow, h::get_flow, true));
  r.add("PATCH", "/api/flows/{id}", h::patch_flow);
  r.add("DELETE", "/api/flows/{id}", h::delete_flow);
  r.add("GET", "/api/flows/name/{name}",
        h::with_etag(tagged::flow, h::get_flow_by_name, false));
  // -- deployments
  // -------------------------------------------------------------
  r.add("POST", "/api/deployments/", h::post_deployments);
  r.add("POST", "/api/deployments/filter", h::post_deployments_filter);
  r.add("POST", "/api/deployments/count", h::post_deployments_count);
  r.add("POST", "/api/deployments/paginate", h::post_deployments_paginate);
  r.add("POST", "/api/deployments/bulk_delete",
        h::post_deployments_bulk_delete);
  r.add("GET", "/api/deployments/{id}", h::get_deployment);
  r.add("PATCH", "/api/deployments/{id}", h::patch_deployment);
  r.add("DELETE", "/api/deployments/{id}", h::delete_deployment);
  r.add("POST", "/api/deployments/{id}/pause_deployment",
        h::post_pause_deployment);
  r.add("POST", "/api/deployments/{id}/resume_deployment",
        h::post_resume_deployment);
  r.add("GET", "/api/deployments/{id}/schedules", h::get_schedules);
  r.add("POST", "/api/deployments/{id}/schedules", h::post_schedules);
  r.add("PATCH", "/api/deployments/{id}/schedules/{id}", h::patch_schedule);
  r.add("DELETE", "/api/deployments/{id}/schedules/{id}", h::delete_schedule);
  r.add("GET", "/api/deployments/name/{name}/{name}",
        h::get_deployment_by_name);
  // -- work pools and queues ------------------------------------------------
  r.add("POST", "/api/work_pools/", h::post_work_pools);
  r.add("POST", "/api/work_pools/filter", h::post_work_pools_filter);
  r.add("GET", "/api/work_pools/{name}",
        h::with_etag(tagged::work_pool, h::get_work_pool, false));
  r.add("PATCH", "/api/work_pools/{name}", h::patch_work_pool);
  r.add("DELETE", "/api/work_pools/{name}", h::delete_work_pool);
  r.add("POST", "/api/work_pools/{name}/queues", h::post_pool_queues);
  r.add("POST", "/api/work_pools/{name}/queues/filter",
        h::post_pool_queues_filter);
  r.add("GET", "/api/work_pools/{name}/queues/{name}",
        h::with_etag(tagged::work_queue, h::get_pool_queue, false));
  r.add("POST", "/api/work_pools/{name}/workers/heartbeat",
        h::post_worker_heartbeat);
  r.add("POST", "/api/work_pools/{name}/workers/filter",
        h::post_workers_filter);
  r.add("GET", "/api/work_pools/{name}/workers/connect", h::get_worker_channel);
  r.add("DELETE", "/api/work_pools/{name}/workers/{name}", h::delete_worker);
  r.add("POST", "/api/work_queues/", h::post_work_queues);
  r.add("GET", "/api/work_queues/{id}",
        h::with_etag(tagged::work_queue, h::get_work_queue, true));
  r.add("GET", "/api/work_queues/name/{name}",
        h::with_etag(tagged::work_queue, h::get_work_queue_by_name, false));
  // -- global concurrency limits (v2) ----------------------------------------
  r.add("POST", "/api/v2/concurrency_limits/", h::post_concurrency_limits);
  r.add("POST", "/api/v2/concurrency_limits/filter",
        h::post_concurrency_limits_filter);
  r.add("GET", "/api/v2/concurrency_limits/{name}",
        h::with_etag(tagged::concurrency_limit, h::get_concurrency_limit,
                     false));
  r.add("PATCH", "/api/v2/concurrency_limits/{name}",
        h::patch_concurrency_limit);
  r.add("DELETE", "/api/v2/concurrency_limits/{name}",
        h::delete_concurrency_limit);
  // -- blocks
  // ------------------------------------------------------------------
  r.add("POST", "/api/block_types/", h::post_block_types);
  r.add("GET", "/api/block_types/slug/{name}", h::get_block_type_by_slug);
  r.add("PATCH", "/api/block_types/{id}", h::patch_block_type);
  r.add("POST", "/api/block_schemas/", h::post_block_schemas);
  r.add("GET", "/api/block_schemas/checksum/{name}",
        h::get_block_schema_by_checksum);
  r.add("POST", "/api/block_documents/", h::post_block_documents);
  r.add("GET", "/api/block_documents/{id}",
        h::with_etag(tagged::block_document, h::get_block_document, true));
  r.add("DELETE", "/api/block_documents/{id}", h::delete_block_document);
  r.add("PATCH", "/api/block_documents/{id}", h::patch_block_document);
  r.add("DELETE", "/api/block_types/{id}", h::delete_block_type);
  // -- automations (stored, never run) -----------------------------------
  r.add("POST", "/api/automations/", h::post_automations);
  r.add("POST", "/api/automations/filter", h::post_automations_filter);
  r.add("POST", "/api/automations/count", h::post_automations_count);
  r.add("GET", "/api/automations/related-to/{name}",
        h::get_automations_related_to);
  r.add("DELETE", "/api/automations/owned-by/{name}",
        h::delete_automations_owned_by);
  r.add("GET", "/api/automations/{id}",
        h::with_etag(tagged::automation, h::get_automation, true));
  r.add("PUT", "/api/automations/{id}", h::put_automation);
  r.add("PATCH", "/api/automations/{id}", h::patch_automation);
  r.add("DELETE", "/api/automations/{id}", h::delete_automation);
  // -- workspace variables -----------------------------------------------
  r.add("POST", "/api/variables/", h::post_variables);
  r.add("POST", "/api/variables/filter", h::post_variables_filter);
  r.add("POST", "/api/variables/count", h::post_variables_count);
  r.add("GET", "/api/variables/{id}",
        h::with_etag(tagged::variable, h::get_variable, true));
  r.add("PATCH", "/api/variables/{id}", h::patch_variable);
  r.add("DELETE", "/api/variables/{id}", h::delete_variable);
  r.add("GET", "/api/variables/name/{name}",
        h::with_etag(tagged::variable, h::get_variable_by_name, false));
  r.add("PATCH", "/api/variables/name/{name}", h::patch_variable_by_name);
  r.add("DELETE", "/api/variables/name/{name}", h::delete_variable_by_name);
  // -- operations ------------------------------------------------------------
  r.add("GET", "/metrics", h::get_metrics);
  r.add("GET", "/docs", h::get_docs);
  r.add("GET", "/docs/swagger-ui-bundle.js", h::get_docs_bundle_js);
  r.add("GET", "/docs/swagger-ui.css", h::get_docs_css);
  // -- flow runs ------------------------------------------------------------
  r.add("POST", "/api/deployments/{id}/create_flow_run",
        h::post_deployment_create_flow_run);
  r.add("POST", "/api/deployments/{id}/create_flow_run/bulk",
        h::post_deployment_create_flow_run_bulk);
  r.add("POST", "/api/deployments/{id}/schedule", h::post_deployment_schedule);
  r.add("POST", "/api/deployments/get_scheduled_flow_runs",
        h::post_deployments_get_scheduled_flow_runs);
  r.add("GET", "/api/deployments/{id}/work_queue_check",
        h::get_deployment_work_queue_check);
  r.add("POST", "/api/work_pools/{name}/get_scheduled_flow_runs",
        h::post_work_pool_get_scheduled_flow_runs);
  r.add("POST", "/api/flow_runs/", h::post_flow_runs);
  r.add("POST", "/api/flow_runs/filter", h::post_flow_runs_filter);
  r.add("POST", "/api/flow_runs/count", h::post_flow_runs_count);
  r.add("POST", "/api/flow_runs/paginate", h::post_flow_runs_paginate);
  r.add("GET", "/api/flow_runs/{id}",
        h::with_etag(tagged::flow_run, h::get_flow_run, true));
  r.add("PATCH", "/api/flow_runs/{id}", h::patch_flow_run);
  r.add("DELETE", "/api/flow_runs/{id}", h::delete_flow_run);
  r.add("POST", "/api/flow_runs/{id}/set_state", h::post_flow_run_set_state);
  // -- events ----------------------------------------------------------------
  r.add("POST", "/api/events", h::post_events);
  r.add("POST", "/api/events/filter", h::post_events_filter);
  r.add("GET", "/api/events/filter/next", h::get_events_filter_next);
  r.add("POST", "/api/events/count-by/{name}", h::post_events_count_by);
  // The OpenAPI document of this table, this route included: built once,
  // after the last `add`.
  auto openapi = std::make_shared<std::string>();
  r.add("GET", "/api/openapi.json",
        [openapi](services&, const request&, path_params, responder reply) {
          reply(json_text(200, *openapi));
        });
  *openapi = openapi_json(r.entries(), "0.8.4");
  return r;
}

} // namespace deployd::http
