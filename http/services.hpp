// What request handlers may use: the writer's front door, the read model,
// the pool for reads that block, and their settings. Built once by the
// composition root; shared by every session. No Beast include.
#pragma once

#include "actors/event_hub.hpp"
#include "actors/gateway.hpp"
#include "actors/projections.hpp"
#include "config/service_config.hpp"
#include "events/flow_run.hpp"
#include "observe/metrics.hpp"
#include "storage/read_pool.hpp"

#include <functional>
#include <string>

namespace deployd::http {

class answer_cache;

struct services {
  actors::runtime& writer;
  const actors::read_model& reads;
  storage::read_pool& blocking_reads;
  const config::api_settings& api;
  /// Metrics; null when disabled (then `/metrics` answers 404).
  observe::metrics* metrics = nullptr;
  /// What a scrape reports besides the counters; runs on the blocking-read
  /// pool, so it may take RocksDB's locks. Must outlive the read pool's
  /// work (capture only what the composition root destroys after it).
  std::function<observe::state()> gauges;
  /// Log a line per request (`log.requests`); rejected writes and 5xx are
  /// logged either way.
  bool log_requests = true;
  /// Swagger UI's static files for `/docs`; empty when not found (then
  /// `/docs` answers 404).
  std::string docs_bundle_js;
  std::string docs_css;
  /// Live events for `/api/events/out`; null: the events websockets answer
  /// 404 like any unknown path.
  actors::event_hub* event_hub = nullptr;
  /// The events websockets' settings (backfill reach and page, buffer).
  config::events_settings event_streams;
  /// What `POST /deployments/{id}/schedule` takes when its body does not
  /// say (the scheduler's settings).
  events::schedule_window schedule_defaults;
  /// First answers of keyed writes (http/answer_cache.hpp); null: every
  /// retry goes to the writer.
  answer_cache* answers = nullptr;
};

} // namespace deployd::http
