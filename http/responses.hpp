// The one place that turns outcomes into statuses and reference-shaped
// bodies: validation errors (422, `exception_detail`), handler details
// (`{"detail": ...}`), domain rejections, and storage failures (503/500,
// no internal detail).
#pragma once

#include "events/json.hpp"
#include "events/rejection.hpp"
#include "events/validation.hpp"
#include "http/message.hpp"
#include "storage/event_log.hpp"

#include <string_view>

namespace deployd::http {

/// 422 `{"exception_message": "Invalid request received.",
/// "exception_detail": [...], "request_body": ...}`.
[[nodiscard]] response validation_failed(const events::field_errors& errors,
                                         const events::json& request_body);

/// A model-level `invalid_model` rejection as 422 body B: one `value_error`
/// at loc [] ("Value error, <subject>"), `request_body` echoed.
[[nodiscard]] response model_rejected(const events::rejection& why,
                                      const events::json& request_body);

/// `{"detail": "<text>"}` with `status`.
[[nodiscard]] response detail(unsigned status, std::string_view text);

/// `{"exception_message": "<text>"}` with `status` (401, 500, 503).
[[nodiscard]] response exception_message(unsigned status,
                                         std::string_view text);

/// 200/201 (or any status) with a JSON body already serialised.
[[nodiscard]] response json_text(unsigned status, std::string body);

/// 204 with an empty body.
[[nodiscard]] response no_content();

/// A domain rejection, as the API contract says for `POST /deployments/`
/// and friends.
[[nodiscard]] response rejected(const events::rejection& why);

/// A storage failure: 503 Service Unavailable for conditions a retry can
/// fix (full disk, busy), 500 otherwise; never internal detail.
[[nodiscard]] response storage_failed(storage::errc e);

/// 409 with the reference's generic integrity text.
[[nodiscard]] response integrity_conflict();

/// Serialises a JSON value the way responses are written (UTF-8, compact).
[[nodiscard]] std::string dump(const events::json& j);

} // namespace deployd::http
