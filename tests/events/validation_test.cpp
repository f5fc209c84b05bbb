#include "events/validation.hpp"

#include <catch2/catch.hpp>

using namespace deployd::events;

TEST_CASE("lax scalar checks coerce as pydantic does", "[events][validation]") {
  validator v;
  CHECK(v.integer(json("3")) == 3);
  CHECK(v.integer(json(" 4.00 ")) == 4);
  CHECK(v.integer(json(true)) == 1);
  CHECK(v.integer(json(2.0)) == 2);
  CHECK(v.boolean(json("yes")) == true);
  CHECK(v.boolean(json(0)) == false);
  CHECK(v.boolean(json(1.0)) == true);
  CHECK(v.number(json(true)) == 1.0);
  CHECK(v.ok());

  CHECK_FALSE(v.integer(json(1.5)));
  CHECK_FALSE(v.integer(json("x")));
  CHECK_FALSE(v.integer(json::array()));
  CHECK_FALSE(v.boolean(json(2)));
  CHECK_FALSE(v.boolean(json(nullptr)));
  REQUIRE(v.count() == 5);
  CHECK(v.errors()[0].type == "int_from_float");
  CHECK(v.errors()[1].type == "int_parsing");
  CHECK(v.errors()[2].type == "int_type");
  CHECK(v.errors()[3].type == "bool_parsing");
  CHECK(v.errors()[4].type == "bool_type");
  CHECK(v.errors()[0].loc == json::array({"body"}));
}

TEST_CASE("locations follow the walk into nested values",
          "[events][validation]") {
  validator v;
  {
    auto a = v.at("schedules");
    auto b = v.at(0);
    v.missing(json::object(), "schedule");
  }
  v.value_error("boom", json(1));
  REQUIRE(v.count() == 2);
  CHECK(v.errors()[0].loc == json::array({"body", "schedules", 0, "schedule"}));
  CHECK(v.errors()[0].msg == "Field required");
  CHECK(v.errors()[1].loc == json::array({"body"}));
  CHECK(v.errors()[1].msg == "Value error, boom");
  CHECK(v.errors()[1].ctx == json{{"error", json::object()}});
}

TEST_CASE("UUID errors use the Rust uuid crate's wording",
          "[events][validation]") {
  CHECK(uuid_parse_error("not-a-uuid") == "invalid character: found `n` at 1");
  CHECK(uuid_parse_error("abc") ==
        "invalid length: expected length 32 for simple format, found 3");
  CHECK(uuid_parse_error("0000-0000") ==
        "invalid group count: expected 5, found 2");
  CHECK(uuid_parse_error("00000000-0000-0000-0000-0000000000000") ==
        "invalid group length in group 4: expected 12, found 13");
  CHECK(uuid_parse_error("000000000-000-0000-0000-000000000000") ==
        "invalid group length in group 0: expected 8, found 9");
  CHECK(parse_lenient_uuid("3F9C0B521D0E4A7C9A531C2F5E0B7D11")->str() ==
        "3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11");
  CHECK(parse_lenient_uuid("{3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11}"));
  CHECK(parse_lenient_uuid("urn:uuid:3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11"));
}

TEST_CASE("python truthiness and thousands separators",
          "[events][validation]") {
  CHECK_FALSE(python_truthy(json(0)));
  CHECK_FALSE(python_truthy(json("")));
  CHECK_FALSE(python_truthy(json::object()));
  CHECK(python_truthy(json("0")));
  CHECK(python_truthy(json(0.1)));
  CHECK(with_thousands(524288) == "524,288");
  CHECK(with_thousands(1000011) == "1,000,011");
  CHECK(with_thousands(999) == "999");
  CHECK(with_thousands(1000) == "1,000");
}
