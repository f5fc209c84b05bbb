#include "http/base64.hpp"

#include <cstdint>

namespace deployd::http {

namespace {

// The value of a base64 digit, or -1.
int digit(char c, base64_alphabet alphabet) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  const bool url = alphabet == base64_alphabet::url;
  if (c == (url ? '-' : '+'))
    return 62;
  if (c == (url ? '_' : '/'))
    return 63;
  return -1;
}

} // namespace

std::string base64_encode(std::string_view bytes, base64_alphabet alphabet) {
  const char* digits =
      alphabet == base64_alphabet::url
          ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(digits[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0)
    out.push_back(digits[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> base64_decode(std::string_view text,
                                         base64_alphabet alphabet) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = digit(c, alphabet);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<std::string> base64_decode_lenient(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int have = 0;
  std::size_t padding = 0;
  for (const char c : text) {
    if (c == '=') {
      ++padding;
      if (have >= 2 && padding >= static_cast<std::size_t>(4 - have))
        break;
      continue;
    }
    const int v = digit(c, base64_alphabet::standard);
    if (v < 0)
      continue;
    padding = 0;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++have == 4) {
      out.push_back(static_cast<char>((acc >> 16) & 0xff));
      out.push_back(static_cast<char>((acc >> 8) & 0xff));
      out.push_back(static_cast<char>(acc & 0xff));
      acc = 0;
      have = 0;
    }
  }
  if (have == 0)
    return out;
  if (have == 1 || padding < static_cast<std::size_t>(4 - have))
    return std::nullopt;
  if (have == 2) {
    out.push_back(static_cast<char>((acc >> 4) & 0xff));
  } else {
    out.push_back(static_cast<char>((acc >> 10) & 0xff));
    out.push_back(static_cast<char>((acc >> 2) & 0xff));
  }
  return out;
}

} // namespace deployd::http
