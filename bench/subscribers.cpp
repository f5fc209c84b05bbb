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
#include "bench/tool_support.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace beast = boost::beast;
namespace net = boost::asio;

namespace {

std::size_t subscribed = 0;
std::size_t events = 0;
std::size_t closed = 0;
std::size_t failed = 0;
std::size_t wanted = 0;

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
  const auto window = R"("occurred":{"since":")" + deployd::bench::iso_from_now(-60) +
                      R"(","until":")" + deployd::bench::iso_from_now(365L * 86400) + R"("})";
  for (std::size_t i = 0; i < count; ++i) {
    std::string filter =
        match_all ? R"({"type":"filter","backfill":false,"filter":{)" +
                        window + "}}"
                  : R"({"type":"filter","backfill":false,"filter":{)" +
                        window + R"(,"resource":{"id":["bench.nothing.)" +
                        std::to_string(i) + R"("]}}})";
    std::make_shared<deployd::bench::events_subscriber>(
        ioc, port, std::move(filter),
        deployd::bench::events_subscriber::callbacks{
            [] {
              if (++subscribed == wanted)
                std::printf("ready %zu\n", subscribed), std::fflush(stdout);
            },
            [](std::string_view) { ++events; },
            [](const char*) { ++failed; },
            [] { ++closed; }})
        ->start();
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
