#include "events/checksum.hpp"

#include "events/json_text.hpp"
#include "events/python_repr.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace deployd::events {

namespace {

constexpr std::array<std::uint32_t, 64> k = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

std::uint32_t rotr(std::uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

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

std::string sha256_hex(std::string_view data) {
  std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::vector<unsigned char> msg(data.begin(), data.end());
  const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  msg.push_back(0x80);
  while (msg.size() % 64 != 56)
    msg.push_back(0);
  for (int i = 7; i >= 0; --i)
    msg.push_back(static_cast<unsigned char>(bits >> (8 * i)));
  for (std::size_t chunk = 0; chunk < msg.size(); chunk += 64) {
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (std::uint32_t(msg[chunk + 4 * i]) << 24) |
             (std::uint32_t(msg[chunk + 4 * i + 1]) << 16) |
             (std::uint32_t(msg[chunk + 4 * i + 2]) << 8) |
             std::uint32_t(msg[chunk + 4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
      const auto s0 =
          rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const auto s1 =
          rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
                  g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const auto s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const auto ch = (e & f) ^ (~e & g);
      const auto t1 = hh + s1 + ch + k[static_cast<std::size_t>(i)] + w[i];
      const auto s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const auto maj = (a & b) ^ (a & c) ^ (b & c);
      const auto t2 = s0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  std::string out;
  char buf[9];
  for (auto word : h) {
    std::snprintf(buf, sizeof buf, "%08x", word);
    out += buf;
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
