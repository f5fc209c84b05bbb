// Python `repr()` of JSON values, as the reference server prints them.
//
// The reference server (CPython) quotes user values in its messages with
// `repr()` of what `json.loads` produced: `None`, `True`, `'text'`, `1.0`,
// `[1, 'a']`, `{'a': 1}`. deployd reproduces those texts byte for byte so that
// error messages match. Pure functions over `events::json`; knows nothing of
// HTTP, storage or CAF.
#pragma once

#include "events/json.hpp"

#include <string>
#include <string_view>

namespace deployd::events {

/// Python `repr()` of the value `json.loads` would produce for `value`:
/// `None`/`True`/`False`, integers (big ones too) as digits, floats as the
/// shortest text that round-trips (`1.0`, `1e+16`, `1.5e-07`), strings
/// quoted as CPython 3.11 does, lists `[1, 'a']` and dicts `{'a': 1}` in
/// insertion order.
/// Containers nested more than 1000 deep (which CPython cannot print) are
/// written as `...`. Pure; callable from any thread.
[[nodiscard]] std::string python_repr(const json& value);

/// Python `repr()` of a `str` holding the UTF-8 text `text`: single quotes
/// unless the text contains `'` and no `"`; `\\`, `\n`, `\r`, `\t` escaped,
/// other control characters as `\xNN`, non-printable non-ASCII characters as
/// `\xNN`/`\uNNNN`/`\UNNNNNNNN`, printable ones kept. Invalid UTF-8 bytes are
/// written as `\xNN`. Pure; callable from any thread.
[[nodiscard]] std::string python_string_repr(std::string_view text);

/// Python `repr()` of a `float`: shortest round-trip digits, fixed notation
/// for decimal exponents -4..15 (always with a fractional part, `3.0`),
/// scientific otherwise (`1e+16`, `1.5e-07`); `inf`, `-inf`, `nan`. Pure.
[[nodiscard]] std::string python_float_repr(double value);

} // namespace deployd::events
