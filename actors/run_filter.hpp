// FlowRunFilter (flow-runs.md §4.2) against stored run documents, and the
// small JSON predicates filters are made of. Pure; any thread; no CAF.
#pragma once

#include "events/json.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace deployd::actors {

/// Whether a stored flow run matches a FlowRunFilter (null or `{}` matches
/// every run): `/flow_runs/filter` and the `flow_runs` sub-filter of
/// deployment and flow queries.
[[nodiscard]] bool flow_run_matches(const events::json& filter,
                                    const events::json& run);

namespace filter_terms {

/// Whether `parent` is an object with a non-null `key`.
[[nodiscard]] bool present(const events::json& parent, const char* key);
/// Whether `value` is an element of `list`.
[[nodiscard]] bool in_list(const events::json& list, const events::json& value);
/// A timestamp string as UTC microseconds; nothing for anything else.
[[nodiscard]] std::optional<std::int64_t> micros(const events::json& v);
/// Combines a criterion's parts by its `operator` (`and_` unless `or_`);
/// no parts is true.
[[nodiscard]] bool combine(const events::json& f, const std::vector<bool>& parts);

} // namespace filter_terms

} // namespace deployd::actors
