// Request bodies -> typed commands, with the reference server's syntactic
// checks and error shapes.
//
// Reading follows FastAPI: no Content-Type or a JSON one means JSON; bad
// UTF-8 or absurd nesting is a 400; malformed JSON is a 422 `json_invalid`
// with Python's message and character offset. Validation follows pydantic's
// model for each body, reporting every field error at once. No Beast
// include.
#pragma once

#include "config/service_config.hpp"
#include "events/deployment.hpp"
#include "events/flow.hpp"
#include "events/json.hpp"
#include "events/time.hpp"
#include "http/message.hpp"

#include <expected>

namespace deployd::http {

/// A request body as the validator sees it.
struct json_body {
  /// False when the request had no body at all.
  bool present = false;
  /// The parsed JSON, or (for a non-JSON content type) the raw text.
  events::json value;
};

/// Reads `req.body` as FastAPI would; a response when it cannot be read.
[[nodiscard]] std::expected<json_body, response>
read_json_body(const request& req);

/// `FlowCreate` -> create_flow, or the 422 response.
[[nodiscard]] std::expected<events::create_flow, response>
parse_create_flow(const json_body& body);

/// `DeploymentCreate` -> create_deployment, or the 422 response. `now` is
/// the default `anchor_date` of interval schedules.
[[nodiscard]] std::expected<events::create_deployment, response>
parse_create_deployment(json_body body, const config::api_settings& api,
                        events::timestamp now);

/// `DeploymentUpdate` -> update_deployment for `id`, or the 422 response.
[[nodiscard]] std::expected<events::update_deployment, response>
parse_update_deployment(const events::uuid& id, json_body body,
                        const config::api_settings& api, events::timestamp now);

/// `POST /deployments/{id}/schedules`: a bare list of
/// DeploymentScheduleCreate (`max_scheduled_runs` kept, `replaces` ignored).
[[nodiscard]] std::expected<events::create_schedules, response>
parse_create_schedules(const events::uuid& deployment_id, json_body body,
                       events::timestamp now);

/// `PATCH /deployments/{id}/schedules/{schedule_id}`: DeploymentScheduleUpdate.
[[nodiscard]] std::expected<events::update_schedule, response>
parse_update_schedule(const events::uuid& deployment_id,
                      const events::uuid& schedule_id, json_body body,
                      events::timestamp now);

/// A body parsed as JSON for endpoints whose body is optional (filters):
/// absent or null becomes {}.
[[nodiscard]] std::expected<events::json, response>
read_optional_json_body(const request& req);

} // namespace deployd::http
