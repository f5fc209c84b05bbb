// Unit tests for the JSON body checks. Every expected (message, position)
// pair was produced by CPython 3.11.7 running `json.loads` on the same bytes,
// with `N` and `I` replaced by `x` so that NaN and Infinity are unknown
// (which changes nothing else: neither letter is valid outside strings, and
// both are plain or invalid-escape characters inside them).
#include "events/python/json_body.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace {

using deployd::events::body_problem;
using deployd::events::json_decode_error;
using deployd::events::precheck_json_body;
using deployd::events::python_json_error;
using namespace std::string_view_literals;

// -- helpers -----------------------------------------------------------------

/// One input and what CPython does with it; an empty message means
/// `json.loads` accepts the text.
struct python_case {
  std::string_view body;
  std::string_view message;
  std::size_t position;
};

/// `body` with bytes outside printable ASCII written as \xHH, for failure
/// messages.
std::string printable(std::string_view body) {
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  for (const char c : body) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(digits[byte >> 4]);
      out.push_back(digits[byte & 0x0f]);
    }
  }
  return out;
}

void check_cases(std::span<const python_case> cases) {
  for (const auto& expected : cases) {
    INFO("body: " << printable(expected.body));
    const auto error = python_json_error(expected.body);
    if (expected.message.empty()) {
      CHECK_FALSE(error.has_value());
      continue;
    }
    REQUIRE(error.has_value());
    CHECK(error->message == expected.message);
    CHECK(error->position == expected.position);
  }
}

// -- expected values from CPython 3.11.7 -------------------------------------

constexpr python_case expecting_value_cases[] = {
  {"", "Expecting value", 0},
  {" ", "Expecting value", 1},
  {" \t\n\r", "Expecting value", 4},
  {"\357\273\277", "Expecting value", 0},
  {"\357\273\277  ", "Expecting value", 2},
  {"x", "Expecting value", 0},
  {"-", "Expecting value", 0},
  {"-x", "Expecting value", 0},
  {"+1", "Expecting value", 0},
  {".5", "Expecting value", 0},
  {"[-]", "Expecting value", 1},
  {"{\"a\": -}", "Expecting value", 6},
  {"]", "Expecting value", 0},
  {"}", "Expecting value", 0},
  {",", "Expecting value", 0},
  {"nul", "Expecting value", 0},
  {"tru", "Expecting value", 0},
  {"fals", "Expecting value", 0},
  {"nulL", "Expecting value", 0},
  {"True", "Expecting value", 0},
  {"None", "Expecting value", 0},
  {"NaN", "Expecting value", 0},
  {"Infinity", "Expecting value", 0},
  {"-Infinity", "Expecting value", 0},
  {"[NaN]", "Expecting value", 1},
  {"{\"a\": Infinity}", "Expecting value", 6},
  {"[1, -Infinity]", "Expecting value", 4},
  {"  NaN", "Expecting value", 2},
  {"\"NaN\" NaN", "Extra data", 6},
  {"[1,]", "Expecting value", 3},
  {"[1, ]", "Expecting value", 4},
  {"[", "Expecting value", 1},
  {"[ ", "Expecting value", 2},
  {"{\"a\":", "Expecting value", 5},
  {"{\"a\": ", "Expecting value", 6},
  {"{\"a\": }", "Expecting value", 6},
  {"[[[[", "Expecting value", 4},
};

constexpr python_case extra_data_cases[] = {
  {"1 2", "Extra data", 2},
  {"{} {}", "Extra data", 3},
  {"[] x", "Extra data", 3},
  {"\"a\" \"b\"", "Extra data", 4},
  {"nullx", "Extra data", 4},
  {"truefalse", "Extra data", 4},
  {"1.", "Extra data", 1},
  {"1.e5", "Extra data", 1},
  {"01", "Extra data", 1},
  {"-01", "Extra data", 2},
  {"1e", "Extra data", 1},
  {"1e+", "Extra data", 1},
  {"1E-", "Extra data", 1},
  {"1ex", "Extra data", 1},
  {"0x10", "Extra data", 1},
  {"1_000", "Extra data", 1},
  {"12 ", "", 0},
  {"{}\n\n]", "Extra data", 4},
};

constexpr python_case delimiter_cases[] = {
  {"[1 2]", "Expecting ',' delimiter", 3},
  {"[1 2", "Expecting ',' delimiter", 3},
  {"[1:2]", "Expecting ',' delimiter", 2},
  {"[1.]", "Expecting ',' delimiter", 2},
  {"[1e+]", "Expecting ',' delimiter", 2},
  {"[01]", "Expecting ',' delimiter", 2},
  {"[\"a\" \"b\"]", "Expecting ',' delimiter", 5},
  {"{\"a\" 1}", "Expecting ':' delimiter", 5},
  {"{\"a\"", "Expecting ':' delimiter", 4},
  {"{\"a\" ", "Expecting ':' delimiter", 5},
  {"{\"a\": 1 \"b\": 2}", "Expecting ',' delimiter", 8},
  {"{\"a\": 1", "Expecting ',' delimiter", 7},
  {"{\"a\": 1 ", "Expecting ',' delimiter", 8},
  {"{\"a\"::1}", "Expecting value", 5},
  {"{\"a\": 1;}", "Expecting ',' delimiter", 7},
};

constexpr python_case property_name_cases[] = {
  {"{", "Expecting property name enclosed in double quotes", 1},
  {"{ ", "Expecting property name enclosed in double quotes", 2},
  {"{\"a\":1,}", "Expecting property name enclosed in double quotes", 7},
  {"{\"a\": 1, }", "Expecting property name enclosed in double quotes", 9},
  {"{\"name\": \"x\", ", "Expecting property name enclosed in double quotes",
   14},
  {"{'a': 1}", "Expecting property name enclosed in double quotes", 1},
  {"{a: 1}", "Expecting property name enclosed in double quotes", 1},
  {"{1: 2}", "Expecting property name enclosed in double quotes", 1},
  {"{,}", "Expecting property name enclosed in double quotes", 1},
  {"{\"a\": {\"b\": [1, {]}}",
   "Expecting property name enclosed in double quotes", 17},
};

constexpr python_case string_cases[] = {
  {"\"", "Unterminated string starting at", 0},
  {"\"abc", "Unterminated string starting at", 0},
  {"[\"abc", "Unterminated string starting at", 1},
  {"{\"a\": \"b", "Unterminated string starting at", 6},
  {"{\"a", "Unterminated string starting at", 1},
  {"\"\\", "Unterminated string starting at", 0},
  {"\"abc\\", "Unterminated string starting at", 0},
  {"\"a\nb\"", "Invalid control character at", 2},
  {"\"\001\"", "Invalid control character at", 1},
  {"[\"ok\", \"\t\"]", "Invalid control character at", 8},
  {"\"\037\"", "Invalid control character at", 1},
  {"\"\\x41\"", "Invalid \\escape", 1},
  {"\"\\a\"", "Invalid \\escape", 1},
  {"\"\\'\"", "Invalid \\escape", 1},
  {"\"\\U0041\"", "Invalid \\escape", 1},
  {"\"\\ \"", "Invalid \\escape", 1},
  {"\"\\\"", "Unterminated string starting at", 0},
  {"\"\\\\\"", "", 0},
  {"\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "", 0},
  {"\"\\u\"", "Invalid \\uXXXX escape", 2},
  {"\"\\u12\"", "Invalid \\uXXXX escape", 2},
  {"\"\\u123\"", "Invalid \\uXXXX escape", 2},
  {"\"\\u1234", "Invalid \\uXXXX escape", 2},
  {"\"\\u1234\"", "", 0},
  {"\"\\u12g4\"", "Invalid \\uXXXX escape", 2},
  {"\"\\uGGGG\"", "Invalid \\uXXXX escape", 2},
  {"\"\\u00e9\"", "", 0},
  {"\"\\u00E9\"", "", 0},
  {"\"\\u+123\"", "Invalid \\uXXXX escape", 2},
  {"\"\\u 123\"", "Invalid \\uXXXX escape", 2},
  {"\"\\ud800\"", "", 0},
  {"\"\\udc00\"", "", 0},
  {"\"\\ud800\\udc00\"", "", 0},
  {"\"\\ud83d\\ude00\"", "", 0},
  {"\"\\ud800\\u\"", "Invalid \\uXXXX escape", 8},
  {"\"\\ud800\\u12\"", "Invalid \\uXXXX escape", 8},
  {"\"\\ud800\\udcxx\"", "Invalid \\uXXXX escape", 8},
  {"\"\\ud800\\u0041\"", "", 0},
  {"\"\\ud800\\udc00", "Invalid \\uXXXX escape", 8},
  {"\"\\ud800\\udc0", "Invalid \\uXXXX escape", 8},
  {"\"\\ud800x\"", "", 0},
  {"\"\\ud800\\n\"", "", 0},
  {"\"\\ud800\\ud800\"", "", 0},
};

constexpr python_case accepted_cases[] = {
  {"null", "", 0},
  {"true", "", 0},
  {"false", "", 0},
  {"0", "", 0},
  {"-0", "", 0},
  {"-0.0e-0", "", 0},
  {"1.5E+10", "", 0},
  {"123", "", 0},
  {" [ ] ", "", 0},
  {"{}", "", 0},
  {"{\"a\": [1, 2.5, \"x\", null, true, false, {}]}", "", 0},
  {"\"\\u00e9\"", "", 0},
  {"\357\273\277{}", "", 0},
};

constexpr python_case multibyte_cases[] = {
  {"{\"\303\251\": }", "Expecting value", 6},
  {"[\"\360\237\230\200\", ]", "Expecting value", 6},
  {"{\"\342\202\254\342\202\254\": 1 \"b\": 2}", "Expecting ',' delimiter", 9},
  {"\"\303\251\001\"", "Invalid control character at", 2},
  {"\"\360\237\230\200", "Unterminated string starting at", 0},
  {"[\"\303\251\" \"x\"]", "Expecting ',' delimiter", 5},
  {"\303\251", "Expecting value", 0},
  {"\"\342\202\254\" \303\251", "Extra data", 4},
  {"{\"\303\251\": \"\\q\"}", "Invalid \\escape", 7},
  {"{\"\303\251\": \"\\u12\"}", "Invalid \\uXXXX escape", 8},
  {"\357\273\277[1,]", "Expecting value", 3},
  {"[\"\342\200\250\", x]", "Expecting value", 6},
  {"{\"a\": \"\355\237\277\", \"b\": \357\273\277}", "Expecting value", 16},
};

// Random inputs (seeded generator, up to 25 per outcome) over JSON
// punctuation, literals, escapes and multi-byte text.
constexpr python_case generated_cases[] = {
  {"{\"\303\251\": {\"\303\274\": [1e, \"\"]}}", "Expecting ',' delimiter", 14},
  {"[1E, 2.0, {\"a\": []}, \"\\u00e9\\n\", false]", "Expecting ',' delimiter",
   2},
  {"{\"name\": \"x\", \"tags\": [\"at\", \"b\"], \"n\": -1.5e3, \"ok\": true "
   "\"z\": null}",
   "Expecting ',' delimiter", 59},
  {"[1, 2.0, {\"a\": [ ]}, 7\"\\u00e9\\n\", false]", "Expecting ',' delimiter",
   22},
  {"[1, 2.0, {\"a\": [ ]\001}, \"\\u00e\\n\", false]",
   "Expecting ',' delimiter", 18},
  {"{\"name\": \"x\", \"tags\": [\"a\"[,", "Expecting ',' delimiter", 26},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\n\" \"false]", "Expecting ',' delimiter",
   32},
  {"[8n8\360\237\230\200NaNs ", "Expecting ',' delimiter", 2},
  {"[1, 2.I0,", "Expecting ',' delimiter", 5},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": truer, "
   "\"z\": null}",
   "Expecting ',' delimiter", 57},
  {"[1, 2.0, 8{\"a\": [ ]}, \"\\u00e9\\n\", false]", "Expecting ',' delimiter",
   10},
  {"[1, 2..0, {\"a\": [ ]}, \"\\", "Expecting ',' delimiter", 5},
  {"{\"\303\251\": 7{\"u\303\274\": [1e5, \"\360\237\230\200\"]}}",
   "Expecting ',' delimiter", 7},
  {"{\"\303\251\":6 {\"\303\274\": [1e5, \"\360\237\230\200\"]}",
   "Expecting ',' delimiter", 7},
  {"{\"\303\251\": 3{\"\303\274\": [1eE5, \"\360\237\230\200\"]}}",
   "Expecting ',' delimiter", 7},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": nulla}",
   "Expecting ',' delimiter", 68},
  {"[\"\\ud800\"\\udc00\tInfinity\"\\ud800\",4", "Expecting ',' delimiter", 9},
  {"[1, 2.0, {\"3a\": [ ]}, 4\"\\u00e9\\n\", false]", "Expecting ',' delimiter",
   23},
  {"{\"\303\251\": {\"\303\2742\": [1e5, \"\360\237\230\200\"}}",
   "Expecting ',' delimiter", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9I\\n\", false", "Expecting ',' delimiter",
   39},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e\"3, \"k\": true, "
   "\"z\": null}",
   "Expecting ',' delimiter", 43},
  {"{\"name\": \"x\", \"tags\": [\"a\"I,\"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Expecting ',' delimiter", 26},
  {"{\"name\":9 \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\":  null}",
   "Expecting ',' delimiter", 10},
  {"[1, 2., {\"a\": [ ]}, \"\\u00:e9\\n\", false]", "Expecting ',' delimiter",
   5},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"]4, \"n\":",
   "Expecting ',' delimiter", 32},
  {"{\"name\":{ \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\"",
   "Expecting ':' delimiter", 13},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": 1.5e3, \"ok\": true, "
   "\"z\"]: null}",
   "Expecting ':' delimiter", 61},
  {"[1, 2.0, {\"a\" r[ ]}, \"\\u00e9\\n\", false]", "Expecting ':' delimiter",
   14},
  {"{\"\303\251\" {\"\303\274\": [1ea5, \"\360\237\230\200\"]}}",
   "Expecting ':' delimiter", 5},
  {"{\"\303\251\"r: {\"\303\274\": [[1e5, \"\360\237\230\200\"]}}",
   "Expecting ':' delimiter", 4},
  {"[1, 2.0, {\"a\" [ ]}, \"\\u00e9\\n\", alse]", "Expecting ':' delimiter",
   14},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\"n: -1.5e3, \"ok\": "
   "true,\"z\": null}",
   "Expecting ':' delimiter", 37},
  {"{\"name: \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"",
   "Expecting ':' delimiter", 9},
  {"{\"\303\251 \": {\"\303\274\": 1e5, \"\360\237\230\200\"]}}",
   "Expecting ':' delimiter", 21},
  {"{\"name\"t \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Expecting ':' delimiter", 7},
  {"[1, 2.0, {\"a: [ ]}, \"\\u00e9\\n\", \nfalse]", "Expecting ':' delimiter",
   21},
  {"{\"\303\251\": {\"\303\274\"", "Expecting ':' delimiter", 10},
  {"{\"name\": \"x\", \"tgs\"\001: [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": "
   "true, \"z\": null}",
   "Expecting ':' delimiter", 19},
  {"{\"\303\251\"/: {\"\303\274\": [1e5, \360\237\230\200\"]}}",
   "Expecting ':' delimiter", 4},
  {"{\"name\":\"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\"e: true, "
   "\"z\": null}",
   "Expecting ':' delimiter", 50},
  {"{\"name\": \"x\", \"taEgs\": [\"a\", \"b\"], \"n: -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Expecting ':' delimiter", 48},
  {"{\"name\"I: \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": tre, "
   "\"z\": null}",
   "Expecting ':' delimiter", 7},
  {"{\"name\" \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3,",
   "Expecting ':' delimiter", 8},
  {"{\"\303\251\": {\"\303\274: [1e5, \"\360\237\230\200\"]}}",
   "Expecting ':' delimiter", 18},
  {"{\"\303\251\"6: {\"\303\274\": [1e5 \"\360\237\230\200\"]}}",
   "Expecting ':' delimiter", 4},
  {"{\"\303\251\": {\"\303\274\" [1e5, \"\360\237\230\200\"]}}\t",
   "Expecting ':' delimiter", 11},
  {"{\"\303\251\"]: {\"\303\274", "Expecting ':' delimiter", 4},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"\" -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Expecting ':' delimiter", 37},
  {"{\"\303\251\"f: ", "Expecting ':' delimiter", 4},
  {"{\"\303\251\": {\"\"\303\274\": \n[1e5, \"\360\237\230\200\"]}}",
   "Expecting ':' delimiter", 9},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true,E "
   "\"z\": null",
   "Expecting property name enclosed in double quotes", 58},
  {"\n{s\\u", "Expecting property name enclosed in double quotes", 2},
  {"{name\": \"x\", \"tags\"",
   "Expecting property name enclosed in double quotes", 1},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "a\"z\": null}",
   "Expecting property name enclosed in double quotes", 59},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"],[ \"n\": -1.5e3, \"ok\": trure, "
   "\"z\": null}",
   "Expecting property name enclosed in double quotes", 33},
  {"[1, 2.0, {s\"a\": [ ]}, \"\\u00e9\\n\", false]",
   "Expecting property name enclosed in double quotes", 10},
  {"{s-0tE3\"a\"3\\udc00, ",
   "Expecting property name enclosed in double quotes", 1},
  {"{{Infinity", "Expecting property name enclosed in double quotes", 1},
  {"{\303\251\": {\"\303\274\": [1e5, \"\360\237\230\200\"]}}2",
   "Expecting property name enclosed in double quotes", 1},
  {"{\"name\": \"x\", \"ta]gs\": [\"a\", \"b\"], n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Expecting property name enclosed in double quotes", 35},
  {"{1.5e+3E\\4NaN\\48.", "Expecting property name enclosed in double quotes",
   1},
  {"{\303\251\": {\"\303\274\": [1e5:, \"\360\237\230\200\"]}}",
   "Expecting property name enclosed in double quotes", 1},
  {"{6E", "Expecting property name enclosed in double quotes", 1},
  {"{N-truee", "Expecting property name enclosed in double quotes", 1},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "z\": n\360\237\230\200ull}",
   "Expecting property name enclosed in double quotes", 59},
  {"{\303\251\": {\"\303\274\": [1e5,8 \"\360\237\230\200\"]}}",
   "Expecting property name enclosed in double quotes", 1},
  {"[1, 20, {a\"a\": [ ]}, \"\\u00e9\\n\", false]",
   "Expecting property name enclosed in double quotes", 9},
  {"{.\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": rue, "
   "\"z\": null}",
   "Expecting property name enclosed in double quotes", 1},
  {"{a[\\", "Expecting property name enclosed in double quotes", 1},
  {"{true6[\\u1.5e+36/", "Expecting property name enclosed in double quotes",
   1},
  {"{[Infinity22NaNN]u\"\\u00e9\"",
   "Expecting property name enclosed in double quotes", 1},
  {"{:If, a2-", "Expecting property name enclosed in double quotes", 1},
  {"{\303\251\"E: {\"\303\274\": [1e5, \"\360\237\230\200\"]}}",
   "Expecting property name enclosed in double quotes", 1},
  {" {/", "Expecting property name enclosed in double quotes", 2},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], n\": -16.5e3, \"ok\": true, "
   "\"z\": null}",
   "Expecting property name enclosed in double quotes", 34},
  {".Infinity:\\udc000[\"\\u00e9\"", "Expecting value", 0},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": +-1.5e3, \"ok\": trueN, "
   "\"z\": null}",
   "Expecting value", 39},
  {"/e\"\\ud800\"-Infinity,]7\"\\ud800\"\001", "Expecting value", 0},
  {"l5\"a\"l\n-0ar", "Expecting value", 0},
  {"Infinity36\n\"\\ud83d\\ude00\"9", "Expecting value", 0},
  {"\\f[2\\udc00", "Expecting value", 0},
  {"Infinityal]\n\\u", "Expecting value", 0},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": nu7ll}",
   "Expecting value", 64},
  {"\001\\udc00falsen-1.5e+3-Infinity", "Expecting value", 0},
  {" , :", "Expecting value", 1},
  {"[\303\251]l", "Expecting value", 1},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\n\", f-alse]", "Expecting value", 33},
  {"{\"name\": \"x\", \"tags\":N [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Expecting value", 21},
  {", true-Infinitya\n{{\"\\ud800\"9,", "Expecting value", 0},
  {"}\"\\ud83d\\ude00\",", "Expecting value", 0},
  {"NaN\360\237\230\200false9,false}]", "Expecting value", 0},
  {"[1, 2.0, {\"a\": [ ]}, \"7\\u00e9\\n\", falsNe]", "Expecting value", 34},
  {"-Infinity9\"k\":--nI\001", "Expecting value", 0},
  {"r\303\251[sE\"l[\"k\":\t", "Expecting value", 0},
  {"E, :}]r", "Expecting value", 0},
  {"{\"nam.e\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": tr1ue, "
   "\"z\": null}",
   "Expecting value", 54},
  {"\360\237\230\200\"k\":\"\\u00e9\"", "Expecting value", 0},
  {"-Infinity:\"\\u00e9\"[tl]+", "Expecting value", 0},
  {"Is4l/", "Expecting value", 0},
  {"[1, 2.0, {\"a\": [ ]}, .\"\\u00e9\\n\", fa7lse]", "Expecting value", 21},
  {"\"\\ud800\"a\"k\":6/}1", "Extra data", 8},
  {"null1.5e+3true31\\udc00, 9", "Extra data", 4},
  {"-0\001\"\360\237\230\200", "Extra data", 2},
  {"6u]9s[4", "Extra data", 1},
  {"\"\\ud83d\\ude00\"[\360\237\230\2001\"a\"NaN,", "Extra data", 14},
  {"\"\\u00e9\"\"a\"t0\n86", "Extra data", 8},
  {"\"k\":\"\\ud800\":\n\360\237\230\2007", "Extra data", 3},
  {"3{\"\303\251\":a {\"\303\274\": [1e5, \"\360\237\230\200\"]}}",
   "Extra data", 1},
  {" \"\\ud83d\\ude00\"l", "Extra data", 15},
  {"52+[\\u", "Extra data", 2},
  {"1.5e+3\"k\":-Infinityu}.,n2.", "Extra data", 6},
  {"8{\"", "Extra data", 1},
  {"9NaN{", "Extra data", 1},
  {"8 }[3{0eNaN, ", "Extra data", 2},
  {"5false\"", "Extra data", 1},
  {"0\ns1.5e+3f{", "Extra data", 2},
  {"8a 0/3\\udc00}", "Extra data", 1},
  {"90E8/l\"\\ud800\"\"a\"/7", "Extra data", 4},
  {" \"k\":{", "Extra data", 4},
  {"null[\360\237\230\200]false", "Extra data", 4},
  {"\"\\ud800\"\303\251", "Extra data", 8},
  {" \"\\ud83d\\ude00\"rE\\udc00\\\"\\u00e9\"1.5e+3e7", "Extra data", 15},
  {"2\\udc00a\\udc00nE", "Extra data", 1},
  {"true1t\360\237\230\200", "Extra data", 4},
  {"1}0-Infinity{E", "Extra data", 1},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\[nf\", false]", "Invalid \\escape", 28},
  {"[1, 20, {\"a\": [ ]}, \"\\u00e9\\In\", false]", "Invalid \\escape", 27},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\En\" false]", "Invalid \\escape", 28},
  {"[1, 2.0, {\"a\": [ ]}, \"\\au00e9\\n\", false]", "Invalid \\escape", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"u00e9\\sn\", false]", "Invalid \\escape", 27},
  {"{\"name\": \"\\x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Invalid \\escape", 10},
  {"\"I\\-Infinitya-0", "Invalid \\escape", 2},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\5n\", false]", "Invalid \\escape", 28},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\,n\", false]", "Invalid \\escape", 28},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\}n\", false]", "Invalid \\escape", 28},
  {"[1, 2.0, {\"a\": [ ]}, \"\\[u00e\\n\", false]", "Invalid \\escape", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\In\"a, false]", "Invalid \\escape", 28},
  {"[1, 2.0, {\"a\": [ ]}, \"\\00e9\\n", "Invalid \\escape", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"r\\]u00e9\\n\", false]", "Invalid \\escape", 23},
  {"[1, 2.0, {\"a\": [ ]}, \"\\00e9\\n\", falseI]", "Invalid \\escape", 22},
  {"[1,\" 2.0, \\{\"a\": [ ]}, \"\\u00e9\\n\", false]", "Invalid \\escape", 10},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\an\", false]", "Invalid \\escape", 28},
  {"[1, 2.0, {\"a\": [ ]}, \"\\I]u00e9\\n\", false]", "Invalid \\escape", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"\\5u00e9\\n\", false]", "Invalid \\escape", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"\\00e9\\n\", fale]", "Invalid \\escape", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"\\00e9\\", "Invalid \\escape", 22},
  {"{\"n\\ame\": \"x\", \"tags\": [\"a\", \"b:\"], \"n\": -1.5e3, \"ok\": "
   "true, \"z\": null}",
   "Invalid \\escape", 3},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\an\", fase]", "Invalid \\escape", 28},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"\\ok\": tr",
   "Invalid \\escape", 48},
  {"[1, 2.0, {\"a\": [ ]},\"\\u00e9\\[n\", false]", "Invalid \\escape", 27},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e+9\\n\", ", "Invalid \\uXXXX escape", 23},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e,9\\n\", alse]", "Invalid \\uXXXX escape",
   23},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u009\\n\", fa\nlse]", "Invalid \\uXXXX escape",
   23},
  {"[1, 2.0,{\"a\": [ ]}, \"\\u0", "Invalid \\uXXXX escape", 22},
  {"\"94:08\\u\360\237\230\200", "Invalid \\uXXXX escape", 7},
  {"[1, 2.0, {\"a\": [ ]}, \"t\\ut00e9\\n\", false]", "Invalid \\uXXXX escape",
   24},
  {"[1, 2.0, {\"\": [ ]}, \"\\u009\\n\", false]", "Invalid \\uXXXX escape", 22},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e\\n\", fals[e]", "Invalid \\uXXXX escape",
   23},
  {"[1, 2.0, {\"a\": [ ]}, \t\"\\u0e9\\n\", false]", "Invalid \\uXXXX escape",
   24},
  {"[1, 2.0, {\"a\": [ 5]}, \"\\u0e9\\n\", false]", "Invalid \\uXXXX escape",
   24},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e 9\\n\303\251\", false]",
   "Invalid \\uXXXX escape", 23},
  {"[1, 2.0, {\"a\": []}, \"\\u009\\n\", false]", "Invalid \\uXXXX escape", 22},
  {"[1, 2.0, {\"a\": [ 0]}, \"\\u}00e9\\n\", false]", "Invalid \\uXXXX escape",
   24},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e/9\\n\", falese]", "Invalid \\uXXXX escape",
   23},
  {"[-1, 2.0, {\"a\": [ ]}, \"\\u0e9\\n\", false]", "Invalid \\uXXXX escape",
   24},
  {"[1, 20, {\"a\": [ ]}, \"\\u00.e9\\n\", false]", "Invalid \\uXXXX escape",
   22},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u009\\n\", fatlse]", "Invalid \\uXXXX escape",
   23},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u0e9\\n\", ", "Invalid \\uXXXX escape", 23},
  {"\"\\u, s41N/N", "Invalid \\uXXXX escape", 2},
  {"[1, 2.0, {\"a\": [ ], \"\\u00ue9\\n\", false]", "Invalid \\uXXXX escape",
   22},
  {"[1, 22.0, {\"a\": [ ]}, \"\\u0e9\\n\", false]", "Invalid \\uXXXX escape",
   24},
  {"\"-08a-0, \\u:l", "Invalid \\uXXXX escape", 10},
  {"[15, 2.0, {\"a\": [ ]}, \"\\u00e", "Invalid \\uXXXX escape", 24},
  {"[1, 2.0, {\"a\": [ ]} , \"\\u00e\\n\", false]", "Invalid \\uXXXX escape",
   24},
  {"\"I\\udc00\\udc00", "Invalid \\uXXXX escape", 9},
  {"{\"name\": \"x\", \"ta\tgs\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null",
   "Invalid control character at", 17},
  {"{\"nam\001e\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"okl\": "
   "true, \"z\": null}",
   "Invalid control character at", 5},
  {"{\"\001\303\251\": {\"\303\274\": [1e5, \360\237\230\200\"]}}",
   "Invalid control character at", 2},
  {"\"\t8u I", "Invalid control character at", 1},
  {"{\"name\": \"x\", \"tags4\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"\001z\": null}",
   "Invalid control character at", 61},
  {"[1, 2.0, {\"a\": [ ]}, \"\t\\u00e9\\n\", false]",
   "Invalid control character at", 22},
  {"\"9n\n8ne", "Invalid control character at", 3},
  {"\"]\n1\\u}2{", "Invalid control character at", 2},
  {"{\"\001\303\251\": {\"", "Invalid control character at", 2},
  {"\"-InfinitylN\tInfinity", "Invalid control character at", 12},
  {"{\"\303\251\n\": {\"\303\274\": [1e5, \"\360\237\230\200]}}",
   "Invalid control character at", 3},
  {"[1, 2.0, {\"\001a\": [ ]}, \"\\u00e9\\n\", faalse]",
   "Invalid control character at", 11},
  {"{\"\303\251\n\": ", "Invalid control character at", 3},
  {"{\"\001name\": \"x\", \"tags\": [\"a\", \"", "Invalid control character at",
   2},
  {"{\"name\": \"x\", \"tags\": [\"a\n\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Invalid control character at", 25},
  {"{\"\303\251\t\": {\"\303\274\": [1e5, \"\360\237\230\200\"]}",
   "Invalid control character at", 3},
  {"{\"\303\251\": {\"\303\274\": [11e5, \"\360\237\230\200\t\"]}}",
   "Invalid control character at", 21},
  {"{\"name\": \"x\", \"tags\t\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}u",
   "Invalid control character at", 19},
  {"{\"name\": \"x\", \"tags\t\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": tr",
   "Invalid control character at", 19},
  {"\"t0s\t\n1[N[", "Invalid control character at", 4},
  {"\"\001\t.\"\\ud83d\\ude00\"", "Invalid control character at", 1},
  {"\"l\001", "Invalid control character at", 2},
  {"{\"name\": \"\nx\", \"tags\": [a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "Invalid control character at", 10},
  {"\"+-Infinitytrue\t1E", "Invalid control character at", 15},
  {"\"\n\001}", "Invalid control character at", 1},
  {"{\"na\360\237\230\200me\": \"", "Unterminated string starting at", 10},
  {"{\"name\": \"x\", \"tags\": [\"a\",  \"b",
   "Unterminated string starting at", 29},
  {"\"l]null", "Unterminated string starting at", 0},
  {"[1, 2.0, {\"a\": [8 ]}, \"", "Unterminated string starting at", 22},
  {"\"[[", "Unterminated string starting at", 0},
  {"\"]1-0+{]{", "Unterminated string starting at", 0},
  {"\"6", "Unterminated string starting at", 0},
  {"{\"ame\": \"x\", \"tags\": [\"a\", \"b\"], \"",
   "Unterminated string starting at", 33},
  {"{\"\303\251\": {\"\303\274\": [1e5, \"\360\237\230\2007",
   "Unterminated string starting at", 18},
  {"\", e", "Unterminated string starting at", 0},
  {"[1, 2.0, {\"ea\": [ ]}, \"\\u00e9\\", "Unterminated string starting at",
   22},
  {"\n\"a", "Unterminated string starting at", 1},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9\\\", false]{",
   "Unterminated string starting at", 21},
  {"[1, 2.0, {\"a\": [ ]}, \"\\tu00e", "Unterminated string starting at", 21},
  {"\"\\udc00uN", "Unterminated string starting at", 0},
  {"\"0a,][\360\237\230\2006]3", "Unterminated string starting at", 0},
  {"\t{\"\303\251", "Unterminated string starting at", 2},
  {"\"nulltrue5", "Unterminated string starting at", 0},
  {"\"-0falseE", "Unterminated string starting at", 0},
  {"{\"nme", "Unterminated string starting at", 1},
  {"[1, 2.0, {\"t", "Unterminated string starting at", 10},
  {"{\"0}false-r", "Unterminated string starting at", 1},
  {"{\"name\": \"x\", \"tgs\": [\"a\", \"b\"], \"n\": -1.5e3, \"",
   "Unterminated string starting at", 46},
  {"\"true}N, ]/-+{", "Unterminated string starting at", 0},
  {"{\"f\303\251", "Unterminated string starting at", 1},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.55e3, \"ok\": true, "
   "\"z\": null}",
   "", 0},
  {"[1, 2.0, {\"a\": [3]}, \"\\u00e9\\n\", false]", "", 0},
  {"[51, 22.0, {\"a\": [ ]}, \"\\u00e9\\n\", false]", "", 0},
  {"{\"\303\251\": {\"\303\274}\": [1e5, \"\360\237\230\200f\"]}}", "", 0},
  {"{\"name\": \"x\", \"tags\":[\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "", 0},
  {"{\"name\": \"x\", \"tags\": [\"a\303\251\", \"b\"], \"n\": -1.5e3, \"ok\": "
   "true, \"z\": null}",
   "", 0},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"Nz\": null}",
   "", 0},
  {"[1, 2.0, {\"\": [ 3]}, \"\\u00e9\\n\", false]", "", 0},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"\": -1.5e3, \"ok\": true, "
   "\"z\":null}",
   "", 0},
  {"{\"naIme\": \"x\", \"tags\": [\"a\", \"b\"], \"n\":-1.5e3, \"ok\": true, "
   "\"z\": null}",
   "", 0},
  {"[1, 2.0, {\"a\": [ ]}, \"2\\u00e9\\n\", false]", "", 0},
  {"[1, 2.0, {\"a]\": [ ]}, \"\\u00e9\\n\", false]", "", 0},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"1b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "", 0},
  {"[1, 2.0, {\"a\": [ ]}, \"1\\u00e9\\n\", false]", "", 0},
  {"{\"namef\": \"x\", \"tags8\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "", 0},
  {"{\"nname\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, \"k\": true, "
   "\"z\": null}",
   "", 0},
  {"[1, 2.0, {\"a\": [ ]}, \"\\u00e9,s\\n\", false]", "", 0},
  {"{\"name\": \"x\", \"tags\": [\"a\", \"b\"], \"n\": -1.5e3, "
   "\"o\360\237\230\200k\": true, \"z\": null}",
   "", 0},
  {"{\"\303\251\":{\"\303\274\": [1e5, \"+\360\237\230\200\"]}}", "", 0},
  {"{\"\303\251\": {\"\303\274\": [1e05, \"\303\251\360\237\230\200\"]}}", "",
   0},
  {"{\"nuame\": \"x\", \"ags\": [\"a\", \"b\"], \"n\": -1.5e3, \"ok\": true, "
   "\"z\": null}",
   "", 0},
  {"{\"0\303\251\": {\"\303\274\": [1e5, \"\360\237\230\200\"]}}", "", 0},
  {"[1, 2.0, {\"a\": [ ]}, \t\"\\u00e9\\n\", false]", "", 0},
  {" 2", "", 0},
  {"{\"\303\251\" : {\"\303\274\": [1e5, \"\360\237\230\200t\"]}}", "", 0},
};

} // namespace

// -- precheck_json_body ------------------------------------------------------

TEST_CASE("precheck_json_body accepts well-formed UTF-8 of every length",
          "[http][json_body]") {
  CHECK(precheck_json_body("") == body_problem::none);
  CHECK(precheck_json_body("{\"a\": [1, \"b\"]}") == body_problem::none);
  SECTION("two, three and four byte sequences at their range limits") {
    CHECK(precheck_json_body("\"\u00e9 \xc2\x80 \xdf\xbf\"") ==
          body_problem::none);
    CHECK(precheck_json_body("\"\xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 "
                             "\xef\xbf\xbf\"") == body_problem::none);
    CHECK(precheck_json_body("\"\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"") ==
          body_problem::none);
  }
  SECTION("multi-byte text outside strings is left to the parser") {
    CHECK(precheck_json_body("\xc3\xa9[\xf0\x9f\x98\x80]") ==
          body_problem::none);
  }
  SECTION("NUL and other control bytes are valid UTF-8") {
    CHECK(precheck_json_body("\"\0\x01\x7f\""sv) == body_problem::none);
  }
}

TEST_CASE("precheck_json_body rejects malformed UTF-8", "[http][json_body]") {
  const auto rejected = [](std::string_view body) {
    INFO("body: " << printable(body));
    CHECK(precheck_json_body(body) == body_problem::invalid_utf8);
  };
  SECTION("overlong forms") {
    rejected("\"\xc0\x80\"");
    rejected("\"\xc1\xbf\"");
    rejected("\"\xe0\x80\x80\"");
    rejected("\"\xe0\x9f\xbf\"");
    rejected("\"\xf0\x80\x80\x80\"");
    rejected("\"\xf0\x8f\xbf\xbf\"");
  }
  SECTION("surrogates encoded in UTF-8") {
    rejected("\"\xed\xa0\x80\"");
    rejected("\"\xed\xbf\xbf\"");
    rejected("\"\xed\xa0\xbd\xed\xb8\x80\"");
  }
  SECTION("code points above U+10FFFF and impossible lead bytes") {
    rejected("\"\xf4\x90\x80\x80\"");
    rejected("\"\xf5\x80\x80\x80\"");
    rejected("\xff");
    rejected("\xfe");
  }
  SECTION("stray continuation bytes") {
    rejected("\x80");
    rejected("\"a\xbf\"");
    rejected("\"\xc3\xa9\xa9\"");
  }
  SECTION("sequences cut short by the end of the body") {
    rejected("\"\xc3");
    rejected("\"\xe2\x82");
    rejected("\"\xf0\x9f\x98");
  }
  SECTION("sequences cut short by another byte") {
    rejected("\"\xc3\"");
    rejected("\"\xe2\x82\"");
    rejected("\"\xf0\x9f\x98\"");
    rejected("\"\xe2\xc3\xa9\"");
  }
  SECTION("a bad byte right after a backslash in a string") {
    rejected("\"\\\xff\"");
    rejected("\"\\\xc3\"");
  }
  SECTION("a bad byte anywhere outside strings") {
    rejected("[1, \xc3]");
    rejected("{} \xa9");
  }
}

TEST_CASE("precheck_json_body reports nesting beyond the limit",
          "[http][json_body]") {
  SECTION("the limit itself is allowed, one more is not") {
    CHECK(precheck_json_body("[[{\"a\": 1}]]", 3) == body_problem::none);
    CHECK(precheck_json_body("[[[{\"a\": 1}]]]", 3) == body_problem::too_deep);
  }
  SECTION("the default limit is 900") {
    const std::string at_limit = std::string(900, '[') + std::string(900, ']');
    const std::string beyond = std::string(901, '{');
    CHECK(precheck_json_body(at_limit) == body_problem::none);
    CHECK(precheck_json_body(beyond) == body_problem::too_deep);
  }
  SECTION("closing brackets lower the depth") {
    CHECK(precheck_json_body("[[[]], [[]], {\"a\": []}]", 3) ==
          body_problem::none);
  }
  SECTION("brackets inside strings do not count") {
    CHECK(precheck_json_body("[\"[[[[{{{{\"]", 1) == body_problem::none);
    CHECK(precheck_json_body("{\"[[[[\": \"{{{{\"}", 1) == body_problem::none);
  }
  SECTION("escaped quotes and backslashes keep the string state") {
    CHECK(precheck_json_body("[\"\\\"[[[[\"]", 1) == body_problem::none);
    CHECK(precheck_json_body("[\"\\\\\", [[[[]]]]]", 1) ==
          body_problem::too_deep);
    CHECK(precheck_json_body("[\"\\u005b\\\\\"]", 1) == body_problem::none);
  }
  SECTION("an unterminated string hides everything after it") {
    CHECK(precheck_json_body("[\"[[[[", 1) == body_problem::none);
  }
  SECTION("unmatched closing brackets do not go below zero") {
    CHECK(precheck_json_body("]]]]}}[[[", 3) == body_problem::none);
    CHECK(precheck_json_body("]]]]}}[[[[", 3) == body_problem::too_deep);
  }
  SECTION("malformed UTF-8 wins even after the limit was exceeded") {
    CHECK(precheck_json_body("[[[[ \xff", 1) == body_problem::invalid_utf8);
  }
}

// -- python_json_error -------------------------------------------------------

TEST_CASE("python_json_error accepts what json.loads accepts",
          "[http][json_body]") {
  check_cases(accepted_cases);
}

TEST_CASE("python_json_error reports a missing property name at its character "
          "offset",
          "[http][json_body]") {
  const auto error = python_json_error("{\"name\": \"x\", ");
  REQUIRE(error.has_value());
  CHECK(*error == json_decode_error{
                    14, "Expecting property name enclosed in double quotes"});
  check_cases(property_name_cases);
}

TEST_CASE("python_json_error reports Expecting value where a value should "
          "start",
          "[http][json_body]") {
  check_cases(expecting_value_cases);
}

TEST_CASE("python_json_error treats NaN and Infinity as unknown values",
          "[http][json_body]") {
  CHECK(python_json_error("NaN") == json_decode_error{0, "Expecting value"});
  CHECK(python_json_error("[1, -Infinity]") ==
        json_decode_error{4, "Expecting value"});
  CHECK(python_json_error("{\"a\": Infinity}") ==
        json_decode_error{6, "Expecting value"});
}

TEST_CASE("python_json_error reports Extra data after a complete value",
          "[http][json_body]") {
  check_cases(extra_data_cases);
}

TEST_CASE("python_json_error reports missing delimiters", "[http][json_body]") {
  check_cases(delimiter_cases);
}

TEST_CASE("python_json_error reports string errors as the C scanner does",
          "[http][json_body]") {
  check_cases(string_cases);
  SECTION("NUL is a control character") {
    CHECK(python_json_error("\"a\0\""sv) ==
          json_decode_error{2, "Invalid control character at"});
    CHECK(python_json_error("\0"sv) == json_decode_error{0, "Expecting value"});
  }
}

TEST_CASE("python_json_error counts positions in code points, not bytes",
          "[http][json_body]") {
  check_cases(multibyte_cases);
  SECTION("a leading UTF-8 BOM is not part of the text") {
    CHECK(python_json_error("\xef\xbb\xbf{") ==
          json_decode_error{
            1, "Expecting property name enclosed in double quotes"});
  }
  SECTION("an encoded surrogate counts once, as with surrogatepass") {
    CHECK(python_json_error("[\"\xed\xa0\x80\", x]") ==
          json_decode_error{6, "Expecting value"});
  }
}

TEST_CASE("python_json_error handles deep nesting without recursing",
          "[http][json_body]") {
  constexpr std::size_t depth = 200000;
  const std::string open = std::string(depth, '[');
  CHECK(python_json_error(open) == json_decode_error{depth, "Expecting value"});
  CHECK_FALSE(python_json_error(open + std::string(depth, ']')).has_value());
  CHECK(python_json_error(open + "1}") ==
        json_decode_error{depth + 1, "Expecting ',' delimiter"});
}

TEST_CASE("python_json_error matches CPython on generated inputs",
          "[http][json_body]") {
  check_cases(generated_cases);
}
