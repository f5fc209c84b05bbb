// `__prefect_kind` hydration of parameters, on PATCH /deployments/{id}
// (deployments-api §9.4) and when a flow run is created from a deployment
// (related-resources §5.1): json, jinja, workspace_variable, none and
// unknown kinds, with the reference's error texts. Pure: workspace
// variables come from a lookup the caller supplies (the writer reads them
// through its batch). Knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/json.hpp"

#include <expected>
#include <functional>
#include <optional>
#include <string>

namespace deployd::events {

/// The value of the workspace variable named `name`, or nothing when there
/// is none.
using variable_lookup =
    std::function<std::optional<events::json>(const std::string& name)>;

/// The hydrated parameters, or the error message that follows "Error
/// hydrating deployment parameters: " (PATCH) or "Error hydrating flow run
/// parameters: " (run creation). `variables` resolves `workspace_variable`
/// kinds; without it every variable is unknown.
[[nodiscard]] std::expected<events::json, std::string>
hydrate_parameters(const events::json& parameters,
                   const variable_lookup& variables = {});

/// Renders a Jinja template with an empty context. Supports literal text and
/// `{{ expression }}` with numbers, strings, + - * / // % ** and
/// parentheses; anything else is an "Invalid jinja" error.
[[nodiscard]] std::expected<std::string, std::string>
render_jinja(const std::string& text);

} // namespace deployd::events
