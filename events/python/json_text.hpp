// JSON text in and out, with numbers exactly as the reference keeps them.
//
// The reference (CPython's `json.loads`, pydantic-core's JSON serialiser)
// keeps an integer of any size exactly and prints a float the shortest way
// that round-trips, laid out as Rust's `ryu` does (`3600.0`, `1.5e-7`,
// `1e16`). nlohmann's own `parse` turns an integer beyond 64 bits into a
// double, and its `dump` writes `1.5e-07`. So every document deployd reads
// from a request or from its own storage goes through `parse_json`, and every
// document it writes through `append_json` / `dump_json`.
//
// Representation: an integer that fits neither int64 nor uint64 is held as a
// *big integer*, a `json` binary value (subtype `big_integer_subtype`) whose
// bytes are the integer's decimal text. JSON text never yields a binary value
// otherwise, so the two cannot be confused; nlohmann's `dump` would write it
// as a byte array, which is why no document may be dumped with it. Code that
// inspects numbers uses `is_numeric` / `to_double` to see big integers too.
// Knows nothing of HTTP, storage or actors.
#pragma once

#include "events/json.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace deployd::events {

/// CPython's default `sys.int_info.default_max_str_digits`: `json.loads`
/// refuses an integer literal with more digits (a ValueError, which FastAPI
/// answers 400 "There was an error parsing the body").
inline constexpr std::size_t max_integer_digits = 4300;

/// Binary subtype that marks a big integer.
inline constexpr std::uint8_t big_integer_subtype = 0x49; // 'I'

/// Thrown by `parse_json` for an integer literal of more than
/// `max_integer_digits` digits. Not a `json::exception`: the text is valid
/// JSON, Python refuses it for another reason.
struct integer_too_long : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// Parses JSON text as `json::parse` does (same grammar, same exceptions for
/// malformed text, including `out_of_range` 406 for a float beyond double
/// range), except that an integer that fits neither int64 nor uint64 becomes a
/// big integer holding its exact text. Throws `integer_too_long` for a literal
/// of more than `max_integer_digits` digits. Pure; any thread.
[[nodiscard]] json parse_json(std::string_view text);

/// A big integer with the decimal text `digits` (`-?[0-9]+`, no leading
/// zero). For values that fit 64 bits use a plain `json` number instead.
[[nodiscard]] json big_integer(std::string_view digits);

/// Whether `v` is a big integer.
[[nodiscard]] bool is_big_integer(const json& v);

/// The decimal text of a big integer (`v` must be one).
[[nodiscard]] std::string_view big_integer_text(const json& v);

/// Whether `v` is a JSON number: nlohmann's `is_number()` or a big integer.
[[nodiscard]] inline bool is_numeric(const json& v) {
  return v.is_number() || is_big_integer(v);
}

/// Whether `v` is an integer of any size (not a float, not a boolean).
[[nodiscard]] inline bool is_integral(const json& v) {
  return v.is_number_integer() || is_big_integer(v);
}

/// The nearest double to any number (a big integer beyond double range gives
/// +-infinity). `v` must satisfy `is_numeric`.
[[nodiscard]] double to_double(const json& v);

/// How `append_json` writes what the reference would write differently.
enum class json_dialect : std::uint8_t {
  /// The reference's responses (pydantic-core): floats as `float_text`,
  /// non-ASCII kept, escapes as nlohmann writes them with
  /// `error_handler_t::replace`.
  response = 0,
  /// Python's `json.dumps(v, separators=(",", ":"))`: floats as `repr`,
  /// non-ASCII escaped as `\uXXXX`.
  python_ascii = 1,
};

/// Appends the compact JSON text of `v` to `out`. Objects keep their order;
/// big integers are written as their digits; a non-finite float as `null`.
void append_json(std::string& out, const json& v,
                 json_dialect dialect = json_dialect::response);

/// `append_json` into a new string.
[[nodiscard]] std::string
dump_json(const json& v, json_dialect dialect = json_dialect::response);

/// For the hand-written scanners over stored JSON text: when the text at
/// `p` (before `end`) starts with `word` (`true`, `false`, `null`), moves `p`
/// past it and answers true; otherwise leaves `p` and answers false.
[[nodiscard]] inline bool skip_word(const char*& p, const char* end,
                                   std::string_view word) {
  if (static_cast<std::size_t>(end - p) < word.size() ||
      std::string_view(p, word.size()) != word)
    return false;
  p += word.size();
  return true;
}

/// Appends a JSON string literal for the UTF-8 text `s`, escaped as nlohmann
/// escapes it (invalid UTF-8 replaced by U+FFFD); `ensure_ascii` escapes
/// every non-ASCII character as `\uXXXX`.
void append_string(std::string& out, std::string_view s,
                   bool ensure_ascii = false);

/// A finite float as the reference's JSON encoder (Rust `ryu`) prints it:
/// shortest round-trip digits; `3600.0`, `0.5`, `0.00001` for decimal
/// exponents -5..15, otherwise `1e16`, `1.5e-7` (no `+`, no padding).
/// Non-finite values give `null`. Pure.
[[nodiscard]] std::string float_text(double v);

/// The shortest decimal digits that round-trip `v` (finite):
/// |v| = 0.d1d2...dn x 10^(point), digits without sign, no trailing zero
/// (`0` for zero).
struct shortest_decimal {
  bool negative = false;
  char digits[24] = {};
  int count = 0;
  /// Position of the decimal point relative to the first digit.
  int point = 0;
};

/// `v` (finite) as its shortest round-trip digits. Pure.
[[nodiscard]] shortest_decimal decompose(double v);

} // namespace deployd::events
