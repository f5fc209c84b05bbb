// The one JSON type of the project.
//
// deployd echoes user documents (parameters, schemas, labels, request bodies)
// in the order they were sent, as the reference server does, so every JSON
// value is an insertion-ordered nlohmann object. Knows nothing of HTTP,
// storage or actors.
#pragma once

#include <nlohmann/json.hpp>

namespace deployd::events {

/// Insertion-ordered JSON value used for every document deployd stores or
/// returns.
using json = nlohmann::ordered_json;

} // namespace deployd::events
