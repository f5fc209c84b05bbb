// Parameter schema checks; see json_schema.hpp.
//
// Why two engines. The reference server answers with python-jsonschema's
// texts: the message of one "best match" error (chosen among all errors by
// instance depth, path and keyword), `$ref` failures raised lazily when the
// evaluation reaches them, and a RecursionError when `$ref`s loop. Those
// depend on jsonschema's exact order of evaluation, which no C++ validator
// reproduces. So `evaluator` below follows jsonschema 4.x keyword by keyword
// (same order, same short-circuits, same messages) and produces the texts,
// while valijson, a maintained JSON Schema validator, decides validity
// whenever the schema can be expressed in its Draft 7 dialect with the same
// meaning (see `draft7_translator`). When it cannot (2020-12-only keywords,
// `multipleOf` with its different float rule, Python-only regex syntax,
// loops through `$ref`), the evaluator decides alone.
#include "events/python/json_schema.hpp"

#include "events/python/json_text.hpp"
#include "events/python/python_repr.hpp"

// valijson is header-only and not clean under our warning flags; it throws
// (instead of aborting the process) only with VALIJSON_USE_EXCEPTIONS.
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#pragma GCC diagnostic pop

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace deployd::events {

namespace {

/// jsonschema raises RecursionError (Prefect: "circular references") when
/// Python's 1000-frame stack runs out. A schema application costs about two
/// frames and the server itself uses some, so deeper nesting than this is
/// reported as circular. It also bounds our own stack use.
constexpr int max_descend_depth = 450;

constexpr std::string_view circular_reason =
    "Unable to validate schema with circular references.";

/// Documents nested deeper than this never reach the reference's validator
/// (Python's JSON decoder and `repr()` give up near its recursion limit);
/// refusing them here keeps every recursive walk below within the stack.
constexpr std::size_t max_document_depth = 900;

// -- json values with Python semantics ----------------------------------------

/// The member `key` of `object`, or null when absent or not an object.
const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

/// Nesting depth of arrays and objects in `value` (a scalar is 0), found
/// without recursion.
std::size_t nesting_depth(const json& value) {
  std::size_t deepest = 0;
  std::vector<std::pair<const json*, std::size_t>> pending{{&value, 0}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) {
      continue;
    }
    deepest = std::max(deepest, depth + 1);
    for (const json& child : *node) {
      pending.emplace_back(&child, depth + 1);
    }
  }
  return deepest;
}

/// Python truthiness of the value `json.loads` produces.
bool truthy(const json& value) {
  switch (value.type()) {
  case json::value_t::boolean:
    return value.get<bool>();
  case json::value_t::number_integer:
    return value.get<std::int64_t>() != 0;
  case json::value_t::number_unsigned:
    return value.get<std::uint64_t>() != 0;
  case json::value_t::number_float:
    return value.get<double>() != 0.0;
  case json::value_t::string:
    return !value.get_ref<const std::string&>().empty();
  case json::value_t::array:
  case json::value_t::object:
    return !value.empty();
  case json::value_t::binary:
    return is_big_integer(value); // never zero
  default:
    return false;
  }
}

long double as_long_double(const json& number) {
  if (is_big_integer(number)) {
    const std::string text(big_integer_text(number));
    return std::strtold(text.c_str(), nullptr); // +-HUGE_VALL beyond range
  }
  if (number.is_number_unsigned()) {
    return static_cast<long double>(number.get<std::uint64_t>());
  }
  if (number.is_number_integer()) {
    return static_cast<long double>(number.get<std::int64_t>());
  }
  return static_cast<long double>(number.get<double>());
}

/// Python's exact comparison of two numbers (int and float mix exactly;
/// long double holds every int64, uint64 and double exactly).
std::partial_ordering compare_numbers(const json& a, const json& b) {
  if (is_big_integer(a) || is_big_integer(b)) {
    if (a.is_number_float() || b.is_number_float()) {
      return as_long_double(a) <=> as_long_double(b);
    }
    // A big integer lies beyond every 64-bit one, on the side of its sign;
    // two compare by sign, then length, then digits.
    const auto sign = [](const json& v) {
      if (is_big_integer(v)) {
        return big_integer_text(v).front() == '-' ? -2 : 2;
      }
      return v.is_number_unsigned() || v.get<std::int64_t>() >= 0 ? 1 : -1;
    };
    const int sa = sign(a);
    const int sb = sign(b);
    if (!is_big_integer(a) || !is_big_integer(b) || sa != sb) {
      return sa <=> sb;
    }
    const auto ta = big_integer_text(a);
    const auto tb = big_integer_text(b);
    const auto magnitude =
        ta.size() != tb.size() ? ta.size() <=> tb.size() : ta.compare(tb) <=> 0;
    return sa > 0 ? std::partial_ordering(magnitude)
                  : std::partial_ordering(0 <=> magnitude);
  }
  if (a.is_number_float() || b.is_number_float()) {
    return as_long_double(a) <=> as_long_double(b);
  }
  const auto big = [](const json& v) {
    return v.is_number_unsigned() &&
           v.get<std::uint64_t>() >
               static_cast<std::uint64_t>(
                   std::numeric_limits<std::int64_t>::max());
  };
  if (big(a) || big(b)) {
    if (big(a) && big(b)) {
      return a.get<std::uint64_t>() <=> b.get<std::uint64_t>();
    }
    return big(a) ? std::partial_ordering::greater
                  : std::partial_ordering::less;
  }
  return a.get<std::int64_t>() <=> b.get<std::int64_t>();
}

/// jsonschema's `equal`: structural, 1 == 1.0, but True != 1.
bool python_equal(const json& a, const json& b) {
  if (a.is_string() || b.is_string()) {
    return a.is_string() && b.is_string() &&
           a.get_ref<const std::string&>() == b.get_ref<const std::string&>();
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!python_equal(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (const auto& [key, value] : a.items()) {
      const json* other = member(b, key);
      if (other == nullptr || !python_equal(value, *other)) {
        return false;
      }
    }
    return true;
  }
  if (a.is_boolean() || b.is_boolean()) {
    return a.is_boolean() && b.is_boolean() && a.get<bool>() == b.get<bool>();
  }
  if (is_numeric(a) && is_numeric(b)) {
    return compare_numbers(a, b) == std::partial_ordering::equivalent;
  }
  return a.is_null() && b.is_null();
}

/// Draft 2020-12 type check as jsonschema's TYPE_CHECKER does it (1.0 is an
/// integer, True is not a number). Unknown names match nothing.
bool is_type(const json& value, std::string_view type) {
  if (type == "array") {
    return value.is_array();
  }
  if (type == "boolean") {
    return value.is_boolean();
  }
  if (type == "integer") {
    if (is_integral(value)) {
      return true;
    }
    if (value.is_number_float()) {
      const double d = value.get<double>();
      return std::isfinite(d) && std::floor(d) == d;
    }
    return false;
  }
  if (type == "null") {
    return value.is_null();
  }
  if (type == "number") {
    return is_numeric(value);
  }
  if (type == "object") {
    return value.is_object();
  }
  if (type == "string") {
    return value.is_string();
  }
  return false;
}

/// Python `len()` of a str: code points of valid UTF-8 text.
std::size_t code_point_count(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
      }));
}

/// UTF-32 (wchar_t is 32 bits on the supported platforms) copy of valid
/// UTF-8 text, so that regex `.` and classes see code points as Python does.
std::wstring widen(std::string_view text) {
  std::wstring out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    std::uint32_t value = lead;
    if (lead >= 0xF0U) {
      length = 4;
      value = lead & 0x07U;
    } else if (lead >= 0xE0U) {
      length = 3;
      value = lead & 0x0FU;
    } else if (lead >= 0xC0U) {
      length = 2;
      value = lead & 0x1FU;
    }
    for (std::size_t k = 1; k < length && i + k < text.size(); ++k) {
      value = (value << 6U) | (static_cast<unsigned char>(text[i + k]) & 0x3FU);
    }
    out += static_cast<wchar_t>(value);
    i += length;
  }
  return out;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80U;
  });
}

// -- Python regular expressions -----------------------------------------------

/// How far a Python `re` pattern could be carried over to ECMAScript.
enum class regex_status : std::uint8_t {
  ok = 0,          ///< `pattern` means the same to std::regex
  unsupported = 1, ///< valid Python we cannot express (lookbehind, ...)
  invalid = 2,     ///< `re.compile` would fail
};

struct translated_regex {
  regex_status status = regex_status::ok;
  std::string pattern; ///< ECMAScript text, UTF-8
  bool icase = false;
  bool multiline = false;
};

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// Carries a Python 3.11 `re` pattern over to ECMAScript (std::regex),
/// following sre_parse: named groups lose their names (references become
/// numbered), `.` excludes only `\n`, `$` also matches before a final
/// newline, `\A`/`\Z` become `^`/`$`, literal braces are escaped, octal
/// escapes become `\x..`, leading global flags (i, m, s) become options, and
/// the errors `re.compile` raises (bad escapes, repeats of nothing or of a
/// repeat, bad group references, unbalanced parentheses) are reported.
class regex_translator {
public:
  explicit regex_translator(std::string_view pattern) : p_(pattern) {
  }

  translated_regex run() {
    read_global_flags();
    while (i_ < p_.size() && out_.status != regex_status::invalid) {
      step();
    }
    if (!open_.empty()) {
      worse(regex_status::invalid); // missing ), unterminated subpattern
    }
    return std::move(out_);
  }

private:
  /// What the last item was, for sre's "nothing to repeat" and "multiple
  /// repeat" errors.
  enum class previous : std::uint8_t {
    nothing,
    atom,
    assertion, ///< a lookahead group
    repeat,
    final_repeat, ///< a lazy or possessive repeat
  };

  /// Marks a lookahead in `open_`.
  static constexpr int lookahead = -1;

  void worse(regex_status status) {
    if (status > out_.status) {
      out_.status = status;
    }
  }

  [[nodiscard]] bool at(std::size_t k, char c) const {
    return k < p_.size() && p_[k] == c;
  }

  void read_global_flags() {
    while (at(i_, '(') && at(i_ + 1, '?')) {
      std::size_t j = i_ + 2;
      while (j < p_.size() && std::string_view("aiLmsux").find(p_[j]) !=
                                  std::string_view::npos) {
        ++j;
      }
      if (j == i_ + 2 || !at(j, ')')) {
        return;
      }
      for (std::size_t k = i_ + 2; k < j; ++k) {
        if (p_[k] == 'i') {
          out_.icase = true;
        } else if (p_[k] == 'm') {
          out_.multiline = true;
        } else if (p_[k] == 's') {
          dotall_ = true;
        } else if (p_[k] == 'x' || p_[k] == 'L') {
          worse(regex_status::unsupported);
        }
      }
      i_ = j + 1;
    }
  }

  void literal(std::uint32_t code_point) {
    static constexpr std::string_view hex = "0123456789abcdef";
    if (code_point > 0xFFFF) {
      // No ECMAScript escape reaches past the BMP, but an astral character
      // is never special: written as UTF-8 it becomes one wide character.
      out_.pattern += static_cast<char>(0xF0U | (code_point >> 18U));
      out_.pattern += static_cast<char>(0x80U | ((code_point >> 12U) & 0x3FU));
      out_.pattern += static_cast<char>(0x80U | ((code_point >> 6U) & 0x3FU));
      out_.pattern += static_cast<char>(0x80U | (code_point & 0x3FU));
    } else if (code_point <= 0xFF) {
      out_.pattern += "\\x";
      out_.pattern += hex[code_point >> 4U];
      out_.pattern += hex[code_point & 0xFU];
    } else {
      out_.pattern += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) {
        out_.pattern +=
            hex[(code_point >> static_cast<unsigned>(shift)) & 0xFU];
      }
    }
  }

  /// Reads `count` hex digits after `\x`, `\u` or `\U`.
  std::optional<std::uint32_t> hex_digits(std::size_t count) {
    if (i_ + count > p_.size()) {
      return std::nullopt;
    }
    std::uint32_t value = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const char c = p_[i_ + k];
      if (!is_hex(c)) {
        return std::nullopt;
      }
      value = value * 16 + static_cast<std::uint32_t>(
                               is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    i_ += count;
    return value;
  }

  /// One escape; `i_` is at the backslash. Returns whether it was an atom
  /// (as opposed to an anchor).
  bool escape(bool in_class) {
    if (i_ + 1 >= p_.size()) {
      worse(regex_status::invalid); // bad escape (end of pattern)
      return true;
    }
    const char e = p_[i_ + 1];
    i_ += 2;
    const auto octal = [](char c) { return c >= '0' && c <= '7'; };
    switch (e) {
    case 'A':
    case 'Z':
    case 'B':
      if (in_class) {
        worse(regex_status::invalid);
        return true;
      }
      if (e != 'B' && out_.multiline) {
        worse(regex_status::unsupported);
      }
      out_.pattern += e == 'A' ? "^" : e == 'Z' ? "$" : "\\B";
      return false;
    case 'b':
      out_.pattern += in_class ? "\\x08" : "\\b";
      return in_class;
    case 'd':
    case 'D':
    case 's':
    case 'S':
    case 'w':
    case 'W':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
      out_.pattern += '\\';
      out_.pattern += e;
      return true;
    case 'a':
      literal(0x07);
      return true;
    case 'x':
    case 'u':
    case 'U': {
      const auto value = hex_digits(e == 'x' ? 2 : e == 'u' ? 4 : 8);
      if (!value || *value > 0x10FFFF) {
        worse(regex_status::invalid);
      } else {
        literal(*value);
      }
      return true;
    }
    case 'N':
      worse(regex_status::unsupported);
      return true;
    default:
      break;
    }
    if (is_digit(e)) {
      std::string digits(1, e);
      if (in_class || e == '0') {
        if (!octal(e)) {
          worse(regex_status::invalid);
          return true;
        }
        while (digits.size() < 3 && i_ < p_.size() && octal(p_[i_])) {
          digits += p_[i_++];
        }
        const auto value = std::stoul(digits, nullptr, 8);
        if (value > 0377) {
          worse(regex_status::invalid);
        }
        literal(static_cast<std::uint32_t>(value));
        return true;
      }
      if (i_ < p_.size() && is_digit(p_[i_])) {
        digits += p_[i_++];
        if (octal(digits[0]) && octal(digits[1]) && i_ < p_.size() &&
            octal(p_[i_])) {
          digits += p_[i_++];
          const auto value = std::stoul(digits, nullptr, 8);
          if (value > 0377) {
            worse(regex_status::invalid);
          }
          literal(static_cast<std::uint32_t>(value));
          return true;
        }
      }
      group_reference(std::stoi(digits));
      return true;
    }
    if (is_ascii_letter(e)) {
      worse(regex_status::invalid); // sre: bad escape
      return true;
    }
    if (static_cast<unsigned char>(e) >= 0x80U) {
      --i_; // an escaped non-ASCII character is the character itself
      return true;
    }
    out_.pattern += '\\';
    out_.pattern += e;
    return true;
  }

  void group_reference(int group) {
    if (group > groups_ || !closed_.contains(group)) {
      worse(regex_status::invalid); // invalid or open group reference
      return;
    }
    out_.pattern += "(?:\\" + std::to_string(group) + ")";
  }

  void character_class() {
    out_.pattern += '[';
    ++i_;
    if (at(i_, '^')) {
      out_.pattern += '^';
      ++i_;
    }
    bool first = true;
    while (i_ < p_.size()) {
      const char c = p_[i_];
      if (c == ']' && !first) {
        out_.pattern += ']';
        ++i_;
        return;
      }
      first = false;
      if (c == '\\') {
        escape(true);
        if (out_.status == regex_status::invalid) {
          return;
        }
      } else if (c == '[' || c == ']') {
        out_.pattern += '\\';
        out_.pattern += c;
        ++i_;
      } else {
        out_.pattern += c;
        ++i_;
      }
    }
    worse(regex_status::invalid); // unterminated character set
  }

  void open_group() {
    const std::string_view rest = p_.substr(i_ + 1);
    if (!rest.starts_with("?")) {
      ++groups_;
      open_.push_back(groups_);
      out_.pattern += '(';
      ++i_;
      last_ = previous::nothing;
      return;
    }
    const std::string_view extension = rest.substr(1);
    if (extension.starts_with("P<")) {
      const auto close = extension.find('>');
      const std::string_view name =
          close == std::string_view::npos ? "" : extension.substr(2, close - 2);
      const bool identifier = !name.empty() && !is_digit(name.front()) &&
                              std::all_of(name.begin(), name.end(), [](char c) {
                                return is_ascii_letter(c) || is_digit(c) ||
                                       c == '_' ||
                                       static_cast<unsigned char>(c) >= 0x80U;
                              });
      if (!identifier || names_.contains(name)) {
        worse(regex_status::invalid);
        return;
      }
      ++groups_;
      names_.emplace(std::string(name), groups_);
      open_.push_back(groups_);
      out_.pattern += '(';
      i_ += close + 3; // past "(?P<name>"
      last_ = previous::nothing;
      return;
    }
    if (extension.starts_with("P=")) {
      const auto close = extension.find(')');
      const auto found = close == std::string_view::npos
                             ? names_.end()
                             : names_.find(extension.substr(2, close - 2));
      if (found == names_.end()) {
        worse(regex_status::invalid);
        return;
      }
      group_reference(found->second);
      i_ += close + 3; // past "(?P=name)"
      last_ = previous::atom;
      return;
    }
    if (extension.starts_with(":") || extension.starts_with("=") ||
        extension.starts_with("!")) {
      open_.push_back(extension.starts_with(":") ? 0 : lookahead);
      out_.pattern += "(?";
      out_.pattern += extension.front();
      i_ += 3;
      last_ = previous::nothing;
      return;
    }
    if (extension.starts_with("#")) {
      const auto close = p_.find(')', i_);
      if (close == std::string_view::npos) {
        worse(regex_status::invalid);
        return;
      }
      i_ = close + 1; // a comment is no item: `last_` stays
      return;
    }
    if (extension.starts_with("<=") || extension.starts_with("<!") ||
        extension.starts_with(">") || extension.starts_with("(")) {
      // Lookbehind, atomic groups and conditionals have no ECMAScript form.
      worse(regex_status::unsupported);
      open_.push_back(0);
      i_ += 3;
      last_ = previous::nothing;
      return;
    }
    std::size_t j = 0;
    while (j < extension.size() &&
           std::string_view("aiLmsux-").find(extension[j]) !=
               std::string_view::npos) {
      ++j;
    }
    // `(?i:...)` scoped flags are valid but have no ECMAScript spelling;
    // global flags after the start and unknown extensions are errors.
    if (j > 0 && j < extension.size() && extension[j] == ':') {
      worse(regex_status::unsupported);
      open_.push_back(0);
      i_ += 2 + j + 1;
      last_ = previous::nothing;
      return;
    }
    worse(regex_status::invalid);
  }

  void close_group() {
    if (open_.empty()) {
      worse(regex_status::invalid); // unbalanced parenthesis
      return;
    }
    if (open_.back() > 0) {
      closed_.insert(open_.back());
    }
    last_ = open_.back() == lookahead ? previous::assertion : previous::atom;
    open_.pop_back();
    out_.pattern += ')';
    ++i_;
  }

  /// A repeat (`*`, `+`, `?`, `{m,n}`) already read as ECMAScript `text`.
  void repeat(const std::string& text) {
    if (last_ == previous::nothing) {
      worse(regex_status::invalid); // nothing to repeat
      return;
    }
    if (last_ == previous::assertion) {
      worse(regex_status::unsupported); // sre allows it, std::regex not
    } else if (last_ != previous::atom) {
      worse(regex_status::invalid); // multiple repeat
      return;
    }
    out_.pattern += text;
    last_ = previous::repeat;
    if (at(i_, '?')) {
      out_.pattern += '?';
      ++i_;
      last_ = previous::final_repeat;
    } else if (at(i_, '+')) {
      worse(regex_status::unsupported); // possessive
      ++i_;
      last_ = previous::final_repeat;
    }
  }

  /// Reads `{m}`, `{m,}`, `{,n}`, `{m,n}` at `{`; nothing when sre reads a
  /// literal brace instead.
  std::optional<std::string> quantifier() {
    std::size_t j = i_ + 1;
    if (at(j, '}')) {
      return std::nullopt;
    }
    std::string lo;
    std::string hi;
    while (j < p_.size() && is_digit(p_[j])) {
      lo += p_[j++];
    }
    bool comma = false;
    if (at(j, ',')) {
      comma = true;
      ++j;
      while (j < p_.size() && is_digit(p_[j])) {
        hi += p_[j++];
      }
    } else {
      hi = lo;
    }
    if (!at(j, '}')) {
      return std::nullopt;
    }
    i_ = j + 1;
    if (!lo.empty() && !hi.empty() && lo.size() <= 9 && hi.size() <= 9 &&
        std::stoul(lo) > std::stoul(hi)) {
      worse(regex_status::invalid); // min repeat greater than max repeat
    }
    const std::string min = lo.empty() ? "0" : lo;
    return comma ? "{" + min + "," + hi + "}" : "{" + min + "}";
  }

  void step() {
    const char c = p_[i_];
    switch (c) {
    case '\\':
      last_ = escape(false) ? previous::atom : previous::nothing;
      return;
    case '[':
      character_class();
      last_ = previous::atom;
      return;
    case '(':
      open_group();
      return;
    case ')':
      close_group();
      return;
    case '|':
      out_.pattern += '|';
      ++i_;
      last_ = previous::nothing;
      return;
    case '^':
      out_.pattern += '^';
      ++i_;
      last_ = previous::nothing;
      return;
    case '$':
      out_.pattern += out_.multiline ? "$" : "(?=\\n?$)";
      ++i_;
      last_ = previous::nothing;
      return;
    case '.':
      out_.pattern += dotall_ ? "[\\s\\S]" : "[^\\n]";
      ++i_;
      last_ = previous::atom;
      return;
    case '*':
    case '+':
    case '?':
      ++i_;
      repeat(std::string(1, c));
      return;
    case '{':
      if (auto text = quantifier()) {
        repeat(*text);
      } else {
        out_.pattern += "\\{";
        ++i_;
        last_ = previous::atom;
      }
      return;
    case '}':
    case ']':
      out_.pattern += '\\';
      out_.pattern += c;
      ++i_;
      last_ = previous::atom;
      return;
    default:
      out_.pattern += c;
      ++i_;
      last_ = previous::atom;
      return;
    }
  }

  std::string_view p_;
  std::size_t i_ = 0;
  translated_regex out_;
  bool dotall_ = false;
  previous last_ = previous::nothing;
  int groups_ = 0;
  std::vector<int> open_; ///< group numbers; 0 non-capturing, or lookahead
  std::set<int> closed_;
  std::map<std::string, int, std::less<>> names_;
};

translated_regex translate_python_regex(std::string_view pattern) {
  return regex_translator(pattern).run();
}

/// A compiled pattern, or why there is none.
struct compiled_regex {
  regex_status status = regex_status::ok;
  std::optional<std::wregex> regex;
};

compiled_regex compile_python_regex(const std::string& pattern) {
  compiled_regex result;
  const translated_regex translated = translate_python_regex(pattern);
  result.status = translated.status;
  if (translated.status != regex_status::ok) {
    return result;
  }
  auto flags = std::regex_constants::ECMAScript;
  if (translated.icase) {
    flags |= std::regex_constants::icase;
  }
  if (translated.multiline) {
    flags |= std::regex_constants::multiline;
  }
  try {
    result.regex.emplace(widen(translated.pattern), flags);
  } catch (const std::regex_error&) {
    result.status = regex_status::invalid;
  }
  return result;
}

/// Per-check cache of compiled patterns; `re.search` semantics.
class regex_cache {
public:
  /// Whether `pattern` matches somewhere in `text`; nothing when the pattern
  /// cannot be evaluated here (unsupported or invalid).
  std::optional<bool> search(const std::string& pattern,
                             const std::string& text) {
    const compiled_regex& compiled = lookup(pattern);
    if (!compiled.regex) {
      return std::nullopt;
    }
    try {
      return std::regex_search(widen(text), *compiled.regex);
    } catch (const std::regex_error&) {
      return std::nullopt; // e.g. std::regex_constants::error_complexity
    }
  }

  /// Whether `re.compile(pattern)` would succeed (unsupported syntax is
  /// assumed valid).
  bool valid(const std::string& pattern) {
    return lookup(pattern).status != regex_status::invalid;
  }

private:
  const compiled_regex& lookup(const std::string& pattern) {
    auto it = cache_.find(pattern);
    if (it == cache_.end()) {
      it = cache_.emplace(pattern, compile_python_regex(pattern)).first;
    }
    return it->second;
  }

  std::unordered_map<std::string, compiled_regex> cache_;
};

// -- Draft 2020-12 meta-schemas -----------------------------------------------

// The Draft 2020-12 meta-schema and its vocabularies, in their published
// member order (which decides the first error `check_schema` reports),
// without members that have no validation meaning ($comment, title,
// default, deprecated, $schema, $vocabulary).
constexpr std::array<std::string_view, 8> metaschema_texts = {
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/schema",
  "$dynamicAnchor": "meta",
  "allOf": [
    {"$ref": "meta/core"},
    {"$ref": "meta/applicator"},
    {"$ref": "meta/unevaluated"},
    {"$ref": "meta/validation"},
    {"$ref": "meta/meta-data"},
    {"$ref": "meta/format-annotation"},
    {"$ref": "meta/content"}
  ],
  "type": ["object", "boolean"],
  "properties": {
    "definitions": {
      "type": "object",
      "additionalProperties": {"$dynamicRef": "#meta"}
    },
    "dependencies": {
      "type": "object",
      "additionalProperties": {
        "anyOf": [
          {"$dynamicRef": "#meta"},
          {"$ref": "meta/validation#/$defs/stringArray"}
        ]
      }
    },
    "$recursiveAnchor": {"$ref": "meta/core#/$defs/anchorString"},
    "$recursiveRef": {"$ref": "meta/core#/$defs/uriReferenceString"}
  }
})json",
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/meta/core",
  "$dynamicAnchor": "meta",
  "type": ["object", "boolean"],
  "properties": {
    "$id": {"$ref": "#/$defs/uriReferenceString", "pattern": "^[^#]*#?$"},
    "$schema": {"$ref": "#/$defs/uriString"},
    "$ref": {"$ref": "#/$defs/uriReferenceString"},
    "$anchor": {"$ref": "#/$defs/anchorString"},
    "$dynamicRef": {"$ref": "#/$defs/uriReferenceString"},
    "$dynamicAnchor": {"$ref": "#/$defs/anchorString"},
    "$vocabulary": {
      "type": "object",
      "propertyNames": {"$ref": "#/$defs/uriString"},
      "additionalProperties": {"type": "boolean"}
    },
    "$comment": {"type": "string"},
    "$defs": {
      "type": "object",
      "additionalProperties": {"$dynamicRef": "#meta"}
    }
  },
  "$defs": {
    "anchorString": {
      "type": "string",
      "pattern": "^[A-Za-z_][-A-Za-z0-9._]*$"
    },
    "uriString": {"type": "string", "format": "uri"},
    "uriReferenceString": {"type": "string", "format": "uri-reference"}
  }
})json",
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/meta/applicator",
  "$dynamicAnchor": "meta",
  "type": ["object", "boolean"],
  "properties": {
    "prefixItems": {"$ref": "#/$defs/schemaArray"},
    "items": {"$dynamicRef": "#meta"},
    "contains": {"$dynamicRef": "#meta"},
    "additionalProperties": {"$dynamicRef": "#meta"},
    "properties": {
      "type": "object",
      "additionalProperties": {"$dynamicRef": "#meta"}
    },
    "patternProperties": {
      "type": "object",
      "additionalProperties": {"$dynamicRef": "#meta"},
      "propertyNames": {"format": "regex"}
    },
    "dependentSchemas": {
      "type": "object",
      "additionalProperties": {"$dynamicRef": "#meta"}
    },
    "propertyNames": {"$dynamicRef": "#meta"},
    "if": {"$dynamicRef": "#meta"},
    "then": {"$dynamicRef": "#meta"},
    "else": {"$dynamicRef": "#meta"},
    "allOf": {"$ref": "#/$defs/schemaArray"},
    "anyOf": {"$ref": "#/$defs/schemaArray"},
    "oneOf": {"$ref": "#/$defs/schemaArray"},
    "not": {"$dynamicRef": "#meta"}
  },
  "$defs": {
    "schemaArray": {
      "type": "array",
      "minItems": 1,
      "items": {"$dynamicRef": "#meta"}
    }
  }
})json",
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/meta/unevaluated",
  "$dynamicAnchor": "meta",
  "type": ["object", "boolean"],
  "properties": {
    "unevaluatedItems": {"$dynamicRef": "#meta"},
    "unevaluatedProperties": {"$dynamicRef": "#meta"}
  }
})json",
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/meta/validation",
  "$dynamicAnchor": "meta",
  "type": ["object", "boolean"],
  "properties": {
    "type": {
      "anyOf": [
        {"$ref": "#/$defs/simpleTypes"},
        {
          "type": "array",
          "items": {"$ref": "#/$defs/simpleTypes"},
          "minItems": 1,
          "uniqueItems": true
        }
      ]
    },
    "const": true,
    "enum": {"type": "array", "items": true},
    "multipleOf": {"type": "number", "exclusiveMinimum": 0},
    "maximum": {"type": "number"},
    "exclusiveMaximum": {"type": "number"},
    "minimum": {"type": "number"},
    "exclusiveMinimum": {"type": "number"},
    "maxLength": {"$ref": "#/$defs/nonNegativeInteger"},
    "minLength": {"$ref": "#/$defs/nonNegativeIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "maxItems": {"$ref": "#/$defs/nonNegativeInteger"},
    "minItems": {"$ref": "#/$defs/nonNegativeIntegerDefault0"},
    "uniqueItems": {"type": "boolean"},
    "maxContains": {"$ref": "#/$defs/nonNegativeInteger"},
    "minContains": {"$ref": "#/$defs/nonNegativeInteger"},
    "maxProperties": {"$ref": "#/$defs/nonNegativeInteger"},
    "minProperties": {"$ref": "#/$defs/nonNegativeIntegerDefault0"},
    "required": {"$ref": "#/$defs/stringArray"},
    "dependentRequired": {
      "type": "object",
      "additionalProperties": {"$ref": "#/$defs/stringArray"}
    }
  },
  "$defs": {
    "nonNegativeInteger": {"type": "integer", "minimum": 0},
    "nonNegativeIntegerDefault0": {"$ref": "#/$defs/nonNegativeInteger"},
    "simpleTypes": {
      "enum": [
        "array",
        "boolean",
        "integer",
        "null",
        "number",
        "object",
        "string"
      ]
    },
    "stringArray": {
      "type": "array",
      "items": {"type": "string"},
      "uniqueItems": true
    }
  }
})json",
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/meta/meta-data",
  "$dynamicAnchor": "meta",
  "type": ["object", "boolean"],
  "properties": {
    "title": {"type": "string"},
    "description": {"type": "string"},
    "default": true,
    "deprecated": {"type": "boolean"},
    "readOnly": {"type": "boolean"},
    "writeOnly": {"type": "boolean"},
    "examples": {"type": "array", "items": true}
  }
})json",
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/meta/format-annotation",
  "$dynamicAnchor": "meta",
  "type": ["object", "boolean"],
  "properties": {"format": {"type": "string"}}
})json",
    R"json({
  "$id": "https://json-schema.org/draft/2020-12/meta/content",
  "$dynamicAnchor": "meta",
  "type": ["object", "boolean"],
  "properties": {
    "contentEncoding": {"type": "string"},
    "contentMediaType": {"type": "string"},
    "contentSchema": {"$dynamicRef": "#meta"}
  }
})json",
};

constexpr std::string_view metaschema_uri =
    "https://json-schema.org/draft/2020-12/schema";

const std::vector<json>& metaschema_documents() {
  static const std::vector<json> documents = [] {
    std::vector<json> parsed;
    for (const std::string_view text : metaschema_texts) {
      parsed.push_back(json::parse(text, nullptr, false));
      assert(!parsed.back().is_discarded() && "embedded meta-schema");
    }
    return parsed;
  }();
  return documents;
}

// -- references ---------------------------------------------------------------

/// A schema document `$ref`s can reach, under its base URI.
struct resource {
  std::string uri;
  const json* root = nullptr;
  bool metaschema = false;
};

/// The documents of one check: the user's schema (base URI "", as
/// python-jsonschema gives a schema without `$id`) and the meta-schemas,
/// which jsonschema always has at hand. Nothing is ever fetched.
class registry {
public:
  explicit registry(const json* user_root) {
    if (user_root != nullptr) {
      resources_.push_back({"", user_root, false});
    }
    for (const json& document : metaschema_documents()) {
      resources_.push_back(
          {document.value("$id", std::string()), &document, true});
    }
  }

  [[nodiscard]] const resource* find(std::string_view uri) const {
    for (const resource& r : resources_) {
      if (r.uri == uri) {
        return &r;
      }
    }
    return nullptr;
  }

  [[nodiscard]] const resource& user() const {
    return resources_.front();
  }

  [[nodiscard]] const resource& top_metaschema() const {
    return *find(metaschema_uri);
  }

private:
  std::vector<resource> resources_;
};

/// A `$ref` target and the document it lives in.
struct resolved_ref {
  const json* contents = nullptr;
  const resource* owner = nullptr;
};

/// `urllib.parse.urljoin` for the shapes that occur here: absolute or
/// relative references against an absolute base or the empty base.
std::string join_uri(std::string_view base, std::string_view ref) {
  if (base.empty()) {
    return std::string(ref);
  }
  const auto colon = ref.find(':');
  const auto first_special = ref.find_first_of("/?#");
  if (colon != std::string_view::npos &&
      (first_special == std::string_view::npos || colon < first_special)) {
    return std::string(ref); // has a scheme
  }
  if (ref.empty() || ref.front() == '#') {
    return std::string(base.substr(0, base.find('#'))) + std::string(ref);
  }
  if (ref.front() == '/') {
    const auto authority = base.find("//");
    const auto path =
        base.find('/', authority == std::string_view::npos ? 0 : authority + 2);
    return std::string(base.substr(0, path)) + std::string(ref);
  }
  const auto slash = base.rfind('/');
  return std::string(base.substr(0, slash + 1)) + std::string(ref);
}

/// `urllib.parse.unquote`: %XX escapes decoded (UTF-8).
std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && is_hex(text[i + 1]) &&
        is_hex(text[i + 2])) {
      out += static_cast<char>(
          std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

/// Python `int(text)` for the simple spellings (optional sign, digits).
std::optional<std::int64_t> parse_python_int(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  if (i == text.size() || text.size() - i > 18) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (; i < text.size(); ++i) {
    if (!is_digit(text[i])) {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return negative ? -value : value;
}

/// `referencing`'s JSON pointer walk: nothing when it leads nowhere.
const json* resolve_pointer(const json& root, std::string_view pointer) {
  const json* contents = &root;
  const std::string decoded = percent_decode(pointer.substr(1));
  std::size_t start = 0;
  while (true) {
    const auto slash = decoded.find('/', start);
    std::string segment = decoded.substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    if (contents->is_array()) {
      const auto index = parse_python_int(segment);
      if (!index) {
        return nullptr;
      }
      const auto size = static_cast<std::int64_t>(contents->size());
      const std::int64_t position = *index < 0 ? *index + size : *index;
      if (position < 0 || position >= size) {
        return nullptr;
      }
      contents = &(*contents)[static_cast<std::size_t>(position)];
    } else if (contents->is_object()) {
      std::string key;
      for (std::size_t k = 0; k < segment.size(); ++k) {
        if (segment[k] == '~' && k + 1 < segment.size() &&
            (segment[k + 1] == '0' || segment[k + 1] == '1')) {
          key += segment[k + 1] == '0' ? '~' : '/';
          ++k;
        } else {
          key += segment[k];
        }
      }
      contents = member(*contents, key);
      if (contents == nullptr) {
        return nullptr;
      }
    } else {
      return nullptr;
    }
    if (slash == std::string::npos) {
      return contents;
    }
    start = slash + 1;
  }
}

/// The subschema of `node` (searching schema positions) carrying
/// `"$anchor"` or `"$dynamicAnchor"` equal to `name`.
const json* find_anchor(const json& node, std::string_view name) {
  if (!node.is_object()) {
    return nullptr;
  }
  for (const char* keyword : {"$anchor", "$dynamicAnchor"}) {
    const json* anchor = member(node, keyword);
    if (anchor != nullptr && anchor->is_string() &&
        anchor->get_ref<const std::string&>() == name) {
      return &node;
    }
  }
  for (const auto& [key, value] : node.items()) {
    if (key == "enum" || key == "const" || key == "default" ||
        key == "examples") {
      continue;
    }
    if (value.is_object()) {
      if (const json* found = find_anchor(value, name)) {
        return found;
      }
      if (key == "properties" || key == "patternProperties" || key == "$defs" ||
          key == "definitions" || key == "dependentSchemas") {
        for (const auto& [unused, sub] : value.items()) {
          if (const json* found = find_anchor(sub, name)) {
            return found;
          }
        }
      }
    } else if (value.is_array()) {
      for (const json& sub : value) {
        if (const json* found = find_anchor(sub, name)) {
          return found;
        }
      }
    }
  }
  return nullptr;
}

/// Why `Resolver.lookup` failed: the `referencing` exception's class name
/// and `str()`.
struct unresolvable {
  std::string kind;   ///< e.g. `PointerToNowhere`
  std::string detail; ///< e.g. `'/definitions/x' does not exist within {...}`

  /// The text when jsonschema wrapped the exception (lookups made by `$ref`
  /// itself): `PointerToNowhere: '/definitions/x' does not exist ...`.
  [[nodiscard]] std::string wrapped() const {
    return kind + ": " + detail;
  }
};

/// `Resolver.lookup(ref)` from the document `from`.
std::variant<resolved_ref, unresolvable> lookup_ref(const registry& documents,
                                                    const resource& from,
                                                    std::string_view ref) {
  std::string uri;
  std::string fragment;
  if (ref.starts_with("#")) {
    uri = from.uri;
    fragment = std::string(ref.substr(1));
  } else {
    const std::string joined = join_uri(from.uri, ref);
    const auto hash = joined.find('#');
    uri = joined.substr(0, hash);
    if (hash != std::string::npos) {
      fragment = joined.substr(hash + 1);
    }
  }
  const resource* owner = documents.find(uri);
  if (owner == nullptr) {
    return unresolvable{"Unresolvable", std::string(ref)};
  }
  if (fragment.starts_with("/")) {
    const json* target = resolve_pointer(*owner->root, fragment);
    if (target == nullptr) {
      std::string message = python_string_repr(fragment) +
                            " does not exist within " +
                            python_repr(*owner->root);
      if (fragment == "/") {
        message +=
            ". The pointer '/' is a valid JSON Pointer but it points to an "
            "empty string property ''. If you intended to point to the entire "
            "resource, you should use '#'.";
      }
      return unresolvable{"PointerToNowhere", std::move(message)};
    }
    return resolved_ref{target, owner};
  }
  if (!fragment.empty()) {
    if (const json* target = find_anchor(*owner->root, fragment)) {
      return resolved_ref{target, owner};
    }
    if (fragment.find('/') != std::string::npos) {
      return unresolvable{
          "InvalidAnchor",
          "'#" + fragment +
              "' is not a valid anchor, neither as a plain name anchor nor as "
              "a "
              "JSON Pointer. You may have intended to use '#/" +
              fragment +
              "', as the slash is required *before each segment* of a JSON "
              "pointer."};
    }
    return unresolvable{"NoSuchAnchor", python_string_repr(fragment) +
                                            " does not exist within " +
                                            python_repr(*owner->root)};
  }
  return resolved_ref{owner->root, owner};
}

// -- the jsonschema-compatible evaluator --------------------------------------

/// One step of an instance path: an array index or an object key.
using path_element = std::variant<std::size_t, std::string>;

/// The parts of a `jsonschema.ValidationError` the reference server uses.
struct schema_error {
  std::string message;
  bool keyword_set = false;
  std::optional<std::string> keyword; ///< `validator`; nothing for `false`
  const json* instance = nullptr;
  const json* schema = nullptr;      ///< the (sub)schema holding `keyword`
  std::deque<path_element> path;     ///< relative to the parent error
  std::vector<schema_error> context; ///< anyOf/oneOf branch errors
};

/// Collects errors. `first_only` mirrors `next(iter_errors())` in Python's
/// `is_valid`: evaluation stops as soon as one error is out.
struct error_sink {
  bool first_only = false;
  std::vector<schema_error> errors;

  [[nodiscard]] bool done() const {
    return first_only && !errors.empty();
  }
};

/// Why an evaluation stopped before its end.
struct abort_reason {
  bool circular = false; ///< Python's RecursionError
  std::string message;   ///< the Unresolvable text otherwise
};

std::string join_reprs(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += python_string_repr(item);
  }
  return out;
}

/// python-jsonschema's Draft 2020-12 validator: keywords in schema member
/// order, generators' laziness kept (`is_valid` stops at the first error,
/// `anyOf` evaluates its branches fully), `$ref` resolved when reached.
/// One per check; not thread-safe.
class evaluator {
public:
  evaluator(const registry& documents, bool check_formats)
      : documents_(documents), check_formats_(check_formats) {
  }

  /// Appends the errors of `instance` under `schema` (found in `owner`).
  void iter_errors(const json& instance, const json& schema,
                   const resource& owner, error_sink& out) {
    descend(instance, schema, owner, out, nullptr);
  }

  /// Set when the evaluation hit a loop or an unresolvable `$ref`; the
  /// collected errors are then meaningless.
  [[nodiscard]] const std::optional<abort_reason>& aborted() const {
    return abort_;
  }

private:
  [[nodiscard]] bool stop(const error_sink& out) const {
    return abort_.has_value() || out.done();
  }

  static void fail(error_sink& out, std::string message) {
    schema_error error;
    error.message = std::move(message);
    out.errors.push_back(std::move(error));
  }

  static void fail_as(error_sink& out, std::string message,
                      std::string keyword) {
    schema_error error;
    error.message = std::move(message);
    error.keyword_set = true;
    error.keyword = std::move(keyword);
    out.errors.push_back(std::move(error));
  }

  /// Stable storage for instances made up during the walk (property names
  /// checked by `propertyNames`), which errors point to.
  const json& keep(json value) {
    temporaries_.push_back(std::move(value));
    return temporaries_.back();
  }

  bool enter() {
    if (depth_ >= max_descend_depth) {
      if (!abort_) {
        abort_ = abort_reason{true, {}};
      }
      return false;
    }
    ++depth_;
    return true;
  }

  void leave() {
    --depth_;
  }

  void descend(const json& instance, const json& schema, const resource& owner,
               error_sink& out, const path_element* path) {
    if (abort_) {
      return;
    }
    const std::size_t first = out.errors.size();
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) {
        schema_error error;
        error.message = "False schema does not allow " + python_repr(instance);
        error.keyword_set = true;
        error.instance = &instance;
        error.schema = &schema;
        // jsonschema returns before adding the path for a `false` schema.
        out.errors.push_back(std::move(error));
      }
      return;
    }
    if (schema.is_object()) {
      if (!enter()) {
        return;
      }
      for (const auto& [keyword, value] : schema.items()) {
        const std::size_t before = out.errors.size();
        apply(keyword, value, instance, schema, owner, out);
        for (std::size_t i = before; i < out.errors.size(); ++i) {
          schema_error& error = out.errors[i];
          if (!error.keyword_set) {
            error.keyword_set = true;
            error.keyword = keyword;
          }
          if (error.instance == nullptr) {
            error.instance = &instance;
          }
          if (error.schema == nullptr) {
            error.schema = &schema;
          }
        }
        if (stop(out)) {
          break;
        }
      }
      leave();
    }
    if (path != nullptr) {
      for (std::size_t i = first; i < out.errors.size(); ++i) {
        out.errors[i].path.push_front(*path);
      }
    }
  }

  bool is_valid(const json& instance, const json& schema,
                const resource& owner) {
    error_sink sink{true, {}};
    descend(instance, schema, owner, sink, nullptr);
    return sink.errors.empty();
  }

  /// Resolves `ref` from `owner`; records an abort when it cannot, with the
  /// exception text as jsonschema lets it out: wrapped when the `$ref`
  /// keyword looked it up, bare when the unevaluated* helpers did.
  std::optional<resolved_ref> resolve(const json& ref, const resource& owner,
                                      bool wrapped) {
    if (!ref.is_string()) {
      return std::nullopt;
    }
    if (owner.metaschema && ref.get_ref<const std::string&>() == "#meta") {
      // `$dynamicRef: #meta` in the meta-schemas always lands on the
      // outermost dynamic anchor: the top meta-schema.
      const resource& top = documents_.top_metaschema();
      return resolved_ref{top.root, &top};
    }
    auto found =
        lookup_ref(documents_, owner, ref.get_ref<const std::string&>());
    if (const auto* failure = std::get_if<unresolvable>(&found)) {
      if (!abort_) {
        abort_ =
            abort_reason{false, wrapped ? failure->wrapped() : failure->detail};
      }
      return std::nullopt;
    }
    return std::get<resolved_ref>(found);
  }

  std::optional<bool> search(const json& pattern, const std::string& text) {
    if (!pattern.is_string()) {
      return std::nullopt;
    }
    return regexes_.search(pattern.get_ref<const std::string&>(), text);
  }

  /// jsonschema's `find_additional_properties`, in instance order.
  std::vector<std::string> additional_properties(const json& instance,
                                                 const json& schema) {
    const json* properties = member(schema, "properties");
    const json* patterns = member(schema, "patternProperties");
    std::string joined;
    if (patterns != nullptr && patterns->is_object()) {
      for (const auto& [pattern, unused] : patterns->items()) {
        if (!joined.empty()) {
          joined += '|';
        }
        joined += pattern;
      }
    }
    std::vector<std::string> extras;
    for (const auto& [name, unused] : instance.items()) {
      if (properties != nullptr && properties->is_object() &&
          properties->contains(name)) {
        continue;
      }
      if (!joined.empty() && regexes_.search(joined, name).value_or(true)) {
        continue;
      }
      extras.push_back(name);
    }
    return extras;
  }

  void apply(const std::string& keyword, const json& value,
             const json& instance, const json& schema, const resource& owner,
             error_sink& out);

  void kw_ref(const json& value, const json& instance, const resource& owner,
              error_sink& out) {
    if (const auto target = resolve(value, owner, true)) {
      descend(instance, *target->contents, *target->owner, out, nullptr);
    }
  }

  void kw_type(const json& value, const json& instance, error_sink& out) {
    std::vector<const json*> types;
    if (value.is_string()) {
      types.push_back(&value);
    } else if (value.is_array()) {
      for (const json& type : value) {
        types.push_back(&type);
      }
    } else {
      return;
    }
    std::string reprs;
    for (const json* type : types) {
      if (type->is_string() &&
          is_type(instance, type->get_ref<const std::string&>())) {
        return;
      }
      if (!reprs.empty()) {
        reprs += ", ";
      }
      reprs += python_repr(*type);
    }
    fail(out, python_repr(instance) + " is not of type " + reprs);
  }

  void kw_properties(const json& value, const json& instance,
                     const resource& owner, error_sink& out) {
    if (!instance.is_object() || !value.is_object()) {
      return;
    }
    for (const auto& [name, subschema] : value.items()) {
      const json* item = member(instance, name);
      if (item == nullptr) {
        continue;
      }
      const path_element step{name};
      descend(*item, subschema, owner, out, &step);
      if (stop(out)) {
        return;
      }
    }
  }

  static void kw_required(const json& value, const json& instance,
                          error_sink& out) {
    if (!instance.is_object() || !value.is_array()) {
      return;
    }
    for (const json& name : value) {
      if (!name.is_string() ||
          !instance.contains(name.get_ref<const std::string&>())) {
        fail(out, python_repr(name) + " is a required property");
        if (out.done()) {
          return;
        }
      }
    }
  }

  void kw_additional_properties(const json& value, const json& instance,
                                const json& schema, const resource& owner,
                                error_sink& out) {
    if (!instance.is_object()) {
      return;
    }
    std::vector<std::string> extras = additional_properties(instance, schema);
    if (value.is_object()) {
      for (const std::string& extra : extras) {
        const path_element step{extra};
        descend(instance[extra], value, owner, out, &step);
        if (stop(out)) {
          return;
        }
      }
      return;
    }
    if (truthy(value) || extras.empty()) {
      return;
    }
    std::sort(extras.begin(), extras.end());
    const json* patterns = member(schema, "patternProperties");
    if (patterns != nullptr) {
      std::vector<std::string> names;
      if (patterns->is_object()) {
        for (const auto& [pattern, unused] : patterns->items()) {
          names.push_back(pattern);
        }
      }
      std::sort(names.begin(), names.end());
      fail(out, join_reprs(extras) + (extras.size() == 1 ? " does" : " do") +
                    " not match any of the regexes: " + join_reprs(names));
      return;
    }
    fail(out, "Additional properties are not allowed (" + join_reprs(extras) +
                  (extras.size() == 1 ? " was" : " were") + " unexpected)");
  }

  void kw_pattern_properties(const json& value, const json& instance,
                             const resource& owner, error_sink& out) {
    if (!instance.is_object() || !value.is_object()) {
      return;
    }
    for (const auto& [pattern, subschema] : value.items()) {
      for (const auto& [name, item] : instance.items()) {
        if (regexes_.search(pattern, name).value_or(false)) {
          const path_element step{name};
          descend(item, subschema, owner, out, &step);
          if (stop(out)) {
            return;
          }
        }
      }
    }
  }

  void kw_property_names(const json& value, const json& instance,
                         const resource& owner, error_sink& out) {
    if (!instance.is_object()) {
      return;
    }
    for (const auto& [name, unused] : instance.items()) {
      descend(keep(json(name)), value, owner, out, nullptr);
      if (stop(out)) {
        return;
      }
    }
  }

  void kw_items(const json& value, const json& instance, const json& schema,
                const resource& owner, error_sink& out) {
    if (!instance.is_array()) {
      return;
    }
    const json* prefix_items = member(schema, "prefixItems");
    const std::size_t prefix =
        prefix_items != nullptr && prefix_items->is_array()
            ? prefix_items->size()
            : 0;
    const std::size_t total = instance.size();
    if (total <= prefix) {
      return;
    }
    const std::size_t extra = total - prefix;
    if (value.is_boolean() && !value.get<bool>()) {
      json rest = json::array();
      for (std::size_t i = prefix; i < total; ++i) {
        rest.push_back(instance[i]);
      }
      fail(out, "Expected at most " + std::to_string(prefix) +
                    (prefix != 1 ? " items" : " item") + " but found " +
                    std::to_string(extra) + " extra: " +
                    python_repr(extra != 1 ? rest : instance[prefix]));
      return;
    }
    for (std::size_t i = prefix; i < total; ++i) {
      const path_element step{i};
      descend(instance[i], value, owner, out, &step);
      if (stop(out)) {
        return;
      }
    }
  }

  void kw_prefix_items(const json& value, const json& instance,
                       const resource& owner, error_sink& out) {
    if (!instance.is_array() || !value.is_array()) {
      return;
    }
    const std::size_t count = std::min(instance.size(), value.size());
    for (std::size_t i = 0; i < count; ++i) {
      const path_element step{i};
      descend(instance[i], value[i], owner, out, &step);
      if (stop(out)) {
        return;
      }
    }
  }

  void kw_contains(const json& value, const json& instance, const json& schema,
                   const resource& owner, error_sink& out) {
    if (!instance.is_array()) {
      return;
    }
    const json* min_member = member(schema, "minContains");
    const json* max_member = member(schema, "maxContains");
    const json min_contains = min_member != nullptr && min_member->is_number()
                                  ? *min_member
                                  : json(1);
    const json max_contains = max_member != nullptr && max_member->is_number()
                                  ? *max_member
                                  : json(instance.size());
    std::size_t matches = 0;
    for (const json& item : instance) {
      const bool valid = is_valid(item, value, owner);
      if (abort_) {
        return;
      }
      if (valid) {
        ++matches;
        if (compare_numbers(json(matches), max_contains) > 0) {
          fail_as(out,
                  "Too many items match the given schema (expected at most " +
                      python_repr(max_contains) + ")",
                  "maxContains");
          return;
        }
      }
    }
    if (compare_numbers(json(matches), min_contains) < 0) {
      if (matches == 0) {
        fail(out, python_repr(instance) +
                      " does not contain items matching the given schema");
      } else {
        fail_as(out,
                "Too few items match the given schema (expected at least " +
                    python_repr(min_contains) + " but only " +
                    std::to_string(matches) + " matched)",
                "minContains");
      }
    }
  }

  static void kw_enum(const json& value, const json& instance,
                      error_sink& out) {
    if (value.is_array()) {
      for (const json& option : value) {
        if (python_equal(option, instance)) {
          return;
        }
      }
    } else if (value.is_object()) {
      for (const auto& [option, unused] : value.items()) {
        if (python_equal(json(option), instance)) {
          return;
        }
      }
    } else {
      return;
    }
    fail(out, python_repr(instance) + " is not one of " + python_repr(value));
  }

  /// minimum, maximum, exclusiveMinimum, exclusiveMaximum.
  static void kw_bound(const std::string& keyword, const json& value,
                       const json& instance, error_sink& out) {
    if (!is_numeric(instance) || !is_numeric(value)) {
      return;
    }
    const auto order = compare_numbers(instance, value);
    const std::string shown = python_repr(instance);
    const std::string bound = python_repr(value);
    if (keyword == "minimum" && order < 0) {
      fail(out, shown + " is less than the minimum of " + bound);
    } else if (keyword == "maximum" && order > 0) {
      fail(out, shown + " is greater than the maximum of " + bound);
    } else if (keyword == "exclusiveMinimum" && order <= 0) {
      fail(out, shown + " is less than or equal to the minimum of " + bound);
    } else if (keyword == "exclusiveMaximum" && order >= 0) {
      fail(out, shown + " is greater than or equal to the maximum of " + bound);
    }
  }

  static void kw_multiple_of(const json& value, const json& instance,
                             error_sink& out);

  /// minItems, maxItems, minLength, maxLength, minProperties, maxProperties.
  static void kw_size(const std::string& keyword, const json& value,
                      const json& instance, error_sink& out) {
    if (!value.is_number()) {
      return;
    }
    std::size_t size = 0;
    if (keyword.ends_with("Items") && instance.is_array()) {
      size = instance.size();
    } else if (keyword.ends_with("Length") && instance.is_string()) {
      size = code_point_count(instance.get_ref<const std::string&>());
    } else if (keyword.ends_with("Properties") && instance.is_object()) {
      size = instance.size();
    } else {
      return;
    }
    const auto order = compare_numbers(json(size), value);
    const bool is_min = keyword.starts_with("min");
    if (is_min ? order >= 0 : order <= 0) {
      return;
    }
    const bool special = compare_numbers(value, json(is_min ? 1 : 0)) == 0;
    std::string verdict;
    if (special) {
      verdict = is_min ? "should be non-empty" : "is expected to be empty";
    } else if (keyword.ends_with("Properties")) {
      verdict = is_min ? "does not have enough properties"
                       : "has too many properties";
    } else {
      verdict = is_min ? "is too short" : "is too long";
    }
    fail(out, python_repr(instance) + " " + verdict);
  }

  static void kw_unique_items(const json& value, const json& instance,
                              error_sink& out) {
    if (!truthy(value) || !instance.is_array()) {
      return;
    }
    for (std::size_t i = 0; i < instance.size(); ++i) {
      for (std::size_t j = i + 1; j < instance.size(); ++j) {
        if (python_equal(instance[i], instance[j])) {
          fail(out, python_repr(instance) + " has non-unique elements");
          return;
        }
      }
    }
  }

  void kw_pattern(const json& value, const json& instance, error_sink& out) {
    if (!instance.is_string()) {
      return;
    }
    if (search(value, instance.get_ref<const std::string&>()) ==
        std::optional<bool>(false)) {
      fail(out,
           python_repr(instance) + " does not match " + python_repr(value));
    }
  }

  void kw_format(const json& value, const json& instance, error_sink& out) {
    // Prefect never passes a format checker when validating values; only
    // the meta-schema check asserts formats, and of the formats the
    // meta-schema uses only "regex" has a checker installed.
    if (!check_formats_ || value != "regex" || !instance.is_string()) {
      return;
    }
    if (!regexes_.valid(instance.get_ref<const std::string&>())) {
      fail(out, python_repr(instance) + " is not a 'regex'");
    }
  }

  static void kw_dependent_required(const json& value, const json& instance,
                                    error_sink& out) {
    if (!instance.is_object() || !value.is_object()) {
      return;
    }
    for (const auto& [name, dependency] : value.items()) {
      if (!instance.contains(name) || !dependency.is_array()) {
        continue;
      }
      for (const json& each : dependency) {
        if (!each.is_string() ||
            !instance.contains(each.get_ref<const std::string&>())) {
          fail(out, python_repr(each) + " is a dependency of " +
                        python_string_repr(name));
          if (out.done()) {
            return;
          }
        }
      }
    }
  }

  void kw_dependent_schemas(const json& value, const json& instance,
                            const resource& owner, error_sink& out) {
    if (!instance.is_object() || !value.is_object()) {
      return;
    }
    for (const auto& [name, dependency] : value.items()) {
      if (!instance.contains(name)) {
        continue;
      }
      descend(instance, dependency, owner, out, nullptr);
      if (stop(out)) {
        return;
      }
    }
  }

  void kw_all_of(const json& value, const json& instance, const resource& owner,
                 error_sink& out) {
    if (!value.is_array()) {
      return;
    }
    for (const json& subschema : value) {
      descend(instance, subschema, owner, out, nullptr);
      if (stop(out)) {
        return;
      }
    }
  }

  void kw_any_of(const json& value, const json& instance, const resource& owner,
                 error_sink& out) {
    if (!value.is_array()) {
      return;
    }
    std::vector<schema_error> all_errors;
    for (const json& subschema : value) {
      error_sink branch;
      descend(instance, subschema, owner, branch, nullptr);
      if (abort_) {
        return;
      }
      if (branch.errors.empty()) {
        return;
      }
      std::move(branch.errors.begin(), branch.errors.end(),
                std::back_inserter(all_errors));
    }
    schema_error error;
    error.message =
        python_repr(instance) + " is not valid under any of the given schemas";
    error.context = std::move(all_errors);
    out.errors.push_back(std::move(error));
  }

  void kw_one_of(const json& value, const json& instance, const resource& owner,
                 error_sink& out) {
    if (!value.is_array()) {
      return;
    }
    std::vector<schema_error> all_errors;
    std::optional<std::size_t> first_valid;
    for (std::size_t i = 0; i < value.size(); ++i) {
      error_sink branch;
      descend(instance, value[i], owner, branch, nullptr);
      if (abort_) {
        return;
      }
      if (branch.errors.empty()) {
        first_valid = i;
        break;
      }
      std::move(branch.errors.begin(), branch.errors.end(),
                std::back_inserter(all_errors));
    }
    if (!first_valid) {
      schema_error error;
      error.message = python_repr(instance) +
                      " is not valid under any of the given schemas";
      error.context = std::move(all_errors);
      out.errors.push_back(std::move(error));
      return;
    }
    std::string reprs;
    for (std::size_t i = *first_valid + 1; i < value.size(); ++i) {
      const bool valid = is_valid(instance, value[i], owner);
      if (abort_) {
        return;
      }
      if (valid) {
        reprs += python_repr(value[i]) + ", ";
      }
    }
    if (!reprs.empty()) {
      fail(out, python_repr(instance) + " is valid under each of " + reprs +
                    python_repr(value[*first_valid]));
    }
  }

  void kw_not(const json& value, const json& instance, const resource& owner,
              error_sink& out) {
    const bool valid = is_valid(instance, value, owner);
    if (!abort_ && valid) {
      fail(out, python_repr(instance) + " should not be valid under " +
                    python_repr(value));
    }
  }

  void kw_if(const json& value, const json& instance, const json& schema,
             const resource& owner, error_sink& out) {
    const bool valid = is_valid(instance, value, owner);
    if (abort_) {
      return;
    }
    const json* branch = member(schema, valid ? "then" : "else");
    if (branch != nullptr) {
      descend(instance, *branch, owner, out, nullptr);
    }
  }

  // -- unevaluated*
  // ------------------------------------------------------------

  std::vector<std::size_t> evaluated_items(const json& instance,
                                           const json& schema,
                                           const resource& owner);
  std::vector<std::string> evaluated_keys(const json& instance,
                                          const json& schema,
                                          const resource& owner);

  void kw_unevaluated_items(const json& instance, const json& schema,
                            const resource& owner, error_sink& out) {
    if (!instance.is_array()) {
      return;
    }
    const std::vector<std::size_t> evaluated =
        evaluated_items(instance, schema, owner);
    if (abort_) {
      return;
    }
    std::string reprs;
    std::size_t count = 0;
    for (std::size_t i = 0; i < instance.size(); ++i) {
      if (std::find(evaluated.begin(), evaluated.end(), i) == evaluated.end()) {
        reprs += (count++ == 0 ? "" : ", ") + python_repr(instance[i]);
      }
    }
    if (count > 0) {
      fail(out, "Unevaluated items are not allowed (" + reprs +
                    (count == 1 ? " was" : " were") + " unexpected)");
    }
  }

  void kw_unevaluated_properties(const json& value, const json& instance,
                                 const json& schema, const resource& owner,
                                 error_sink& out) {
    if (!instance.is_object()) {
      return;
    }
    const std::vector<std::string> evaluated =
        evaluated_keys(instance, schema, owner);
    if (abort_) {
      return;
    }
    std::vector<std::string> unevaluated;
    for (const auto& [name, item] : instance.items()) {
      if (std::find(evaluated.begin(), evaluated.end(), name) !=
          evaluated.end()) {
        continue;
      }
      error_sink errors;
      const path_element step{name};
      descend(item, value, owner, errors, &step);
      if (abort_) {
        return;
      }
      for (std::size_t i = 0; i < errors.errors.size(); ++i) {
        unevaluated.push_back(name);
      }
    }
    if (unevaluated.empty()) {
      return;
    }
    const std::string verb = unevaluated.size() == 1 ? " was" : " were";
    if (value.is_boolean() && !value.get<bool>()) {
      std::sort(unevaluated.begin(), unevaluated.end());
      fail(out, "Unevaluated properties are not allowed (" +
                    join_reprs(unevaluated) + verb + " unexpected)");
    } else {
      fail(out,
           "Unevaluated properties are not valid under the given schema (" +
               join_reprs(unevaluated) + verb + " unevaluated and invalid)");
    }
  }

  const registry& documents_;
  bool check_formats_;
  regex_cache regexes_;
  std::deque<json> temporaries_;
  std::optional<abort_reason> abort_;
  int depth_ = 0;
};

void evaluator::apply(const std::string& keyword, const json& value,
                      const json& instance, const json& schema,
                      const resource& owner, error_sink& out) {
  if (keyword == "$ref" || keyword == "$dynamicRef") {
    kw_ref(value, instance, owner, out);
  } else if (keyword == "type") {
    kw_type(value, instance, out);
  } else if (keyword == "properties") {
    kw_properties(value, instance, owner, out);
  } else if (keyword == "required") {
    kw_required(value, instance, out);
  } else if (keyword == "additionalProperties") {
    kw_additional_properties(value, instance, schema, owner, out);
  } else if (keyword == "patternProperties") {
    kw_pattern_properties(value, instance, owner, out);
  } else if (keyword == "propertyNames") {
    kw_property_names(value, instance, owner, out);
  } else if (keyword == "items") {
    kw_items(value, instance, schema, owner, out);
  } else if (keyword == "prefixItems") {
    kw_prefix_items(value, instance, owner, out);
  } else if (keyword == "contains") {
    kw_contains(value, instance, schema, owner, out);
  } else if (keyword == "const") {
    if (!python_equal(instance, value)) {
      fail(out, python_repr(value) + " was expected");
    }
  } else if (keyword == "enum") {
    kw_enum(value, instance, out);
  } else if (keyword == "minimum" || keyword == "maximum" ||
             keyword == "exclusiveMinimum" || keyword == "exclusiveMaximum") {
    kw_bound(keyword, value, instance, out);
  } else if (keyword == "multipleOf") {
    kw_multiple_of(value, instance, out);
  } else if (keyword == "minItems" || keyword == "maxItems" ||
             keyword == "minLength" || keyword == "maxLength" ||
             keyword == "minProperties" || keyword == "maxProperties") {
    kw_size(keyword, value, instance, out);
  } else if (keyword == "uniqueItems") {
    kw_unique_items(value, instance, out);
  } else if (keyword == "pattern") {
    kw_pattern(value, instance, out);
  } else if (keyword == "format") {
    kw_format(value, instance, out);
  } else if (keyword == "dependentRequired") {
    kw_dependent_required(value, instance, out);
  } else if (keyword == "dependentSchemas") {
    kw_dependent_schemas(value, instance, owner, out);
  } else if (keyword == "allOf") {
    kw_all_of(value, instance, owner, out);
  } else if (keyword == "anyOf") {
    kw_any_of(value, instance, owner, out);
  } else if (keyword == "oneOf") {
    kw_one_of(value, instance, owner, out);
  } else if (keyword == "not") {
    kw_not(value, instance, owner, out);
  } else if (keyword == "if") {
    kw_if(value, instance, schema, owner, out);
  } else if (keyword == "unevaluatedItems") {
    kw_unevaluated_items(instance, schema, owner, out);
  } else if (keyword == "unevaluatedProperties") {
    kw_unevaluated_properties(value, instance, schema, owner, out);
  }
}

/// Whether `dividend / divisor` is exactly an integer, for finite doubles
/// (Python's `Fraction` fallback when the float quotient overflows).
bool exact_multiple(double dividend, double divisor) {
  if (dividend == 0.0) {
    return true;
  }
  const auto split = [](double value, std::int64_t& mantissa, int& exponent) {
    int binary_exponent = 0;
    const double fraction = std::frexp(std::fabs(value), &binary_exponent);
    mantissa = static_cast<std::int64_t>(std::ldexp(fraction, 53));
    exponent = binary_exponent - 53;
    while (mantissa % 2 == 0) {
      mantissa /= 2;
      ++exponent;
    }
  };
  std::int64_t top = 0;
  std::int64_t bottom = 0;
  int top_exponent = 0;
  int bottom_exponent = 0;
  split(dividend, top, top_exponent);
  split(divisor, bottom, bottom_exponent);
  return top % bottom == 0 && top_exponent >= bottom_exponent;
}

void evaluator::kw_multiple_of(const json& value, const json& instance,
                               error_sink& out) {
  if (!is_numeric(instance) || !is_numeric(value)) {
    return;
  }
  bool failed = false;
  if (value.is_number_float()) {
    const double divisor = value.get<double>();
    const double dividend = instance.is_number_float()
                                ? instance.get<double>()
                                : static_cast<double>(as_long_double(instance));
    if (divisor == 0.0) {
      return; // Python: ZeroDivisionError; the meta-schema forbids it
    }
    const double quotient = dividend / divisor;
    if (std::isnan(quotient)) {
      return; // Python: ValueError from int(nan)
    }
    failed = std::isinf(quotient) ? !exact_multiple(dividend, divisor)
                                  : std::trunc(quotient) != quotient;
  } else if (instance.is_number_float()) {
    const double divisor = static_cast<double>(as_long_double(value));
    if (divisor == 0.0) {
      return;
    }
    failed = std::fmod(instance.get<double>(), divisor) != 0.0;
  } else if (is_big_integer(value)) {
    // |divisor| exceeds every 64-bit dividend; two big integers are rare
    // enough to compare through long double.
    failed = is_big_integer(instance) ? std::fmod(as_long_double(instance),
                                                  as_long_double(value)) != 0.0L
                                      : compare_numbers(instance, json(0)) != 0;
  } else if (is_big_integer(instance)) {
    // Exact remainder of the decimal digits by a 64-bit divisor.
    const long double divisor = std::fabs(as_long_double(value));
    if (divisor == 0.0L) {
      return;
    }
    const auto d = static_cast<std::uint64_t>(divisor);
    // (a + b) mod d for a, b < d, without overflow.
    const auto add = [d](std::uint64_t a, std::uint64_t b) {
      return a >= d - b ? a - (d - b) : a + b;
    };
    std::uint64_t remainder = 0;
    for (const char c : big_integer_text(instance)) {
      if (c == '-') {
        continue;
      }
      std::uint64_t times_ten = 0;
      for (int i = 0; i < 10; ++i) {
        times_ten = add(times_ten, remainder);
      }
      remainder = add(times_ten, static_cast<std::uint64_t>(c - '0') % d);
    }
    failed = remainder != 0;
  } else {
    // Both integers: exact remainder on magnitudes.
    const auto magnitude = [](const json& v) {
      if (v.is_number_unsigned()) {
        return v.get<std::uint64_t>();
      }
      const std::int64_t s = v.get<std::int64_t>();
      return s < 0 ? 0 - static_cast<std::uint64_t>(s)
                   : static_cast<std::uint64_t>(s);
    };
    const std::uint64_t divisor = magnitude(value);
    if (divisor == 0) {
      return;
    }
    failed = magnitude(instance) % divisor != 0;
  }
  if (failed) {
    fail(out,
         python_repr(instance) + " is not a multiple of " + python_repr(value));
  }
}

std::vector<std::size_t> evaluator::evaluated_items(const json& instance,
                                                    const json& schema,
                                                    const resource& owner) {
  std::vector<std::size_t> evaluated;
  if (!schema.is_object() || !enter()) {
    return evaluated;
  }
  const auto extend = [&](const std::vector<std::size_t>& more) {
    evaluated.insert(evaluated.end(), more.begin(), more.end());
  };
  if (member(schema, "items") != nullptr) {
    for (std::size_t i = 0; i < instance.size(); ++i) {
      evaluated.push_back(i);
    }
    leave();
    return evaluated;
  }
  for (const char* keyword : {"$ref", "$dynamicRef"}) {
    const json* ref = member(schema, keyword);
    if (ref != nullptr && !ref->is_null()) {
      if (const auto target = resolve(*ref, owner, false)) {
        extend(evaluated_items(instance, *target->contents, *target->owner));
      }
      if (abort_) {
        leave();
        return evaluated;
      }
    }
  }
  if (const json* prefix = member(schema, "prefixItems");
      prefix != nullptr && prefix->is_array()) {
    for (std::size_t i = 0; i < prefix->size(); ++i) {
      evaluated.push_back(i);
    }
  }
  if (const json* condition = member(schema, "if")) {
    const bool valid = is_valid(instance, *condition, owner);
    if (abort_) {
      leave();
      return evaluated;
    }
    if (valid) {
      extend(evaluated_items(instance, *condition, owner));
      if (const json* then = member(schema, "then")) {
        extend(evaluated_items(instance, *then, owner));
      }
    } else if (const json* otherwise = member(schema, "else")) {
      extend(evaluated_items(instance, *otherwise, owner));
    }
  }
  for (const char* keyword : {"contains", "unevaluatedItems"}) {
    if (const json* subschema = member(schema, keyword)) {
      for (std::size_t i = 0; i < instance.size() && !abort_; ++i) {
        if (is_valid(instance[i], *subschema, owner)) {
          evaluated.push_back(i);
        }
      }
    }
  }
  for (const char* keyword : {"allOf", "oneOf", "anyOf"}) {
    const json* subschemas = member(schema, keyword);
    if (subschemas == nullptr || !subschemas->is_array()) {
      continue;
    }
    for (const json& subschema : *subschemas) {
      if (is_valid(instance, subschema, owner) && !abort_) {
        extend(evaluated_items(instance, subschema, owner));
      }
      if (abort_) {
        break;
      }
    }
  }
  leave();
  return evaluated;
}

std::vector<std::string> evaluator::evaluated_keys(const json& instance,
                                                   const json& schema,
                                                   const resource& owner) {
  std::vector<std::string> evaluated;
  if (!schema.is_object() || !enter()) {
    return evaluated;
  }
  const auto extend = [&](const std::vector<std::string>& more) {
    evaluated.insert(evaluated.end(), more.begin(), more.end());
  };
  for (const char* keyword : {"$ref", "$dynamicRef"}) {
    const json* ref = member(schema, keyword);
    if (ref != nullptr && !ref->is_null()) {
      if (const auto target = resolve(*ref, owner, false)) {
        extend(evaluated_keys(instance, *target->contents, *target->owner));
      }
      if (abort_) {
        leave();
        return evaluated;
      }
    }
  }
  if (const json* properties = member(schema, "properties");
      properties != nullptr && properties->is_object()) {
    for (const auto& [name, unused] : properties->items()) {
      if (instance.contains(name)) {
        evaluated.push_back(name);
      }
    }
  }
  for (const char* keyword :
       {"additionalProperties", "unevaluatedProperties"}) {
    const json* subschema = member(schema, keyword);
    if (subschema == nullptr || subschema->is_null()) {
      continue;
    }
    for (const auto& [name, item] : instance.items()) {
      if (abort_) {
        break;
      }
      if (is_valid(item, *subschema, owner)) {
        evaluated.push_back(name);
      }
    }
  }
  if (const json* patterns = member(schema, "patternProperties");
      patterns != nullptr && patterns->is_object()) {
    for (const auto& [name, unused] : instance.items()) {
      for (const auto& [pattern, unused_schema] : patterns->items()) {
        if (regexes_.search(pattern, name).value_or(false)) {
          evaluated.push_back(name);
        }
      }
    }
  }
  if (const json* dependents = member(schema, "dependentSchemas");
      dependents != nullptr && dependents->is_object()) {
    for (const auto& [name, subschema] : dependents->items()) {
      if (instance.contains(name) && !abort_) {
        extend(evaluated_keys(instance, subschema, owner));
      }
    }
  }
  for (const char* keyword : {"allOf", "oneOf", "anyOf"}) {
    const json* subschemas = member(schema, keyword);
    if (subschemas == nullptr || !subschemas->is_array()) {
      continue;
    }
    for (const json& subschema : *subschemas) {
      if (is_valid(instance, subschema, owner) && !abort_) {
        extend(evaluated_keys(instance, subschema, owner));
      }
      if (abort_) {
        break;
      }
    }
  }
  if (const json* condition = member(schema, "if")) {
    const bool valid = is_valid(instance, *condition, owner);
    if (abort_) {
      leave();
      return evaluated;
    }
    if (valid) {
      extend(evaluated_keys(instance, *condition, owner));
      if (const json* then = member(schema, "then")) {
        extend(evaluated_keys(instance, *then, owner));
      }
    } else if (const json* otherwise = member(schema, "else")) {
      extend(evaluated_keys(instance, *otherwise, owner));
    }
  }
  leave();
  return evaluated;
}

// -- best match and the reference's wording -----------------------------------

bool matches_type(const schema_error& error) {
  if (error.schema == nullptr || error.instance == nullptr) {
    return false;
  }
  const json* type = member(*error.schema, "type");
  if (type == nullptr) {
    return false;
  }
  if (type->is_string()) {
    return is_type(*error.instance, type->get_ref<const std::string&>());
  }
  if (type->is_array()) {
    return std::any_of(type->begin(), type->end(), [&](const json& t) {
      return t.is_string() &&
             is_type(*error.instance, t.get_ref<const std::string&>());
    });
  }
  return false;
}

/// jsonschema's `relevance` key, compared: greater is more relevant
/// (shallower path, then greater path, then not anyOf/oneOf, then matching
/// the instance's type).
std::weak_ordering compare_relevance(const schema_error& a,
                                     const schema_error& b) {
  if (a.path.size() != b.path.size()) {
    return b.path.size() <=> a.path.size();
  }
  for (std::size_t i = 0; i < a.path.size(); ++i) {
    const path_element& x = a.path[i];
    const path_element& y = b.path[i];
    if (x.index() != y.index()) {
      return x.index() <=> y.index(); // Python would raise TypeError
    }
    if (const auto* xi = std::get_if<std::size_t>(&x)) {
      const std::size_t yi = std::get<std::size_t>(y);
      if (*xi != yi) {
        return *xi <=> yi;
      }
    } else {
      const int c = std::get<std::string>(x).compare(std::get<std::string>(y));
      if (c != 0) {
        return c <=> 0;
      }
    }
  }
  const auto strong = [](const schema_error& e) {
    return !(e.keyword == "anyOf" || e.keyword == "oneOf");
  };
  if (strong(a) != strong(b)) {
    return strong(a) <=> strong(b);
  }
  return !matches_type(a) <=> !matches_type(b);
}

/// jsonschema's `best_match`, with the chosen error's absolute path.
std::pair<const schema_error*, std::deque<path_element>>
best_match(const std::vector<schema_error>& errors) {
  const schema_error* best = &errors.front();
  for (const schema_error& error : errors) {
    if (compare_relevance(error, *best) > 0) {
      best = &error;
    }
  }
  std::deque<path_element> path = best->path;
  while (!best->context.empty()) {
    const schema_error* smallest = &best->context.front();
    for (const schema_error& error : best->context) {
      if (compare_relevance(error, *smallest) < 0) {
        smallest = &error;
      }
    }
    const auto ties = std::count_if(
        best->context.begin(), best->context.end(), [&](const schema_error& e) {
          return compare_relevance(e, *smallest) == 0;
        });
    if (ties >= 2) {
      break;
    }
    best = smallest;
    path.insert(path.end(), best->path.begin(), best->path.end());
  }
  return {best, std::move(path)};
}

/// `ValidationError.json_path`.
std::string json_path(const std::deque<path_element>& path) {
  std::string out = "$";
  for (const path_element& step : path) {
    if (const auto* index = std::get_if<std::size_t>(&step)) {
      out += "[" + std::to_string(*index) + "]";
      continue;
    }
    const std::string& name = std::get<std::string>(step);
    // re.match("^[a-zA-Z][a-zA-Z0-9_]*$"): `$` also accepts a final "\n".
    std::string_view core = name;
    if (core.ends_with('\n')) {
      core.remove_suffix(1);
    }
    const bool plain = !core.empty() && is_ascii_letter(core.front()) &&
                       std::all_of(core.begin(), core.end(), [](char c) {
                         return is_ascii_letter(c) || is_digit(c) || c == '_';
                       });
    if (plain) {
      out += "." + name;
      continue;
    }
    std::string escaped;
    for (const char c : name) {
      if (c == '\\' || c == '\'') {
        escaped += '\\';
      }
      escaped += c;
    }
    out += "['" + escaped + "']";
  }
  return out;
}

/// Prefect's wording around the best error.
std::string failure_reason(const std::deque<path_element>& path,
                           const std::string& message) {
  const std::string full = json_path(path);
  if (full == "$") {
    return "Validation failed. Failure reason: " + message;
  }
  std::string field;
  for (std::size_t i = 0; i < full.size(); ++i) {
    if (full.compare(i, 2, "$.") == 0) {
      ++i;
    } else {
      field += full[i];
    }
  }
  return "Validation failed for field " + python_string_repr(field) +
         ". Failure reason: " + message;
}

// -- valijson -----------------------------------------------------------------

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

/// `value` as valijson's JSON type. Integral floats become integers, since
/// Python treats 1.0 as an integer equal to 1 and valijson's strict types do
/// not; `ok` turns false for numbers valijson would judge differently.
nlohmann::json to_valijson_value(const json& value, bool& ok) {
  switch (value.type()) {
  case json::value_t::object: {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, item] : value.items()) {
      out[key] = to_valijson_value(item, ok);
    }
    return out;
  }
  case json::value_t::array: {
    nlohmann::json out = nlohmann::json::array();
    for (const json& item : value) {
      out.push_back(to_valijson_value(item, ok));
    }
    return out;
  }
  case json::value_t::number_unsigned: {
    const std::uint64_t number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(int64_max)) {
      ok = false;
    }
    return static_cast<std::int64_t>(number);
  }
  case json::value_t::number_integer:
    return value.get<std::int64_t>();
  case json::value_t::number_float: {
    const double number = value.get<double>();
    if (std::isfinite(number) && std::floor(number) == number) {
      if (std::fabs(number) >= 9.2e18) {
        ok = false;
        return number;
      }
      return static_cast<std::int64_t>(number);
    }
    return number;
  }
  case json::value_t::boolean:
    return value.get<bool>();
  case json::value_t::string:
    return value.get<std::string>();
  case json::value_t::binary: // a big integer: valijson has no such number
    ok = false;
    return nullptr;
  default:
    return nullptr;
  }
}

bool has_non_ascii_text(const json& value) {
  if (value.is_string()) {
    return !is_ascii(value.get_ref<const std::string&>());
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (!is_ascii(key) || has_non_ascii_text(item)) {
        return true;
      }
    }
  }
  if (value.is_array()) {
    return std::any_of(value.begin(), value.end(), has_non_ascii_text);
  }
  return false;
}

constexpr std::string_view definition_prefix = "#/definitions/n";

/// Rewrites a Draft 2020-12 schema in the Draft 7 dialect valijson reads,
/// giving up (`ok` false) wherever valijson would judge differently from
/// python-jsonschema. Every `$ref` target becomes a numbered entry of a
/// top-level `definitions`, so pointers keep working after the rewrite.
class draft7_translator {
public:
  explicit draft7_translator(const registry& documents)
      : documents_(documents) {
  }

  /// The whole Draft 7 document for the user schema, or nothing.
  std::optional<nlohmann::json> translate_document(const json& root) {
    intern(&root);
    nlohmann::json definitions = nlohmann::json::object();
    for (std::size_t i = 0; i < targets_.size() && ok_; ++i) {
      definitions["n" + std::to_string(i)] = translate(*targets_[i]);
    }
    if (!ok_ || loops(definitions)) {
      return std::nullopt;
    }
    nlohmann::json document = nlohmann::json::object();
    document["definitions"] = std::move(definitions);
    document["$ref"] = std::string(definition_prefix) + "0";
    return document;
  }

  /// Whether the schema has regular expressions (valijson matches bytes, so
  /// only ASCII instances are judged then).
  [[nodiscard]] bool uses_patterns() const {
    return uses_patterns_;
  }

private:
  std::size_t intern(const json* target) {
    const auto [it, inserted] = ids_.emplace(target, targets_.size());
    if (inserted) {
      targets_.push_back(target);
    }
    return it->second;
  }

  std::string pattern(const std::string& python_pattern) {
    uses_patterns_ = true;
    const translated_regex translated = translate_python_regex(python_pattern);
    if (translated.status != regex_status::ok || translated.icase ||
        translated.multiline || !is_ascii(translated.pattern)) {
      ok_ = false;
      return {};
    }
    try {
      const std::regex check(translated.pattern);
    } catch (const std::regex_error&) {
      ok_ = false;
    }
    return translated.pattern;
  }

  nlohmann::json copy(const json& value) {
    bool fits = true;
    nlohmann::json out = to_valijson_value(value, fits);
    ok_ = ok_ && fits;
    return out;
  }

  nlohmann::json translate_all(const json& schemas) {
    nlohmann::json out = nlohmann::json::array();
    if (!schemas.is_array() || schemas.empty()) {
      ok_ = false;
      return out;
    }
    for (const json& schema : schemas) {
      out.push_back(translate(schema));
    }
    return out;
  }

  nlohmann::json translate(const json& node) {
    if (node.is_boolean()) {
      return node.get<bool>();
    }
    if (!node.is_object()) {
      ok_ = false;
      return true;
    }
    static const std::set<std::string, std::less<>> bounds = {
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
    static const std::set<std::string, std::less<>> sizes = {
        "minLength", "maxLength",     "minItems",
        "maxItems",  "minProperties", "maxProperties"};
    static const std::set<std::string, std::less<>> single = {
        "additionalProperties", "not", "contains"};
    static const std::set<std::string, std::less<>> unsupported = {
        "multipleOf",  "unevaluatedProperties", "unevaluatedItems",
        "$dynamicRef", "$recursiveRef",         "minContains",
        "maxContains"};
    static const std::set<std::string, std::less<>> type_names = {
        "array", "boolean", "integer", "null", "number", "object", "string"};

    nlohmann::json out = nlohmann::json::object();
    nlohmann::json dependencies = nlohmann::json::object();
    std::optional<nlohmann::json> ref;
    for (const auto& [keyword, value] : node.items()) {
      if (keyword == "$ref") {
        ref = translate_ref(value);
      } else if (keyword == "type") {
        const auto known = [&](const json& t) {
          return t.is_string() &&
                 type_names.contains(t.get_ref<const std::string&>());
        };
        if (value.is_string()
                ? !known(value)
                : !value.is_array() ||
                      !std::all_of(value.begin(), value.end(), known)) {
          ok_ = false;
        }
        out[keyword] = copy(value);
      } else if (keyword == "enum") {
        if (!value.is_array()) {
          ok_ = false;
        }
        out[keyword] = copy(value);
      } else if (keyword == "const") {
        out[keyword] = copy(value);
      } else if (bounds.contains(keyword)) {
        if (!value.is_number()) {
          ok_ = false;
        }
        out[keyword] = copy(value);
      } else if (sizes.contains(keyword)) {
        if (!is_type(value, "integer") || compare_numbers(value, json(0)) < 0) {
          ok_ = false;
        }
        out[keyword] = copy(value);
      } else if (keyword == "pattern") {
        if (!value.is_string()) {
          ok_ = false;
        } else {
          out[keyword] = pattern(value.get<std::string>());
        }
      } else if (keyword == "uniqueItems") {
        if (!value.is_boolean()) {
          ok_ = false;
        }
        out[keyword] = copy(value);
      } else if (keyword == "required") {
        if (!value.is_array() ||
            !std::all_of(value.begin(), value.end(),
                         [](const json& name) { return name.is_string(); })) {
          ok_ = false;
        }
        out[keyword] = copy(value);
      } else if (keyword == "properties" || keyword == "patternProperties") {
        if (!value.is_object()) {
          ok_ = false;
          continue;
        }
        nlohmann::json members = nlohmann::json::object();
        for (const auto& [name, subschema] : value.items()) {
          const std::string key =
              keyword == "properties" ? name : pattern(name);
          members[key] = translate(subschema);
        }
        out[keyword] = std::move(members);
      } else if (single.contains(keyword)) {
        out[keyword] = translate(value);
      } else if (keyword == "propertyNames") {
        out[keyword] = hoist(value);
      } else if (keyword == "allOf" || keyword == "anyOf" ||
                 keyword == "oneOf") {
        out[keyword] = translate_all(value);
      } else if (keyword == "if") {
        out["if"] = translate(value);
        for (const char* branch : {"then", "else"}) {
          if (const json* subschema = member(node, branch)) {
            out[branch] = translate(*subschema);
          }
        }
      } else if (keyword == "dependentRequired" ||
                 keyword == "dependentSchemas") {
        if (!value.is_object()) {
          ok_ = false;
          continue;
        }
        for (const auto& [name, dependency] : value.items()) {
          if (dependencies.contains(name)) {
            ok_ = false;
          }
          dependencies[name] = keyword == "dependentSchemas" ? hoist(dependency)
                                                             : copy(dependency);
          if (keyword == "dependentRequired" && !dependency.is_array()) {
            ok_ = false;
          }
        }
      } else if (unsupported.contains(keyword)) {
        ok_ = false;
      }
      // Anything else is an annotation or means nothing in Draft 2020-12
      // (format is not asserted; dependencies and additionalItems are
      // older drafts' keywords): dropped.
    }
    const json* prefix_items = member(node, "prefixItems");
    const json* items = member(node, "items");
    if (prefix_items != nullptr) {
      out["items"] = translate_all(*prefix_items);
      if (items != nullptr) {
        out["additionalItems"] = translate(*items);
      }
    } else if (items != nullptr) {
      if (items->is_array()) {
        ok_ = false;
      }
      out["items"] = translate(*items);
    }
    if (!dependencies.empty()) {
      out["dependencies"] = std::move(dependencies);
    }
    if (!ref) {
      return out;
    }
    if (out.empty()) {
      return *ref;
    }
    nlohmann::json both = nlohmann::json::object();
    both["allOf"] = nlohmann::json::array({*ref, std::move(out)});
    return both;
  }

  /// A `$ref` to `node` translated as a definition of its own. valijson
  /// 1.0 caches the subschemas of `propertyNames` and of schema
  /// `dependencies` under their parent's path, so inline ones collide with
  /// the parent (or with each other) when reached through a `$ref`.
  nlohmann::json hoist(const json& node) {
    nlohmann::json out = nlohmann::json::object();
    out["$ref"] =
        std::string(definition_prefix) + std::to_string(intern(&node));
    return out;
  }

  nlohmann::json translate_ref(const json& value) {
    if (!value.is_string()) {
      ok_ = false;
      return true;
    }
    const auto found = lookup_ref(documents_, documents_.user(),
                                  value.get_ref<const std::string&>());
    const auto* target = std::get_if<resolved_ref>(&found);
    if (target == nullptr || target->owner != &documents_.user()) {
      ok_ = false;
      return true;
    }
    return hoist(*target->contents);
  }

  /// Definitions a node applies to the same instance (not to a member or
  /// item of it): through `$ref`, the combinators, `not`, `if`/`then`/
  /// `else` and schema dependencies.
  static void same_instance_refs(const nlohmann::json& node,
                                 std::set<std::size_t>& out) {
    if (!node.is_object()) {
      return;
    }
    if (const auto it = node.find("$ref");
        it != node.end() && it->is_string()) {
      const std::string& ref = it->get_ref<const std::string&>();
      out.insert(std::stoul(ref.substr(definition_prefix.size())));
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf"}) {
      if (const auto it = node.find(keyword);
          it != node.end() && it->is_array()) {
        for (const nlohmann::json& subschema : *it) {
          same_instance_refs(subschema, out);
        }
      }
    }
    for (const char* keyword : {"not", "if", "then", "else"}) {
      if (const auto it = node.find(keyword); it != node.end()) {
        same_instance_refs(*it, out);
      }
    }
    if (const auto it = node.find("dependencies"); it != node.end()) {
      for (const nlohmann::json& dependency : *it) {
        same_instance_refs(dependency, out);
      }
    }
  }

  /// Whether some definition reaches itself without moving into the
  /// instance: valijson would recurse until the stack overflows (and parse
  /// forever on a pure `$ref` loop).
  static bool loops(const nlohmann::json& definitions) {
    const std::size_t count = definitions.size();
    std::vector<std::set<std::size_t>> edges(count);
    for (std::size_t i = 0; i < count; ++i) {
      same_instance_refs(definitions["n" + std::to_string(i)], edges[i]);
    }
    // 0 unvisited, 1 on the current path, 2 done.
    std::vector<int> state(count, 0);
    std::vector<std::pair<std::size_t, std::set<std::size_t>::iterator>> stack;
    for (std::size_t start = 0; start < count; ++start) {
      if (state[start] != 0) {
        continue;
      }
      state[start] = 1;
      stack.emplace_back(start, edges[start].begin());
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next == edges[node].end()) {
          state[node] = 2;
          stack.pop_back();
          continue;
        }
        const std::size_t target = *next++;
        if (target >= count || state[target] == 1) {
          return true;
        }
        if (state[target] == 0) {
          state[target] = 1;
          stack.emplace_back(target, edges[target].begin());
        }
      }
    }
    return false;
  }

  const registry& documents_;
  std::vector<const json*> targets_;
  std::map<const json*, std::size_t> ids_;
  bool ok_ = true;
  bool uses_patterns_ = false;
};

/// valijson's judgement of a parameter set.
struct valijson_outcome {
  bool valid = true;
  std::deque<path_element> path; ///< of the deepest error when invalid
  std::string description;       ///< valijson's own wording
};

/// Turns valijson's context (`<root>`, `[name]`, `[0]`) into a path by
/// walking the instance alongside.
std::deque<path_element> valijson_path(const std::vector<std::string>& context,
                                       const json& instance) {
  std::deque<path_element> path;
  const json* node = &instance;
  for (std::size_t i = 1; i < context.size(); ++i) {
    const std::string& step = context[i];
    if (step.size() < 2 || node == nullptr) {
      break;
    }
    const std::string token = step.substr(1, step.size() - 2);
    if (node->is_array()) {
      const auto index = parse_python_int(token);
      if (!index || *index < 0 ||
          static_cast<std::size_t>(*index) >= node->size()) {
        break;
      }
      path.emplace_back(static_cast<std::size_t>(*index));
      node = &(*node)[static_cast<std::size_t>(*index)];
    } else {
      path.emplace_back(token);
      node = member(*node, token);
    }
  }
  return path;
}

/// valijson's verdict on `instance` under `schema`, or nothing when the
/// schema cannot be judged by valijson as python-jsonschema would judge it.
// A schema rewritten for valijson and parsed, shared by every check of the
// same schema text: clients send one parameter schema per flow, and parsing
// it costs more than validating small parameter sets against it.
struct parsed_schema {
  valijson::Schema schema;
  bool uses_patterns = false;
};

std::shared_ptr<const parsed_schema> valijson_schema(const json& schema) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const parsed_schema>>
    cache;
  constexpr std::size_t max_entries = 256;
  auto key = schema.dump();
  {
    std::lock_guard guard{mutex};
    if (const auto it = cache.find(key); it != cache.end())
      return it->second;
  }
  const registry documents(&schema);
  draft7_translator translator(documents);
  const std::optional<nlohmann::json> document =
      translator.translate_document(schema);
  std::shared_ptr<parsed_schema> parsed;
  if (document) {
    parsed = std::make_shared<parsed_schema>();
    parsed->uses_patterns = translator.uses_patterns();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    const valijson::adapters::NlohmannJsonAdapter schema_adapter(*document);
    parser.populateSchema(schema_adapter, parsed->schema);
  }
  std::lock_guard guard{mutex};
  if (cache.size() >= max_entries)
    cache.clear();
  cache.emplace(std::move(key), parsed);
  return parsed;
}

std::optional<valijson_outcome> valijson_check(const json& schema,
                                               const json& instance) {
  try {
    const auto parsed = valijson_schema(schema);
    if (!parsed) {
      return std::nullopt;
    }
    bool fits = true;
    const nlohmann::json target = to_valijson_value(instance, fits);
    if (!fits || (parsed->uses_patterns && has_non_ascii_text(instance))) {
      return std::nullopt;
    }
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    const valijson::adapters::NlohmannJsonAdapter target_adapter(target);
    valijson::ValidationResults results;
    valijson_outcome outcome;
    outcome.valid = validator.validate(parsed->schema, target_adapter, &results);
    if (!outcome.valid) {
      valijson::ValidationResults::Error deepest;
      valijson::ValidationResults::Error error;
      while (results.popError(error)) {
        if (error.context.size() > deepest.context.size()) {
          deepest = error;
        }
      }
      outcome.path = valijson_path(deepest.context, instance);
      outcome.description = deepest.description;
    }
    return outcome;
  } catch (const std::exception&) {
    return std::nullopt; // valijson rejected the rewritten schema
  }
}

// -- Prefect's schema preprocessing -------------------------------------------

/// Python's `key in container` for the containers `required` may hold.
bool python_contains(const json& container, const std::string& key) {
  if (container.is_array()) {
    return std::any_of(container.begin(), container.end(), [&](const json& v) {
      return v.is_string() && v.get_ref<const std::string&>() == key;
    });
  }
  if (container.is_string()) {
    return container.get_ref<const std::string&>().find(key) !=
           std::string::npos;
  }
  if (container.is_object()) {
    return container.contains(key);
  }
  return false;
}

void fix_null_typing(const std::string& key, json& schema,
                     const json& required_fields,
                     bool allow_none_with_default) {
  const json* type = member(schema, "type");
  if (python_contains(required_fields, key) || type == nullptr ||
      *type == "null" ||
      (schema.contains("default") && !allow_none_with_default)) {
    return;
  }
  json any_of = json::array();
  any_of.push_back(json::object({{"type", *type}}));
  any_of.push_back(json::object({{"type", "null"}}));
  schema["anyOf"] = std::move(any_of);
  schema.erase("type");
}

void fix_tuple_items(json& schema) {
  const json* items = member(schema, "items");
  const json* prefix_items = member(schema, "prefixItems");
  if (items == nullptr || !items->is_array() || items->empty() ||
      (prefix_items != nullptr && truthy(*prefix_items))) {
    return;
  }
  json moved = *items;
  schema["prefixItems"] = std::move(moved);
  schema.erase("items");
}

void process_properties(json& properties, json required_fields,
                        bool allow_none_with_default) {
  if (!properties.is_object()) {
    return;
  }
  for (auto& [key, schema] : properties.items()) {
    if (!schema.is_object()) {
      continue;
    }
    fix_null_typing(key, schema, required_fields, allow_none_with_default);
    fix_tuple_items(schema);
    if (schema.contains("properties")) {
      // As in Prefect, the nested object's `required` also replaces the list
      // used for the following siblings.
      required_fields = schema.value("required", json::array());
      process_properties(schema["properties"], required_fields, false);
    }
  }
}

json block_reference_alternative(const json& definition) {
  // Prefect's wrapper letting a block document be given by reference.
  static const json reference = json::parse(R"({
    "type": "object",
    "properties": {"$ref": {"oneOf": [
      {"type": "string", "format": "uuid"},
      {"type": "object", "additionalProperties": {"type": "string"},
       "minProperties": 1}
    ]}},
    "required": ["$ref"]
  })",
                                            nullptr, false);
  assert(!reference.is_discarded() && "embedded block reference schema");
  return json::object({{"oneOf", json::array({definition, reference})}});
}

json without_required(const json& schema) {
  if (!schema.is_object()) {
    return schema;
  }
  json out = json::object();
  for (const auto& [key, value] : schema.items()) {
    if (key != "required") {
      out[key] = without_required(value);
    }
  }
  return out;
}

} // namespace

// -- public interface ---------------------------------------------------------

json strip_required(const json& schema) {
  if (!schema.is_object() || nesting_depth(schema) > max_document_depth) {
    return schema;
  }
  return without_required(schema);
}

json preprocess_schema(const json& schema, bool allow_none_with_default) {
  json out = schema;
  if (!out.is_object() || nesting_depth(schema) > max_document_depth) {
    return out;
  }
  if (out.contains("properties")) {
    process_properties(out["properties"], out.value("required", json::array()),
                       allow_none_with_default);
  }
  json* definitions =
      out.contains("definitions") ? &out["definitions"] : nullptr;
  if (definitions == nullptr || !definitions->is_object()) {
    return out;
  }
  // Prefect walks a snapshot of the definitions while it may replace
  // entries (block types get a `oneOf` wrapper under their title).
  std::vector<std::pair<std::string, json>> snapshot;
  for (const auto& [key, definition] : definitions->items()) {
    snapshot.emplace_back(key, definition);
  }
  std::set<std::string> replaced;
  for (auto& [key, definition] : snapshot) {
    if (!definition.is_object()) {
      continue;
    }
    if (definition.contains("properties")) {
      process_properties(definition["properties"],
                         definition.value("required", json::array()),
                         allow_none_with_default);
    }
    if (!replaced.contains(key)) {
      (*definitions)[key] = definition;
    }
    const json* title = member(definition, "title");
    if (definition.contains("block_type_slug") && title != nullptr &&
        title->is_string()) {
      const std::string& name = title->get_ref<const std::string&>();
      (*definitions)[name] = block_reference_alternative(definition);
      replaced.insert(name);
    }
  }
  return out;
}

std::optional<std::string> schema_problem(const json& schema) {
  if (nesting_depth(schema) > max_document_depth) {
    return std::nullopt; // the reference fails with a RecursionError
  }
  const registry documents(nullptr);
  evaluator check(documents, true);
  error_sink sink{true, {}};
  const resource& meta = documents.top_metaschema();
  check.iter_errors(schema, *meta.root, meta, sink);
  if (check.aborted() || sink.errors.empty()) {
    return std::nullopt;
  }
  return sink.errors.front().message;
}

parameter_check check_parameters(const json& schema, const json& values,
                                 bool ignore_required) {
  using outcome = parameter_check::outcome;
  if (schema.is_null() || values.is_null()) {
    return {}; // Prefect skips the check when either is None
  }
  if (nesting_depth(schema) > max_document_depth ||
      nesting_depth(values) > max_document_depth) {
    return {outcome::circular_schema, std::string(circular_reason)};
  }
  const json prepared = ignore_required ? strip_required(schema) : schema;
  const registry documents(&prepared);
  evaluator engine(documents, false);
  error_sink sink;
  engine.iter_errors(values, prepared, documents.user(), sink);
  if (const auto& aborted = engine.aborted()) {
    if (aborted->circular) {
      return {outcome::circular_schema, std::string(circular_reason)};
    }
    return {outcome::invalid,
            "Validation failed. Failure reason: " + aborted->message};
  }
  parameter_check engine_result;
  if (!sink.errors.empty()) {
    const auto [best, path] = best_match(sink.errors);
    engine_result = {outcome::invalid, failure_reason(path, best->message)};
  }
  const std::optional<valijson_outcome> verdict =
      valijson_check(prepared, values);
  if (!verdict || verdict->valid == sink.errors.empty()) {
    return engine_result;
  }
  if (verdict->valid) {
    return {};
  }
  return {outcome::invalid,
          failure_reason(verdict->path, verdict->description)};
}

} // namespace deployd::events
