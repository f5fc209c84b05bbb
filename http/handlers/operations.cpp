// Endpoints for operators rather than Prefect clients: Prometheus metrics
// and the API docs page (Swagger UI over /api/openapi.json).
#include "http/handlers/handlers.hpp"
#include "http/responses.hpp"
#include "http/services.hpp"

namespace deployd::http::handlers {

void get_metrics(services& s, const request&, path_params, responder reply) {
  if (s.metrics == nullptr) {
    reply(detail(404, "Not Found"));
    return;
  }
  // The gauges read RocksDB's properties, which take its internal mutex:
  // gathered on the blocking-read pool, never on an I/O thread.
  s.blocking_reads.post(
      [metrics = s.metrics, gauges = s.gauges, reply = std::move(reply)] {
        response r;
        r.body = metrics->scrape(gauges ? gauges() : observe::state{});
        r.content_type = observe::metrics::content_type;
        reply(std::move(r));
      });
}

namespace {

constexpr const char* docs_page = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>deployd API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});
</script>
</body>
</html>
)";

void static_file(const std::string& body, const char* type,
                 responder& reply) {
  if (body.empty()) {
    reply(detail(404, "Not Found"));
    return;
  }
  response r;
  r.body = body;
  r.content_type = type;
  reply(std::move(r));
}

} // namespace

void get_docs(services& s, const request&, path_params, responder reply) {
  static const std::string page = docs_page;
  static_file(s.docs_bundle_js.empty() ? std::string() : page,
              "text/html; charset=utf-8", reply);
}

void get_docs_bundle_js(services& s, const request&, path_params,
                        responder reply) {
  static_file(s.docs_bundle_js, "text/javascript; charset=utf-8", reply);
}

void get_docs_css(services& s, const request&, path_params, responder reply) {
  static_file(s.docs_css, "text/css; charset=utf-8", reply);
}

} // namespace deployd::http::handlers
