// What the bench tools share: a percentile of samples, an ISO 8601 time
// relative to now, and an `/api/events/out` subscriber (the `prefect`
// subprotocol, the auth message, one filter message, then every message it
// receives handed to a callback). Header-only; Boost.Beast and the standard
// library only. 127.0.0.1 only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::bench {

/// The `p` quantile (0..1) of `v` by nearest rank below; 0 when empty.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

/// UTC now plus `offset_seconds`, as `YYYY-MM-DDTHH:MM:SSZ`.
inline std::string iso_from_now(long offset_seconds) {
  const auto t = std::time(nullptr) + offset_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// One `/api/events/out` subscriber. `start` connects, authenticates and
/// sends `filter`; then `on_subscribed` runs once and `on_message` for each
/// message (its text; the subscriber keeps reading). A failure before the
/// subscription runs `on_failed` with the step's name; a closed socket
/// after it runs `on_closed`.
class events_subscriber
    : public std::enable_shared_from_this<events_subscriber> {
public:
  struct callbacks {
    std::function<void()> on_subscribed;
    std::function<void(std::string_view)> on_message;
    std::function<void(const char*)> on_failed;
    std::function<void()> on_closed;
  };

  events_subscriber(boost::asio::io_context& ioc, std::uint16_t port,
                    std::string filter, callbacks cb)
      : ws_(ioc), port_(port), filter_(std::move(filter)), cb_(std::move(cb)) {}

  void start() {
    namespace beast = boost::beast;
    using tcp = boost::asio::ip::tcp;
    beast::get_lowest_layer(ws_).async_connect(
        tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_),
        [self = shared_from_this()](beast::error_code ec) {
          if (ec)
            return self->cb_.on_failed("connect");
          self->ws_.set_option(beast::websocket::stream_base::decorator(
              [](beast::websocket::request_type& r) {
                r.set(beast::http::field::sec_websocket_protocol, "prefect");
              }));
          self->ws_.async_handshake(
              "127.0.0.1:" + std::to_string(self->port_), "/api/events/out",
              [self](beast::error_code e) {
                if (e)
                  return self->cb_.on_failed("handshake");
                self->send(R"({"type":"auth","token":null})", [self] {
                  self->ws_.async_read(
                      self->buffer_, [self](beast::error_code e2, std::size_t) {
                        if (e2)
                          return self->cb_.on_failed("auth");
                        self->buffer_.consume(self->buffer_.size());
                        self->send(self->filter_, [self] {
                          self->cb_.on_subscribed();
                          self->read();
                        });
                      });
                });
              });
        });
  }

private:
  template <class Next>
  void send(std::string text, Next next) {
    out_ = std::move(text);
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(out_),
                    [self = shared_from_this(),
                     next](boost::beast::error_code ec, std::size_t) {
                      if (ec)
                        return self->cb_.on_failed("write");
                      next();
                    });
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](
                                boost::beast::error_code ec, std::size_t) {
      if (ec) {
        if (self->cb_.on_closed)
          self->cb_.on_closed();
        return;
      }
      const auto data = self->buffer_.cdata();
      self->cb_.on_message(std::string_view(
          static_cast<const char*>(data.data()), data.size()));
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::uint16_t port_;
  std::string filter_;
  callbacks cb_;
  std::string out_;
  boost::beast::flat_buffer buffer_;
};

} // namespace deployd::bench
