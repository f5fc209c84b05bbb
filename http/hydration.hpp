// `__prefect_kind` hydration of deployment parameters on PATCH
// (deployments-api §9.4): json, jinja, workspace_variable, none and unknown
// kinds, with the reference's error texts. No Beast include.
#pragma once

#include "events/json.hpp"

#include <expected>
#include <string>

namespace deployd::http {

/// The hydrated parameters, or the error message that follows "Error
/// hydrating deployment parameters: ".
[[nodiscard]] std::expected<events::json, std::string>
hydrate_parameters(const events::json& parameters);

/// Renders a Jinja template with an empty context. Supports literal text and
/// `{{ expression }}` with numbers, strings, + - * / // % ** and
/// parentheses; anything else is an "Invalid jinja" error.
[[nodiscard]] std::expected<std::string, std::string>
render_jinja(const std::string& text);

} // namespace deployd::http
