#include "http/openapi_validator.hpp"

#include "events/python/json_text.hpp"
#include "events/python/python_repr.hpp"
#include "events/time.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace deployd::http {

namespace {

using events::json;
using events::validator;

constexpr std::string_view ref_prefix = "#/components/schemas/";

/// The embedded schemas are ours: a construct this file does not handle, or
/// a name nobody embedded, is a bug in the build, not bad input.
[[noreturn]] void bug(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "deployd: openapi validator: %.*s: %.*s\n",
               static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

const json& component(std::string_view name) {
  const auto& all = openapi_components();
  const auto it = all.find(std::string(name));
  if (it == all.end())
    bug("unknown component schema", name);
  return *it;
}

const json& resolve(const json& ref) {
  if (!ref.is_string())
    bug("malformed $ref", ref.dump());
  const auto& text = ref.get_ref<const std::string&>();
  if (!text.starts_with(ref_prefix))
    bug("unsupported $ref", text);
  return component(std::string_view(text).substr(ref_prefix.size()));
}

/// A string keyword of `schema` (`type`, `format`), empty when absent.
std::string keyword(const json& schema, const char* name) {
  const auto it = schema.find(name);
  if (it == schema.end())
    return {};
  if (!it->is_string())
    bug("keyword is not a string", it->dump());
  return it->get<std::string>();
}

bool is_null_schema(const json& schema) {
  return schema.is_object() && schema.size() == 1 &&
         keyword(schema, "type") == "null";
}

// -- texts --------------------------------------------------------------------

/// pydantic's list of expected values: `'A', 'B' or 'C'`.
std::string expected_values(const json& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0)
      out += i + 1 == values.size() ? " or " : ", ";
    out += events::python_repr(values[i]);
  }
  return out;
}

/// A float bound as pydantic-core's Rust `Display` prints it: shortest
/// round-trip digits, fixed notation, no `.0` for integral values.
std::string float_text(double value) {
  std::array<char, 400> buffer{};
  const auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                    std::chars_format::fixed);
  return std::string(buffer.data(), result.ptr);
}

std::size_t code_points(std::string_view text) {
  std::size_t n = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80)
      ++n;
  return n;
}

// -- patterns -----------------------------------------------------------------

// Prefect's name patterns are all `^[^<chars>]+$` or `^[^<chars>]*$`.
// libstdc++'s std::regex recurses once per character matched by a
// quantifier, so a long name could overflow the stack; those two forms are
// matched by hand and anything else goes to std::regex.
struct simple_pattern {
  std::string banned;
  bool allow_empty = false;
};

std::optional<simple_pattern> as_simple(std::string_view pattern) {
  if (!pattern.starts_with("^[^") || pattern.size() < 7)
    return std::nullopt;
  const auto tail = pattern.substr(pattern.size() - 3);
  if (tail != "]+$" && tail != "]*$")
    return std::nullopt;
  const auto banned = pattern.substr(3, pattern.size() - 6);
  if (banned.empty() ||
      banned.find_first_of("\\]-^[") != std::string_view::npos)
    return std::nullopt;
  for (const char c : banned)
    if (static_cast<unsigned char>(c) >= 0x80)
      return std::nullopt;
  return simple_pattern{std::string(banned), tail == "]*$"};
}

/// Compiled patterns by source text; compiled once, shared by all threads
/// (matching with a const std::regex is thread-safe).
const std::regex& compiled(const std::string& pattern) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const std::regex>> cache;
  const std::lock_guard lock(mutex);
  auto& slot = cache[pattern];
  if (!slot) {
    try {
      slot =
          std::make_unique<const std::regex>(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      bug("pattern std::regex cannot compile", pattern);
    }
  }
  return *slot;
}

bool matches(const std::string& pattern, const std::string& text) {
  if (const auto simple = as_simple(pattern)) {
    if (text.empty())
      return simple->allow_empty;
    return text.find_first_of(simple->banned) == std::string::npos;
  }
  return std::regex_search(text, compiled(pattern));
}

// -- the walk -----------------------------------------------------------------

std::optional<json> check(validator& v, const json& schema, const json& input);

std::optional<json> check_enum(validator& v, const json& schema,
                               const json& input, bool named) {
  const auto& values = schema.at("enum");
  for (const auto& value : values)
    if (value == input && value.is_boolean() == input.is_boolean())
      return value;
  const auto expected = expected_values(values);
  // A `$ref`'d enum schema is a Python Enum (`enum`), an inline one a
  // `Literal[...]` (`literal_error`).
  v.fail(named ? "enum" : "literal_error", "Input should be " + expected, input,
         json{{"expected", expected}});
  return std::nullopt;
}

/// One bound keyword and how pydantic words its violation.
struct bound_rule {
  std::string_view keyword;
  std::string_view type;
  std::string_view words;
  std::string_view ctx_key;
  /// Whether the bound holds, given `value <=> bound`.
  bool (*holds)(std::partial_ordering value_vs_bound);
};

// pydantic-core checks le, lt, ge, gt in this order and stops at the first
// violation.
constexpr bound_rule bound_rules[] = {
    {"maximum", "less_than_equal", "less than or equal to", "le",
     [](std::partial_ordering o) { return o <= 0; }},
    {"exclusiveMaximum", "less_than", "less than", "lt",
     [](std::partial_ordering o) { return o < 0; }},
    {"minimum", "greater_than_equal", "greater than or equal to", "ge",
     [](std::partial_ordering o) { return o >= 0; }},
    {"exclusiveMinimum", "greater_than", "greater than", "gt",
     [](std::partial_ordering o) { return o > 0; }},
};

/// Checks the numeric bounds of `schema`. Integer fields compare and print
/// integral bounds as integers (the document writes `0.0` for pydantic's
/// `ge=0`); float fields keep the bound a float in ctx.
bool check_bounds(validator& v, const json& schema, double value,
                  std::optional<std::int64_t> int_value, const json& input) {
  for (const auto& rule : bound_rules) {
    const auto it = schema.find(std::string(rule.keyword));
    if (it == schema.end())
      continue;
    if (!it->is_number())
      bug("non-numeric bound", it->dump());
    const double bound = it->get<double>();
    const bool integral_bound =
        int_value && std::trunc(bound) == bound && std::fabs(bound) < 9.0e18;
    bool holds = false;
    json ctx_value;
    std::string text;
    if (integral_bound) {
      const auto b = static_cast<std::int64_t>(bound);
      holds = rule.holds(*int_value <=> b);
      ctx_value = b;
      text = std::to_string(b);
    } else {
      holds = rule.holds(value <=> bound);
      ctx_value = bound;
      text = float_text(bound);
    }
    if (!holds) {
      v.fail(std::string(rule.type),
             "Input should be " + std::string(rule.words) + " " + text, input,
             json{{std::string(rule.ctx_key), ctx_value}});
      return false;
    }
  }
  return true;
}

std::optional<json> check_string(validator& v, const json& schema,
                                 const json& input) {
  const auto format = keyword(schema, "format");
  if (format == "uuid") {
    if (!v.uuid_value(input))
      return std::nullopt;
    return input;
  }
  if (format == "date-time") {
    const auto t = v.datetime(input);
    if (!t)
      return std::nullopt;
    return json(events::format_timestamp(*t));
  }
  auto text = v.string(input);
  if (!text)
    return std::nullopt;
  const auto min = schema.find("minLength");
  const auto max = schema.find("maxLength");
  if (min != schema.end() || max != schema.end()) {
    const auto length = code_points(*text);
    if (min != schema.end() && length < min->get<std::size_t>()) {
      const auto n = min->get<std::size_t>();
      v.fail("string_too_short",
             "String should have at least " + std::to_string(n) +
                 (n == 1 ? " character" : " characters"),
             input, json{{"min_length", n}});
      return std::nullopt;
    }
    if (max != schema.end() && length > max->get<std::size_t>()) {
      const auto n = max->get<std::size_t>();
      v.fail("string_too_long",
             "String should have at most " + std::to_string(n) +
                 (n == 1 ? " character" : " characters"),
             input, json{{"max_length", n}});
      return std::nullopt;
    }
  }
  if (const auto pattern = schema.find("pattern"); pattern != schema.end()) {
    const auto& p = pattern->get_ref<const std::string&>();
    if (!matches(p, *text)) {
      v.fail("string_pattern_mismatch",
             "String should match pattern '" + p + "'", input,
             json{{"pattern", p}});
      return std::nullopt;
    }
  }
  return json(std::move(*text));
}

std::optional<json> check_integer(validator& v, const json& schema,
                                  const json& input) {
  const auto n = v.integer(input);
  if (!n || !check_bounds(v, schema, static_cast<double>(*n), n, input))
    return std::nullopt;
  return json(*n);
}

std::optional<json> check_number(validator& v, const json& schema,
                                 const json& input) {
  const auto d = v.number(input);
  if (!d || !check_bounds(v, schema, *d, std::nullopt, input))
    return std::nullopt;
  return json(*d);
}

std::optional<json> check_array(validator& v, const json& schema,
                                const json& input) {
  if (!v.list(input))
    return std::nullopt;
  const auto items = schema.find("items");
  const auto before = v.count();
  json out = json::array();
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (items == schema.end()) {
      out.push_back(input[i]);
      continue;
    }
    auto guard = v.at(static_cast<std::int64_t>(i));
    if (auto item = check(v, *items, input[i]))
      out.push_back(std::move(*item));
  }
  if (v.count() != before)
    return std::nullopt;
  return out;
}

/// `dict[str, X]`: `dict_type`, then every value at its key.
std::optional<json> check_dict(validator& v, const json& schema,
                               const json& input) {
  if (!v.object(input))
    return std::nullopt;
  const auto extra = schema.find("additionalProperties");
  if (extra == schema.end() || extra->is_boolean())
    return input;
  const auto before = v.count();
  json out = json::object();
  for (const auto& [key, value] : input.items()) {
    auto guard = v.at(key);
    if (auto checked = check(v, *extra, value))
      out[key] = std::move(*checked);
  }
  if (v.count() != before)
    return std::nullopt;
  return out;
}

bool is_required(const json& schema, const std::string& name) {
  const auto required = schema.find("required");
  if (required == schema.end())
    return false;
  for (const auto& r : *required)
    if (r == name)
      return true;
  return false;
}

/// A pydantic model: fields in schema order, then extras in input order.
/// `additionalProperties` absent is pydantic's extra="ignore", false
/// "forbid", true or a schema "allow".
// The model checks of the `validate_against` call running on this thread.
thread_local const model_checks* active_checks = nullptr;

std::optional<json> check_model(validator& v, const json& schema,
                                const json& given) {
  if (!given.is_object()) {
    v.fail("model_attributes_type",
           "Input should be a valid dictionary or object to extract fields "
           "from",
           given);
    return std::nullopt;
  }
  const auto title = schema.value("title", std::string());
  std::optional<json> rewritten;
  if (active_checks && active_checks->before) {
    rewritten = given;
    const auto errors = v.count();
    active_checks->before(v, title, *rewritten);
    if (v.count() != errors)
      return std::nullopt;
  }
  const json& input = rewritten ? *rewritten : given;
  static const json no_properties = json::object();
  const auto props_it = schema.find("properties");
  const auto& props = props_it == schema.end() ? no_properties : *props_it;
  const auto before = v.count();
  json coerced = json::object();
  for (const auto& [name, field] : props.items()) {
    const auto value = input.find(name);
    if (value == input.end()) {
      if (is_required(schema, name))
        v.missing(input, name);
      continue;
    }
    auto guard = v.at(name);
    if (auto checked = check(v, field, *value))
      coerced[name] = std::move(*checked);
  }
  const auto extra = schema.find("additionalProperties");
  if (extra != schema.end()) {
    for (const auto& [key, value] : input.items()) {
      if (props.contains(key))
        continue;
      if (extra->is_boolean()) {
        if (extra->get<bool>())
          coerced[key] = value;
        else
          v.fail("extra_forbidden", "Extra inputs are not permitted", value,
                 nullptr, key);
        continue;
      }
      auto guard = v.at(key);
      if (auto checked = check(v, *extra, value))
        coerced[key] = std::move(*checked);
    }
  }
  if (v.count() != before)
    return std::nullopt;
  json out = json::object();
  for (const auto& [key, value] : input.items())
    if (const auto it = coerced.find(key); it != coerced.end())
      out[key] = std::move(*it);
  if (active_checks && active_checks->after) {
    active_checks->after(v, title, out);
    if (v.count() != before)
      return std::nullopt;
  }
  return out;
}

/// pydantic-core's name of the validator a schema becomes; smart unions tag
/// each member's errors with it.
std::string union_tag(const json& schema) {
  if (const auto ref = schema.find("$ref"); ref != schema.end()) {
    const auto& target = resolve(*ref);
    return target.value("title",
                        ref->get<std::string>().substr(ref_prefix.size()));
  }
  if (const auto any_of = schema.find("anyOf"); any_of != schema.end()) {
    std::vector<std::string> tags;
    bool nullable = false;
    for (const auto& member : *any_of) {
      if (is_null_schema(member))
        nullable = true;
      else
        tags.push_back(union_tag(member));
    }
    std::string inner = tags.size() == 1 ? tags.front() : "union[";
    if (tags.size() != 1) {
      for (std::size_t i = 0; i < tags.size(); ++i)
        inner += (i == 0 ? "" : ",") + tags[i];
      inner += "]";
    }
    return nullable ? "nullable[" + inner + "]" : inner;
  }
  if (const auto values = schema.find("enum"); values != schema.end()) {
    std::string out = "literal[";
    for (std::size_t i = 0; i < values->size(); ++i)
      out += (i == 0 ? "" : ",") + events::python_repr((*values)[i]);
    return out + "]";
  }
  const auto type = keyword(schema, "type");
  const bool constrained =
      schema.contains("pattern") || schema.contains("minLength") ||
      schema.contains("maxLength") || schema.contains("minimum") ||
      schema.contains("maximum") || schema.contains("exclusiveMinimum") ||
      schema.contains("exclusiveMaximum");
  if (type == "string") {
    const auto format = keyword(schema, "format");
    if (format == "uuid")
      return "uuid";
    if (format == "date-time")
      return "datetime";
    return constrained ? "constrained-str" : "str";
  }
  if (type == "integer")
    return constrained ? "constrained-int" : "int";
  if (type == "number")
    return constrained ? "constrained-float" : "float";
  if (type == "boolean")
    return "bool";
  if (type == "null")
    return "none";
  if (type == "array") {
    const auto items = schema.find("items");
    return "list[" + (items == schema.end() ? "any" : union_tag(*items)) + "]";
  }
  if (type == "object" || schema.contains("properties")) {
    if (schema.contains("properties"))
      return schema.value("title", "model");
    const auto extra = schema.find("additionalProperties");
    return "dict[str," +
           (extra == schema.end() || extra->is_boolean() ? "any"
                                                         : union_tag(*extra)) +
           "]";
  }
  return "any";
}

/// Whether `input` already has the JSON kind `schema` wants, so that a smart
/// union prefers that member over one that only accepts it after coercion.
bool same_kind(const json& schema, const json& input) {
  if (const auto ref = schema.find("$ref"); ref != schema.end())
    return same_kind(resolve(*ref), input);
  if (schema.contains("anyOf"))
    return false;
  if (const auto values = schema.find("enum"); values != schema.end())
    return !values->empty() &&
           values->front().type_name() == std::string_view(input.type_name());
  const auto type = keyword(schema, "type");
  if (type == "string")
    return input.is_string();
  if (type == "integer")
    return events::is_integral(input);
  if (type == "number")
    return input.is_number_float();
  if (type == "boolean")
    return input.is_boolean();
  if (type == "null")
    return input.is_null();
  if (type == "array")
    return input.is_array();
  if (type == "object" || schema.contains("properties"))
    return input.is_object();
  return true;
}

std::optional<json> check_any_of(validator& v, const json& schema,
                                 const json& input) {
  std::vector<const json*> members;
  bool nullable = false;
  for (const auto& member : schema.at("anyOf")) {
    if (is_null_schema(member))
      nullable = true;
    else
      members.push_back(&member);
  }
  if (input.is_null() && nullable)
    return json(nullptr);
  if (members.empty()) {
    v.fail("none_required", "Input should be None", input);
    return std::nullopt;
  }
  // Optional[X]: pydantic's nullable wrapper reports X's errors untagged.
  if (members.size() == 1)
    return check(v, *members.front(), input);

  // Smart union: a member that takes the input as it is wins over the first
  // member that takes it after coercion; when every member fails, each
  // reports its errors under its tag.
  std::vector<validator> attempts;
  std::vector<std::optional<json>> results;
  attempts.reserve(members.size());
  for (const auto* member : members) {
    json loc = v.loc();
    loc.push_back(union_tag(*member));
    attempts.emplace_back(std::move(loc));
    results.push_back(check(attempts.back(), *member, input));
  }
  for (std::size_t i = 0; i < members.size(); ++i)
    if (results[i] && same_kind(*members[i], input))
      return results[i];
  for (auto& result : results)
    if (result)
      return result;
  for (auto& attempt : attempts)
    for (auto& error : attempt.errors())
      v.errors().push_back(std::move(error));
  return std::nullopt;
}

std::optional<json> check(validator& v, const json& schema, const json& input) {
  if (!schema.is_object())
    bug("schema is not an object", schema.dump());
  if (const auto ref = schema.find("$ref"); ref != schema.end()) {
    const auto& target = resolve(*ref);
    if (target.contains("enum"))
      return check_enum(v, target, input, true);
    return check(v, target, input);
  }
  if (schema.contains("anyOf"))
    return check_any_of(v, schema, input);
  if (schema.contains("enum"))
    return check_enum(v, schema, input, false);
  if (const auto constant = schema.find("const"); constant != schema.end()) {
    // `Literal["x"]`.
    if (input == *constant)
      return input;
    const auto expected = events::python_repr(*constant);
    v.fail("literal_error", "Input should be " + expected, input,
           json{{"expected", expected}});
    return std::nullopt;
  }
  const auto type = keyword(schema, "type");
  if (type == "string")
    return check_string(v, schema, input);
  if (type == "integer")
    return check_integer(v, schema, input);
  if (type == "number")
    return check_number(v, schema, input);
  if (type == "boolean") {
    const auto b = v.boolean(input);
    return b ? std::optional<json>(*b) : std::nullopt;
  }
  if (type == "null") {
    if (input.is_null())
      return json(nullptr);
    v.fail("none_required", "Input should be None", input);
    return std::nullopt;
  }
  if (type == "array")
    return check_array(v, schema, input);
  if (schema.contains("properties"))
    return check_model(v, schema, input);
  if (type == "object") {
    // An object with `additionalProperties: false` and no properties is a
    // model without fields, not a dict.
    const auto extra = schema.find("additionalProperties");
    if (extra != schema.end() && *extra == false)
      return check_model(v, schema, input);
    return check_dict(v, schema, input);
  }
  if (!type.empty())
    bug("unsupported schema type", type);
  return input;
}

/// Body parameters in the order FastAPI validates them: the `limit` of
/// Prefect's `LimitBody()` dependency (the only body parameter without a
/// default in the document, since `Body(None)` publishes none) first, as
/// FastAPI solves dependencies before the endpoint's own parameters; then
/// the rest in schema order.
std::vector<std::pair<std::string, const json*>>
parameter_order(const json& properties) {
  std::vector<std::pair<std::string, const json*>> order;
  for (const auto& [name, schema] : properties.items())
    if (name == "limit" && !schema.contains("default"))
      order.emplace_back(name, &schema);
  for (const auto& [name, schema] : properties.items())
    if (name != "limit" || schema.contains("default"))
      order.emplace_back(name, &schema);
  return order;
}

} // namespace

std::optional<json> validate_against(validator& v, std::string_view schema_name,
                                     const json& input) {
  return validate_schema(v, component(schema_name), input);
}

std::optional<json> validate_against(validator& v, std::string_view schema_name,
                                     const json& input,
                                     const model_checks& checks) {
  const auto* outer = active_checks;
  active_checks = &checks;
  auto out = validate_schema(v, component(schema_name), input);
  active_checks = outer;
  return out;
}

std::optional<json> validate_schema(validator& v, const json& schema,
                                    const json& input) {
  const auto before = v.count();
  auto out = check(v, schema, input);
  if (v.count() != before)
    return std::nullopt;
  return out;
}

std::optional<json> validate_embedded_body(validator& v,
                                           std::string_view body_schema_name,
                                           const json& body) {
  const auto& schema = component(body_schema_name);
  const auto properties = schema.find("properties");
  if (properties == schema.end() || !properties->is_object())
    bug("body schema without properties", body_schema_name);
  const auto order = parameter_order(*properties);
  const auto before = v.count();
  // FastAPI calls `body.get(name)` per parameter; anything but a dict
  // raises AttributeError, which it reports as that parameter missing.
  if (!body.is_null() && !body.is_object()) {
    for (const auto& [name, field] : order)
      v.fail("missing", "Field required", nullptr, nullptr, name);
    return std::nullopt;
  }
  json coerced = json::object();
  for (const auto& [name, field] : order) {
    const auto value = body.find(name);
    if (value == body.end() || value->is_null()) {
      if (is_required(schema, name))
        v.fail("missing", "Field required", nullptr, nullptr, name);
      continue;
    }
    auto guard = v.at(name);
    if (auto checked = check(v, *field, *value))
      coerced[name] = std::move(*checked);
  }
  if (v.count() != before)
    return std::nullopt;
  json out = json::object();
  if (body.is_object())
    for (const auto& [key, value] : body.items())
      if (const auto it = coerced.find(key); it != coerced.end())
        out[key] = std::move(*it);
  return out;
}

} // namespace deployd::http
