#include "http/routes.hpp"

#include "http/handlers/handlers.hpp"

namespace deployd::http {

router make_routes() {
  namespace h = handlers;
  router r;
  // -- server ----------------------------------------------------------------
  r.add("GET", "/api/health", h::get_health);
  r.add("GET", "/api/ready", h::get_ready);
  r.add("GET", "/api/version", h::get_version);
  r.add("GET", "/api/hello", h::get_hello);
  r.add("GET", "/api/admin/version", h::get_admin_version);
  r.add("GET", "/api/csrf-token", h::get_csrf_token);
  // -- flows -----------------------------------------------------------------
  r.add("POST", "/api/flows/", h::post_flows);
  r.add("GET", "/api/flows/{id}", h::get_flow);
  r.add("GET", "/api/flows/name/{name}", h::get_flow_by_name);
  // -- deployments -------------------------------------------------------------
  r.add("POST", "/api/deployments/", h::post_deployments);
  r.add("GET", "/api/deployments/{id}", h::get_deployment);
  r.add("GET", "/api/deployments/name/{name}/{name}",
        h::get_deployment_by_name);
  return r;
}

} // namespace deployd::http
