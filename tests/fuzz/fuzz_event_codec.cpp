// libFuzzer target: decoding stored event payloads (events/codec). An input
// is `name:version` and a newline, then the payload (the seeds are the golden
// payloads in that form); otherwise its first byte picks a catalog entry
// (one value in eight asks for an unknown version) and the rest is the
// payload. Whatever decodes must encode and decode again to the same event.
#include "events/codec.hpp"

#include "events/catalog.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace deployd::events;
  if (size == 0)
    return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view name;
  int version = 0;
  std::string_view payload;
  const auto newline = input.find('\n');
  const auto colon = input.find(':');
  if (newline != std::string_view::npos && newline < 64 && colon < newline) {
    name = input.substr(0, colon);
    const auto digits = input.substr(colon + 1, newline - colon - 1);
    std::from_chars(digits.data(), digits.data() + digits.size(), version);
    payload = input.substr(newline + 1);
  } else {
    const auto& entry = catalog[data[0] % catalog.size()];
    name = entry.name;
    version = (data[0] & 0xe0) == 0xe0 ? entry.version + 1 : entry.version;
    payload = input.substr(1);
  }
  const auto event = decode(name, version, payload);
  if (!event)
    return 0;
  const auto encoded = encode(*event);
  const auto again = decode(encoded.name, encoded.version, encoded.payload);
  if (!again || !(*again == *event))
    std::abort();
  return 0;
}
