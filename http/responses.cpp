#include "http/responses.hpp"

#include "events/python/json_text.hpp"

namespace deployd::http {

namespace {

using events::json;
using events::rejection_code;

constexpr std::string_view integrity_text =
    "Data integrity conflict. This usually means a unique or foreign key "
    "constraint was violated. See server logs for details.";

std::string block_text(std::string_view kind, const std::string& id) {
  return "Error creating deployment. Could not find " + std::string(kind) +
         " block with id: " + id +
         ". This usually occurs when applying a deployment specification that "
         "was built against a different Prefect database / workspace.";
}

// The rejection's reason as the request log names it.
std::string_view rejection_name(rejection_code c) {
  switch (c) {
  case rejection_code::unknown_flow:
    return "unknown_flow";
  case rejection_code::unknown_work_pool:
    return "unknown_work_pool";
  case rejection_code::unknown_concurrency_limit:
    return "unknown_concurrency_limit";
  case rejection_code::missing_infrastructure_block:
    return "missing_infrastructure_block";
  case rejection_code::missing_storage_block:
    return "missing_storage_block";
  case rejection_code::duplicate_schedule_slug:
    return "duplicate_schedule_slug";
  case rejection_code::deployment_not_found:
    return "deployment_not_found";
  case rejection_code::flow_not_found:
    return "flow_not_found";
  case rejection_code::integrity_conflict:
    return "integrity_conflict";
  case rejection_code::deployment_missing:
    return "deployment_missing";
  case rejection_code::unprocessable:
    return "unprocessable";
  case rejection_code::bad_request:
    return "bad_request";
  case rejection_code::conflict:
    return "conflict";
  case rejection_code::schedule_not_found:
    return "schedule_not_found";
  case rejection_code::not_found:
    return "not_found";
  case rejection_code::forbidden:
    return "forbidden";
  case rejection_code::not_found_exception:
    return "not_found_exception";
  case rejection_code::invalid_model:
    return "invalid_model";
  case rejection_code::precondition_failed:
    return "precondition_failed";
  }
  return "unknown";
}

response with_cause(response r, std::string cause) {
  r.cause = std::move(cause);
  return r;
}

response rejection_response(const events::rejection& why);
response storage_response(storage::errc e);

} // namespace

std::string dump(const json& j) {
  return events::dump_json(j);
}

response model_rejected(const events::rejection& why,
                        const json& request_body) {
  return validation_failed(
      {events::field_error{"value_error", json::array(),
                           "Value error, " + why.subject, request_body,
                           json{{"error", json::object()}}}},
      request_body);
}

response validation_failed(const events::field_errors& errors,
                           const json& request_body) {
  json detail_items = json::array();
  for (const auto& e : errors) {
    json item = json::object();
    item["type"] = e.type;
    item["loc"] = e.loc;
    item["msg"] = e.msg;
    item["input"] = e.input;
    if (!e.ctx.is_null())
      item["ctx"] = e.ctx;
    detail_items.push_back(std::move(item));
  }
  json body = json::object();
  body["exception_message"] = "Invalid request received.";
  body["exception_detail"] = std::move(detail_items);
  body["request_body"] = request_body;
  std::string cause = "invalid body";
  if (!errors.empty())
    cause += ": " + dump(errors.front().loc) + " " + errors.front().msg +
             (errors.size() > 1
                ? " (and " + std::to_string(errors.size() - 1) + " more)"
                : "");
  return with_cause(json_text(422, dump(body)), std::move(cause));
}

response detail(unsigned status, std::string_view text) {
  json body = json::object();
  body["detail"] = text;
  return json_text(status, dump(body));
}

response exception_message(unsigned status, std::string_view text) {
  json body = json::object();
  body["exception_message"] = text;
  return json_text(status, dump(body));
}

response json_text(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response no_content() {
  response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

response integrity_conflict() {
  return detail(409, integrity_text);
}

response rejected(const events::rejection& why) {
  std::string cause = "rejected: " + std::string(rejection_name(why.code));
  if (!why.subject.empty())
    cause += " " + why.subject;
  return with_cause(rejection_response(why), std::move(cause));
}

response storage_failed(storage::errc e) {
  return with_cause(storage_response(e),
                    std::string("storage: ") + storage::to_string(e));
}

namespace {

response rejection_response(const events::rejection& why) {
  switch (why.code) {
  case rejection_code::unknown_flow:
  case rejection_code::duplicate_schedule_slug:
  case rejection_code::integrity_conflict:
    return integrity_conflict();
  case rejection_code::unknown_work_pool:
    return detail(404, "Work pool \"" + why.subject + "\" not found.");
  case rejection_code::unknown_concurrency_limit:
    return detail(404, "Concurrency limit not found");
  case rejection_code::missing_infrastructure_block:
    return detail(409, block_text("infrastructure", why.subject));
  case rejection_code::missing_storage_block:
    return detail(409, block_text("storage", why.subject));
  case rejection_code::deployment_not_found:
    return detail(404, "Deployment not found");
  case rejection_code::flow_not_found:
    return detail(404, "Flow not found");
  case rejection_code::deployment_missing:
    return detail(404, "Deployment not found.");
  case rejection_code::unprocessable:
    return detail(422, why.subject);
  case rejection_code::bad_request:
    return detail(400, why.subject);
  case rejection_code::conflict:
    return detail(409, why.subject);
  case rejection_code::schedule_not_found:
    return detail(404, "Schedule not found.");
  case rejection_code::not_found:
    return detail(404, why.subject);
  case rejection_code::forbidden:
    return detail(403, why.subject);
  case rejection_code::not_found_exception:
    return exception_message(404, why.subject);
  case rejection_code::invalid_model:
    return model_rejected(why, nullptr);
  case rejection_code::precondition_failed:
    return detail(412, why.subject);
  }
  return exception_message(500, "Internal Server Error");
}

response storage_response(storage::errc e) {
  switch (e) {
  case storage::errc::no_space:
  case storage::errc::would_block:
  case storage::errc::io_error:
  case storage::errc::unavailable:
    return exception_message(503, "Service Unavailable");
  case storage::errc::too_large:
    return detail(413, "The change is larger than the replicated log accepts "
                       "in one entry (cluster.max_entry_bytes).");
  case storage::errc::version_conflict:
  case storage::errc::corruption:
  case storage::errc::invalid_argument:
    break;
  }
  return exception_message(500, "Internal Server Error");
}

} // namespace

} // namespace deployd::http
