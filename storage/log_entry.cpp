#include "storage/log_entry.hpp"

namespace deployd::storage {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>(v >> (8 * i)));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>(v >> (8 * i)));
}

// Little-endian fields from the front of `in`; `ok` turns false on a short
// read and stays false.
struct cursor {
  std::string_view in;
  bool ok = true;

  std::uint64_t number(int bytes) {
    if (in.size() < static_cast<std::size_t>(bytes)) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i]))
           << (8 * i);
    in.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
  std::string_view bytes(std::size_t n) {
    if (in.size() < n) {
      ok = false;
      return {};
    }
    auto v = in.substr(0, n);
    in.remove_prefix(n);
    return v;
  }
};

} // namespace

std::string encode_log_entry(std::string_view commit_id,
                             events::log_position first,
                             const std::vector<std::string>& records) {
  std::size_t size = 1 + 4 + commit_id.size() + 8 + 4;
  for (const auto& r : records)
    size += 4 + r.size();
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(log_entry_format));
  put_u32(out, static_cast<std::uint32_t>(commit_id.size()));
  out.append(commit_id);
  put_u64(out, first.value);
  put_u32(out, static_cast<std::uint32_t>(records.size()));
  for (const auto& r : records) {
    put_u32(out, static_cast<std::uint32_t>(r.size()));
    out.append(r);
  }
  return out;
}

std::optional<log_entry_view> decode_log_entry(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != log_entry_format)
    return std::nullopt;
  cursor in{bytes.substr(1)};
  log_entry_view entry;
  entry.commit_id = in.bytes(in.number(4));
  entry.first_position = {in.number(8)};
  const auto count = in.number(4);
  if (!in.ok || count > in.in.size() / 4)
    return std::nullopt;
  entry.records.reserve(count);
  for (std::uint64_t i = 0; i < count && in.ok; ++i)
    entry.records.push_back(in.bytes(in.number(4)));
  if (!in.ok || !in.in.empty() || entry.first_position.value == 0)
    return std::nullopt;
  return entry;
}

} // namespace deployd::storage
