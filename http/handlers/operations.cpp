// Endpoints for operators rather than Prefect clients: Prometheus metrics.
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

} // namespace deployd::http::handlers
