#include "events/python/json_body.hpp"

#include <expected>
#include <string_view>
#include <vector>

namespace deployd::events {

// -- precheck ----------------------------------------------------------------

namespace {

/// Length of the well-formed multi-byte UTF-8 sequence starting at `p` (whose
/// lead byte is >= 0x80), or 0 if it is malformed or truncated. Follows
/// Unicode's table of well-formed byte sequences, which is also what CPython's
/// strict UTF-8 decoder accepts.
std::size_t multibyte_length(const unsigned char* p, const unsigned char* end) {
  const unsigned char lead = p[0];
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) {
      second_min = 0xA0; // overlong below U+0800
    } else if (lead == 0xED) {
      second_max = 0x9F; // surrogates U+D800..U+DFFF
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) {
      second_min = 0x90; // overlong below U+10000
    } else if (lead == 0xF4) {
      second_max = 0x8F; // above U+10FFFF
    }
  } else {
    return 0; // continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (static_cast<std::size_t>(end - p) < length) {
    return 0;
  }
  if (p[1] < second_min || p[1] > second_max) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if ((p[i] & 0xC0) != 0x80) {
      return 0;
    }
  }
  return length;
}

} // namespace

body_problem precheck_json_body(std::string_view body, std::size_t max_depth) {
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  const auto* const end = p + body.size();
  std::size_t depth = 0;
  bool too_deep = false;
  while (p != end) {
    // Outside a string: only brackets, quotes and non-ASCII bytes matter.
    const unsigned char c = *p;
    if (c >= 0x80) {
      const std::size_t length = multibyte_length(p, end);
      if (length == 0) {
        return body_problem::invalid_utf8;
      }
      p += length;
      continue;
    }
    ++p;
    if (c == '[' || c == '{') {
      // Python decodes the whole body before parsing, so a bad byte anywhere
      // wins over depth: keep validating after the limit is exceeded.
      if (++depth > max_depth) {
        too_deep = true;
      }
    } else if (c == ']' || c == '}') {
      if (depth != 0) {
        --depth;
      }
    } else if (c == '"') {
      // Inside a string: only the closing quote, escapes and non-ASCII bytes
      // matter. The tight loop skips everything else.
      while (p != end) {
        const unsigned char s = *p;
        if (s >= 0x80) {
          const std::size_t length = multibyte_length(p, end);
          if (length == 0) {
            return body_problem::invalid_utf8;
          }
          p += length;
        } else if (s == '"') {
          ++p;
          break;
        } else if (s == '\\') {
          // The escaped character cannot end the string. A non-ASCII one is
          // left for the next iteration so that it still gets validated.
          ++p;
          if (p != end && *p < 0x80) {
            ++p;
          }
        } else {
          ++p;
        }
      }
    }
  }
  return too_deep ? body_problem::too_deep : body_problem::none;
}

// -- python_json_error -------------------------------------------------------

namespace {

// The messages of CPython 3.11's json/decoder.py and Modules/_json.c.
constexpr std::string_view expecting_value = "Expecting value";
constexpr std::string_view extra_data = "Extra data";
constexpr std::string_view expecting_property_name =
  "Expecting property name enclosed in double quotes";
constexpr std::string_view expecting_colon = "Expecting ':' delimiter";
constexpr std::string_view expecting_comma = "Expecting ',' delimiter";
constexpr std::string_view invalid_control = "Invalid control character at";
constexpr std::string_view unterminated_string =
  "Unterminated string starting at";
constexpr std::string_view invalid_escape = "Invalid \\escape";
constexpr std::string_view invalid_unicode_escape = "Invalid \\uXXXX escape";

json_decode_error make_error(std::string_view message, std::size_t position) {
  return json_decode_error{position, std::string(message)};
}

/// Length of a UTF-8 encoded surrogate (ED A0..BF xx) at `p`, or 0.
std::size_t encoded_surrogate_length(const unsigned char* p,
                                     const unsigned char* end) {
  const bool is_surrogate = end - p >= 3 && p[0] == 0xED && p[1] >= 0xA0 &&
                            p[1] <= 0xBF && (p[2] & 0xC0) == 0x80;
  return is_surrogate ? 3 : 0;
}

/// Decodes UTF-8 into code points so that indexes are Python's. Encoded
/// surrogates count as one character, as with Python's "surrogatepass";
/// other malformed input is outside the contract and each stray byte becomes
/// one character.
std::u32string decode_utf8(std::string_view bytes) {
  std::u32string text;
  text.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* const end = p + bytes.size();
  while (p != end) {
    std::size_t length = p[0] < 0x80 ? 1 : multibyte_length(p, end);
    if (length == 0) {
      length = encoded_surrogate_length(p, end);
    }
    if (length <= 1) {
      text.push_back(p[0]);
      ++p;
      continue;
    }
    char32_t cp = p[0] & (0xFF >> (length + 1));
    for (std::size_t i = 1; i < length; ++i) {
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    text.push_back(cp);
    p += length;
  }
  return text;
}

bool is_digit(char32_t c) {
  return c >= '0' && c <= '9';
}

int hex_value(char32_t c) {
  if (c >= '0' && c <= '9') {
    return static_cast<int>(c - '0');
  }
  if (c >= 'a' && c <= 'f') {
    return static_cast<int>(c - 'a' + 10);
  }
  if (c >= 'A' && c <= 'F') {
    return static_cast<int>(c - 'A' + 10);
  }
  return -1;
}

/// A transcription of CPython 3.11's C scanner (`scan_once_unicode` and the
/// functions it calls) that keeps only what decides success and failure.
/// Arrays and objects are tracked on an explicit stack instead of recursion,
/// which visits the input in the same order and so fails at the same place.
class python_scanner {
public:
  explicit python_scanner(std::u32string_view text) : text_(text) {
  }

  /// Mirrors `JSONDecoder.decode`.
  std::optional<json_decode_error> run() const;

private:
  enum class container : std::uint8_t { array, object };
  enum class step : std::uint8_t { value, key, after_value };

  /// Index of the first character at or after `idx` that is not JSON
  /// whitespace (the decoder's `[ \t\n\r]*`).
  std::size_t skip_whitespace(std::size_t idx) const;

  /// End of `null`, `true`, `false` or a number at `idx` (< size), or nothing
  /// where Python's scanner raises StopIteration(idx).
  std::optional<std::size_t> match_scalar(std::size_t idx) const;

  /// `_match_number_unicode`, including its `idx < end_idx` bounds checks.
  std::optional<std::size_t> match_number(std::size_t start) const;

  /// `scanstring_unicode` in strict mode; `end` is the index just after the
  /// opening quote. Returns the index just after the closing quote.
  std::expected<std::size_t, json_decode_error> scan_string(
    std::size_t end) const;

  bool matches(std::size_t idx, std::u32string_view word) const {
    return text_.substr(idx, word.size()) == word;
  }

  std::u32string_view text_;
};

std::optional<json_decode_error> python_scanner::run() const {
  const std::size_t size = text_.size();
  std::vector<container> open;
  std::size_t idx = skip_whitespace(0);
  step next = step::value;
  for (;;) {
    switch (next) {
    case step::value:
      // StopIteration always surfaces as "Expecting value" at its index.
      if (idx >= size) {
        return make_error(expecting_value, idx);
      }
      if (text_[idx] == '"') {
        auto end = scan_string(idx + 1);
        if (!end) {
          return end.error();
        }
        idx = *end;
        next = step::after_value;
      } else if (text_[idx] == '{') {
        idx = skip_whitespace(idx + 1);
        if (idx < size && text_[idx] == '}') {
          ++idx;
          next = step::after_value;
        } else {
          open.push_back(container::object);
          next = step::key;
        }
      } else if (text_[idx] == '[') {
        idx = skip_whitespace(idx + 1);
        if (idx < size && text_[idx] == ']') {
          ++idx;
          next = step::after_value;
        } else {
          open.push_back(container::array);
          next = step::value;
        }
      } else {
        const auto end = match_scalar(idx);
        if (!end) {
          return make_error(expecting_value, idx);
        }
        idx = *end;
        next = step::after_value;
      }
      break;

    case step::key: {
      if (idx >= size || text_[idx] != '"') {
        return make_error(expecting_property_name, idx);
      }
      auto end = scan_string(idx + 1);
      if (!end) {
        return end.error();
      }
      idx = skip_whitespace(*end);
      if (idx >= size || text_[idx] != ':') {
        return make_error(expecting_colon, idx);
      }
      idx = skip_whitespace(idx + 1);
      next = step::value;
      break;
    }

    case step::after_value: {
      idx = skip_whitespace(idx);
      if (open.empty()) {
        if (idx != size) {
          return make_error(extra_data, idx);
        }
        return std::nullopt;
      }
      const bool in_object = open.back() == container::object;
      if (idx < size && text_[idx] == (in_object ? U'}' : U']')) {
        open.pop_back();
        ++idx;
        break;
      }
      if (idx >= size || text_[idx] != ',') {
        return make_error(expecting_comma, idx);
      }
      idx = skip_whitespace(idx + 1);
      next = in_object ? step::key : step::value;
      break;
    }
    }
  }
}

std::size_t python_scanner::skip_whitespace(std::size_t idx) const {
  while (idx < text_.size() && (text_[idx] == ' ' || text_[idx] == '\t' ||
                                text_[idx] == '\n' || text_[idx] == '\r')) {
    ++idx;
  }
  return idx;
}

std::optional<std::size_t> python_scanner::match_scalar(std::size_t idx) const {
  // A partial literal falls through to number matching, which then fails at
  // idx. NaN, Infinity and -Infinity are deliberately not recognised.
  if (text_[idx] == 'n' && matches(idx, U"null")) {
    return idx + 4;
  }
  if (text_[idx] == 't' && matches(idx, U"true")) {
    return idx + 4;
  }
  if (text_[idx] == 'f' && matches(idx, U"false")) {
    return idx + 5;
  }
  return match_number(idx);
}

std::optional<std::size_t> python_scanner::match_number(
  std::size_t start) const {
  // end_idx is the last valid index; CPython compares against it with both
  // `<` and `<=`, which decides whether "1." or "1e" can be followed up.
  const std::size_t end_idx = text_.size() - 1;
  std::size_t idx = start;
  if (text_[idx] == '-') {
    ++idx;
    if (idx > end_idx) {
      return std::nullopt;
    }
  }
  if (text_[idx] >= '1' && text_[idx] <= '9') {
    ++idx;
    while (idx <= end_idx && is_digit(text_[idx])) {
      ++idx;
    }
  } else if (text_[idx] == '0') {
    ++idx;
  } else {
    return std::nullopt;
  }
  if (idx < end_idx && text_[idx] == '.' && is_digit(text_[idx + 1])) {
    idx += 2;
    while (idx <= end_idx && is_digit(text_[idx])) {
      ++idx;
    }
  }
  if (idx < end_idx && (text_[idx] == 'e' || text_[idx] == 'E')) {
    const std::size_t e_start = idx;
    ++idx;
    if (idx < end_idx && (text_[idx] == '-' || text_[idx] == '+')) {
      ++idx;
    }
    while (idx <= end_idx && is_digit(text_[idx])) {
      ++idx;
    }
    if (!is_digit(text_[idx - 1])) {
      idx = e_start; // no exponent digits: the number ends before the 'e'
    }
  }
  return idx;
}

std::expected<std::size_t, json_decode_error> python_scanner::scan_string(
  std::size_t end) const {
  const std::size_t len = text_.size();
  const std::size_t begin = end - 1;
  for (;;) {
    // Find the closing quote or the next escape.
    std::size_t next = end;
    for (; next < len; ++next) {
      const char32_t c = text_[next];
      if (c == '"' || c == '\\') {
        break;
      }
      if (c <= 0x1f) {
        return std::unexpected(make_error(invalid_control, next));
      }
    }
    if (next == len) {
      return std::unexpected(make_error(unterminated_string, begin));
    }
    if (text_[next] == '"') {
      return next + 1;
    }
    ++next; // past the backslash
    if (next == len) {
      return std::unexpected(make_error(unterminated_string, begin));
    }
    const char32_t escaped = text_[next];
    if (escaped != 'u') {
      end = next + 1;
      if (std::u32string_view(U"\"\\/bfnrt").find(escaped) ==
          std::u32string_view::npos) {
        return std::unexpected(make_error(invalid_escape, end - 2));
      }
      continue;
    }
    ++next;
    end = next + 4;
    if (end >= len) {
      return std::unexpected(make_error(invalid_unicode_escape, next - 1));
    }
    std::uint32_t unit = 0;
    for (; next < end; ++next) {
      const int digit = hex_value(text_[next]);
      if (digit < 0) {
        return std::unexpected(make_error(invalid_unicode_escape, end - 5));
      }
      unit = (unit << 4) | static_cast<std::uint32_t>(digit);
    }
    // A high surrogate may pair with a following \uXXXX; a low surrogate
    // after it is consumed, anything else is rescanned on its own. CPython
    // requires a character after the pair (`end + 6 < len`).
    if (unit >= 0xD800 && unit <= 0xDBFF && end + 6 < len &&
        text_[next] == '\\' && text_[next + 1] == 'u') {
      next += 2;
      end += 6;
      std::uint32_t low = 0;
      for (; next < end; ++next) {
        const int digit = hex_value(text_[next]);
        if (digit < 0) {
          return std::unexpected(make_error(invalid_unicode_escape, end - 5));
        }
        low = (low << 4) | static_cast<std::uint32_t>(digit);
      }
      if (low < 0xDC00 || low > 0xDFFF) {
        end -= 6;
      }
    }
  }
}

} // namespace

std::optional<json_decode_error> python_json_error(std::string_view body) {
  // json.loads(bytes) decodes with utf-8-sig when a BOM is present, so the
  // BOM is not part of the text and positions start after it.
  constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";
  if (body.starts_with(utf8_bom)) {
    body.remove_prefix(utf8_bom.size());
  }
  const std::u32string text = decode_utf8(body);
  return python_scanner(text).run();
}

} // namespace deployd::events
