// Issue 16's delivery figure: the time from a create's 2xx reaching its
// client to the create's `prefect.deployment.created` event reaching an
// `/api/events/out` subscriber, at a fixed rate of creates. One process
// holds both ends, so both instants come from one steady clock: a websocket
// subscribed (no backfill) to that event name, and an open-loop creator
// that starts one `POST /api/deployments/` every 1/rate seconds on one of
// its keep-alive connections (a create that finds every connection busy
// waits for the next free one, and its wait counts in its latency). An
// event that arrives before its create's answer counts as 0. Prints the
// creates answered, the events matched, the delivery p50 / p99 / max after
// the warm-up, and the creates' own p99. 127.0.0.1 only.
//
//   delivery --port P --flow-id ID [--rate 1000] [--seconds 20]
//            [--connections 32] [--warmup 2]
#include "bench/tool_support.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unistd.h>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct sample {
  clock_type::time_point started{};
  clock_type::time_point acked{};
  clock_type::time_point delivered{};
  bool has_ack = false;
  bool has_event = false;
};

struct run_state {
  std::uint16_t port = 0;
  std::string flow_id;
  clock_type::time_point measure_from{};
  std::unordered_map<std::string, sample> by_id;
  std::vector<double> delivery_ms;
  std::vector<double> create_ms;
  std::size_t answered = 0;
  std::size_t failed = 0;
  std::size_t early = 0;
  std::size_t events = 0;
  std::size_t sequence = 0;
  bool subscribed = false;
};

double ms(clock_type::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void match(run_state& s, sample& x) {
  if (!x.has_ack || !x.has_event || x.started < s.measure_from)
    return;
  if (x.delivered < x.acked)
    ++s.early;
  s.delivery_ms.push_back(std::max(0.0, ms(x.delivered - x.acked)));
}

// The subscriber's side: each `prefect.deployment.created` event's arrival.
void on_event(run_state& s, std::string_view text) {
  const auto now = clock_type::now();
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("event"))
    return;
  const auto& rid = doc["event"]["resource"]["prefect.resource.id"];
  if (!rid.is_string())
    return;
  const auto id = rid.get<std::string>();
  constexpr std::string_view prefix = "prefect.deployment.";
  if (!id.starts_with(prefix))
    return;
  auto& x = s.by_id[id.substr(prefix.size())];
  if (x.has_event)
    return;
  ++s.events;
  x.delivered = now;
  x.has_event = true;
  match(s, x);
}

class creator;

struct pool {
  std::vector<std::shared_ptr<creator>> idle;
  std::deque<clock_type::time_point> waiting;
};

class creator : public std::enable_shared_from_this<creator> {
public:
  creator(net::io_context& ioc, run_state& s, pool& p)
      : stream_(ioc), s_(s), pool_(p) {}

  void connect(std::function<void()> done) {
    stream_.async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), s_.port),
        [self = shared_from_this(), done](beast::error_code ec) {
          if (ec) {
            std::fprintf(stderr, "creator: connect failed\n");
            std::exit(1);
          }
          self->pool_.idle.push_back(self);
          done();
        });
  }

  void send(clock_type::time_point started) {
    started_ = started;
    req_ = {http::verb::post, "/api/deployments/", 11};
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::content_type, "application/json");
    req_.body() = R"({"name":"delivery-)" + std::to_string(++s_.sequence) +
                  "-" + std::to_string(::getpid()) + R"(","flow_id":")" +
                  s_.flow_id + R"("})";
    req_.prepare_payload();
    res_ = {};
    http::async_write(stream_, req_, [self = shared_from_this()](
                                         beast::error_code ec, std::size_t) {
      if (ec)
        return self->broken();
      http::async_read(self->stream_, self->buffer_, self->res_,
                       [self](beast::error_code e, std::size_t) {
                         if (e)
                           return self->broken();
                         self->answered();
                       });
    });
  }

private:
  void answered() {
    const auto now = clock_type::now();
    ++s_.answered;
    if (res_.result_int() / 100 != 2) {
      ++s_.failed;
    } else {
      const auto doc = nlohmann::json::parse(res_.body(), nullptr, false);
      if (doc.is_object() && doc.contains("id") && doc["id"].is_string()) {
        auto& x = s_.by_id[doc["id"].get<std::string>()];
        x.started = started_;
        x.acked = now;
        x.has_ack = true;
        if (started_ >= s_.measure_from)
          s_.create_ms.push_back(ms(now - started_));
        match(s_, x);
      } else {
        ++s_.failed;
      }
    }
    if (!pool_.waiting.empty()) {
      const auto next = pool_.waiting.front();
      pool_.waiting.pop_front();
      return send(next);
    }
    pool_.idle.push_back(shared_from_this());
  }

  void broken() {
    std::fprintf(stderr, "creator: connection failed\n");
    std::exit(1);
  }

  beast::tcp_stream stream_;
  run_state& s_;
  pool& pool_;
  clock_type::time_point started_{};
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buffer_;
};

} // namespace

int main(int argc, char** argv) {
  run_state s;
  double rate = 1000;
  long seconds = 20;
  long warmup = 2;
  std::size_t connections = 32;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port" && i + 1 < argc)
      s.port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    else if (a == "--flow-id" && i + 1 < argc)
      s.flow_id = argv[++i];
    else if (a == "--rate" && i + 1 < argc)
      rate = std::atof(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::atol(argv[++i]);
    else if (a == "--connections" && i + 1 < argc)
      connections = static_cast<std::size_t>(std::atol(argv[++i]));
    else if (a == "--warmup" && i + 1 < argc)
      warmup = std::atol(argv[++i]);
    else {
      std::fprintf(stderr, "usage: delivery --port P --flow-id ID [--rate R] "
                           "[--seconds S] [--connections C] [--warmup W]\n");
      return 2;
    }
  }
  if (s.port == 0 || s.flow_id.empty() || rate <= 0 || connections == 0)
    return 2;

  net::io_context ioc;
  pool p;
  std::make_shared<deployd::bench::events_subscriber>(
      ioc, s.port,
      R"({"type":"filter","backfill":false,"filter":{"occurred":{"since":")" +
          deployd::bench::iso_from_now(-60) + R"(","until":")" +
          deployd::bench::iso_from_now(86400) +
          R"("},"event":{"name":["prefect.deployment.created"]}}})",
      deployd::bench::events_subscriber::callbacks{
          [&s] { s.subscribed = true; },
          [&s](std::string_view text) { on_event(s, text); },
          [](const char* what) {
            std::fprintf(stderr, "subscriber: %s failed\n", what);
            std::exit(1);
          },
          {}})
      ->start();
  std::size_t connected = 0;
  std::vector<std::shared_ptr<creator>> all;
  for (std::size_t i = 0; i < connections; ++i) {
    all.push_back(std::make_shared<creator>(ioc, s, p));
    all.back()->connect([&] { ++connected; });
  }
  // Wait for the subscription and the connections, then pace the creates.
  while (!(s.subscribed && connected == connections))
    if (ioc.run_one() == 0)
      return 1;

  const auto start = clock_type::now();
  s.measure_from = start + std::chrono::seconds(warmup);
  const auto total = static_cast<std::size_t>(rate * static_cast<double>(seconds));
  const auto period = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(1.0 / rate));
  std::size_t issued = 0;
  net::steady_timer pace(ioc);
  std::function<void(beast::error_code)> tick = [&](beast::error_code) {
    // Every create whose instant has come, each stamped with its instant.
    const auto now = clock_type::now();
    while (issued < total && start + period * static_cast<long>(issued) <= now) {
      const auto due = start + period * static_cast<long>(issued++);
      if (!p.idle.empty()) {
        auto c = p.idle.back();
        p.idle.pop_back();
        c->send(due);
      } else {
        p.waiting.push_back(due);
      }
    }
    if (issued < total) {
      pace.expires_at(start + period * static_cast<long>(issued));
      pace.async_wait(tick);
    }
  };
  tick({});
  // Run until every create is answered and the events had 2 s to arrive.
  net::steady_timer grace(ioc);
  std::function<void(beast::error_code)> check = [&](beast::error_code) {
    if (issued == total && s.answered == total) {
      grace.expires_after(std::chrono::seconds(2));
      grace.async_wait([&](beast::error_code) { ioc.stop(); });
      return;
    }
    grace.expires_after(std::chrono::milliseconds(50));
    grace.async_wait(check);
  };
  check({});
  ioc.run();

  const auto measured = s.create_ms.size();
  std::size_t missing = 0;
  for (const auto& [id, x] : s.by_id)
    if (x.has_ack && !x.has_event && x.started >= s.measure_from)
      ++missing;
  std::printf("rate %.0f/s for %ld s (%zu connections): %zu creates answered, "
              "%zu non-2xx; after %ld s of warm-up %zu creates, %zu events "
              "matched, %zu missing, %zu before their answer\n",
              rate, seconds, connections, s.answered, s.failed, warmup,
              measured, s.delivery_ms.size(), missing, s.early);
  std::printf("delivery p50 %.3f ms, p99 %.3f ms, max %.3f ms; create p50 "
              "%.3f ms, p99 %.3f ms\n",
              deployd::bench::percentile(s.delivery_ms, 0.5), deployd::bench::percentile(s.delivery_ms, 0.99),
              deployd::bench::percentile(s.delivery_ms, 1.0), deployd::bench::percentile(s.create_ms, 0.5),
              deployd::bench::percentile(s.create_ms, 0.99));
  std::printf("BENCH_JSON {\"delivery_p50_ms\":%.3f,\"delivery_p99_ms\":%.3f,"
              "\"create_p99_ms\":%.3f,\"matched\":%zu,\"missing\":%zu,"
              "\"non2xx\":%zu}\n",
              deployd::bench::percentile(s.delivery_ms, 0.5), deployd::bench::percentile(s.delivery_ms, 0.99),
              deployd::bench::percentile(s.create_ms, 0.99), s.delivery_ms.size(), missing,
              s.failed);
  return s.failed == 0 && missing == 0 ? 0 : 1;
}
