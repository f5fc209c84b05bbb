// libFuzzer target: decoding log records (storage/record). Whatever decodes
// must encode and decode again to the same record.
#include "storage/record.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace deployd::storage;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto r = decode_record(bytes);
  if (!r)
    return 0;
  const auto again = decode_record(encode_record(*r));
  if (!again || !(*again == *r))
    std::abort();
  return 0;
}
