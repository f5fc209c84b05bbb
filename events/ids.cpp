#include "events/ids.hpp"

#include <cstring>

namespace deployd::events {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<uuid> uuid::parse(std::string_view text) {
  if (text.size() != 36)
    return std::nullopt;
  uuid result;
  std::size_t out = 0;
  for (std::size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-')
        return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    result.bytes[out++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return result;
}

uuid uuid::v4_from(std::uint64_t hi, std::uint64_t lo) {
  uuid result;
  for (int i = 0; i < 8; ++i) {
    result.bytes[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    result.bytes[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  }
  result.bytes[6] = static_cast<std::uint8_t>((result.bytes[6] & 0x0f) | 0x40);
  result.bytes[8] = static_cast<std::uint8_t>((result.bytes[8] & 0x3f) | 0x80);
  return result;
}

std::string uuid::str() const {
  // Written in place into a string of the final size: a push_back per
  // character (a capacity check each) was 3% of a replay's CPU.
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(36, '-');
  char* at = out.data();
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      ++at;
    *at++ = digits[bytes[i] >> 4];
    *at++ = digits[bytes[i] & 0x0f];
  }
  return out;
}

bool uuid::is_nil() const {
  for (auto b : bytes)
    if (b != 0)
      return false;
  return true;
}

stream_id deployment_stream(const uuid& id) {
  return {"deployment/" + id.str()};
}

stream_id flow_stream(const uuid& id) {
  return {"flow/" + id.str()};
}

stream_id concurrency_limit_stream(const uuid& id) {
  return {"concurrency_limit/" + id.str()};
}

} // namespace deployd::events

std::size_t std::hash<deployd::events::uuid>::operator()(
    const deployd::events::uuid& id) const noexcept {
  std::uint64_t a;
  std::uint64_t b;
  std::memcpy(&a, id.bytes.data(), 8);
  std::memcpy(&b, id.bytes.data() + 8, 8);
  return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
}
