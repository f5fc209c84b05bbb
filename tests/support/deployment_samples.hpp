// Sample deployments the events tests share (deployment_test.cpp,
// stored_deployment_test.cpp).
#pragma once

#include "events/deployment.hpp"

namespace deployd::testing {

/// A deployment with one tag, one label and one hourly schedule.
inline events::deployment sample_deployment() {
  using namespace deployd::events;
  deployment d;
  d.id = *uuid::parse("5d1a7e0c-9a51-4c55-8d3c-3d1f1f2a9b77");
  d.flow_id = *uuid::parse("3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11");
  d.created = {1'795'000'000'000'000};
  d.updated = d.created;
  d.name = "nightly";
  d.tags = {"etl"};
  d.labels = {{"prefect.flow.id", d.flow_id.str()}};
  deployment_schedule s;
  s.id = *uuid::parse("0b7c9d86-2f3a-4b61-a0a4-7e2c9f7f1b20");
  s.deployment_id = d.id;
  s.created = d.created;
  s.updated = d.created;
  s.schedule = {{"interval", 3600},
                {"anchor_date", "2026-01-01T00:00:00Z"},
                {"timezone", "UTC"}};
  s.slug = "hourly";
  d.schedules.push_back(s);
  return d;
}

/// Links to a limit named after `d`, as a deployment with a concurrency
/// limit has.
inline events::deployment_links limit_links(const events::deployment& d) {
  using namespace deployd::events;
  deployment_links links;
  concurrency_limit limit;
  limit.id = *uuid::parse("41111111-2222-4333-8444-555555555555");
  limit.name = "deployment:" + d.id.str();
  limit.limit = 3;
  links.limit = limit;
  return links;
}

} // namespace deployd::testing
