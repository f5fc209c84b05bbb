// Checks on raw JSON request bodies that reproduce how the reference server
// (FastAPI on CPython 3.11, `json.loads` on the body bytes) fails.
//
// `precheck_json_body` runs on every body before it is parsed and finds the
// problems Python reports as a bare 400 (undecodable UTF-8, nesting deep
// enough to raise RecursionError). `python_json_error` runs only after the
// real parser rejected a body and recovers the exact `JSONDecodeError` message
// and character position Python would have put into its 422 response. Knows
// nothing of Beast, sessions, actors or response shapes; throws nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::events {

/// Why a body fails before JSON parsing proper. Values are stable.
enum class body_problem : std::uint8_t {
  none = 0,
  /// Not well-formed UTF-8: a bad or truncated sequence, an overlong form, a
  /// surrogate code point (ED A0..BF xx) or a value above U+10FFFF.
  invalid_utf8 = 1,
  /// More than the allowed number of `[`/`{` are open at some point.
  too_deep = 2,
};

/// Nesting depth at which the reference server's parser hits Python's
/// recursion limit (1000 minus the frames already on its stack).
inline constexpr std::size_t default_max_json_depth = 900;

/// Checks that `body` is valid UTF-8 and that no more than `max_depth` arrays
/// and objects are open at once outside JSON strings. One pass, no
/// allocation; safe to call from any thread. This is a guard, not a syntax
/// check: brackets are counted wherever they appear outside strings, and an
/// unmatched closing bracket never lowers the depth below zero. Invalid UTF-8
/// is reported in preference to excessive depth.
[[nodiscard]] body_problem precheck_json_body(
  std::string_view body, std::size_t max_depth = default_max_json_depth);

/// A `json.JSONDecodeError` as CPython 3.11 raises it.
struct json_decode_error {
  /// `JSONDecodeError.pos`: offset in characters (Unicode code points) from
  /// the start of the decoded text, which excludes a leading UTF-8 BOM.
  std::size_t position = 0;
  /// `JSONDecodeError.msg`, e.g. `Expecting ',' delimiter`.
  std::string message;

  bool operator==(const json_decode_error&) const = default;
};

/// The error CPython 3.11's `json.loads(body)` (default, strict decoder, C
/// scanner) raises for `body`, or nothing if it would accept it. The
/// constants `NaN`, `Infinity` and `-Infinity` are treated as if Python did
/// not know them, so they yield "Expecting value" where they start. A leading
/// UTF-8 BOM is skipped, as `json.loads` does for bytes. Expects valid UTF-8
/// (run `precheck_json_body` first); an encoded surrogate counts as one
/// character, as Python's "surrogatepass" decoding does, any other stray byte
/// as one character.
/// Meant for the error path: it allocates and favours clarity over speed.
/// Safe to call from any thread; never recurses, whatever the nesting.
[[nodiscard]] std::optional<json_decode_error> python_json_error(
  std::string_view body);

} // namespace deployd::events
