// What request handlers may use: the writer's front door, the read model,
// the pool for reads that block, and their settings. Built once by the
// composition root; shared by every session. No Beast include.
#pragma once

#include "actors/gateway.hpp"
#include "actors/projections.hpp"
#include "config/service_config.hpp"
#include "storage/read_pool.hpp"

namespace deployd::http {

struct services {
  actors::runtime& writer;
  const actors::read_model& reads;
  storage::read_pool& blocking_reads;
  const config::api_settings& api;
};

} // namespace deployd::http
