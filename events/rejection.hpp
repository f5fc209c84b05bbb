// Why the domain refused a well-formed command.
//
// A rejection is a normal outcome of `decide`, never an error: it carries a
// reason code and the subject it is about (a name or an id), and `http/`
// alone turns it into a status and body. Codes are stable numbers; append,
// never renumber. Knows nothing of HTTP, storage or CAF.
#pragma once

#include <cstdint>
#include <string>

namespace deployd::events {

enum class rejection_code : std::uint8_t {
  unknown_flow = 1,                 ///< flow_id names no flow (integrity)
  unknown_work_pool = 2,            ///< subject: the pool name
  unknown_concurrency_limit = 3,    ///< global_concurrency_limit_id
  missing_infrastructure_block = 4, ///< subject: the document id
  missing_storage_block = 5,        ///< subject: the document id
  duplicate_schedule_slug = 6,      ///< two schedules share a slug (integrity)
  deployment_not_found = 7,         ///< GET/DELETE spelling, no period
  flow_not_found = 8,
  integrity_conflict = 9,  ///< any other unique/foreign-key rule
  deployment_missing = 10, ///< PATCH spelling: "Deployment not found."
  unprocessable = 11,      ///< 422 with `subject` as the detail text
  bad_request = 12,        ///< 400 with `subject` as the detail text
  conflict = 13,           ///< 409 with `subject` as the detail text
  schedule_not_found = 14, ///< "Schedule not found."
  not_found = 15,          ///< 404 with `subject` as the detail text
  forbidden = 16,          ///< 403 with `subject` as the detail text
  not_found_exception = 17, ///< 404 `{"exception_message": subject}`
  invalid_model = 18, ///< 422 body B: one value_error at loc [], `subject`
  precondition_failed = 19, ///< 412 with `subject` as the detail text
};

struct rejection {
  rejection_code code;
  std::string subject;

  bool operator==(const rejection&) const = default;
};

} // namespace deployd::events
