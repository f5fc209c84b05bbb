// Parameter schema checks and Python repr(), against texts produced by the
// reference stack (CPython 3.11, jsonschema 4.26, Prefect 3's validators).
#include "events/python/json_schema.hpp"

#include "events/python/json_text.hpp"
#include "events/python/python_repr.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

using deployd::events::check_parameters;
using deployd::events::json;
using deployd::events::parameter_check;
using deployd::events::preprocess_schema;
using deployd::events::python_float_repr;
using deployd::events::python_repr;
using deployd::events::python_string_repr;
using deployd::events::schema_problem;
using deployd::events::strip_required;
using deployd::events::widen_optional_to_null;
using outcome = parameter_check::outcome;

json parse(const char* text) {
  return json::parse(text);
}

/// The reason `check_parameters` gives, or "valid".
std::string reason(const char* schema, const char* values,
                   bool ignore_required = false) {
  const parameter_check result =
      check_parameters(parse(schema), parse(values), ignore_required);
  if (result.result == outcome::valid) {
    REQUIRE(result.reason.empty());
    return "valid";
  }
  return result.reason;
}

std::string field_failure(const std::string& field, const std::string& why) {
  return "Validation failed for field '" + field + "'. Failure reason: " + why;
}

std::string root_failure(const std::string& why) {
  return "Validation failed. Failure reason: " + why;
}

} // namespace

// -- python repr --------------------------------------------------------------

TEST_CASE("python_repr writes scalars as Python does", "[json_schema]") {
  CHECK(python_repr(json(nullptr)) == "None");
  CHECK(python_repr(json(true)) == "True");
  CHECK(python_repr(json(false)) == "False");
  CHECK(python_repr(json(0)) == "0");
  CHECK(python_repr(json(-42)) == "-42");
  CHECK(python_repr(parse("18446744073709551615")) == "18446744073709551615");
}

TEST_CASE("python_repr writes floats as the shortest round-trip text",
          "[json_schema]") {
  CHECK(python_float_repr(1.0) == "1.0");
  CHECK(python_float_repr(-0.0) == "-0.0");
  CHECK(python_float_repr(0.1) == "0.1");
  CHECK(python_float_repr(2.5) == "2.5");
  CHECK(python_float_repr(1e100) == "1e+100");
  CHECK(python_float_repr(1e16) == "1e+16");
  CHECK(python_float_repr(1e15) == "1000000000000000.0");
  CHECK(python_float_repr(123456789.0) == "123456789.0");
  CHECK(python_float_repr(1.5e-07) == "1.5e-07");
  CHECK(python_float_repr(0.0001) == "0.0001");
  CHECK(python_float_repr(0.00001) == "1e-05");
  CHECK(python_float_repr(12345678901234567.0) == "1.2345678901234568e+16");
  CHECK(python_float_repr(5e-324) == "5e-324");
  CHECK(python_float_repr(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(python_repr(parse("3.0")) == "3.0");
}

TEST_CASE("python_repr quotes strings as CPython 3.11 does", "[json_schema]") {
  SECTION("quote choice") {
    CHECK(python_string_repr("abc") == "'abc'");
    CHECK(python_string_repr("") == "''");
    CHECK(python_string_repr("it's") == "\"it's\"");
    CHECK(python_string_repr("say \"hi\"") == "'say \"hi\"'");
    CHECK(python_string_repr("both ' and \"") == "'both \\' and \"'");
  }
  SECTION("escapes") {
    CHECK(python_string_repr("a\\b") == "'a\\\\b'");
    CHECK(python_string_repr("l1\nl2\r\t") == "'l1\\nl2\\r\\t'");
    CHECK(python_string_repr(std::string("\x00\x1f\x7f", 3)) ==
          "'\\x00\\x1f\\x7f'");
  }
  SECTION("non-ASCII characters") {
    CHECK(python_string_repr("h\xC3\xA9llo") == "'h\xC3\xA9llo'"); // é kept
    CHECK(python_string_repr("\xC2\xA0") == "'\\xa0'"); // no-break space
    CHECK(python_string_repr("\xC2\xAD") == "'\\xad'"); // soft hyphen
    CHECK(python_string_repr("\xE2\x80\xA8") == "'\\u2028'");
    CHECK(python_string_repr("\xE2\x80\x8B") == "'\\u200b'");
    CHECK(python_string_repr("\xEF\xBB\xBF") == "'\\ufeff'");
    CHECK(python_string_repr("\xE3\x80\x80") == "'\\u3000'"); // ideographic sp.
    CHECK(python_string_repr("\xF0\x9F\x98\x80") == "'\xF0\x9F\x98\x80'");
    CHECK(python_string_repr("\xF4\x8F\xBF\xBF") == "'\\U0010ffff'");
  }
}

TEST_CASE("python_repr writes lists and dicts in insertion order",
          "[json_schema]") {
  CHECK(python_repr(parse("[]")) == "[]");
  CHECK(python_repr(parse("{}")) == "{}");
  CHECK(python_repr(parse(R"([1, "a", null, [true]])")) ==
        "[1, 'a', None, [True]]");
  CHECK(python_repr(parse(R"({"b": [true, null], "a": 1.5, "it's": {}})")) ==
        "{'b': [True, None], 'a': 1.5, \"it's\": {}}");
}

// -- reference examples -------------------------------------------------------

TEST_CASE("check_parameters reports a wrong type under its field name",
          "[json_schema]") {
  CHECK(
      reason(R"({"type": "object", "properties": {"foo": {"type": "string"}}})",
             R"({"foo": 1})") ==
      field_failure("foo", "1 is not of type 'string'"));
  CHECK(reason(R"({"title": "Parameters", "type": "object",
                   "properties": {"x": {"title": "x", "type": "integer"}}})",
               R"({"x": "notint"})") ==
        field_failure("x", "'notint' is not of type 'integer'"));
  CHECK(reason(R"({"type": "object", "properties": {"num": {"title": "num",
                   "position": 0, "type": "object"}}, "required": ["num"]})",
               R"({"num": 42})",
               true) == field_failure("num", "42 is not of type 'object'"));
}

TEST_CASE("check_parameters honours or ignores required properties",
          "[json_schema]") {
  const char* schema = R"({"type": "object", "required": ["x"],
                           "properties": {"x": {"type": "integer"}}})";
  CHECK(reason(schema, "{}") == root_failure("'x' is a required property"));
  CHECK(reason(schema, "{}", true) == "valid");
  SECTION("nested required fields are reported at their parent") {
    const char* nested = R"({"type": "object", "properties": {"person": {
      "allOf": [{"$ref": "#/definitions/Person"}]}},
      "definitions": {"Person": {"type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}}}}})";
    CHECK(reason(nested, R"({"person": {"greeting": "hi"}})") ==
          field_failure("person", "'name' is a required property"));
    CHECK(reason(nested, R"({"person": {"greeting": "hi"}})", true) == "valid");
  }
}

TEST_CASE("check_parameters joins nested paths as jsonpath", "[json_schema]") {
  CHECK(reason(R"({"properties": {"person": {"properties": {
                   "name": {"type": "string"}}}}})",
               R"({"person": {"name": 5}})") ==
        field_failure("person.name", "5 is not of type 'string'"));
  CHECK(reason(R"({"properties": {"items": {"type": "array",
                   "items": {"type": "integer"}}}})",
               R"({"items": [1, 2, "x"]})") ==
        field_failure("items[2]", "'x' is not of type 'integer'"));
  CHECK(reason(R"({"properties": {"a": {"properties": {"b": {"items": {
                   "properties": {"c": {"type": "string"}}}}}}}})",
               R"({"a": {"b": [{"c": "x"}, {"c": 3}]}})") ==
        field_failure("a.b[1].c", "3 is not of type 'string'"));
  SECTION("names that are not identifiers keep the bracket form") {
    CHECK(reason(R"({"properties": {"my-field": {"type": "number"}}})",
                 R"({"my-field": "a"})") ==
          "Validation failed for field \"$['my-field']\". Failure reason: 'a' "
          "is not of type 'number'");
    CHECK(reason(R"({"properties": {"it's": {"type": "number"}}})",
                 R"({"it's": "a"})") ==
          "Validation failed for field \"$['it\\\\'s']\". Failure reason: 'a' "
          "is not of type 'number'");
  }
}

TEST_CASE("check_parameters uses jsonschema's wording for each keyword",
          "[json_schema]") {
  const auto x = [](const char* subschema, const char* value) {
    return reason(
        (std::string(R"({"properties": {"x": )") + subschema + "}}").c_str(),
        (std::string(R"({"x": )") + value + "}").c_str());
  };
  const auto at_x = [](const std::string& why) {
    return field_failure("x", why);
  };
  CHECK(x(R"({"type": ["string", "null"]})", "1") ==
        at_x("1 is not of type 'string', 'null'"));
  CHECK(x(R"({"enum": ["a", "b"]})", R"("c")") ==
        at_x("'c' is not one of ['a', 'b']"));
  CHECK(x(R"({"const": "a"})", R"("b")") == at_x("'a' was expected"));
  CHECK(x(R"({"minimum": 5})", "3") == at_x("3 is less than the minimum of 5"));
  CHECK(x(R"({"maximum": 5})", "9") ==
        at_x("9 is greater than the maximum of 5"));
  CHECK(x(R"({"exclusiveMinimum": 5})", "5") ==
        at_x("5 is less than or equal to the minimum of 5"));
  CHECK(x(R"({"exclusiveMaximum": 5})", "5") ==
        at_x("5 is greater than or equal to the maximum of 5"));
  CHECK(x(R"({"minLength": 2})", R"("")") == at_x("'' is too short"));
  CHECK(x(R"({"minLength": 1})", R"("")") == at_x("'' should be non-empty"));
  CHECK(x(R"({"maxLength": 2})", R"("abc")") == at_x("'abc' is too long"));
  CHECK(x(R"({"maxLength": 0})", R"("abc")") ==
        at_x("'abc' is expected to be empty"));
  CHECK(x(R"({"minItems": 2})", "[]") == at_x("[] is too short"));
  CHECK(x(R"({"maxItems": 2})", "[1, 2, 3]") == at_x("[1, 2, 3] is too long"));
  CHECK(x(R"({"pattern": "^x"})", R"("abc")") ==
        at_x("'abc' does not match '^x'"));
  CHECK(x(R"({"multipleOf": 2})", "7") == at_x("7 is not a multiple of 2"));
  CHECK(x(R"({"multipleOf": 0.1})", "0.3") ==
        at_x("0.3 is not a multiple of 0.1"));
  CHECK(x(R"({"uniqueItems": true})", "[1, 1]") ==
        at_x("[1, 1] has non-unique elements"));
  CHECK(x(R"({"additionalProperties": false})", R"({"a": 1})") ==
        at_x("Additional properties are not allowed ('a' was unexpected)"));
  CHECK(x(R"({"additionalProperties": false, "properties": {"a": {}}})",
          R"({"a": 1, "c": 2, "b": 3})") ==
        at_x("Additional properties are not allowed ('b', 'c' were "
             "unexpected)"));
  CHECK(x(R"({"anyOf": [{"type": "string"}, {"type": "null"}]})", "1") ==
        at_x("1 is not valid under any of the given schemas"));
  CHECK(x(R"({"oneOf": [{"type": "number"}, {"type": "integer"}]})", "1") ==
        at_x("1 is valid under each of {'type': 'integer'}, "
             "{'type': 'number'}"));
  CHECK(x(R"({"type": "string"})", R"({"a": [1, 2.5, null, true, "q'"]})") ==
        at_x("{'a': [1, 2.5, None, True, \"q'\"]} is not of type 'string'"));
}

TEST_CASE("check_parameters follows Python's number semantics",
          "[json_schema]") {
  CHECK(reason(R"({"properties": {"x": {"type": "integer"}}})",
               R"({"x": 1.0})") == "valid");
  CHECK(reason(R"({"properties": {"x": {"type": "number"}}})",
               R"({"x": true})") ==
        field_failure("x", "True is not of type 'number'"));
  CHECK(reason(R"({"properties": {"x": {"enum": [1]}}})", R"({"x": 1.0})") ==
        "valid");
  CHECK(reason(R"({"properties": {"x": {"enum": [1]}}})", R"({"x": true})") ==
        field_failure("x", "True is not one of [1]"));
  CHECK(reason(R"({"properties": {"x": {"multipleOf": 0.5}}})",
               R"({"x": 1.5})") == "valid");
}

TEST_CASE("check_parameters picks jsonschema's best match", "[json_schema]") {
  SECTION("shallower errors win over deeper ones") {
    CHECK(reason(R"({"properties": {"a": {"properties": {"b": {"type":
                     "string"}}}}, "required": ["z"]})",
                 R"({"a": {"b": 1}})") ==
          root_failure("'z' is a required property"));
  }
  SECTION("among siblings the greater path wins") {
    CHECK(reason(R"({"properties": {"a": {"type": "string"},
                                    "b": {"type": "string"}}})",
                 R"({"a": 1, "b": 1})") ==
          field_failure("b", "1 is not of type 'string'"));
  }
  SECTION("a single failing anyOf branch is reported from inside") {
    CHECK(reason(R"({"properties": {"x": {"anyOf": [{"type": "object",
                     "properties": {"n": {"type": "string"}}},
                     {"type": "null"}]}}})",
                 R"({"x": {"n": 1}})") ==
          field_failure("x.n", "1 is not of type 'string'"));
  }
  SECTION("a false schema error keeps no path") {
    CHECK(reason(R"({"properties": {"x": false}})", R"({"x": 1})") ==
          root_failure("False schema does not allow 1"));
  }
  SECTION("items past prefixItems") {
    CHECK(reason(R"({"prefixItems": [{"type": "string"}], "items": false})",
                 R"(["a", 1, 2])") ==
          root_failure("Expected at most 1 item but found 2 extra: [1, 2]"));
  }
}

TEST_CASE("check_parameters matches patterns with Python's re semantics",
          "[json_schema]") {
  const auto x = [](const char* pattern, const char* value) {
    json schema = parse(R"({"properties": {"x": {"type": "string"}}})");
    schema["properties"]["x"]["pattern"] = pattern;
    return check_parameters(schema, json::object({{"x", value}}), false).reason;
  };
  CHECK(x("^ab$", "ab\n").empty());     // `$` also before a final newline
  CHECK(x("^{foo}$", "{foo}").empty()); // a brace that is no repeat
  CHECK(x("^a.b$", "a\rb").empty());
  CHECK(x("^a.b$", "a\nb") ==
        field_failure("x", "'a\\nb' does not match '^a.b$'"));
  CHECK(x("^(?P<c>a)(?P=c)$", "aa").empty());
  CHECK(x("^(?P<c>a)(?P=c)$", "ab") ==
        field_failure("x", "'ab' does not match '^(?P<c>a)(?P=c)$'"));
  CHECK(x("^x{,2}$", "xxx") ==
        field_failure("x", "'xxx' does not match '^x{,2}$'"));
  CHECK(x("^\\d{2,}$", "1") ==
        field_failure("x", "'1' does not match '^\\\\d{2,}$'"));
}

// -- references ---------------------------------------------------------------

TEST_CASE("check_parameters resolves $ref inside the schema", "[json_schema]") {
  CHECK(reason(R"({"properties": {"p": {"$ref": "#/definitions/P"}},
                   "definitions": {"P": {"properties": {"n": {"type":
                   "integer"}}}}})",
               R"({"p": {"n": "x"}})") ==
        field_failure("p.n", "'x' is not of type 'integer'"));
  CHECK(reason(R"({"properties": {"p": {"$ref": "#/$defs/P"}},
                   "$defs": {"P": {"type": "string"}}})",
               R"({"p": "ok"})") == "valid");
  CHECK(reason(R"({"properties": {"p": {"$ref": "#/definitions/a%20b"}},
                   "definitions": {"a b": {"type": "string"}}})",
               R"({"p": 1})") ==
        field_failure("p", "1 is not of type 'string'"));
}

TEST_CASE("check_parameters reports unresolvable references as the reference "
          "does",
          "[json_schema]") {
  CHECK(reason(R"({"type": "object", "properties": {"p": {"$ref":
                   "#/definitions/missing"}}})",
               R"({"p": 1})") ==
        root_failure("PointerToNowhere: '/definitions/missing' does not "
                     "exist within {'type': 'object', 'properties': {'p': "
                     "{'$ref': '#/definitions/missing'}}}"));
  CHECK(reason(R"({"type": "object", "properties": {"p": {"$ref":
                   "https://a.example.com/schema.json"}}})",
               R"({"p": 1})") ==
        root_failure("Unresolvable: https://a.example.com/schema.json"));
  CHECK(reason(R"({"type": "object", "properties": {"p": {"$ref":
                   "#definitions/P"}}})",
               R"({"p": 1})") ==
        root_failure(
            "InvalidAnchor: '#definitions/P' is not a valid anchor, neither as "
            "a plain name anchor nor as a JSON Pointer. You may have intended "
            "to use '#/definitions/P', as the slash is required *before each "
            "segment* of a JSON pointer."));
  SECTION("a reference the evaluation never reaches is harmless") {
    CHECK(reason(R"({"properties": {"p": {"anyOf": [{"type": "string"},
                     {"$ref": "#/nope"}]}}})",
                 R"({"p": "x"})") == "valid");
  }
}

TEST_CASE("check_parameters detects references that loop", "[json_schema]") {
  const parameter_check self =
      check_parameters(parse(R"({"$ref": "#"})"), parse(R"({"a": 1})"), false);
  CHECK(self.result == outcome::circular_schema);
  CHECK(self.reason == "Unable to validate schema with circular references.");
  const char* city = R"({"title": "Parameters", "type": "object",
    "properties": {"param": {"title": "param", "position": 0,
                             "allOf": [{"$ref": "#/definitions/City"}]}},
    "required": ["param"],
    "definitions": {"City": {"title": "City", "properties": {
        "population": {"title": "Population", "type": "integer"},
        "name": {"title": "Name", "type": "string"}},
      "required": ["population", "name"],
      "allOf": [{"$ref": "#/definitions/City"}]}}})";
  CHECK(check_parameters(parse(city), parse(R"({"param": ["a city"]})"), true)
            .result == outcome::circular_schema);
  SECTION("a loop that is never reached is harmless") {
    CHECK(reason(R"({"definitions": {"A": {"allOf": [{"$ref":
                     "#/definitions/A"}]}}})",
                 R"({"a": 1})") == "valid");
  }
  SECTION("recursion that walks into the instance is fine") {
    CHECK(reason(R"({"items": {"$ref": "#"}, "type": "array"})",
                 "[[[[]]], []]") == "valid");
    CHECK(reason(R"({"items": {"$ref": "#"}, "type": "array"})", "[[[1]]]") ==
          field_failure("$[0][0][0]", "1 is not of type 'array'"));
  }
}

TEST_CASE("check_parameters treats nesting Python cannot follow as circular",
          "[json_schema]") {
  json deep = 1;
  for (int i = 0; i < 2000; ++i) {
    deep = json::array({deep});
  }
  CHECK(check_parameters(parse(R"({"type": "object"})"), deep, false).result ==
        outcome::circular_schema);
  CHECK(check_parameters(parse(R"({"items": {"$ref": "#"}})"), deep, false)
            .result == outcome::circular_schema);
  CHECK(python_repr(deep).find("[[...]]") != std::string::npos);
}

TEST_CASE("check_parameters skips the check without schema or values",
          "[json_schema]") {
  CHECK(check_parameters(json(nullptr), parse(R"({"a": 1})"), false) ==
        parameter_check{});
  CHECK(check_parameters(parse(R"({"type": "object"})"), json(nullptr),
                         false) == parameter_check{});
}

// -- schema problems ----------------------------------------------------------

TEST_CASE("schema_problem reports the first meta-schema violation",
          "[json_schema]") {
  const auto problem = [](const char* schema) {
    return schema_problem(parse(schema)).value_or("none");
  };
  CHECK(problem(R"({"type": "object", "properties": {"name": {"type":
                   "string"}}, "required": ["name"]})") == "none");
  CHECK(problem(R"({"type": "blork"})") ==
        "'blork' is not valid under any of the given schemas");
  CHECK(problem(R"({"type": "object", "properties": {"foo": {"type":
                   "nonexistenttype"}}})") ==
        "'nonexistenttype' is not valid under any of the given schemas");
  CHECK(problem(R"({"required": "x"})") == "'x' is not of type 'array'");
  CHECK(problem(R"({"required": ["a", "a"]})") ==
        "['a', 'a'] has non-unique elements");
  CHECK(problem(R"({"properties": 5})") == "5 is not of type 'object'");
  CHECK(problem(R"({"minimum": "x"})") == "'x' is not of type 'number'");
  CHECK(problem(R"({"minLength": -1})") == "-1 is less than the minimum of 0");
  CHECK(problem(R"({"pattern": "(["})") == "'([' is not a 'regex'");
  CHECK(problem(R"({"pattern": "a**"})") == "'a**' is not a 'regex'");
  CHECK(problem(R"js({"pattern": "\\1(a)"})js") ==
        "'\\\\1(a)' is not a 'regex'");
  CHECK(problem(R"js({"pattern": "(?P<n>a)(?P=n)"})js") == "none");
  CHECK(problem(R"({"type": ["string", "string"]})") ==
        "['string', 'string'] is not valid under any of the given schemas");
  CHECK(problem(R"({"items": [{"type": "string"}]})") ==
        "[{'type': 'string'}] is not of type 'object', 'boolean'");
  CHECK(problem("5") == "5 is not of type 'object', 'boolean'");
  CHECK(problem("true") == "none");
}

// -- preprocessing ------------------------------------------------------------

TEST_CASE("strip_required removes required through objects only",
          "[json_schema]") {
  CHECK(strip_required(parse(R"({"required": ["a"], "properties": {"a": {
          "required": ["b"], "anyOf": [{"required": ["c"]}]}},
          "$defs": {"D": {"required": ["d"]}}})")) ==
        parse(R"({"properties": {"a": {"anyOf": [{"required": ["c"]}]}},
                 "$defs": {"D": {}}})"));
  CHECK(strip_required(parse("[1]")) == parse("[1]"));
}

TEST_CASE("preprocess_schema widens optional properties to accept null",
          "[json_schema]") {
  const json schema = parse(R"({"type": "object", "required": ["a"],
    "properties": {"a": {"type": "integer"},
                   "b": {"type": "string", "default": "x"},
                   "c": {"type": "array",
                         "items": [{"type": "string"}, {"type": "integer"}]},
                   "d": {"type": "null"}}})");
  CHECK(preprocess_schema(schema).dump() ==
        parse(R"({"type": "object", "required": ["a"], "properties": {
          "a": {"type": "integer"},
          "b": {"type": "string", "default": "x"},
          "c": {"anyOf": [{"type": "array"}, {"type": "null"}],
                "prefixItems": [{"type": "string"}, {"type": "integer"}]},
          "d": {"type": "null"}}})")
            .dump());
  CHECK(preprocess_schema(schema, true)["properties"]["b"].dump() ==
        R"({"default":"x","anyOf":[{"type":"string"},{"type":"null"}]})");
  CHECK(widen_optional_to_null(schema) == preprocess_schema(schema));
  SECTION("a nested object's required list also covers later siblings") {
    CHECK(preprocess_schema(parse(R"({"properties": {
            "n": {"properties": {"x": {"type": "string"}}, "required": ["y"],
                  "type": "object"},
            "y": {"type": "integer"}}})"))
              .dump() == parse(R"({"properties": {
            "n": {"properties": {"x": {"anyOf": [{"type": "string"},
                                                 {"type": "null"}]}},
                  "required": ["y"],
                  "anyOf": [{"type": "object"}, {"type": "null"}]},
            "y": {"type": "integer"}}})")
                             .dump());
  }
  SECTION("block types may be given by reference") {
    const json out = preprocess_schema(parse(R"({"definitions": {"B": {
      "title": "Blk", "block_type_slug": "blk", "type": "object"}}})"));
    CHECK(out["definitions"]["Blk"]["oneOf"][0]["block_type_slug"] == "blk");
    CHECK(out["definitions"]["Blk"]["oneOf"][1]["required"] ==
          parse(R"(["$ref"])"));
  }
  SECTION("the later checks accept null for optional parameters") {
    const json params = parse(R"({"type": "object", "properties": {
      "x": {"type": "integer"}}})");
    CHECK(check_parameters(preprocess_schema(params), parse(R"({"x": null})"),
                           true)
              .result == outcome::valid);
    CHECK(check_parameters(params, parse(R"({"x": null})"), true).reason ==
          field_failure("x", "None is not of type 'integer'"));
  }
}

// -- integers beyond 64 bits ------------------------------------------------

namespace {

std::string exact_reason(const std::string& schema, const std::string& values,
                         bool ignore_required = false) {
  const parameter_check result =
      check_parameters(deployd::events::parse_json(schema),
                       deployd::events::parse_json(values), ignore_required);
  return result.result == outcome::valid ? "valid" : result.reason;
}

} // namespace

TEST_CASE("integers beyond 64 bits are integers and numbers to the schema "
          "checks, compared by value",
          "[json_schema][numbers]") {
  const std::string big = "123456789012345678901234567891";
  const auto with = [](const std::string& keywords) {
    return R"({"type":"object","properties":{"n":{)" + keywords + "}}}";
  };
  const std::string values = R"({"n":)" + big + "}";
  CHECK(exact_reason(with(R"("type":"integer")"), values) == "valid");
  CHECK(exact_reason(with(R"("type":"number")"), values) == "valid");
  CHECK(exact_reason(with(R"("type":"string")"), values) ==
        field_failure("n", big + " is not of type 'string'"));
  CHECK(exact_reason(with(R"("maximum":1e300)"), values) == "valid");
  CHECK(exact_reason(with(R"("maximum":10)"), values) ==
        field_failure("n", big + " is greater than the maximum of 10"));
  CHECK(exact_reason(with(R"("minimum":)" + big), values) == "valid");
  CHECK(exact_reason(with(R"("exclusiveMaximum":)" + big), values) ==
        field_failure("n", big +
                               " is greater than or equal to the maximum "
                               "of " +
                               big));
  CHECK(exact_reason(with(R"("maximum":123456789012345678901234567890)"),
                     values) ==
        field_failure("n", big + " is greater than the maximum of "
                                 "123456789012345678901234567890"));
  CHECK(exact_reason(with(R"("minimum":-)" + big), R"({"n":-)" + big + "}") ==
        "valid");
  CHECK(exact_reason(with(R"("multipleOf":10)"), values) ==
        field_failure("n", big + " is not a multiple of 10"));
  CHECK(exact_reason(with(R"("multipleOf":3)"), R"({"n":)" + big + "0}") ==
        field_failure("n", big + "0 is not a multiple of 3"));
  CHECK(exact_reason(with(R"("multipleOf":7)"),
                     R"({"n":123456789012345678901234567890})") == "valid");
  CHECK(exact_reason(with(R"("enum":[)" + big + "]"), values) == "valid");
  CHECK(exact_reason(with(R"("const":1.2345678901234568e29)"), values) ==
        field_failure("n", "1.2345678901234568e+29 was expected"));
  // Optional fields are widened to anyOf [schema, null] for defaults.
  CHECK(check_parameters(
            preprocess_schema(deployd::events::parse_json(
                                  with(R"("type":"integer","maximum":1e300)")),
                              true),
            deployd::events::parse_json(values), true)
            .result == outcome::valid);
}
