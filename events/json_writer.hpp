// Writes JSON text straight into a string without building a document first,
// byte for byte what `append_json` (events/python/json_text.hpp) writes for the same
// value: the reference's number formats, nlohmann's string escaping. For the
// hot paths that serialise our own structs (deployment state, views, index
// summaries).
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/python/json_text.hpp"
#include "events/time.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace deployd::events {

// Appends JSON text exactly as `append_json` would write the same value
// inside a document.
class json_writer {
public:
  explicit json_writer(std::string& out) : out_(out) {
  }

  json_writer& key(std::string_view k) {
    out_.push_back(first_ ? '{' : ',');
    first_ = false;
    out_.push_back('"');
    out_.append(k); // our own keys: plain ASCII, nothing to escape
    out_ += "\":";
    return *this;
  }
  void value(const json& j) {
    append_json(out_, j);
  }
  void value(std::string_view s) {
    append_string(out_, s);
  }
  /// A field the reference types as float: `3600.0`, `0.0`, `1.5e-7`.
  void float_number(double d) {
    out_ += float_text(d);
  }
  void strings(const std::vector<std::string>& list) {
    out_.push_back('[');
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i > 0)
        out_.push_back(',');
      value(std::string_view(list[i]));
    }
    out_.push_back(']');
  }
  // A string literal would otherwise convert to bool, not to a string.
  void value(const char*) = delete;
  void value(bool b) {
    out_ += b ? "true" : "false";
  }
  void null() {
    out_ += "null";
  }
  void number(std::int64_t n) {
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, n).ptr;
    out_.append(buf, end);
  }
  void plain(std::string_view ascii) { // a UUID or timestamp
    out_.push_back('"');
    out_.append(ascii);
    out_.push_back('"');
  }
  template <class T>
  void optional(const std::optional<T>& v) {
    if (!v)
      null();
    else if constexpr (std::is_same_v<T, uuid>)
      plain(v->str());
    else if constexpr (std::is_same_v<T, timestamp>)
      plain(format_timestamp(*v));
    else
      value(std::string_view(*v));
  }
  void close() {
    out_ += first_ ? "{}" : "}";
  }

private:
  std::string& out_;
  bool first_ = true;
};

} // namespace deployd::events
