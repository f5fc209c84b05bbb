// Little-endian fields in our own byte layouts (log records, replicated-log
// entries): writing them, and reading them from the front of a buffer. Too
// small for a library; shared so the layouts read and write one way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace deployd::storage {

/// Appends the low `Bytes` bytes of `v`, least significant first.
template <int Bytes>
void put_le(std::string& out, std::uint64_t v) {
  for (int i = 0; i < Bytes; ++i)
    out.push_back(static_cast<char>(v >> (8 * i)));
}

/// Reads fields from the front of `in`; `ok` turns false on a short read
/// (and the field reads as 0 or empty) and stays false.
struct byte_reader {
  std::string_view in;
  bool ok = true;

  template <int Bytes>
  std::uint64_t le() {
    if (in.size() < static_cast<std::size_t>(Bytes)) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < Bytes; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i]))
           << (8 * i);
    in.remove_prefix(static_cast<std::size_t>(Bytes));
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

} // namespace deployd::storage
