#include "storage/log_entry.hpp"

#include "storage/bytes.hpp"

namespace deployd::storage {

std::string encode_log_entry(std::string_view commit_id,
                             events::log_position first,
                             const std::vector<std::string>& records) {
  std::size_t size = 1 + 4 + commit_id.size() + 8 + 4;
  for (const auto& r : records)
    size += 4 + r.size();
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(log_entry_format));
  put_le<4>(out, static_cast<std::uint32_t>(commit_id.size()));
  out.append(commit_id);
  put_le<8>(out, first.value);
  put_le<4>(out, static_cast<std::uint32_t>(records.size()));
  for (const auto& r : records) {
    put_le<4>(out, static_cast<std::uint32_t>(r.size()));
    out.append(r);
  }
  return out;
}

std::optional<log_entry_view> decode_log_entry(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != log_entry_format)
    return std::nullopt;
  byte_reader in{bytes.substr(1)};
  log_entry_view entry;
  entry.commit_id = in.bytes(in.le<4>());
  entry.first_position = {in.le<8>()};
  const auto count = in.le<4>();
  if (!in.ok || count > in.in.size() / 4)
    return std::nullopt;
  entry.records.reserve(count);
  for (std::uint64_t i = 0; i < count && in.ok; ++i)
    entry.records.push_back(in.bytes(in.le<4>()));
  if (!in.ok || !in.in.empty() || entry.first_position.value == 0)
    return std::nullopt;
  return entry;
}

} // namespace deployd::storage
