// The OpenAPI document of the route table (`GET /api/openapi.json`), built
// from `router::entries()` so it cannot drift from what is served: one
// operation per route, its path parameters typed (`{id}` a UUID), tagged by
// the collection (`flows`, `deployments`, ...) or `deployd` for deployd's
// own routes. `components.schemas` holds the reference's schemas deployd
// validates bodies with (`openapi_components()`); operations do not restate
// bodies and responses. No Beast include.
#pragma once

#include "http/router.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace deployd::http {

/// A route pattern as an OpenAPI path: a parameter name seen before in the
/// same pattern is numbered (`/api/deployments/{id}/schedules/{id}` is
/// `/api/deployments/{id}/schedules/{id_2}`), since OpenAPI needs unique
/// names.
[[nodiscard]] std::string openapi_path(std::string_view pattern);

/// OpenAPI 3.1 JSON of `routes`; `api_version` is `info.version`.
[[nodiscard]] std::string openapi_json(const std::vector<route_entry>& routes,
                                       std::string_view api_version);

} // namespace deployd::http
