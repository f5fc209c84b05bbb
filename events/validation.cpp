#include "events/validation.hpp"

#include "events/python/json_text.hpp"

#include <cctype>
#include <cmath>
#include <limits>

namespace deployd::events {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
  };
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

// Integer text as pydantic's str_as_int accepts it: optional sign, digits,
// and an optional all-zero decimal fraction ("3.000").
std::optional<std::int64_t> parse_int_text(std::string_view s) {
  s = trim(s);
  if (s.empty())
    return std::nullopt;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (const auto dot = s.find('.'); dot != std::string_view::npos) {
    const auto fraction = s.substr(dot + 1);
    if (fraction.empty() ||
        fraction.find_first_not_of('0') != std::string_view::npos)
      return std::nullopt;
    s = s.substr(0, dot);
  }
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

bool hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

constexpr std::string_view bool_parsing_msg =
    "Input should be a valid boolean, unable to interpret input";

} // namespace

void validator::fail(std::string type, std::string msg, const json& input,
                     json ctx, const json& last) {
  json loc = loc_;
  if (!last.is_null())
    loc.push_back(last);
  errors_.push_back(field_error{std::move(type), std::move(loc), std::move(msg),
                                input, std::move(ctx)});
}

void validator::value_error(const std::string& message, const json& input,
                            const json& last) {
  fail("value_error", "Value error, " + message, input,
       json{{"error", json::object()}}, last);
}

std::optional<std::string> validator::string(const json& v) {
  if (v.is_string())
    return v.get<std::string>();
  fail("string_type", "Input should be a valid string", v);
  return std::nullopt;
}

std::optional<bool> validator::boolean(const json& v) {
  if (v.is_boolean())
    return v.get<bool>();
  if (v.is_string()) {
    const auto s = lower(v.get<std::string>());
    if (s == "0" || s == "off" || s == "f" || s == "false" || s == "n" ||
        s == "no")
      return false;
    if (s == "1" || s == "on" || s == "t" || s == "true" || s == "y" ||
        s == "yes")
      return true;
    fail("bool_parsing", std::string(bool_parsing_msg), v);
    return std::nullopt;
  }
  if (is_integral(v)) {
    if (v == 0 || v == 1)
      return v == 1;
    fail("bool_parsing", std::string(bool_parsing_msg), v);
    return std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d) {
      if (d == 0.0 || d == 1.0)
        return d == 1.0;
      fail("bool_parsing", std::string(bool_parsing_msg), v);
      return std::nullopt;
    }
  }
  fail("bool_type", "Input should be a valid boolean", v);
  return std::nullopt;
}

std::optional<std::int64_t> validator::integer(const json& v) {
  if (v.is_boolean())
    return v.get<bool>() ? 1 : 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() >
            static_cast<std::uint64_t>(
                std::numeric_limits<std::int64_t>::max())) {
      fail("int_parsing_size",
           "Unable to parse input string as an integer, "
           "exceeded maximum size",
           v);
      return std::nullopt;
    }
    return v.get<std::int64_t>();
  }
  if (is_big_integer(v)) {
    // Python takes any int here; deployd stores 64 bits, as it does for a
    // uint64 above int64's range.
    fail("int_parsing_size",
         "Unable to parse input string as an integer, exceeded maximum size",
         v);
    return std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) {
      fail("finite_number", "Input should be a finite number", v);
      return std::nullopt;
    }
    if (std::trunc(d) != d) {
      fail("int_from_float",
           "Input should be a valid integer, got a number with a fractional "
           "part",
           v);
      return std::nullopt;
    }
    if (std::fabs(d) < 9.2e18)
      return static_cast<std::int64_t>(d);
    fail("int_parsing_size",
         "Unable to parse input string as an integer, exceeded maximum size",
         v);
    return std::nullopt;
  }
  if (v.is_string()) {
    if (auto parsed = parse_int_text(v.get<std::string>()))
      return parsed;
    fail("int_parsing",
         "Input should be a valid integer, unable to parse string as an "
         "integer",
         v);
    return std::nullopt;
  }
  fail("int_type", "Input should be a valid integer", v);
  return std::nullopt;
}

std::optional<double> validator::number(const json& v) {
  if (is_numeric(v))
    return to_double(v);
  if (v.is_boolean())
    return v.get<bool>() ? 1.0 : 0.0;
  if (v.is_string()) {
    const auto text = std::string(trim(v.get<std::string>()));
    try {
      std::size_t used = 0;
      const double d = std::stod(text, &used);
      if (used == text.size() && !text.empty())
        return d;
    } catch (const std::exception&) {
      // fall through to the error below
    }
    fail("float_parsing",
         "Input should be a valid number, unable to parse string as a number",
         v);
    return std::nullopt;
  }
  fail("float_type", "Input should be a valid number", v);
  return std::nullopt;
}

std::optional<uuid> validator::uuid_value(const json& v) {
  if (!v.is_string()) {
    fail("uuid_type", "UUID input should be a string, bytes or UUID object", v);
    return std::nullopt;
  }
  const auto& text = v.get_ref<const std::string&>();
  if (auto id = parse_lenient_uuid(text))
    return id;
  const auto error = uuid_parse_error(text);
  fail("uuid_parsing", "Input should be a valid UUID, " + error, v,
       json{{"error", error}});
  return std::nullopt;
}

std::optional<timestamp> validator::datetime(const json& v) {
  if (v.is_string()) {
    if (auto t = parse_timestamp(v.get<std::string>()))
      return t;
    fail("datetime_from_date_parsing",
         "Input should be a valid datetime or date, invalid datetime format", v,
         json{{"error", "invalid datetime format"}});
    return std::nullopt;
  }
  if (is_numeric(v)) {
    // pydantic reads numbers as Unix seconds, or milliseconds when the value
    // is larger than 2e10.
    double d = to_double(v);
    if (std::fabs(d) > 2e10)
      d /= 1000.0;
    // Beyond year 9999 (or infinite, from a huge integer) is out of range;
    // without this the conversion below would overflow.
    if (!(std::fabs(d) < 253402300800.0)) {
      fail("datetime_parsing",
           "Input should be a valid datetime, dates after 9999 are not "
           "supported as unix timestamps",
           v,
           json{{"error",
                 "dates after 9999 are not supported as unix timestamps"}});
      return std::nullopt;
    }
    return timestamp{static_cast<std::int64_t>(std::llround(d * 1e6))};
  }
  fail("datetime_type", "Input should be a valid datetime", v);
  return std::nullopt;
}

bool validator::object(const json& v) {
  if (v.is_object())
    return true;
  fail("dict_type", "Input should be a valid dictionary", v);
  return false;
}

bool validator::list(const json& v) {
  if (v.is_array())
    return true;
  fail("list_type", "Input should be a valid list", v);
  return false;
}

bool validator::greater_than(std::int64_t value, std::int64_t bound,
                             const json& input) {
  if (value > bound)
    return true;
  fail("greater_than", "Input should be greater than " + std::to_string(bound),
       input, json{{"gt", bound}});
  return false;
}

bool validator::greater_equal(std::int64_t value, std::int64_t bound,
                              const json& input) {
  if (value >= bound)
    return true;
  fail("greater_than_equal",
       "Input should be greater than or equal to " + std::to_string(bound),
       input, json{{"ge", bound}});
  return false;
}

bool validator::less_equal(std::int64_t value, std::int64_t bound,
                           const json& input) {
  if (value <= bound)
    return true;
  fail("less_than_equal",
       "Input should be less than or equal to " + std::to_string(bound), input,
       json{{"le", bound}});
  return false;
}

void validator::missing(const json& parent, const std::string& key) {
  fail("missing", "Field required", parent, nullptr, key);
}

void validator::forbid_extra(const json& object,
                             std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (auto name : allowed)
      if (name == key) {
        known = true;
        break;
      }
    if (!known)
      fail("extra_forbidden", "Extra inputs are not permitted", value, nullptr,
           key);
  }
}

std::optional<std::vector<std::string>> validator::string_list(const json& v) {
  if (!list(v))
    return std::nullopt;
  std::vector<std::string> out;
  out.reserve(v.size());
  const auto before = count();
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto guard = at(static_cast<std::int64_t>(i));
    if (auto s = string(v[i]))
      out.push_back(std::move(*s));
  }
  if (count() != before)
    return std::nullopt;
  return out;
}

bool validator::label_map(const json& v) {
  if (!object(v))
    return false;
  const auto before = count();
  for (const auto& [key, value] : v.items()) {
    if (value.is_boolean() || is_numeric(value) || value.is_string())
      continue;
    auto guard = at(key);
    fail("bool_type", "Input should be a valid boolean", value, nullptr,
         "bool");
    fail("int_type", "Input should be a valid integer", value, nullptr, "int");
    fail("float_type", "Input should be a valid number", value, nullptr,
         "float");
    fail("string_type", "Input should be a valid string", value, nullptr,
         "str");
  }
  return count() == before;
}

bool python_truthy(const json& v) {
  switch (v.type()) {
  case json::value_t::null:
    return false;
  case json::value_t::boolean:
    return v.get<bool>();
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return v != 0;
  case json::value_t::number_float:
    return v.get<double>() != 0.0;
  case json::value_t::string:
    return !v.get_ref<const std::string&>().empty();
  case json::value_t::array:
  case json::value_t::object:
    return !v.empty();
  default:
    return true;
  }
}

std::optional<uuid> parse_lenient_uuid(std::string_view s) {
  if (s.size() == 38 && s.front() == '{' && s.back() == '}')
    s = s.substr(1, 36);
  else if (s.size() == 45 && s.starts_with("urn:uuid:"))
    s = s.substr(9);
  if (s.size() == 36)
    return uuid::parse(s);
  if (s.size() == 32) {
    std::string hyphenated;
    hyphenated.reserve(36);
    for (std::size_t i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20)
        hyphenated.push_back('-');
      if (!hex(s[i]))
        return std::nullopt;
      hyphenated.push_back(s[i]);
    }
    return uuid::parse(hyphenated);
  }
  return std::nullopt;
}

std::string uuid_parse_error(std::string_view input) {
  // Mirrors uuid::parser::InvalidUuid::into_err of the Rust crate: find the
  // first bad character (1-based index), else explain the length or grouping.
  std::string_view body = input;
  std::size_t offset = 0;
  bool simple = true;
  if (body.size() >= 2 && body.front() == '{' && body.back() == '}') {
    body = body.substr(1, body.size() - 2);
    offset = 1;
    simple = false;
  } else if (body.starts_with("urn:uuid:")) {
    body = body.substr(9);
    offset = 9;
    simple = false;
  }
  std::size_t hyphens = 0;
  std::size_t bounds[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < body.size();) {
    const auto c = static_cast<unsigned char>(body[i]);
    std::size_t len = 1;
    if (c >= 0x80) {
      len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return "invalid character: found `" + std::string(body.substr(i, len)) +
             "` at " + std::to_string(i + offset + 1);
    }
    if (c == '-') {
      if (hyphens < 4)
        bounds[hyphens] = i;
      ++hyphens;
    } else if (!hex(static_cast<char>(c))) {
      return "invalid character: found `" +
             std::string(1, static_cast<char>(c)) + "` at " +
             std::to_string(i + offset + 1);
    }
    i += len;
  }
  if (hyphens == 0 && simple)
    return "invalid length: expected length 32 for simple format, found " +
           std::to_string(input.size());
  if (hyphens != 4)
    return "invalid group count: expected 5, found " +
           std::to_string(hyphens + 1);
  constexpr std::size_t starts[5] = {0, 9, 14, 19, 24};
  constexpr std::size_t expected[5] = {8, 4, 4, 4, 12};
  for (std::size_t g = 0; g < 4; ++g)
    if (bounds[g] != starts[g + 1] - 1)
      return "invalid group length in group " + std::to_string(g) +
             ": expected " + std::to_string(expected[g]) + ", found " +
             std::to_string(bounds[g] - starts[g]);
  return "invalid group length in group 4: expected 12, found " +
         std::to_string(body.size() - starts[4]);
}

std::string with_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t lead = digits.size() % 3;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && i % 3 == lead)
      out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

} // namespace deployd::events
