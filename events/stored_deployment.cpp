#include "events/stored_deployment.hpp"

#include "events/python/json_text.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <stdexcept>
#include <vector>

namespace deployd::events {

namespace {

// -- text that round-trips ----------------------------------------------------

/// Measures a value whose text `append_json(parse_json(text))` gives back
/// unchanged (see `canonical_json_length`); every "no" is conservative.
class canonical_scanner {
public:
  /// `keys`: scratch lists of an object's keys, one per depth, kept by the
  /// caller between values.
  canonical_scanner(std::string_view text,
                    std::vector<std::vector<std::string_view>>& keys)
      : p_(text.data()), start_(text.data()), end_(text.data() + text.size()),
        keys_(keys) {
  }

  std::size_t length() {
    if (!value(0))
      return 0;
    return static_cast<std::size_t>(p_ - start_);
  }

private:
  static constexpr int max_depth = 64;
  /// Keys of an object past this many are checked for duplicates by sorting.
  static constexpr std::size_t linear_keys = 16;

  bool literal(std::string_view word) { return skip_word(p_, end_, word); }

  // A string with its quotes, as written: one spelling per value, so equal
  // texts are equal strings.
  bool string(std::string_view& out) {
    const char* start = p_++;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        return true;
      }
      if (c == '\\') {
        if (++p_ == end_)
          return false;
        switch (*p_) {
        case '"':
        case '\\':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          ++p_;
          continue;
        default:
          return false;
        }
      }
      // Control characters are written escaped; DEL and non-ASCII are left
      // to the parser (nlohmann writes DEL as it is, but plain_ascii does
      // not take that path: not worth proving here).
      if (c < 0x20 || c >= 0x7f)
        return false;
      ++p_;
    }
    return false;
  }

  bool number() {
    const bool negative = *p_ == '-';
    if (negative)
      ++p_;
    const char* digits = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9')
      ++p_;
    const auto count = static_cast<std::size_t>(p_ - digits);
    // `-0` reads as 0; a leading zero is no JSON; beyond the digit limit
    // parse_json throws.
    if (count == 0 || count > max_integer_digits ||
        (*digits == '0' && (count > 1 || negative)))
      return false;
    // Floats are written the reference's way, which this does not prove.
    return p_ == end_ || (*p_ != '.' && *p_ != 'e' && *p_ != 'E');
  }

  bool value(int depth) {
    if (p_ == end_)
      return false;
    switch (*p_) {
    case '{':
      return object(depth + 1);
    case '[':
      return array(depth + 1);
    case '"': {
      std::string_view text;
      return string(text);
    }
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default:
      return (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) && number();
    }
  }

  bool array(int depth) {
    if (depth > max_depth)
      return false;
    ++p_;
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!value(depth) || p_ == end_)
        return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_++ != ',')
        return false;
    }
  }

  bool object(int depth) {
    if (depth > max_depth)
      return false;
    ++p_;
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    if (keys_.empty())
      keys_.resize(max_depth + 1);
    auto& keys = keys_[static_cast<std::size_t>(depth)];
    keys.clear();
    for (;;) {
      std::string_view key;
      if (p_ == end_ || *p_ != '"' || !string(key))
        return false;
      if (keys.size() < linear_keys)
        for (const auto k : keys)
          if (k == key)
            return false;
      keys.push_back(key);
      if (p_ == end_ || *p_++ != ':')
        return false;
      if (!value(depth) || p_ == end_)
        return false;
      if (*p_ == '}') {
        ++p_;
        break;
      }
      if (*p_++ != ',')
        return false;
    }
    if (keys.size() > linear_keys) {
      std::sort(keys.begin(), keys.end());
      if (std::adjacent_find(keys.begin(), keys.end()) != keys.end())
        return false;
    }
    return true;
  }

  const char* p_;
  const char* start_;
  const char* end_;
  std::vector<std::vector<std::string_view>>& keys_;
};

} // namespace

std::size_t canonical_json_length(std::string_view text) {
  thread_local std::vector<std::vector<std::string_view>> keys;
  return canonical_scanner(text, keys).length();
}

// -- a stored deployment without a document ------------------------------------

namespace {

// Reads `stored_text`'s layout field by field; every method answers false
// on anything else, and the caller falls back to the document.
class stored_cursor {
public:
  explicit stored_cursor(std::string_view text) : text_(text) {
  }

  bool open() {
    return take('{');
  }
  bool close() {
    return take('}') && at_ == text_.size();
  }
  // `"name":`, after a comma unless it is the first.
  bool key(std::string_view name) {
    if (!first_ && !take(','))
      return false;
    first_ = false;
    if (text_.size() - at_ < name.size() + 3 || text_[at_] != '"' ||
        text_.compare(at_ + 1, name.size(), name) != 0 ||
        text_[at_ + 1 + name.size()] != '"' ||
        text_[at_ + 2 + name.size()] != ':')
      return false;
    at_ += name.size() + 3;
    return true;
  }
  // A string whose text is its value: printable ASCII, no escape.
  bool plain(std::string_view& out) {
    if (!take('"'))
      return false;
    const auto start = at_;
    for (; at_ < text_.size(); ++at_) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        out = text_.substr(start, at_ - start);
        ++at_;
        return true;
      }
      if (c < 0x20 || c >= 0x7f || c == '\\')
        return false;
    }
    return false;
  }
  bool null() {
    return word("null");
  }
  bool peek_null() const {
    return at_ < text_.size() && text_[at_] == 'n';
  }
  bool boolean(bool& out) {
    if (word("true")) {
      out = true;
      return true;
    }
    if (!word("false"))
      return false;
    out = false;
    return true;
  }
  bool string(std::string& out) {
    std::string_view v;
    if (!plain(v))
      return false;
    out.assign(v);
    return true;
  }
  bool optional_string(std::optional<std::string>& out) {
    if (peek_null())
      return out.reset(), null();
    std::string_view v;
    if (!plain(v))
      return false;
    out.emplace(v);
    return true;
  }
  bool id(uuid& out) {
    std::string_view v;
    if (!plain(v))
      return false;
    const auto parsed = uuid::parse(v);
    if (!parsed)
      return false;
    out = *parsed;
    return true;
  }
  bool optional_id(std::optional<uuid>& out) {
    if (peek_null())
      return out.reset(), null();
    uuid v;
    if (!id(v))
      return false;
    out = v;
    return true;
  }
  bool time(timestamp& out) {
    std::string_view v;
    if (!plain(v))
      return false;
    const auto parsed = parse_timestamp(v);
    if (!parsed)
      return false;
    out = *parsed;
    return true;
  }
  bool optional_time(std::optional<timestamp>& out) {
    if (peek_null())
      return out.reset(), null();
    timestamp v;
    if (!time(v))
      return false;
    out = v;
    return true;
  }
  bool strings(std::vector<std::string>& out) {
    out.clear();
    if (!take('['))
      return false;
    if (take(']'))
      return true;
    do {
      std::string_view v;
      if (!plain(v))
        return false;
      out.emplace_back(v);
    } while (take(','));
    return take(']');
  }
  // A value whose text round-trips (canonical_json_length).
  bool member(std::pair<std::uint32_t, std::uint32_t>& span) {
    const auto n = canonical_json_length(text_.substr(at_));
    if (n == 0)
      return false;
    span = {static_cast<std::uint32_t>(at_), static_cast<std::uint32_t>(n)};
    at_ += n;
    return true;
  }
  // Any value's text (not checked: the caller parses it).
  bool any(std::string_view& out) {
    const auto start = at_;
    int depth = 0;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == '"') {
        for (++at_; at_ < text_.size() && text_[at_] != '"';)
          at_ += text_[at_] == '\\' ? 2 : 1;
        if (at_ >= text_.size())
          return false;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0)
          break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
      ++at_;
      if (depth == 0 && (c == '"' || c == '}' || c == ']'))
        break;
    }
    if (depth != 0 || at_ == start)
      return false;
    out = text_.substr(start, at_ - start);
    return true;
  }

private:
  bool take(char c) {
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    if (text_.compare(at_, w.size(), w) != 0)
      return false;
    at_ += w.size();
    return true;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  bool first_ = true;
};

} // namespace

bool read_stored_deployment(std::string_view text, stored_deployment& out) {
  // Offsets are kept in 32 bits.
  if (text.size() >= std::numeric_limits<std::uint32_t>::max())
    return false;
  auto& d = out.value;
  stored_cursor c(text);
  std::string_view schedules;
  auto& m = out.members;
  const bool read =
      c.open() && c.key("id") && c.id(d.id) && c.key("created") &&
      c.time(d.created) && c.key("updated") && c.time(d.updated) &&
      c.key("name") && c.string(d.name) && c.key("version") &&
      c.optional_string(d.version) && c.key("description") &&
      c.optional_string(d.description) && c.key("flow_id") &&
      c.id(d.flow_id) && c.key("paused") && c.boolean(d.paused) &&
      c.key("schedules") && c.any(schedules) &&
      c.key("concurrency_limit_id") &&
      c.optional_id(d.concurrency_limit_id) &&
      c.key("concurrency_options") && c.member(m[0]) &&
      c.key("job_variables") && c.member(m[1]) && c.key("parameters") &&
      c.member(m[2]) && c.key("tags") && c.strings(d.tags) &&
      c.key("labels") && c.member(m[3]) && c.key("work_queue_name") &&
      c.optional_string(d.work_queue_name) && c.key("work_queue_id") &&
      c.optional_id(d.work_queue_id) && c.key("last_polled") &&
      c.optional_time(d.last_polled) && c.key("parameter_openapi_schema") &&
      c.member(m[4]) && c.key("path") && c.optional_string(d.path) &&
      c.key("pull_steps") && c.member(m[5]) && c.key("entrypoint") &&
      c.optional_string(d.entrypoint) && c.key("storage_document_id") &&
      c.optional_id(d.storage_document_id) &&
      c.key("infrastructure_document_id") &&
      c.optional_id(d.infrastructure_document_id) && c.key("created_by") &&
      c.member(m[6]) && c.key("updated_by") && c.member(m[7]) &&
      c.key("status") && c.string(d.status) &&
      c.key("enforce_parameter_schema") &&
      c.boolean(d.enforce_parameter_schema) && c.close();
  if (!read)
    return false;
  d.schedules.clear();
  if (schedules == "[]")
    return true;
  // Schedules are rendered from the struct (their interval as a float), so
  // they are read as the document path reads them.
  try {
    const json list = parse_json(schedules);
    if (!list.is_array())
      return false;
    for (const auto& s : list)
      d.schedules.push_back(schedule_from_stored(s));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

} // namespace deployd::events
