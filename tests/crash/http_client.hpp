// A small blocking HTTP/1.1 client over plain POSIX sockets, for tests that
// must see exactly what a server does on the wire: every step has a
// deadline (poll), nothing throws, a closed or reset connection is a value,
// and a request is sent byte for byte as given (the hardening tests send
// malformed ones on purpose, which is why the socket side stays ours).
// Responses are parsed by Beast's response_parser. Used by the crash test,
// bench/cluster_probe and the hardening integration tests; loopback only.
// No Catch2.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deployd::testing::raw {

/// One response as read off the socket.
struct reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
};

/// Parses one complete response at the start of `buffer` (Content-Length or
/// chunked body; none for 1xx, 204, 304 or when `head`). Returns it with the
/// number of bytes it took, or nothing while incomplete.
[[nodiscard]] std::optional<std::pair<reply, std::size_t>>
parse_response(std::string_view buffer, bool head = false);

/// A request as bytes: request line, Host, Content-Type: application/json
/// and Content-Length when there is a body, `extra` headers, and
/// `Connection: close` unless `keep_alive`.
[[nodiscard]] std::string
format_request(std::string_view method, std::string_view target,
               const std::optional<std::string>& body = std::nullopt,
               const std::vector<std::pair<std::string, std::string>>& extra =
                 {},
               bool keep_alive = true);

/// One TCP connection to 127.0.0.1. Move-only; closes on destruction.
class connection {
public:
  connection() = default;
  ~connection();
  connection(connection&& other) noexcept;
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Connects within `timeout`; false when refused or late.
  bool open(std::uint16_t port,
            std::chrono::milliseconds timeout = std::chrono::seconds(5));
  [[nodiscard]] bool is_open() const {
    return fd_ >= 0;
  }
  /// Sends every byte within `timeout`; false on error (the peer closed).
  bool send(std::string_view bytes,
            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// The next final (non-1xx) response within `timeout`; nothing if the
  /// connection closes, fails or the time runs out first.
  std::optional<reply> read_reply(
    std::chrono::milliseconds timeout = std::chrono::seconds(30),
    bool head = false);
  /// Whether the peer closes (EOF or reset) within `timeout`; what it sends
  /// meanwhile is kept for `read_reply`.
  bool closed_within(std::chrono::milliseconds timeout);
  void close();
  [[nodiscard]] int fd() const {
    return fd_;
  }

private:
  // Reads what is available within `deadline`; false on EOF/error/timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

/// One request on a fresh connection (`Connection: close`); nothing on any
/// failure.
[[nodiscard]] std::optional<reply>
request(std::uint16_t port, std::string_view method, std::string_view target,
        const std::optional<std::string>& body = std::nullopt,
        const std::vector<std::pair<std::string, std::string>>& extra = {},
        std::chrono::milliseconds timeout = std::chrono::seconds(30));

} // namespace deployd::testing::raw
