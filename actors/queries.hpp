// Filters, counts and pages over the projections, for deployments and
// flows. Works on any `storage::reader`: the database (HTTP reads, run on
// the blocking-read pool) or the writer's batch (bulk deletes see earlier
// commands of the same batch). No CAF include.
//
// Cost (see README): an id, name, flow, tag or work-queue-name criterion in
// an AND filter picks candidates from an index; the candidates' compact
// summaries are then checked against the whole filter and sorted. With only
// a single tag and a name sort, the tag index is already in name order and
// the scan stops after offset + limit matches. Any other filter walks the
// index of the requested sort order and checks each summary, stopping after
// offset + limit matches (a count walks it all).
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace deployd::actors {

/// A deployments query: the six filter keys (validated JSON or null), sort,
/// offset and limit (nothing = no limit, for counts and bulk operations).
struct deployment_query {
  events::json deployments;
  events::json flows;
  events::json flow_runs;
  events::json task_runs;
  events::json work_pools;
  events::json work_pool_queues;
  std::string sort = "NAME_ASC";
  std::int64_t offset = 0;
  std::optional<std::int64_t> limit;
};

/// A flows query.
struct flow_query {
  events::json flows;
  events::json deployments;
  events::json flow_runs;
  events::json task_runs;
  events::json work_pools;
  std::string sort = "NAME_ASC";
  std::int64_t offset = 0;
  std::optional<std::int64_t> limit;
};

/// Ids of the matching deployments, sorted and paged.
[[nodiscard]] std::expected<std::vector<events::uuid>, storage::errc>
find_deployments(storage::reader& r, const deployment_query& q);
/// Number of matching deployments (offset and limit ignored).
[[nodiscard]] std::expected<std::int64_t, storage::errc>
count_deployments(storage::reader& r, const deployment_query& q);

[[nodiscard]] std::expected<std::vector<events::uuid>, storage::errc>
find_flows(storage::reader& r, const flow_query& q);
[[nodiscard]] std::expected<std::int64_t, storage::errc>
count_flows(storage::reader& r, const flow_query& q);

/// `[view, view, ...]` of the given deployments, in order.
[[nodiscard]] std::expected<std::string, storage::errc>
deployment_views(storage::reader& r, const std::vector<events::uuid>& ids);
/// `[flow, flow, ...]` of the given flows, in order.
[[nodiscard]] std::expected<std::string, storage::errc>
flow_views(storage::reader& r, const std::vector<events::uuid>& ids);

/// SQL `ILIKE '%pattern%'` as SQLite evaluates it: `%` and `_` are
/// wildcards, ASCII letters compare case-insensitively.
[[nodiscard]] bool ilike_contains(std::string_view text,
                                  std::string_view pattern);

} // namespace deployd::actors
