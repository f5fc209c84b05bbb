// The log's writer thread, on a real file: every line arrives whole and in
// order, and a full buffer drops lines (counted) instead of blocking.
#include "observe/log.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace deployd::observe;

namespace {

struct temp_file {
  temp_file() {
    char pattern[] = "/tmp/deployd-log-XXXXXX";
    fd = mkstemp(pattern);
    path = pattern;
  }
  ~temp_file() {
    close(fd);
    std::remove(path.c_str());
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);)
      out.push_back(l);
    return out;
  }
  int fd = -1;
  std::string path;
};

} // namespace

TEST_CASE("the log writer thread writes every line of every thread in order",
          "[observe][log]") {
  temp_file f;
  log_options o;
  o.fd = f.fd;
  start_logging(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 2000; ++i)
        log(level::info, "line", {{"thread", t}, {"n", i}});
    });
  for (auto& t : threads)
    t.join();
  log(level::debug, "below the level");
  stop_logging();
  const auto lines = f.lines();
  REQUIRE(lines.size() == 6000);
  int next[3] = {0, 0, 0};
  for (const auto& l : lines) {
    REQUIRE(l.starts_with("ts="));
    REQUIRE(l.find(" level=info msg=line thread=") != std::string::npos);
    const auto t = l[l.find("thread=") + 7] - '0';
    const auto n = std::stoi(l.substr(l.find(" n=") + 3));
    CHECK(n == next[t]++);
  }
}

TEST_CASE("a full log buffer drops lines and counts them instead of waiting",
          "[observe][log]") {
  temp_file f;
  log_options o;
  o.fd = f.fd;
  o.buffer_bytes = 1000; // a few lines; the writer drains it every 50 ms
  start_logging(o);
  const auto before = dropped_lines();
  for (int i = 0; i < 5000; ++i)
    log(level::info, "burst", {{"n", i}});
  stop_logging();
  const auto dropped = dropped_lines() - before;
  CHECK(dropped > 0);
  CHECK(f.lines().size() + dropped == 5000);
}
