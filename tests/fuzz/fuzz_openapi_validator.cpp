// libFuzzer target: the OpenAPI-driven validator on arbitrary JSON values.
// The first byte picks one of the multi-parameter filter bodies (or
// FlowUpdate); the rest is parsed as JSON (without exceptions) and
// validated. A coerced result must validate again without errors.
#include "http/openapi_validator.hpp"

#include "events/json.hpp"
#include "events/validation.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace deployd;
  if (size == 0)
    return 0;
  static constexpr std::string_view bodies[] = {
    "Body_read_deployments_deployments_filter_post",
    "Body_count_deployments_deployments_count_post",
    "Body_paginate_deployments_deployments_paginate_post",
    "Body_bulk_delete_deployments_deployments_bulk_delete_post",
    "Body_read_flows_flows_filter_post",
    "Body_count_flows_flows_count_post",
    "Body_paginate_flows_flows_paginate_post",
    "Body_bulk_delete_flows_flows_bulk_delete_post",
  };
  constexpr std::size_t choices = sizeof bodies / sizeof *bodies + 1;
  const auto pick = data[0] % choices;
  const auto value = events::json::parse(
    reinterpret_cast<const char*>(data) + 1,
    reinterpret_cast<const char*>(data) + size, nullptr, false);
  if (value.is_discarded())
    return 0;
  events::validator v;
  if (pick == choices - 1) {
    (void)http::validate_against(v, "FlowUpdate", value);
    return 0;
  }
  const auto coerced = http::validate_embedded_body(v, bodies[pick], value);
  if (coerced && !v.ok())
    std::abort();  // a result is only returned for a valid body
  return 0;
}
