#include "storage/record.hpp"

#include "storage/bytes.hpp"

#include <cstring>

namespace deployd::storage {

std::string encode_record(const record& r) {
  std::string out;
  out.reserve(64 + r.stream.value.size() + r.name.size() + r.payload.size());
  out.push_back(static_cast<char>(record_format));
  put_le<8>(out, r.position.value);
  put_le<8>(out, r.version.value);
  put_le<8>(out, static_cast<std::uint64_t>(r.recorded_at.micros));
  out.append(reinterpret_cast<const char*>(r.command_id.bytes.data()), 16);
  put_le<2>(out, static_cast<std::uint16_t>(r.schema_version));
  put_le<2>(out, static_cast<std::uint16_t>(r.name.size()));
  out.append(r.name);
  put_le<2>(out, static_cast<std::uint16_t>(r.stream.value.size()));
  out.append(r.stream.value);
  out.append(r.payload);
  return out;
}

std::optional<record> decode_record(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != record_format)
    return std::nullopt;
  byte_reader in{bytes.substr(1)};
  record r;
  r.position.value = in.le<8>();
  r.version.value = in.le<8>();
  r.recorded_at.micros = static_cast<std::int64_t>(in.le<8>());
  const auto id = in.bytes(16);
  if (in.ok)
    std::memcpy(r.command_id.bytes.data(), id.data(), 16);
  r.schema_version = in.le<2>();
  r.name = std::string(in.bytes(in.le<2>()));
  r.stream.value = std::string(in.bytes(in.le<2>()));
  if (!in.ok)
    return std::nullopt;
  r.payload = std::string(in.in);
  return r;
}

std::string position_key(events::log_position p) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<char>(p.value >> (56 - 8 * i));
  return key;
}

events::log_position position_from_key(std::string_view key) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < key.size(); ++i)
    v = (v << 8) | static_cast<unsigned char>(key[i]);
  return {v};
}

std::string stream_version_key(const events::stream_id& s,
                               events::stream_version v) {
  std::string key = s.value;
  key.push_back('\0');
  key += position_key({v.value});
  return key;
}

} // namespace deployd::storage
