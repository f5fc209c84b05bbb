#include "events/checksum.hpp"

#include "events/python/json_text.hpp"
#include "events/python/python_repr.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <openssl/evp.h>
#include <stdexcept>
#include <vector>

namespace deployd::events {

namespace {

void escape_into(std::string& out, std::string_view s) {
  // Decode UTF-8 and escape as Python's ensure_ascii does.
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp = c;
    std::size_t len = 1;
    if (c >= 0xf0 && i + 3 < s.size() + 0) {
      cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3fu) << 12) |
           ((s[i + 2] & 0x3fu) << 6) | (s[i + 3] & 0x3fu);
      len = 4;
    } else if (c >= 0xe0) {
      cp = ((c & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
      len = 3;
    } else if (c >= 0xc0) {
      cp = ((c & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
      len = 2;
    }
    i += len;
    char buf[16];
    switch (cp) {
    case '"':
      out += "\\\"";
      continue;
    case '\\':
      out += "\\\\";
      continue;
    case '\n':
      out += "\\n";
      continue;
    case '\r':
      out += "\\r";
      continue;
    case '\t':
      out += "\\t";
      continue;
    case '\b':
      out += "\\b";
      continue;
    case '\f':
      out += "\\f";
      continue;
    default:
      break;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp < 0x10000)) {
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      out += buf;
    } else if (cp >= 0x10000) {
      const auto v = cp - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + (v >> 10),
                    0xdc00 + (v & 0x3ff));
      out += buf;
    } else {
      out.push_back(static_cast<char>(cp));
    }
  }
  out.push_back('"');
}

void dump_into(std::string& out, const json& v, bool sort_keys) {
  switch (v.type()) {
  case json::value_t::null:
    out += "null";
    return;
  case json::value_t::boolean:
    out += v.get<bool>() ? "true" : "false";
    return;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    out += v.dump();
    return;
  case json::value_t::number_float:
    out += python_float_repr(v.get<double>());
    return;
  case json::value_t::binary: // a big integer: its digits, as Python's int
    out += big_integer_text(v);
    return;
  case json::value_t::string:
    escape_into(out, v.get_ref<const std::string&>());
    return;
  case json::value_t::array: {
    out.push_back('[');
    bool first = true;
    for (const auto& item : v) {
      if (!first)
        out += ", ";
      first = false;
      dump_into(out, item, sort_keys);
    }
    out.push_back(']');
    return;
  }
  case json::value_t::object: {
    std::vector<std::string> keys;
    for (const auto& [key, value] : v.items())
      keys.push_back(key);
    if (sort_keys)
      std::sort(keys.begin(), keys.end()); // UTF-8 byte order ~ code points
    out.push_back('{');
    bool first = true;
    for (const auto& key : keys) {
      if (!first)
        out += ", ";
      first = false;
      escape_into(out, key);
      out += ": ";
      dump_into(out, v.at(key), sort_keys);
    }
    out.push_back('}');
    return;
  }
  default:
    out += "null";
  }
}

json without_secret_fields(const json& v) {
  if (v.is_array()) {
    json out = json::array();
    for (const auto& item : v)
      out.push_back(without_secret_fields(item));
    return out;
  }
  if (!v.is_object())
    return v;
  json out = json::object();
  for (const auto& [key, value] : v.items())
    if (key != "secret_fields")
      out[key] = without_secret_fields(value);
  return out;
}

} // namespace

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(),
                 nullptr) != 1 ||
      size != digest.size())
    throw std::runtime_error("OpenSSL SHA-256 failed");
  return digest;
}

std::string sha256_hex(std::string_view data) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (const std::uint8_t b : sha256(data)) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0x0f]);
  }
  return out;
}

std::string python_json_dumps(const json& value, bool sort_keys) {
  std::string out;
  dump_into(out, value, sort_keys);
  return out;
}

std::string block_schema_checksum(const json& fields) {
  const json args = json::array(
      {json::array({without_secret_fields(fields)}), json::object()});
  return "sha256:" + sha256_hex(python_json_dumps(args, true));
}

} // namespace deployd::events
