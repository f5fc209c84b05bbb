// A blocking websocket client for the tests (Beast), on 127.0.0.1.
#pragma once

#include "events/json.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>

namespace deployd::testing {

using events::json;

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// A blocking websocket client; every read gives up after
/// 10 s (SO_RCVTIMEO), so a missing message fails the test, not hangs it.
class ws_client {
public:
  ws_client(std::uint16_t port, const std::string& path,
            bool prefect = true)
      : ws_(ioc_) {
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.connect({net::ip::make_address("127.0.0.1"), port});
    timeval tv{10, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
                 sizeof tv);
    if (prefect)
      ws_.set_option(websocket::stream_base::decorator(
          [](websocket::request_type& req) {
            req.set(beast::http::field::sec_websocket_protocol, "prefect");
          }));
    ws_.handshake(response_, "127.0.0.1:" + std::to_string(port), path,
                  handshake_error_);
  }

  [[nodiscard]] const beast::error_code& handshake_error() const {
    return handshake_error_;
  }
  [[nodiscard]] unsigned handshake_status() const {
    return response_.result_int();
  }
  [[nodiscard]] std::string subprotocol() const {
    return std::string(
        response_[beast::http::field::sec_websocket_protocol]);
  }

  void send(const std::string& text) {
    ws_.text(true);
    ws_.write(net::buffer(text));
  }
  void send(const json& j) {
    send(j.dump());
  }

  /// The next message, or nothing when the socket closed (or timed out).
  std::optional<std::string> read() {
    beast::flat_buffer b;
    beast::error_code ec;
    ws_.read(b, ec);
    if (ec) {
      error_ = ec;
      return std::nullopt;
    }
    ++messages_;
    return beast::buffers_to_string(b.data());
  }
  /// Messages read so far.
  [[nodiscard]] int messages() const {
    return messages_;
  }
  json read_json() {
    auto text = read();
    INFO("read failed: " << error_.message());
    REQUIRE(text);
    return json::parse(*text);
  }

  /// Reads until the server closes; its close code and reason.
  websocket::close_reason closed() {
    while (read()) {
    }
    INFO(error_.message());
    REQUIRE(error_ == websocket::error::closed);
    return ws_.reason();
  }

  void close() {
    beast::error_code ec;
    ws_.close(websocket::close_code::normal, ec);
  }

  /// `{"type":"auth","token":...}`, then expects `auth_success`.
  void authenticate(const json& token = nullptr) {
    send(json{{"type", "auth"}, {"token", token}});
    CHECK(read_json() == json{{"type", "auth_success"}});
  }

private:
  net::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type response_;
  beast::error_code handshake_error_;
  beast::error_code error_;
  int messages_ = 0;
};

inline std::string reason_of(const websocket::close_reason& r) {
  return std::string(r.reason.data(), r.reason.size());
}

/// UTC now plus `offset_seconds`, ISO 8601.
inline std::string now_iso(int offset_seconds = 0) {
  const auto t = std::time(nullptr) + offset_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// `/out`'s filter message for every event of the last minute on.
inline json subscribe_all(bool backfill = true) {
  json m = {{"type", "filter"},
            {"filter",
             {{"occurred",
               {{"since", now_iso(-60)}, {"until", now_iso(365 * 86400)}}}}}};
  if (!backfill)
    m["backfill"] = false;
  return m;
}

} // namespace deployd::testing
