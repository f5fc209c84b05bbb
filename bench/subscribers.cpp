// Holds N `/api/events/out` subscribers open against a running deployd
// (issue 16's "1,000 idle subscribers" figure): each connects with the
// `prefect` subprotocol, authenticates, subscribes without backfill, and
// then only reads. By default every filter names a resource no write
// touches (idle: the pump still matches each event against each filter);
// `--match-all` subscribes to everything instead. Prints "ready N" once all
// N are subscribed, then, when stdin closes or after --seconds, the events
// received and the sockets the server closed. 127.0.0.1 only.
//
//   subscribers --port P [--count 1000] [--seconds 60] [--match-all]
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::size_t subscribed = 0;
std::size_t events = 0;
std::size_t closed = 0;
std::size_t failed = 0;
std::size_t wanted = 0;

std::string now_iso(long offset) {
  const auto t = std::time(nullptr) + offset;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class subscriber : public std::enable_shared_from_this<subscriber> {
public:
  subscriber(net::io_context& ioc, std::uint16_t port, std::string filter)
      : ws_(ioc), port_(port), filter_(std::move(filter)) {}

  void start() {
    beast::get_lowest_layer(ws_).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port_),
        [self = shared_from_this()](beast::error_code ec) {
          if (ec)
            return self->fail();
          self->ws_.set_option(websocket::stream_base::decorator(
              [](websocket::request_type& r) {
                r.set(beast::http::field::sec_websocket_protocol, "prefect");
              }));
          self->ws_.async_handshake(
              "127.0.0.1:" + std::to_string(self->port_), "/api/events/out",
              [self](beast::error_code ec2) {
                if (ec2)
                  return self->fail();
                self->send(R"({"type":"auth","token":null})", [self] {
                  self->ws_.async_read(self->buffer_,
                                       [self](beast::error_code ec3,
                                              std::size_t) {
                                         if (ec3)
                                           return self->fail();
                                         self->buffer_.consume(
                                             self->buffer_.size());
                                         self->send(self->filter_, [self] {
                                           if (++subscribed == wanted)
                                             std::printf("ready %zu\n",
                                                         subscribed),
                                                 std::fflush(stdout);
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
    ws_.async_write(net::buffer(out_),
                    [self = shared_from_this(), next](beast::error_code ec,
                                                      std::size_t) {
                      if (ec)
                        return self->fail();
                      next();
                    });
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec,
                                                        std::size_t) {
      if (ec) {
        ++closed;
        return;
      }
      ++events;
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void fail() {
    ++failed;
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::uint16_t port_;
  std::string filter_;
  std::string out_;
  beast::flat_buffer buffer_;
};

} // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  std::size_t count = 1000;
  long seconds = 60;
  bool match_all = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port" && i + 1 < argc)
      port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    else if (a == "--count" && i + 1 < argc)
      count = static_cast<std::size_t>(std::atol(argv[++i]));
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::atol(argv[++i]);
    else if (a == "--match-all")
      match_all = true;
    else {
      std::fprintf(stderr, "usage: subscribers --port P [--count N] "
                           "[--seconds S] [--match-all]\n");
      return 2;
    }
  }
  if (port == 0)
    return 2;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < count + 64) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, count + 64);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  wanted = count;
  net::io_context ioc;
  const auto window = R"("occurred":{"since":")" + now_iso(-60) +
                      R"(","until":")" + now_iso(365L * 86400) + R"("})";
  for (std::size_t i = 0; i < count; ++i) {
    std::string filter =
        match_all ? R"({"type":"filter","backfill":false,"filter":{)" +
                        window + "}}"
                  : R"({"type":"filter","backfill":false,"filter":{)" +
                        window + R"(,"resource":{"id":["bench.nothing.)" +
                        std::to_string(i) + R"("]}}})";
    std::make_shared<subscriber>(ioc, port, std::move(filter))->start();
  }
  // Ends when stdin closes (the driving script) or after `seconds`.
  net::posix::stream_descriptor in(ioc, ::dup(STDIN_FILENO));
  char byte = 0;
  std::function<void(beast::error_code, std::size_t)> on_in;
  on_in = [&](beast::error_code ec, std::size_t) {
    if (ec)
      return ioc.stop();
    in.async_read_some(net::buffer(&byte, 1), on_in);
  };
  in.async_read_some(net::buffer(&byte, 1), on_in);
  net::steady_timer deadline(ioc, std::chrono::seconds(seconds));
  deadline.async_wait([&](beast::error_code) { ioc.stop(); });
  ioc.run();
  std::printf("subscribed %zu events %zu closed %zu failed %zu\n", subscribed,
              events, closed, failed);
  return failed == 0 ? 0 : 1;
}
