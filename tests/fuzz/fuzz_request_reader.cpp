// libFuzzer target: raw bytes from a client, as a connection's HTTP reader
// sees them (http/request_reader: Beast's parser with the server's limits,
// before auth and routing). The first byte sets how many bytes each socket
// read delivers (0: as many as fit); the rest is the byte stream, possibly
// several pipelined requests. Small limits, so that inputs within -max_len
// reach every one of them. Checks: nothing throws or crashes, the buffer
// never passes its capacity nor fills up without a refusal, a request that
// is let through respects the limits, and a refusal is 400/413/414/431.
#include "http/request_reader.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using deployd::http::read_step;
  if (size == 0)
    return 0;
  static const deployd::http::reader_limits limits{
    .header_limit_bytes = 1024,
    .target_limit_bytes = 256,
    .body_limit_bytes = 4096,
    .chunk_line_limit_bytes = 64};
  const std::size_t per_read = data[0] == 0 ? size : data[0];
  deployd::http::request_reader reader(limits);
  std::size_t pos = 1;
  bool header_seen = false;
  for (;;) {
    // Parse until the reader wants more bytes.
    for (bool more = false; !more;) {
      const auto step = reader.parse();
      check(reader.buffered() <= reader.capacity());
      switch (step.what) {
        case read_step::kind::need_more:
          more = true;
          break;
        case read_step::kind::header:
          check(!header_seen);
          header_seen = true;
          check(!reader.current().method.empty());
          check(!reader.current().path.empty());
          break;
        case read_step::kind::complete: {
          const auto req = reader.take();
          check(!req.method.empty());
          check(!req.path.empty());
          check(req.body.size() <= limits.body_limit_bytes);
          check(req.path.size() + req.query.size() <=
                limits.target_limit_bytes);
          check(reader.version() == 10 || reader.version() == 11);
          reader.start();
          header_seen = false;
          break;
        }
        case read_step::kind::failed:
          check(step.status == 400 || step.status == 413 ||
                step.status == 414 || step.status == 431);
          check(!step.reason.empty());
          return 0;
      }
    }
    if (pos >= size)
      return 0;
    const auto room = reader.prepare();
    check(!room.empty()); // refused before the buffer fills
    const auto n = std::min({room.size(), per_read, size - pos});
    std::memcpy(room.data(), data + pos, n);
    reader.commit(n);
    pos += n;
  }
}
