// Reading HTTP/1.1 requests off a connection's bytes, with every limit that
// protects the server before a request reaches auth or routing: the bytes
// a connection may have buffered, header and trailer size (431), target
// length (414), chunk-line length (413), body size (413), and the framing
// rules a request must follow (400: exactly one Host on HTTP/1.1, no
// Transfer-Encoding but `chunked`, CRLF line ends in chunked framing).
//
// Sans-I/O: the session reads socket bytes into `prepare()`, commits them
// and calls `parse()`; the fuzzer (tests/fuzz/fuzz_request_reader) drives
// the same object over a buffer. No exception leaves it. Beast's parser is
// inside request_reader.cpp only; this header knows no Beast.
#pragma once

#include "http/message.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace deployd::http {

/// The limits a reader enforces (from `config::http_settings`), in bytes.
struct reader_limits {
  /// Request line and header fields together; trailers alike (431).
  std::size_t header_limit_bytes = 16u << 10;
  /// Request target (414).
  std::size_t target_limit_bytes = 8192;
  /// Body after chunked decoding (413).
  std::size_t body_limit_bytes = 64u << 20;
  /// One chunk-size line with its extensions (413).
  std::size_t chunk_line_limit_bytes = 4096;
};

/// What `parse()` found.
struct read_step {
  enum class kind : std::uint8_t {
    need_more, ///< read more bytes into `prepare()`, then parse again
    header,    ///< the header is in and valid, the body is still to come
    complete,  ///< a whole request is in: `take()` it
    failed     ///< answer `status` with `reason` and close the connection
  };
  kind what = kind::need_more;
  unsigned status = 0;    ///< failed: 400, 413, 414 or 431
  std::string_view reason; ///< failed: the `detail` text (static storage)
};

/// One connection's request reader: owns the connection's read buffer
/// (bounded by `capacity()`) and the parser of the request under way.
/// Not thread-safe; a session uses it from its strand only.
class request_reader {
public:
  explicit request_reader(const reader_limits& limits);
  ~request_reader();
  request_reader(const request_reader&) = delete;
  request_reader& operator=(const request_reader&) = delete;

  /// Begins the next request. Bytes already buffered (a pipelined request)
  /// stay and are parsed first.
  void start();

  /// Room for the next bytes from the peer: at most 8 KiB, never beyond
  /// `capacity()`. Never empty while each `commit` is followed by `parse`
  /// (the reader refuses a request before its buffer fills).
  [[nodiscard]] std::span<char> prepare();
  /// Makes `n` bytes written into `prepare()` part of the input.
  void commit(std::size_t n);
  /// Drops every buffered byte (a connection that is closing).
  void discard();
  /// Bytes received and not yet parsed.
  [[nodiscard]] std::size_t buffered() const;
  /// The most bytes this reader ever buffers (the limits plus one read).
  [[nodiscard]] std::size_t capacity() const;

  /// Parses what is buffered. After `failed` the reader is spent: only
  /// `discard()` and destruction remain.
  [[nodiscard]] read_step parse();

  /// The request as read so far (all but the body) once `parse()` returned
  /// `header` or `complete`.
  [[nodiscard]] const request& current() const;
  /// After `complete`: the whole request, moved out.
  [[nodiscard]] request take();
  /// After `header`/`complete`: whether the connection may stay open
  /// after the answer (HTTP version and Connection header).
  [[nodiscard]] bool keep_alive() const;
  /// After `header`/`complete`: 10 or 11.
  [[nodiscard]] unsigned version() const;
  /// After `header`/`complete`: a HEAD request.
  [[nodiscard]] bool head() const;
  /// After `header`: the client waits for `100 Continue` before the body.
  [[nodiscard]] bool expects_continue() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace deployd::http
