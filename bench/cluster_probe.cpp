// Probes of a running deployd cluster for bench/cluster (never run by CI).
//
//   cluster_probe lag --leader PORT --follower PORT [--rate R] [--seconds S]
//       creates flows on the leader at R per second (paced) and, after each
//       acknowledgement at log position P, asks the follower
//       `GET /api/health` with `X-Deployd-Min-Position: P`: the time until
//       that answer is how long the follower took to apply the write (plus
//       one loopback round trip).
//   cluster_probe gap --ports P1,P2,... [--threads T] [--seconds S]
//       creates flows through every node in turn and reports the longest
//       time without an acknowledgement (a failover window), and when.
//
// Prints one `BENCH_JSON {...}` line. Only 127.0.0.1.
#include "bench/tool_support.hpp"
#include "tests/crash/http_client.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace raw = deployd::testing::raw;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

double ms(steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}


std::string flow_body(const std::string& name) {
  return "{\"name\":\"" + name + "\"}";
}

// One keep-alive request; reopens the connection when needed.
std::optional<raw::reply>
call(raw::connection& c, std::uint16_t port, const std::string& request) {
  if (!c.is_open() && !c.open(port, 1s))
    return std::nullopt;
  if (!c.send(request, 5s)) {
    c.close();
    return std::nullopt;
  }
  auto r = c.read_reply(15s);
  if (!r)
    c.close();
  return r;
}

int lag(std::uint16_t leader, std::uint16_t follower, double rate,
        double seconds) {
  constexpr int threads = 8;
  const auto interval = std::chrono::duration_cast<steady::duration>(
    std::chrono::duration<double>(threads / rate));
  const auto start = steady::now();
  const auto end = start + std::chrono::duration_cast<steady::duration>(
                             std::chrono::duration<double>(seconds));
  std::mutex m;
  std::vector<double> lags;
  std::atomic<long> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      raw::connection to_leader, to_follower;
      auto next = start + interval * t / threads;
      for (long n = 0; next < end; ++n, next += interval) {
        std::this_thread::sleep_until(next);
        const auto name = "lag-" + std::to_string(t) + "-" + std::to_string(n);
        auto made = call(to_leader, leader,
                         raw::format_request("POST", "/api/flows/",
                                             flow_body(name)));
        if (!made || made->status != 201 ||
            !made->headers.contains("x-deployd-position")) {
          ++failures;
          continue;
        }
        const auto acked = steady::now();
        auto seen = call(to_follower, follower,
                         raw::format_request(
                           "GET", "/api/health", std::nullopt,
                           {{"X-Deployd-Min-Position",
                             made->headers.at("x-deployd-position")}}));
        if (!seen || seen->status != 200) {
          ++failures;
          continue;
        }
        std::lock_guard g{m};
        lags.push_back(ms(steady::now() - acked));
      }
    });
  for (auto& t : pool)
    t.join();
  const double took = ms(steady::now() - start) / 1000.0;
  std::printf("BENCH_JSON {\"writes\":%zu,\"rate\":%.1f,\"lag_p50_ms\":%.2f,"
              "\"lag_p99_ms\":%.2f,\"lag_max_ms\":%.2f,\"failures\":%ld}\n",
              lags.size(), static_cast<double>(lags.size()) / took,
              deployd::bench::percentile(lags, 0.50), deployd::bench::percentile(lags, 0.99),
              deployd::bench::percentile(lags, 1.0), failures.load());
  return 0;
}

int gap(const std::vector<std::uint16_t>& ports, int threads, double seconds) {
  const auto start = steady::now();
  const auto end = start + std::chrono::duration_cast<steady::duration>(
                             std::chrono::duration<double>(seconds));
  std::mutex m;
  std::vector<steady::time_point> acks;
  std::atomic<long> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::vector<raw::connection> conns(ports.size());
      for (long n = 0; steady::now() < end; ++n) {
        const auto i = static_cast<std::size_t>(t + n) % ports.size();
        const auto name = "gap-" + std::to_string(t) + "-" + std::to_string(n);
        auto r = call(conns[i], ports[i],
                      raw::format_request("POST", "/api/flows/",
                                          flow_body(name)));
        if (r && r->status == 201) {
          std::lock_guard g{m};
          acks.push_back(steady::now());
        } else {
          ++failures;
          if (!r) // a node that went away: not again this round
            std::this_thread::sleep_for(20ms);
        }
      }
    });
  for (auto& t : pool)
    t.join();
  std::sort(acks.begin(), acks.end());
  double longest = acks.empty() ? ms(end - start) : ms(acks.front() - start);
  double at = 0;
  for (std::size_t i = 1; i < acks.size(); ++i)
    if (ms(acks[i] - acks[i - 1]) > longest) {
      longest = ms(acks[i] - acks[i - 1]);
      at = ms(acks[i - 1] - start);
    }
  std::printf("BENCH_JSON {\"acks\":%zu,\"failures\":%ld,\"rps\":%.1f,"
              "\"longest_gap_ms\":%.1f,\"gap_starts_at_ms\":%.1f}\n",
              acks.size(), failures.load(),
              static_cast<double>(acks.size()) / seconds, longest, at);
  return 0;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: cluster_probe lag --leader PORT --follower PORT "
               "[--rate R] [--seconds S]\n"
               "       cluster_probe gap --ports P1,P2,... [--threads T] "
               "[--seconds S]\n");
  std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    usage();
  const std::string mode = argv[1];
  std::uint16_t leader = 0, follower = 0;
  std::vector<std::uint16_t> ports;
  double rate = 1000, seconds = 10;
  int threads = 6;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::string v = argv[i + 1];
    if (a == "--leader")
      leader = static_cast<std::uint16_t>(std::stoi(v));
    else if (a == "--follower")
      follower = static_cast<std::uint16_t>(std::stoi(v));
    else if (a == "--rate")
      rate = std::stod(v);
    else if (a == "--seconds")
      seconds = std::stod(v);
    else if (a == "--threads")
      threads = std::stoi(v);
    else if (a == "--ports") {
      std::size_t start = 0;
      while (start < v.size()) {
        auto comma = v.find(',', start);
        if (comma == std::string::npos)
          comma = v.size();
        ports.push_back(
          static_cast<std::uint16_t>(std::stoi(v.substr(start, comma - start))));
        start = comma + 1;
      }
    } else
      usage();
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (mode == "lag" && leader && follower)
    return lag(leader, follower, rate, seconds);
  if (mode == "gap" && !ports.empty())
    return gap(ports, threads, seconds);
  usage();
}
