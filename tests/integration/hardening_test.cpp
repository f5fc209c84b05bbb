// The server under hostile or unlucky conditions, over real sockets: basic
// auth, the request limits (413, 431, 414, 400), idle/header/body timeouts
// against slow clients, the connection cap (503), graceful shutdown under
// concurrent writes, 1024 concurrent connections, and a full disk (tmpfs;
// skipped with a message where mounting is not allowed). Requests go through
// `tests/crash/http_client` so each byte on the wire is the test's.
#include "tests/crash/http_client.hpp"
#include "tests/integration/harness.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace deployd::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using headers = std::vector<std::pair<std::string, std::string>>;

namespace {

using steady = std::chrono::steady_clock;

std::string create_flow(std::uint16_t port, const std::string& name,
                        const headers& extra = {}) {
  const auto r = raw::request(port, "POST", "/api/flows/",
                              json{{"name", name}}.dump(), extra);
  REQUIRE(r);
  REQUIRE((r->status == 200 || r->status == 201));
  return json::parse(r->body).at("id").get<std::string>();
}

std::string deployment_body(const std::string& name, const std::string& flow,
                            const json& parameters = json::object()) {
  return json{{"name", name}, {"flow_id", flow}, {"parameters", parameters}}
      .dump();
}

std::string header_of(const raw::reply& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

void check_unauthorized(const std::optional<raw::reply>& r) {
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(r->body == R"({"exception_message":"Unauthorized"})");
  CHECK_FALSE(r->headers.contains("www-authenticate"));
}

} // namespace

// -- basic auth
// ------------------------------------------------------------------

TEST_CASE("basic auth guards every route but GET /api/health and /api/ready",
          "[integration][hardening][auth]") {
  const std::string secret = "admin:s3cr:et";
  process_options options;
  SECTION("Prefect's variable") {
    options.extra_env["PREFECT_SERVER_API_AUTH_STRING"] = secret;
  }
  SECTION("deployd's own variable") {
    options.extra_env["DEPLOYD_AUTH_STRING"] = secret;
  }
  deployd_process server(options);
  const auto port = server.port();
  const headers good = {{"Authorization", "Basic " + base64(secret)}};

  // Probes stay open.
  auto r = raw::request(port, "GET", "/api/health");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = raw::request(port, "GET", "/api/ready");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = raw::request(port, "GET", "/api/health?probe=1");
  REQUIRE(r);
  CHECK(r->status == 200);

  // Everything else, known or not, and other methods on the probes.
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/version"},
           {"GET", "/api/admin/version"},
           {"GET", "/api/no/such/path"},
           {"POST", "/api/health"},
           {"HEAD", "/api/ready"},
           {"GET", "/api/health/"},
           {"GET", "/api/variables/name/system-health"},
           {"POST", "/api/deployments/filter"}}) {
    INFO(method << " " << target);
    r = raw::request(port, method, target,
                     method == "POST" ? std::optional<std::string>("{}")
                                      : std::nullopt);
    if (method == "HEAD") {
      raw::connection c;
      REQUIRE(c.open(port));
      REQUIRE(c.send(raw::format_request(method, target, {}, {}, false)));
      r = c.read_reply(10s, true);
      REQUIRE(r);
      CHECK(r->status == 401);
      continue;
    }
    check_unauthorized(r);
  }

  // Wrong, malformed or differently spelled credentials.
  for (const std::string& value :
       {std::string("Basic ") + base64("admin:wrong"),
        std::string("Basic ") + base64("admin:s3cr:et "),
        std::string("Basic ") + base64("admin:s3cr:e"),
        std::string("basic ") + base64(secret),
        std::string("Bearer ") + base64(secret), std::string("Basic"),
        std::string("Basic ") + base64(secret) + " extra",
        std::string("Basic !!!!"),
        std::string("Basic ") + base64(secret).substr(1), base64(secret)}) {
    INFO("Authorization: " << value);
    check_unauthorized(raw::request(port, "GET", "/api/version", std::nullopt,
                                    {{"Authorization", value}}));
  }

  // The right credentials open every route.
  r = raw::request(port, "GET", "/api/version", std::nullopt, good);
  REQUIRE(r);
  CHECK(r->status == 200);
  r = raw::request(port, "GET", "/api/no/such/path", std::nullopt, good);
  REQUIRE(r);
  CHECK(r->status == 404);
  const auto flow = create_flow(port, "auth-flow", good);
  r = raw::request(port, "POST", "/api/deployments/",
                   deployment_body("guarded", flow), good);
  REQUIRE(r);
  CHECK(r->status == 201);
  // Python's b64decode skips characters outside the alphabet.
  const auto token = base64(secret);
  r = raw::request(port, "GET", "/api/version", std::nullopt,
                   {{"Authorization", "Basic \t " + token.substr(0, 4) + "." +
                                          token.substr(4)}});
  REQUIRE(r);
  CHECK(r->status == 200);
}

// -- limits
// ----------------------------------------------------------------------

TEST_CASE(
    "requests beyond the limits get 413, 431, 414 or 400 with a JSON body",
    "[integration][hardening][limits]") {
  temp_dir dir;
  deployd_process server(with_config(dir, "[http]\n"
                                          "body_limit_bytes = 65536\n"
                                          "header_limit_bytes = 4096\n"
                                          "target_limit_bytes = 1024\n"));
  const auto port = server.port();
  const std::string header = "POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\n";

  auto expect_closed_with = [](raw::connection& c, unsigned status,
                               const std::string& body) {
    const auto r = c.read_reply(10s);
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(r->body == body);
    CHECK(header_of(*r, "content-type") == "application/json");
    CHECK(header_of(*r, "connection") == "close");
    CHECK(c.closed_within(5s));
  };
  const std::string too_large = R"({"detail":"Request body is too large."})";

  SECTION("a declared length over the body limit is refused before the body") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(header + "Content-Length: 100000\r\n\r\n" +
                   std::string(1000, ' ')));
    expect_closed_with(c, 413, too_large);
  }
  SECTION("a whole body over the limit still gets its 413") {
    raw::connection c;
    REQUIRE(c.open(port));
    c.send(header + "Content-Length: 300000\r\n\r\n" +
           std::string(300000, ' '));
    expect_closed_with(c, 413, too_large);
  }
  SECTION("a chunked body over the limit") {
    raw::connection c;
    REQUIRE(c.open(port));
    std::string request = header + "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 6; ++i)
      request += "4000\r\n" + std::string(0x4000, ' ') + "\r\n";
    request += "0\r\n\r\n";
    c.send(request);
    expect_closed_with(c, 413, too_large);
  }
  SECTION("a body just under the limit is served") {
    const auto r =
        raw::request(port, "POST", "/api/flows/",
                     R"({"name":"padded"})" + std::string(60000, ' '));
    REQUIRE(r);
    CHECK(r->status == 201);
  }
  SECTION("a header block over the header limit") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " +
                   std::string(5000, 'a') + "\r\n\r\n"));
    expect_closed_with(c, 431,
                       R"({"detail":"Request header fields are too large."})");
  }
  SECTION("a target over the target limit") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(raw::format_request("GET", "/api/health?pad=" +
                                                  std::string(1100, 'a'))));
    expect_closed_with(c, 414, R"({"detail":"Request target is too long."})");
  }
  SECTION("a request line longer than the whole header limit") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(raw::format_request("GET", "/api/health?pad=" +
                                                  std::string(5000, 'a'))));
    expect_closed_with(c, 431,
                       R"({"detail":"Request header fields are too large."})");
  }
  SECTION("a malformed request line") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("NOT AN HTTP REQUEST\r\n\r\n"));
    expect_closed_with(c, 400,
                       R"({"detail":"Invalid HTTP request received."})");
  }
  SECTION("a malformed header") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("GET /api/health HTTP/1.1\r\nno colon here\r\n\r\n"));
    expect_closed_with(c, 400,
                       R"({"detail":"Invalid HTTP request received."})");
  }
  // Whatever came before, the server still answers.
  const auto r = raw::request(port, "GET", "/api/health");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("the default body limit lets a 10 MB body reach validation",
          "[integration][hardening][limits]") {
  deployd_process server;
  const auto flow = create_flow(server.port(), "big-flow");
  const auto r = raw::request(
      server.port(), "POST", "/api/deployments/",
      deployment_body("big", flow,
                      json{{"blob", std::string(10u << 20, 'x')}}));
  REQUIRE(r);
  CHECK(r->status == 422);
  CHECK(json::parse(r->body)["exception_detail"][0]["loc"] ==
        json::array({"body", "parameters"}));
}

TEST_CASE("a body sent after 100-continue is read",
          "[integration][hardening][limits]") {
  deployd_process server;
  raw::connection c;
  REQUIRE(c.open(server.port()));
  const std::string body = R"({"name":"continued"})";
  REQUIRE(c.send("POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                 "Content-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n"));
  // The interim answer comes before the body is sent.
  REQUIRE(c.closed_within(300ms) == false);
  REQUIRE(c.send(body));
  const auto r = c.read_reply(10s);
  REQUIRE(r);
  CHECK(r->status == 201);
}

// -- timeouts
// ----------------------------------------------------------------------

TEST_CASE("slow and idle clients are disconnected and hold no worker",
          "[integration][hardening][timeouts]") {
  temp_dir dir;
  deployd_process server(with_config(dir, "[http]\n"
                                          "threads = 1\n"
                                          "idle_timeout_ms = 1000\n"
                                          "header_timeout_ms = 500\n"
                                          "body_timeout_ms = 500\n"));
  const auto port = server.port();

  SECTION("a header sent byte by byte") {
    // Many slow-loris connections on a single I/O thread...
    const auto start = steady::now();
    std::vector<raw::connection> slow(32);
    for (auto& c : slow) {
      REQUIRE(c.open(port));
      REQUIRE(c.send("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    }
    bool served = false;
    std::size_t open = slow.size();
    while (open > 0 && steady::now() - start < 5s) {
      open = 0;
      for (auto& c : slow) {
        if (!c.is_open())
          continue;
        if (!c.send("X", 100ms) || c.closed_within(0ms)) {
          c.close();
          continue;
        }
        ++open;
      }
      // ...do not keep a normal request from being served meanwhile.
      if (!served) {
        const auto t0 = steady::now();
        const auto r = raw::request(port, "GET", "/api/health", {}, {}, 2s);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(steady::now() - t0 < 1s);
        served = true;
      }
      std::this_thread::sleep_for(50ms);
    }
    const auto elapsed = steady::now() - start;
    CHECK(open == 0);
    CHECK(elapsed >= 400ms);
    CHECK(elapsed < 3s);
  }
  SECTION("a connection that never sends a byte") {
    raw::connection c;
    REQUIRE(c.open(port));
    const auto start = steady::now();
    CHECK(c.closed_within(5s));
    CHECK(steady::now() - start >= 900ms);
  }
  SECTION("a keep-alive connection idle after a request") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(raw::format_request("GET", "/api/health")));
    const auto r = c.read_reply(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    const auto start = steady::now();
    CHECK(c.closed_within(5s));
    CHECK(steady::now() - start >= 900ms);
  }
  SECTION("a body that stops arriving") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Length: 100\r\n\r\n{\"name\":"));
    const auto start = steady::now();
    CHECK(c.closed_within(5s));
    const auto elapsed = steady::now() - start;
    CHECK(elapsed >= 400ms);
    CHECK(elapsed < 3s);
  }
}

// -- connection cap
// ----------------------------------------------------------------

TEST_CASE("connections beyond max_connections get 503 and are closed",
          "[integration][hardening][limits]") {
  temp_dir dir;
  deployd_process server(with_config(dir, "[http]\nmax_connections = 8\n"));
  const auto port = server.port();
  std::vector<raw::connection> held(8);
  for (auto& c : held) {
    REQUIRE(c.open(port));
    REQUIRE(c.send(raw::format_request("GET", "/api/health")));
    const auto r = c.read_reply(5s);
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  raw::connection extra;
  REQUIRE(extra.open(port));
  REQUIRE(extra.send(raw::format_request("GET", "/api/health")));
  auto r = extra.read_reply(5s);
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body == R"({"exception_message":"Service Unavailable"})");
  CHECK(header_of(*r, "connection") == "close");
  CHECK(extra.closed_within(5s));

  // The held connections keep working; once one closes, a new one is let in.
  REQUIRE(held[3].send(raw::format_request("GET", "/api/ready")));
  r = held[3].read_reply(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
  held[0].close();
  const auto deadline = steady::now() + 5s;
  unsigned status = 0;
  while (status != 200 && steady::now() < deadline) {
    r = raw::request(port, "GET", "/api/health", {}, {}, 2s);
    status = r ? r->status : 0;
    if (status != 200)
      std::this_thread::sleep_for(20ms);
  }
  CHECK(status == 200);
}

// -- graceful shutdown
// -------------------------------------------------------------

TEST_CASE("SIGTERM lets writes in flight finish and loses none acknowledged",
          "[integration][hardening][shutdown]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  options.clock.clear(); // system clock and OS-seeded ids across restarts
  options.id_seed = 0;

  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> acked; // id, name
  std::vector<std::string> bad;
  std::atomic<int> acked_count{0};
  {
    deployd_process server(options);
    const auto port = server.port();
    const auto flow = create_flow(port, "shutdown-flow");
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t)
      clients.emplace_back([&, t] {
        raw::connection c;
        for (int i = 0;; ++i) {
          if (!c.is_open() && !c.open(port, 2s))
            return; // the listener is gone
          const auto name = "t" + std::to_string(t) + "-" + std::to_string(i);
          if (!c.send(raw::format_request("POST", "/api/deployments/",
                                          deployment_body(name, flow)))) {
            c.close();
            continue;
          }
          const auto r = c.read_reply(20s);
          if (!r) {
            c.close(); // closed while stopping: not acknowledged
            continue;
          }
          std::lock_guard lock(mutex);
          if (r->status == 201) {
            acked.emplace_back(json::parse(r->body).at("id").get<std::string>(),
                               name);
            ++acked_count;
          } else {
            bad.push_back(std::to_string(r->status) + " " + r->body);
          }
          if (header_of(*r, "connection") == "close")
            c.close();
        }
      });
    const auto wait_until = steady::now() + 60s;
    while (acked_count < 60 && steady::now() < wait_until)
      std::this_thread::sleep_for(5ms);
    REQUIRE(acked_count >= 60);
    const auto t0 = steady::now();
    const int status = server.stop();
    const auto took = steady::now() - t0;
    for (auto& t : clients)
      t.join();
    CHECK(status == 0);
    CHECK(took < 8s);
  }
  INFO("unexpected answers: " << bad.size()
                              << (bad.empty() ? "" : " first: " + bad.front()));
  CHECK(bad.empty());

  check_verified(options.data_dir);

  deployd_process server(options);
  std::size_t missing = 0;
  for (const auto& [id, name] : acked) {
    const auto r = raw::request(server.port(), "GET", "/api/deployments/" + id);
    if (!r || r->status != 200 || json::parse(r->body).at("name") != name)
      ++missing;
  }
  INFO(acked.size() << " acknowledged writes");
  CHECK(missing == 0);
}

// -- many connections
// --------------------------------------------------------------

namespace {

// One client connection in the multiplexed load below.
struct load_client {
  raw::connection c;
  std::vector<std::pair<std::string, unsigned>> script; // request, status
  std::size_t step = 0;
  std::string out;
  std::size_t sent = 0;
  std::string in;
  steady::time_point started;
  bool done = false;
};

} // namespace

TEST_CASE("1024 concurrent connections mixing reads and writes all succeed",
          "[integration][hardening][load]") {
  constexpr std::size_t connections = 1024;
  raise_own_descriptor_limit(connections + 256);
  deployd_process server;
  const auto port = server.port();
  const auto pid = deployd_pid();
  const auto flow = create_flow(port, "load-flow");

  std::vector<load_client> clients(connections);
  for (std::size_t i = 0; i < connections; ++i) {
    auto& cl = clients[i];
    const auto name = "load-" + std::to_string(i);
    cl.script = {
        {raw::format_request(
             "POST", "/api/deployments/",
             deployment_body(name, flow,
                             json{{"i", i}, {"pad", std::string(512, 'p')}})),
         201},
        {raw::format_request("GET", "/api/deployments/name/load-flow/" + name),
         200},
        {raw::format_request("POST", "/api/deployments/filter",
                             R"({"limit": 5, "sort": "NAME_ASC"})"),
         200},
        {raw::format_request("PATCH", "/api/deployments/name-unused", "{}"),
         404},
        {raw::format_request("GET", "/api/health"), 200},
    };
    REQUIRE(cl.c.open(port, 10s));
  }
  // Every connection is open before any request is sent.
  std::size_t errors = 0;
  std::string first_error;
  auto fail = [&](load_client& cl, const std::string& why) {
    if (errors++ == 0)
      first_error = why;
    cl.done = true;
    cl.c.close();
  };
  auto start_step = [](load_client& cl) {
    cl.out = cl.script[cl.step].first;
    cl.sent = 0;
    cl.started = steady::now();
  };
  for (auto& cl : clients)
    start_step(cl);

  const auto start = steady::now();
  const auto deadline = start + (sanitized ? 240s : 120s);
  steady::duration slowest{};
  std::size_t finished = 0;
  std::vector<pollfd> fds(connections);
  while (finished < connections && steady::now() < deadline) {
    for (std::size_t i = 0; i < connections; ++i) {
      auto& cl = clients[i];
      fds[i] = {cl.done ? -1 : cl.c.fd(),
                static_cast<short>(cl.sent < cl.out.size() ? POLLOUT : POLLIN),
                0};
    }
    if (::poll(fds.data(), fds.size(), 1000) <= 0)
      continue;
    for (std::size_t i = 0; i < connections; ++i) {
      auto& cl = clients[i];
      if (cl.done || fds[i].revents == 0)
        continue;
      if (cl.sent < cl.out.size()) {
        const auto n = ::send(cl.c.fd(), cl.out.data() + cl.sent,
                              cl.out.size() - cl.sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          fail(cl, "send failed");
          ++finished;
        } else if (n > 0) {
          cl.sent += static_cast<std::size_t>(n);
        }
        continue;
      }
      char buffer[16384];
      const auto n = ::recv(cl.c.fd(), buffer, sizeof buffer, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        fail(cl, "connection closed at step " + std::to_string(cl.step));
        ++finished;
        continue;
      }
      if (n < 0)
        continue;
      cl.in.append(buffer, static_cast<std::size_t>(n));
      auto parsed = raw::parse_response(cl.in);
      if (!parsed)
        continue;
      cl.in.erase(0, parsed->second);
      slowest = std::max(slowest, steady::now() - cl.started);
      if (parsed->first.status != cl.script[cl.step].second) {
        fail(cl, "step " + std::to_string(cl.step) + ": " +
                     std::to_string(parsed->first.status) + " " +
                     parsed->first.body);
        ++finished;
        continue;
      }
      if (++cl.step == cl.script.size()) {
        cl.done = true;
        ++finished;
        continue;
      }
      start_step(cl);
    }
  }
  const auto took = steady::now() - start;
  const auto peak = peak_rss_kib(pid);
  INFO("first error: " << first_error);
  CHECK(finished == connections);
  CHECK(errors == 0);
  WARN(connections
       << " connections x " << clients[0].script.size() << " requests in "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms; slowest answer "
       << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
       << " ms; deployd peak RSS " << peak / 1024 << " MiB");
  CHECK(slowest < 10s); // below the request timeout: nothing stalled
  CHECK(peak > 0);
  CHECK(peak < (sanitized ? 2048 : 768) * 1024);

  const auto count = raw::request(port, "POST", "/api/deployments/count", "{}");
  REQUIRE(count);
  CHECK(count->body == std::to_string(connections));
}

// -- disk full
// -----------------------------------------------------------------------

namespace {

// A small tmpfs mounted for one test, unmounted (lazily) at the end.
class small_tmpfs {
public:
  explicit small_tmpfs(const fs::path& where, const std::string& size)
      : path_(where) {
    fs::create_directories(path_);
    const auto options = "size=" + size;
    if (geteuid() != 0) {
      why_not_ = "not running as root";
      return;
    }
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_not_ = std::string("mount failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~small_tmpfs() {
    if (mounted_)
      ::umount2(path_.c_str(), MNT_DETACH);
  }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;
  [[nodiscard]] bool mounted() const {
    return mounted_;
  }
  [[nodiscard]] const std::string& why_not() const {
    return why_not_;
  }

private:
  fs::path path_;
  bool mounted_ = false;
  std::string why_not_;
};

// Writes `path` until the file system is full; returns the bytes written.
std::size_t fill_up(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  const std::string block(64 * 1024, 'f');
  std::size_t total = 0;
  while (true) {
    const auto n = ::write(fd, block.data(), block.size());
    if (n <= 0)
      break;
    total += static_cast<std::size_t>(n);
  }
  // Smaller pieces for the last partial block.
  while (::write(fd, block.data(), 512) > 0)
    total += 512;
  ::close(fd);
  return total;
}

} // namespace

TEST_CASE("a full disk refuses writes with 503, keeps reads, and recovers",
          "[integration][hardening][disk]") {
  temp_dir dir;
  // Big enough that deleting the filler frees the 32 MiB that RocksDB waits
  // for before it clears a no-space error (one write buffer).
  small_tmpfs disk(dir.path() / "mnt", "96m");
  if (!disk.mounted()) {
    WARN("SKIPPED: needs a tmpfs for the data directory: " << disk.why_not());
    return;
  }
  process_options options;
  options.data_dir = (dir.path() / "mnt" / "data").string();
  options.clock.clear();
  options.id_seed = 0;
  const auto filler = dir.path() / "mnt" / "filler";
  const std::string unavailable =
      R"({"exception_message":"Service Unavailable"})";

  std::vector<std::pair<std::string, std::string>> acked; // id, body
  std::vector<std::string> refused;                       // names
  {
    deployd_process server(options);
    const auto port = server.port();
    const auto flow = create_flow(port, "disk-flow");
    auto create = [&](const std::string& name, std::size_t pad) {
      return raw::request(
          port, "POST", "/api/deployments/",
          deployment_body(name, flow, json{{"pad", std::string(pad, 'x')}}));
    };
    auto r = create("before", 100);
    REQUIRE(r);
    REQUIRE(r->status == 201);
    const auto before_id = json::parse(r->body).at("id").get<std::string>();
    acked.emplace_back(before_id, r->body);

    fill_up(filler);
    // Writes fail as soon as RocksDB needs a byte; until then they fill the
    // space it already holds (the WAL is preallocated, ~35 MiB).
    bool full = false;
    for (int i = 0; i < 200 && !full; ++i) {
      const auto name = "full-" + std::to_string(i);
      r = create(name, 400'000);
      REQUIRE(r);
      if (r->status == 201) {
        acked.emplace_back(json::parse(r->body).at("id").get<std::string>(),
                           r->body);
        continue;
      }
      CHECK(r->status == 503);
      CHECK(r->body == unavailable);
      refused.push_back(name);
      full = true;
    }
    REQUIRE(full);

    // Reads keep working; writes of any kind keep answering 503.
    for (const auto& [id, body] : acked) {
      r = raw::request(port, "GET", "/api/deployments/" + id);
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body == body);
    }
    r = raw::request(port, "POST", "/api/deployments/filter", "{}");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body).size() == acked.size());
    r = raw::request(port, "PATCH", "/api/deployments/" + before_id,
                     R"({"description":"while full"})");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->body == unavailable);
    r = create("still-full", 10);
    REQUIRE(r);
    CHECK(r->status == 503);
    refused.push_back("still-full");

    // Space comes back: writes resume without a restart (RocksDB looks at
    // the free space every few seconds).
    fs::remove(filler);
    unsigned status = 0;
    const auto deadline = steady::now() + 30s;
    while (status != 201 && steady::now() < deadline) {
      r = create("after", 100);
      REQUIRE(r);
      status = r->status;
      if (status == 201)
        acked.emplace_back(json::parse(r->body).at("id").get<std::string>(),
                           r->body);
      else
        std::this_thread::sleep_for(250ms);
    }
    CHECK(status == 201);
    r = raw::request(port, "PATCH", "/api/deployments/" + before_id,
                     R"({"description":"after"})");
    REQUIRE(r);
    CHECK(r->status == 204);
    r = raw::request(port, "GET", "/api/deployments/" + before_id);
    REQUIRE(r);
    acked.front().second = r->body;
    CHECK(server.stop() == 0);
  }

  check_verified(options.data_dir);

  // After a restart: every acknowledged write, nothing refused.
  deployd_process server(options);
  for (const auto& [id, body] : acked) {
    const auto r = raw::request(server.port(), "GET", "/api/deployments/" + id);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == body);
  }
  for (const auto& name : refused) {
    const auto r = raw::request(server.port(), "GET",
                                "/api/deployments/name/disk-flow/" + name);
    REQUIRE(r);
    CHECK(r->status == 404);
  }
}
