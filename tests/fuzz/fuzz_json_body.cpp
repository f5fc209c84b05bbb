// libFuzzer target: the raw-body checks of http/json_body and the exact JSON
// reader behind them. Any bytes go through precheck_json_body; those it
// passes (valid UTF-8, sane depth) go through python_json_error, which must
// then either accept the text or name a position inside it, and through
// events::parse_json, which must accept exactly what nlohmann's parser
// accepts (plus integers beyond double range, minus literals beyond Python's
// 4300 digits), build the same document when no integer exceeds 64 bits, and
// read back its own dump_json text as the same document.
#include "events/python/json_body.hpp"

#include "events/python/json_text.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace {

using deployd::events::json;

// Whether any value of `j` is a big integer.
bool has_big_integer(const json& j) {
  if (deployd::events::is_big_integer(j))
    return true;
  if (j.is_structured())
    for (const auto& item : j)
      if (has_big_integer(item))
        return true;
  return false;
}

void check_exact_reader(std::string_view body) {
  std::optional<json> reference;
  bool integer_overflow = false;
  try {
    reference = json::parse(body);
  } catch (const json::out_of_range& e) {
    integer_overflow = e.id == 406;
  } catch (const json::exception&) {
  }
  std::optional<json> exact;
  try {
    exact = deployd::events::parse_json(body);
  } catch (const deployd::events::integer_too_long&) {
    return;
  } catch (const json::exception&) {
  }
  if (reference && !exact)
    std::abort();
  if (exact && !reference && !integer_overflow)
    std::abort();
  if (!exact)
    return;
  if (reference && !has_big_integer(*exact) && *exact != *reference)
    std::abort();
  const auto text = deployd::events::dump_json(*exact);
  if (deployd::events::parse_json(text) != *exact)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (deployd::events::precheck_json_body(body) !=
      deployd::events::body_problem::none)
    return 0;
  const auto error = deployd::events::python_json_error(body);
  // A position counts characters, never more than there are bytes.
  if (error && error->position > size)
    std::abort();
  check_exact_reader(body);
  return 0;
}
