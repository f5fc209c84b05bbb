#include "storage/log_entry.hpp"

#include "storage/bytes.hpp"

namespace deployd::storage {

std::string encode_log_entry(std::string_view commit_id,
                             events::log_position first,
                             const std::vector<std::string>& records,
                             const std::vector<side_write>& side_writes) {
  std::size_t size = 1 + 4 + commit_id.size() + 8 + 4;
  for (const auto& r : records)
    size += entry_size(r);
  if (!side_writes.empty())
    size += 4;
  for (const auto& w : side_writes)
    size += entry_size(w);
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(side_writes.empty()
                                      ? log_entry_format
                                      : log_entry_format_side_writes));
  put_le<4>(out, static_cast<std::uint32_t>(commit_id.size()));
  out.append(commit_id);
  put_le<8>(out, first.value);
  put_le<4>(out, static_cast<std::uint32_t>(records.size()));
  for (const auto& r : records) {
    put_le<4>(out, static_cast<std::uint32_t>(r.size()));
    out.append(r);
  }
  if (side_writes.empty())
    return out;
  put_le<4>(out, static_cast<std::uint32_t>(side_writes.size()));
  for (const auto& w : side_writes) {
    out.push_back(static_cast<char>(w.kind));
    put_le<4>(out, static_cast<std::uint32_t>(w.key.size()));
    out.append(w.key);
    put_le<4>(out, static_cast<std::uint32_t>(w.value.size()));
    out.append(w.value);
  }
  return out;
}

std::optional<log_entry_view> decode_log_entry(std::string_view bytes) {
  if (bytes.empty())
    return std::nullopt;
  const auto format = static_cast<std::uint8_t>(bytes[0]);
  if (format != log_entry_format && format != log_entry_format_side_writes)
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
  if (format == log_entry_format_side_writes && in.ok) {
    const auto writes = in.le<4>();
    // Each takes 9 bytes at least; and format 2 is written only with some.
    if (!in.ok || writes == 0 || writes > in.in.size() / 9)
      return std::nullopt;
    entry.side_writes.reserve(writes);
    for (std::uint64_t i = 0; i < writes && in.ok; ++i) {
      side_write_view w;
      const auto kind = in.bytes(1);
      if (!in.ok)
        break;
      w.kind = static_cast<std::uint8_t>(kind[0]);
      w.key = in.bytes(in.le<4>());
      w.value = in.bytes(in.le<4>());
      entry.side_writes.push_back(w);
    }
  }
  if (!in.ok || !in.in.empty() || entry.first_position.value == 0)
    return std::nullopt;
  return entry;
}

} // namespace deployd::storage
