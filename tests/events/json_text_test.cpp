#include "events/python/json_text.hpp"

#include "events/python/python_repr.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace deployd::events;

namespace {

// The text parse_json then dump_json gives back for `text`.
std::string round_trip(const std::string& text) {
  return dump_json(parse_json(text));
}

std::string digits(std::size_t n) {
  std::string out = "9";
  while (out.size() < n)
    out.push_back(static_cast<char>('0' + out.size() % 10));
  return out;
}

} // namespace

TEST_CASE("integers beyond 64 bits keep every digit through parse and dump",
          "[events][json_text]") {
  const std::string text = R"({"big":123456789012345678901234567890,)"
                           R"("neg":-123456789012345678901234567890,"list":[1,)"
                           R"(99999999999999999999999999999999999999,-1]})";
  CHECK(round_trip(text) == text);
  const auto j = parse_json(text);
  CHECK(is_big_integer(j.at("big")));
  CHECK(big_integer_text(j.at("neg")) == "-123456789012345678901234567890");
  CHECK(is_numeric(j.at("big")));
  CHECK(is_integral(j.at("big")));
  CHECK(to_double(j.at("big")) == 1.2345678901234568e29);
  // nlohmann alone keeps only a double's 17 digits.
  CHECK(json::parse(text).dump().find("1.2345678901234568e+29") !=
        std::string::npos);
}

TEST_CASE("integers that fit 64 bits stay plain numbers, typed as nlohmann "
          "types them",
          "[events][json_text]") {
  const auto j = parse_json(
      R"([18446744073709551615,18446744073709551616,-9223372036854775808,)"
      R"(-9223372036854775809,0,-0,7])");
  CHECK(j[0].is_number_unsigned());
  CHECK(is_big_integer(j[1]));
  CHECK(j[2].is_number_integer());
  CHECK(j[2].get<std::int64_t>() == INT64_MIN);
  CHECK(is_big_integer(j[3]));
  CHECK(j[4] == json::parse("0"));
  CHECK(j[6].type() == json::parse("7").type());
  CHECK(dump_json(j) ==
        "[18446744073709551615,18446744073709551616,-9223372036854775808,"
        "-9223372036854775809,0,0,7]");
}

TEST_CASE("integers beyond double range are kept too, outside strings only",
          "[events][json_text]") {
  const std::string huge = digits(400);
  const std::string text = R"({"s":"12345678901234567890123 \" )" + huge +
                           R"(","h":)" + huge + R"(,"n":-)" + huge +
                           R"(,"x":[12345678901234567890123,1.5e-7]})";
  CHECK(round_trip(text) == text);
  const auto j = parse_json(text);
  CHECK(j.at("s").is_string());
  CHECK(big_integer_text(j.at("h")) == huge);
  CHECK(to_double(j.at("h")) == HUGE_VAL);
  CHECK(to_double(j.at("n")) == -HUGE_VAL);
  CHECK(big_integer_text(j.at("x")[0]) == "12345678901234567890123");
  CHECK(j.at("x")[1].get<double>() == 1.5e-7);
  // nlohmann alone refuses the text.
  CHECK_THROWS_AS(json::parse(text), json::out_of_range);
}

TEST_CASE("Python's 4300-digit limit on integer literals is kept",
          "[events][json_text]") {
  CHECK(round_trip(digits(4300)) == digits(4300));
  CHECK(round_trip("-" + digits(4300)) == "-" + digits(4300));
  CHECK_THROWS_AS(parse_json(digits(4301)), integer_too_long);
  CHECK_THROWS_AS(parse_json("[1," + digits(4301) + "]"), integer_too_long);
  CHECK_THROWS_AS(parse_json("[1,\"x\"," + digits(5000) + ",2]"),
                  integer_too_long);
}

TEST_CASE("malformed text fails as json::parse fails", "[events][json_text]") {
  CHECK_THROWS_AS(parse_json("{not json"), json::parse_error);
  CHECK_THROWS_AS(parse_json("[1,]"), json::parse_error);
  CHECK_THROWS_AS(parse_json("[1] 2"), json::parse_error);
  CHECK_THROWS_AS(parse_json(""), json::parse_error);
  CHECK_THROWS_AS(parse_json("[01]"), json::parse_error);
  CHECK_THROWS_AS(parse_json("[" + digits(400) + ","), json::parse_error);
  CHECK_THROWS_AS(parse_json("[" + digits(400) + "x]"), json::parse_error);
  CHECK_THROWS_AS(parse_json("[" + digits(400) + ",0" + digits(30) + "]"),
                  json::parse_error);
  CHECK_THROWS_AS(parse_json("[" + digits(400) + ",-0" + digits(30) + "]"),
                  json::parse_error);
  // A float beyond double range stays refused (README: numbers beyond
  // double range).
  CHECK_THROWS_AS(parse_json("[1e400]"), json::out_of_range);
  CHECK_THROWS_AS(parse_json("[-" + digits(400) + ".5]"), json::out_of_range);
}

TEST_CASE("parse_json builds the same document as json::parse otherwise",
          "[events][json_text]") {
  for (const std::string text :
       {R"({"b":1,"a":[true,false,null,"x\u00e9\n",{"k":{}}],"f":-0.5})",
        R"({"k":1,"k":2,"j":3})", R"("top")", "42", "-7", "1.0", "[]",
        R"([[[[]]],{}])", R"({"\u0000":"\ud83d\ude00"})"}) {
    INFO(text);
    CHECK(parse_json(text) == json::parse(text));
    CHECK(parse_json(text).dump() == json::parse(text).dump());
  }
}

TEST_CASE("dump_json writes strings as nlohmann does", "[events][json_text]") {
  const json doc = {{"plain", "abc"},
                    {"escapes", "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f"},
                    {"unicode", "dé⚡ 描述 😀"},
                    {"bad", std::string("a\xff\xfe b")},
                    {"k\"ey\n", json::array({"x", 1, -2, true, nullptr})}};
  CHECK(dump_json(doc) ==
        doc.dump(-1, ' ', false, json::error_handler_t::replace));
  CHECK(dump_json(doc, json_dialect::python_ascii) ==
        doc.dump(-1, ' ', true, json::error_handler_t::replace));
}

TEST_CASE("floats print as the reference's encoder prints them",
          "[events][json_text]") {
  // pydantic-core writes floats with Rust's ryu: shortest round-trip
  // digits, fixed notation for decimal exponents -5..15, else `1e16`.
  const std::vector<std::pair<double, std::string>> cases = {
      {3600.0, "3600.0"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {2.0, "2.0"},
      {0.5, "0.5"},
      {0.1, "0.1"},
      {1.5e-7, "1.5e-7"},
      {1e-6, "1e-6"},
      {1e-5, "0.00001"},
      {1.2345e-5, "0.000012345"},
      {0.0001, "0.0001"},
      {123.456, "123.456"},
      {1e15, "1000000000000000.0"},
      {1.5e15, "1500000000000000.0"},
      {1e16, "1e16"},
      {1.2345678901234568e29, "1.2345678901234568e29"},
      {-2.5e-10, "-2.5e-10"},
      {1e22, "1e22"},
      {1.7976931348623157e308, "1.7976931348623157e308"},
      {5e-324, "5e-324"},
      {90061.5, "90061.5"},
  };
  for (const auto& [value, text] : cases) {
    INFO(text);
    CHECK(float_text(value) == text);
    CHECK(dump_json(json(value)) == text);
    CHECK(parse_json(text).get<double>() == value); // round-trips
  }
  CHECK(float_text(HUGE_VAL) == "null");
  CHECK(dump_json(json(std::nan(""))) == "null");
}

TEST_CASE("the Python dialect prints floats as repr() and escapes non-ASCII",
          "[events][json_text]") {
  const auto j =
      parse_json(R"({"a":1.5e-7,"b":1e16,"c":1e15,"d":3600.0,"e":1e-5,"f":"é",)"
                 R"("g":123456789012345678901234567890})");
  CHECK(dump_json(j, json_dialect::python_ascii) ==
        R"({"a":1.5e-07,"b":1e+16,"c":1000000000000000.0,"d":3600.0,)"
        R"("e":1e-05,"f":"\u00e9","g":123456789012345678901234567890})");
  CHECK(python_float_repr(1e15) == "1000000000000000.0");
  CHECK(python_float_repr(1e-5) == "1e-05");
  CHECK(python_repr(j.at("g")) == "123456789012345678901234567890");
  CHECK(python_repr(parse_json("[" + digits(30) + "]")) ==
        "[" + digits(30) + "]");
}

TEST_CASE("big integers compare by value, not as the same text elsewhere",
          "[events][json_text]") {
  const auto a = parse_json("123456789012345678901234567890");
  const auto b = parse_json("123456789012345678901234567890");
  const auto c = parse_json("123456789012345678901234567891");
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != json(1.2345678901234568e29));
  CHECK(a != json("123456789012345678901234567890"));
}
