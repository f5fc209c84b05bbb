// Prefect's EventFilter (events-api §3): the criteria of `/api/events/filter`,
// `count-by` and the `/api/events/out` subscription, and how one event is
// matched against them.
//
// Built from a filter body already validated against the reference's
// schema (http/), with the defaults applied at parse time (`occurred` since
// the start of today minus 180 days, until now; order DESC). Matching is
// case-sensitive and literal except for the label patterns (`*`, `?`, `!`),
// as the spec recommends. Knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/json.hpp"
#include "events/prefect_event.hpp"
#include "events/time.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deployd::events {

/// A ResourceSpecification: label -> patterns (at least one must match).
using label_patterns =
    std::vector<std::pair<std::string, std::vector<std::string>>>;

struct event_name_filter {
  std::optional<std::vector<std::string>> prefix;
  std::optional<std::vector<std::string>> exclude_prefix;
  std::optional<std::vector<std::string>> name;
  std::optional<std::vector<std::string>> exclude_name;
};

struct event_resource_filter {
  std::optional<std::vector<std::string>> id;
  std::optional<std::vector<std::string>> id_prefix;
  std::optional<label_patterns> labels;
  bool distinct = false;
};

struct event_related_filter {
  std::optional<std::vector<std::string>> id;
  std::optional<std::vector<std::string>> role;
  std::optional<std::vector<std::pair<std::string, std::string>>>
      resources_in_roles;
  std::optional<label_patterns> labels;
};

struct event_any_resource_filter {
  std::optional<std::vector<std::string>> id;
  std::optional<std::vector<std::string>> id_prefix;
  std::optional<label_patterns> labels;
};

struct event_filter {
  timestamp since;
  timestamp until;
  std::optional<event_name_filter> event;
  std::optional<event_resource_filter> resource;
  /// Every element must match (a single object is a list of one).
  std::vector<event_related_filter> related;
  std::vector<event_any_resource_filter> any_resource;
  /// Empty: no restriction (null and `[]` alike).
  std::vector<uuid> ids;
  std::optional<std::string> text;
  bool ascending = false;
};

/// Prefect's default `since`: the start of `now`'s UTC day minus 180 days.
[[nodiscard]] timestamp default_since(timestamp now);

/// A filter from its validated JSON (an EventFilter object, or null for the
/// default filter); `now` fills the defaults of `occurred`. Throws
/// std::invalid_argument on a shape the validation should have refused.
[[nodiscard]] event_filter parse_event_filter(const json& validated,
                                              timestamp now);

/// The filter as JSON with every default made explicit (absolute `since`
/// and `until`): what a page token carries, so the next page reruns the
/// same query whenever it is asked for.
[[nodiscard]] json event_filter_json(const json& validated,
                                     const event_filter& f);

/// Whether `e` matches every criterion of `f` (`resource.distinct` is a
/// property of a result set, not of one event: the caller applies it).
[[nodiscard]] bool matches(const event_filter& f, const prefect_event& e);

/// One label pattern against a value: `*` any run, `?` one character, a
/// leading `!` negates.
[[nodiscard]] bool label_pattern_matches(std::string_view pattern,
                                         std::string_view value);

/// Whether a resource's labels satisfy a specification (a missing label
/// never matches, not even a negated pattern).
[[nodiscard]] bool labels_match(const label_patterns& spec, const json& labels);

} // namespace deployd::events
