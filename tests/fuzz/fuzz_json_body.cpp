// libFuzzer target: the raw-body checks of http/json_body. Any bytes go
// through precheck_json_body; those it passes (valid UTF-8, sane depth) go
// through python_json_error, which must then either accept the text or name
// a position inside it.
#include "http/json_body.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (deployd::http::precheck_json_body(body) !=
      deployd::http::body_problem::none)
    return 0;
  const auto error = deployd::http::python_json_error(body);
  // A position counts characters, never more than there are bytes.
  if (error && error->position > size)
    std::abort();
  return 0;
}
