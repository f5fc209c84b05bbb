#include "events/python/json_text.hpp"

#include "events/python/python_repr.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

namespace deployd::events {

namespace {

// -- integers -----------------------------------------------------------------

/// Whether `text` is a JSON integer literal (`-?[0-9]+`).
bool is_integer_text(std::string_view text) {
  if (!text.empty() && text.front() == '-')
    text.remove_prefix(1);
  if (text.empty())
    return false;
  for (const char c : text)
    if (c < '0' || c > '9')
      return false;
  return true;
}

/// The value of an integer literal as nlohmann's lexer types it (uint64 when
/// not negative, int64 when negative), or a big integer when neither fits.
json integer_value(std::string_view text) {
  const std::size_t digits = text.size() - (text.front() == '-' ? 1 : 0);
  if (digits > max_integer_digits)
    throw integer_too_long("integer literal of " + std::to_string(digits) +
                           " digits");
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (text.front() == '-') {
    std::int64_t n = 0;
    if (const auto r = std::from_chars(first, last, n);
        r.ec == std::errc{} && r.ptr == last)
      return json(n);
  } else {
    std::uint64_t n = 0;
    if (const auto r = std::from_chars(first, last, n);
        r.ec == std::errc{} && r.ptr == last)
      return json(n);
  }
  return big_integer(text);
}

/// Stands in for every long integer literal on the slow path. It overflows
/// 64 bits but not a double, so nlohmann hands it to `number_float` with its
/// text.
constexpr std::string_view placeholder = "99999999999999999999";

/// Literals with this many digits or more may overflow 64 bits.
constexpr std::size_t long_integer_digits = 19;

/// `text` with every integer literal of `long_integer_digits` or more digits
/// outside strings replaced by `placeholder`; the originals are appended to
/// `originals` in document order. Only tokenises as far as needed: strings
/// are skipped whole, and anything else is copied for the parser to judge.
std::string mask_long_integers(std::string_view text,
                               std::vector<std::string>& originals) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '"')
        j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, text.size());
      out.append(text.substr(i, j - i));
      i = j;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t j = i + 1;
      while (j < text.size() &&
             std::strchr("0123456789+-.eE", text[j]) != nullptr &&
             text[j] != '\0')
        ++j;
      const auto token = text.substr(i, j - i);
      const std::size_t digits = token.size() - (c == '-' ? 1 : 0);
      // A leading zero makes it no JSON number: leave it for the parser
      // to refuse.
      if (digits >= long_integer_digits && is_integer_text(token) &&
          token[c == '-' ? 1 : 0] != '0') {
        originals.emplace_back(token);
        out.append(placeholder);
      } else {
        out.append(token);
      }
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

// -- parsing ------------------------------------------------------------------

/// Builds the document as nlohmann's own DOM parser does (same handling of
/// duplicate keys: the first position, the last value), but types integer
/// literals itself.
class exact_builder {
public:
  /// `originals` (slow path): the texts the placeholders stand for.
  exact_builder(json& root, const std::vector<std::string>* originals)
      : root_(root), originals_(originals) {
  }

  bool null() {
    put(json(nullptr));
    return true;
  }
  bool boolean(bool b) {
    put(json(b));
    return true;
  }
  bool number_integer(json::number_integer_t n) {
    put(json(n));
    return true;
  }
  bool number_unsigned(json::number_unsigned_t n) {
    put(json(n));
    return true;
  }
  bool number_float(json::number_float_t d, const std::string& text) {
    if (!is_integer_text(text)) {
      put(json(d));
    } else if (originals_ == nullptr) {
      put(integer_value(text));
    } else {
      put(integer_value(originals_->at(next_original_++)));
    }
    return true;
  }
  bool string(std::string& s) {
    put(json(std::move(s)));
    return true;
  }
  bool binary(json::binary_t& b) {
    put(json(std::move(b)));
    return true;
  }
  bool start_object(std::size_t) {
    stack_.push_back(put(json(json::value_t::object)));
    return true;
  }
  bool key(std::string& k) {
    key_ = &(*stack_.back())[k];
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    stack_.push_back(put(json(json::value_t::array)));
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string& token, const Exception& ex) {
    // An integer literal beyond double range: nlohmann's lexer tried it as a
    // double. The caller retries on the slow path.
    if (ex.id == 406 && is_integer_text(token) && originals_ == nullptr) {
      integer_overflow_ = true;
      return false;
    }
    throw ex;
  }

  bool integer_overflow() const {
    return integer_overflow_;
  }

private:
  json* put(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *key_ = std::move(v);
    return key_;
  }

  json& root_;
  const std::vector<std::string>* originals_;
  std::size_t next_original_ = 0;
  std::vector<json*> stack_;
  json* key_ = nullptr;
  bool integer_overflow_ = false;
};

// -- the common case ----------------------------------------------------------

/// Parses the documents deployd writes and most clients send (ASCII strings
/// without escapes, integers of up to 18 digits, nesting up to 64 levels, no
/// duplicate keys) straight into the document, as `exact_builder` would
/// build it, without nlohmann's lexer. Anything else (escapes, non-ASCII,
/// floats, long integers, errors) answers false and is left to the full
/// parser, whose typing and messages stay the reference.
class simple_parser {
public:
  explicit simple_parser(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {
  }

  bool parse(json& root) {
    skip_space();
    if (!value(root, 0))
      return false;
    skip_space();
    return p_ == end_;
  }

private:
  static constexpr int max_depth = 64;

  void skip_space() {
    while (p_ != end_ &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  bool literal(std::string_view word) { return skip_word(p_, end_, word); }

  // The text of a string without escapes or non-ASCII bytes; `p_` is on
  // its opening quote.
  bool string_text(std::string_view& out) {
    const char* start = ++p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x80 || c == '\\')
        return false;
      ++p_;
    }
    return false;
  }

  bool number(json& out) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative)
      ++p_;
    const char* digits = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9')
      ++p_;
    const auto count = static_cast<std::size_t>(p_ - digits);
    if (count == 0 || count > 18 || (*digits == '0' && count > 1))
      return false;
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E'))
      return false;
    if (negative) {
      std::int64_t n = 0;
      if (std::from_chars(start, p_, n).ptr != p_)
        return false;
      out = json(n);
    } else {
      std::uint64_t n = 0;
      if (std::from_chars(start, p_, n).ptr != p_)
        return false;
      out = json(n);
    }
    return true;
  }

  bool value(json& out, int depth) {
    if (p_ == end_)
      return false;
    switch (*p_) {
    case '{':
      return object(out, depth + 1);
    case '[':
      return array(out, depth + 1);
    case '"': {
      std::string_view text;
      if (!string_text(text))
        return false;
      out = json(std::string(text));
      return true;
    }
    case 't':
      out = json(true);
      return literal("true");
    case 'f':
      out = json(false);
      return literal("false");
    case 'n':
      out = json(nullptr);
      return literal("null");
    default:
      return (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) && number(out);
    }
  }

  bool array(json& out, int depth) {
    if (depth > max_depth)
      return false;
    ++p_;
    out = json(json::value_t::array);
    auto& items = out.get_ref<json::array_t&>();
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      items.emplace_back();
      if (!value(items.back(), depth))
        return false;
      skip_space();
      if (p_ == end_)
        return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',')
        return false;
      ++p_;
    }
  }

  // Members are gathered in a scratch list per depth (kept between
  // objects), then moved into the object with its size reserved: the
  // object's vector holds `pair<const string, json>`, which it copies, whole
  // subtrees included, each time it grows.
  bool object(json& out, int depth) {
    if (depth > max_depth)
      return false;
    ++p_;
    out = json(json::value_t::object);
    auto& members = static_cast<json::object_t::Container&>(
        out.get_ref<json::object_t&>());
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    // Sized once for every depth: a nested object must not move this one's
    // list.
    if (scratch_.empty())
      scratch_.resize(max_depth + 1);
    auto& list = scratch_[static_cast<std::size_t>(depth)];
    list.clear();
    for (;;) {
      skip_space();
      std::string_view key;
      if (p_ == end_ || *p_ != '"' || !string_text(key))
        return false;
      // A duplicate key (nlohmann keeps the first position, the last
      // value) is left to the full parser.
      for (const auto& m : list)
        if (m.first.size() == key.size() && m.first == key)
          return false;
      skip_space();
      if (p_ == end_ || *p_ != ':')
        return false;
      ++p_;
      skip_space();
      list.emplace_back(std::string(key), json());
      if (!value(list.back().second, depth))
        return false;
      skip_space();
      if (p_ == end_)
        return false;
      if (*p_ == '}') {
        ++p_;
        members.reserve(list.size());
        for (auto& [k, v] : list)
          members.emplace_back(std::move(k), std::move(v));
        list.clear();
        return true;
      }
      if (*p_ != ',')
        return false;
      ++p_;
    }
  }

  const char* p_;
  const char* end_;
  std::vector<std::vector<std::pair<std::string, json>>> scratch_;
};

// -- writing ------------------------------------------------------------------

bool plain_ascii(std::string_view s) {
  for (const unsigned char c : s)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
      return false;
  return true;
}

/// Appends the string held by `v` (a string value), escaped.
void append_string_value(std::string& out, const json& v, bool ensure_ascii) {
  const auto& s = v.get_ref<const std::string&>();
  if (plain_ascii(s)) {
    out.push_back('"');
    out.append(s);
    out.push_back('"');
    return;
  }
  out += v.dump(-1, ' ', ensure_ascii, json::error_handler_t::replace);
}

void append_exponent(std::string& out, int exponent) {
  if (exponent < 0) {
    out.push_back('-');
    exponent = -exponent;
  }
  char buf[8];
  const auto end = std::to_chars(buf, buf + sizeof buf, exponent).ptr;
  out.append(buf, end);
}

void append_float(std::string& out, double v, json_dialect dialect) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  if (dialect == json_dialect::python_ascii) {
    out += python_float_repr(v);
    return;
  }
  const auto d = decompose(v);
  const std::string_view digits(d.digits, static_cast<std::size_t>(d.count));
  const int n = d.count;
  const int kk = d.point;
  if (d.negative)
    out.push_back('-');
  if (n <= kk && kk <= 16) {
    out.append(digits);
    out.append(static_cast<std::size_t>(kk - n), '0');
    out += ".0";
  } else if (0 < kk && kk <= 16) {
    out.append(digits.substr(0, static_cast<std::size_t>(kk)));
    out.push_back('.');
    out.append(digits.substr(static_cast<std::size_t>(kk)));
  } else if (-5 < kk && kk <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-kk), '0');
    out.append(digits);
  } else {
    out.push_back(digits.front());
    if (n > 1) {
      out.push_back('.');
      out.append(digits.substr(1));
    }
    out.push_back('e');
    append_exponent(out, kk - 1);
  }
}

template <class Number>
void append_integer(std::string& out, Number n) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, n).ptr;
  out.append(buf, end);
}

} // namespace

// -- public -------------------------------------------------------------------

json parse_json(std::string_view text) {
  json root;
  if (simple_parser(text).parse(root))
    return root;
  root = json();
  {
    exact_builder builder(root, nullptr);
    if (json::sax_parse(text, &builder) || !builder.integer_overflow())
      return root;
  }
  // Slow path, only for integers beyond double range (309 digits or more):
  // nlohmann cannot lex them, so they are parsed as stand-ins.
  std::vector<std::string> originals;
  const auto masked = mask_long_integers(text, originals);
  root = json();
  exact_builder builder(root, &originals);
  json::sax_parse(masked, &builder);
  return root;
}

json big_integer(std::string_view digits) {
  return json::binary(std::vector<std::uint8_t>(digits.begin(), digits.end()),
                      big_integer_subtype);
}

bool is_big_integer(const json& v) {
  return v.is_binary() && v.get_binary().has_subtype() &&
         v.get_binary().subtype() == big_integer_subtype;
}

std::string_view big_integer_text(const json& v) {
  const auto& bytes = v.get_binary();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

double to_double(const json& v) {
  if (is_big_integer(v)) {
    const auto text = big_integer_text(v);
    double d = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
    if (r.ec == std::errc::result_out_of_range)
      return text.front() == '-' ? -HUGE_VAL : HUGE_VAL;
    return d;
  }
  return v.get<double>();
}

void append_json(std::string& out, const json& v, json_dialect dialect) {
  const bool ascii = dialect == json_dialect::python_ascii;
  switch (v.type()) {
  case json::value_t::null:
  case json::value_t::discarded:
    out += "null";
    return;
  case json::value_t::boolean:
    out += v.get<bool>() ? "true" : "false";
    return;
  case json::value_t::number_integer:
    append_integer(out, v.get<std::int64_t>());
    return;
  case json::value_t::number_unsigned:
    append_integer(out, v.get<std::uint64_t>());
    return;
  case json::value_t::number_float:
    append_float(out, v.get<double>(), dialect);
    return;
  case json::value_t::string:
    append_string_value(out, v, ascii);
    return;
  case json::value_t::binary:
    // Only big integers are ever built; anything else would be a bug.
    if (!is_big_integer(v))
      throw std::logic_error("a binary JSON value that is not a big integer");
    out.append(big_integer_text(v));
    return;
  case json::value_t::array: {
    out.push_back('[');
    bool first = true;
    for (const auto& item : v.get_ref<const json::array_t&>()) {
      if (!first)
        out.push_back(',');
      first = false;
      append_json(out, item, dialect);
    }
    out.push_back(']');
    return;
  }
  case json::value_t::object: {
    out.push_back('{');
    bool first = true;
    for (const auto& [key, item] : v.get_ref<const json::object_t&>()) {
      if (!first)
        out.push_back(',');
      first = false;
      append_string(out, key, ascii);
      out.push_back(':');
      append_json(out, item, dialect);
    }
    out.push_back('}');
    return;
  }
  }
}

std::string dump_json(const json& v, json_dialect dialect) {
  std::string out;
  append_json(out, v, dialect);
  return out;
}

void append_string(std::string& out, std::string_view s, bool ensure_ascii) {
  if (plain_ascii(s)) {
    out.push_back('"');
    out.append(s);
    out.push_back('"');
    return;
  }
  append_string_value(out, json(std::string(s)), ensure_ascii);
}

std::string float_text(double v) {
  std::string out;
  append_float(out, v, json_dialect::response);
  return out;
}

shortest_decimal decompose(double v) {
  // Shortest round-trip digits in scientific form, e.g. "-1.5e-07".
  char buffer[40];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v,
                                 std::chars_format::scientific)
                       .ptr;
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  shortest_decimal out;
  out.negative = text.front() == '-';
  const auto e = text.find('e');
  for (std::size_t i = out.negative ? 1 : 0; i < e; ++i)
    if (text[i] != '.')
      out.digits[out.count++] = text[i];
  int exponent = 0;
  const char* first = text.data() + e + 1;
  if (*first == '+')
    ++first;
  std::from_chars(first, text.data() + text.size(), exponent);
  out.point = exponent + 1;
  return out;
}

} // namespace deployd::events
