#include "events/hydration.hpp"

#include "events/python/json_text.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using events::json;

TEST_CASE("json-kind parameters keep integers beyond 64 bits exactly",
          "[http][hydration][numbers]") {
  const auto hydrated = events::hydrate_parameters(events::parse_json(
      R"({"x":{"__prefect_kind":"json",)"
      R"("value":"[123456789012345678901234567890, 1.5e-7]"}})"));
  REQUIRE(hydrated);
  CHECK(events::dump_json(*hydrated) ==
        R"({"x":[123456789012345678901234567890,1.5e-7]})");
  const auto too_long = events::hydrate_parameters(events::parse_json(
      R"({"x":{"__prefect_kind":"json","value":")" + std::string(4301, '9') +
      R"("}})"));
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().starts_with("Invalid JSON: Exceeds the limit"));
}

TEST_CASE("jinja renders numbers as Python's str() and refuses what it cannot "
          "hold",
          "[http][hydration][numbers]") {
  CHECK(events::render_jinja("{{ 1.5 }}") == "1.5");
  CHECK(events::render_jinja("{{ 1000000000000000.0 }}") ==
        "1000000000000000.0");
  CHECK(events::render_jinja("{{ 0.00001 }}") == "1e-05");
  CHECK(events::render_jinja("{{ 1" + std::string(400, '0') + ".5 }}") ==
        "inf");
  // Python would keep the integer; a 4xx beats the 503 a thrown stoll gave.
  const auto big = events::render_jinja("{{ 99999999999999999999 }}");
  REQUIRE_FALSE(big);
  CHECK(big.error() == "integer literal 99999999999999999999 does not fit "
                       "64 bits");
}

TEST_CASE("jinja integer arithmetic refuses results beyond 64 bits",
          "[http][hydration][numbers]") {
  CHECK(events::render_jinja("{{ 3000000000 * 3 }}") == "9000000000");
  CHECK(events::render_jinja("{{ 2 ** 62 }}") == "4611686018427387904");
  CHECK(events::render_jinja("{{ 3 ** 39 }}") == "4052555153018976267");
  CHECK(events::render_jinja("{{ 1 ** 4000000000 }}") == "1");
  for (const char* text : {"{{ 9223372036854775807 + 1 }}",
                           "{{ -9223372036854775807 - 2 }}",
                           "{{ 9999999999 * 9999999999 }}", "{{ 2 ** 64 }}",
                           "{{ -(-9223372036854775807 - 1) }}"}) {
    INFO(text);
    const auto r = events::render_jinja(text);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "integer result does not fit 64 bits");
  }
}
