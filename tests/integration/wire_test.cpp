// The connection's HTTP reader and writer against hostile clients, over
// real sockets against the real binary (issue 12): chunked trailers of any
// size (once a crash), chunk lines held to their limit, Transfer-Encoding
// smuggling, absolute-form targets and Host, 408 for a stalled request, a
// 503 for every connection beyond the cap, credentials checked before a
// body is read, and slow readers held to the response budgets. The memory
// tests state their RSS ceilings and print what they measured.
#include "tests/crash/http_client.hpp"
#include "tests/integration/harness.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <poll.h>
#include <sys/socket.h>
#include <thread>

using namespace deployd::testing;
using namespace std::chrono_literals;
using headers = std::vector<std::pair<std::string, std::string>>;

namespace {

using steady = std::chrono::steady_clock;

const std::string secret = "admin:hunter2";
const std::string invalid = R"({"detail":"Invalid HTTP request received."})";
const std::string too_large_header =
    R"({"detail":"Request header fields are too large."})";
const std::string too_long_chunk_line =
    R"({"detail":"Chunk line is too long."})";
const std::string timed_out = R"({"detail":"Request timed out."})";
const std::string unavailable =
    R"({"exception_message":"Service Unavailable"})";
const std::string unauthorized = R"({"exception_message":"Unauthorized"})";

headers credentials() {
  return {{"Authorization", "Basic " + base64(secret)}};
}

process_options with_auth(process_options options = {}) {
  options.extra_env["PREFECT_SERVER_API_AUTH_STRING"] = secret;
  return options;
}

// The header of a chunked POST.
std::string chunked_head(const std::string& target, const headers& extra = {}) {
  std::string head = "POST " + target +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n";
  for (const auto& [name, value] : extra)
    head += name + ": " + value + "\r\n";
  return head + "\r\n";
}

std::string header_of(const raw::reply& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

// The answer to a request the server refuses: `status` with `body`, then
// the connection closes.
void expect_refused(raw::connection& c, unsigned status,
                    const std::string& body) {
  const auto r = c.read_reply(10s);
  REQUIRE(r);
  CHECK(r->status == status);
  CHECK(r->body == body);
  CHECK(header_of(*r, "connection") == "close");
  CHECK(c.closed_within(5s));
}

// Sends `bytes` on a fresh connection; the one reply.
std::optional<raw::reply> round_trip(std::uint16_t port,
                                     const std::string& bytes) {
  raw::connection c;
  if (!c.open(port) || !c.send(bytes))
    return std::nullopt;
  return c.read_reply(10s);
}

void check_alive(std::uint16_t port) {
  const auto r = raw::request(port, "GET", "/api/health", {}, {}, 5s);
  REQUIRE(r);
  CHECK(r->status == 200);
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// Every byte of the next response on `c` (Content-Length framed), within
// 10 s; what arrived by then otherwise.
std::string raw_response(raw::connection& c) {
  std::string bytes;
  char buffer[65536];
  const auto deadline = steady::now() + 10s;
  while (steady::now() < deadline) {
    if (const auto done = raw::parse_response(bytes);
        done && done->second == bytes.size())
      break;
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    const auto n = ::recv(c.fd(), buffer, sizeof buffer, 0);
    if (n <= 0)
      break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  return bytes;
}

} // namespace

// -- trailers -------------------------------------------------------------

TEST_CASE("a chunked trailer of any size is answered and the server lives on",
          "[integration][hardening][wire]") {
  deployd_process server(with_auth());
  const auto port = server.port();
  const auto trailer_request = [](std::size_t value_bytes,
                                  const headers& extra = {}) {
    return chunked_head("/api/flows/filter", extra) +
           "2\r\n{}\r\n0\r\nX-A: " + std::string(value_bytes, 'a') + "\r\n\r\n";
  };

  SECTION("the issue's request: a 70,000-byte value, no credentials") {
    // Credentials are checked once the header is in: the body and its
    // trailer are never read.
    raw::connection c;
    REQUIRE(c.open(port));
    c.send(trailer_request(70'000));
    expect_refused(c, 401, unauthorized);
  }
  SECTION("the issue's request with credentials") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(trailer_request(70'000, credentials())));
    expect_refused(c, 431, too_large_header);
  }
  SECTION("values around Beast's 64 KiB field limit, with credentials") {
    for (const std::size_t size :
         {std::size_t{16'500}, std::size_t{65'533}, std::size_t{65'534},
          std::size_t{65'535}, std::size_t{1} << 20}) {
      INFO("trailer value of " << size << " bytes");
      raw::connection c;
      REQUIRE(c.open(port));
      c.send(trailer_request(size, credentials()));
      expect_refused(c, 431, too_large_header);
    }
  }
  SECTION("many small trailer fields past the header limit") {
    std::string trailers;
    for (int i = 0; i < 2000; ++i)
      trailers += "X-" + std::to_string(i) + ": v\r\n";
    raw::connection c;
    REQUIRE(c.open(port));
    c.send(chunked_head("/api/flows/filter", credentials()) +
           "2\r\n{}\r\n0\r\n" + trailers + "\r\n");
    expect_refused(c, 431, too_large_header);
  }
  SECTION("a small trailer is read and ignored") {
    const auto ok = round_trip(port, trailer_request(100, credentials()));
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(ok->body == "[]");
    const auto refused = round_trip(port, trailer_request(100));
    REQUIRE(refused);
    CHECK(refused->status == 401);
  }
  check_alive(port);
}

// -- chunk lines ------------------------------------------------------------

TEST_CASE("chunk lines are held to chunk_line_limit_bytes and end in CRLF",
          "[integration][hardening][wire]") {
  deployd_process server(with_auth());
  const auto port = server.port();
  const auto head = chunked_head("/api/flows/filter", credentials());

  SECTION("a megabyte of chunk extension") {
    raw::connection c;
    REQUIRE(c.open(port));
    c.send(head + "2;x=" + std::string(1u << 20, 'a') + "\r\n{}\r\n0\r\n\r\n");
    expect_refused(c, 413, too_long_chunk_line);
  }
  SECTION("a chunk-size line of a megabyte of zeros") {
    raw::connection c;
    REQUIRE(c.open(port));
    c.send(head + std::string(1u << 20, '0') + "2\r\n{}\r\n0\r\n\r\n");
    expect_refused(c, 413, too_long_chunk_line);
  }
  SECTION("an extension just under the limit is accepted") {
    const auto r = round_trip(port, head + "2;x=" + std::string(4000, 'b') +
                                        "\r\n{}\r\n0\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  SECTION("chunk lines ending in a bare LF") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(head + "2\n{}\n0\n\n"));
    expect_refused(c, 400, invalid);
  }
  SECTION("a bare LF after a first good chunk") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(head + "1\r\n{\r\n1\n}\n"));
    expect_refused(c, 400, invalid);
  }
  SECTION("a trailer line ending in a bare LF") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send(head + "2\r\n{}\r\n0\r\nX-A: b\n\n"));
    expect_refused(c, 400, invalid);
  }
  SECTION("without credentials the body is never read") {
    raw::connection c;
    REQUIRE(c.open(port));
    c.send(chunked_head("/api/flows/filter") +
           "2;x=" + std::string(1u << 20, 'a'));
    expect_refused(c, 401, unauthorized);
  }
  check_alive(port);
}

TEST_CASE("4 connections streaming 300 MiB chunk extensions are refused at "
          "once, with or without credentials, and RSS stays under 256 MiB",
          "[integration][hardening][wire][memory]") {
  deployd_process server(with_auth());
  const auto port = server.port();
  const auto pid = deployd_pid();
  check_alive(port);
  const long before = rss_kib(pid);

  // Each client streams up to 300 MiB of extension, 1 MiB at a time, and
  // stops as soon as the server answers or stops reading. Two send
  // credentials (413 once the line passes its limit), two do not (401 once
  // the header is in).
  constexpr std::size_t limit_bytes = 300u << 20;
  const std::string block(1u << 20, 'a');
  std::atomic<int> refused{0};
  std::atomic<std::size_t> most_sent{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      const bool with_credentials = i % 2 == 0;
      raw::connection c;
      if (!c.open(port) ||
          !c.send(chunked_head("/api/flows/filter",
                               with_credentials ? credentials() : headers{}) +
                  "2;x="))
        return;
      std::size_t sent = 0;
      while (sent < limit_bytes && !readable(c.fd()) && c.send(block, 5s))
        sent += block.size();
      std::size_t seen = most_sent.load();
      while (sent > seen && !most_sent.compare_exchange_weak(seen, sent)) {
      }
      const auto r = c.read_reply(10s);
      if (r &&
          (with_credentials ? r->status == 413 && r->body == too_long_chunk_line
                            : r->status == 401 && r->body == unauthorized))
        ++refused;
    });
  for (auto& t : clients)
    t.join();
  const long peak = peak_rss_kib(pid);
  WARN("RSS before " << before / 1024 << " MiB, peak " << peak / 1024
                     << " MiB; the most one client sent before its 413: "
                     << most_sent.load() / 1024 << " KiB");
  CHECK(refused == 4);
  // The server answers after a few KiB and then drains for at most 2 s:
  // no client gets near its 300 MiB.
  CHECK(most_sent.load() < limit_bytes);
  CHECK(peak < (sanitized ? 768 : 256) * 1024);
  check_alive(port);
}

// -- Transfer-Encoding ----------------------------------------------------

TEST_CASE("a Transfer-Encoding other than chunked is refused and its body "
          "never runs as a request",
          "[integration][hardening][wire]") {
  deployd_process server;
  const auto port = server.port();
  int n = 0;
  for (const std::string& te :
       {std::string("gzip"), std::string("xchunked"),
        std::string("chunked, identity"), std::string("identity"),
        std::string("gzip, chunked"), std::string("chunked;q=1"),
        std::string("chunked\r\nTransfer-Encoding: chunked"),
        std::string("gzip\r\nTransfer-Encoding: chunked")}) {
    INFO("Transfer-Encoding: " << te);
    const auto name = "smuggled-" + std::to_string(++n);
    const auto hidden =
        raw::format_request("POST", "/api/flows/", json{{"name", name}}.dump());
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("POST /api/flows/filter HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: " +
                   te + "\r\n\r\n" + hidden));
    expect_refused(c, 400, invalid);
    const auto r = raw::request(port, "GET", "/api/flows/name/" + name);
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  SECTION("chunked on HTTP/1.0") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("POST /api/flows/filter HTTP/1.0\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));
    expect_refused(c, 400, invalid);
  }
  SECTION("chunked beside a Content-Length") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("POST /api/flows/filter HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "2\r\n{}\r\n0\r\n\r\n"));
    expect_refused(c, 400, invalid);
  }
  SECTION("chunked in any letter case is chunked") {
    const auto r =
        round_trip(port, "POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Content-Type: application/json\r\n"
                         "Transfer-Encoding:  Chunked \r\n\r\n"
                         "11\r\n{\"name\":\"chunky\"}\r\n0\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 201);
  }
}

// -- response bytes ---------------------------------------------------------

// The session writes a plain 200 itself (one buffer for the head, the body
// beside it) instead of through Beast's serializer: the bytes must be those
// Beast wrote, field for field and in the same order.
TEST_CASE("a GET by id is written byte for byte as Beast wrote it: status "
          "line, Content-Type, ETag, position, request id, Connection, "
          "Content-Length, body",
          "[integration][wire]") {
  deployd_process server;
  const auto port = server.port();
  const auto flow = server.post("/api/flows/", json{{"name", "wire"}});
  const auto flow_id = flow.json_body().at("id").get<std::string>();
  const auto created = server.post(
    "/api/deployments/", json{{"name", "bytes"}, {"flow_id", flow_id}});
  REQUIRE(created.status == 201);
  const auto id = created.json_body().at("id").get<std::string>();
  const auto body = server.get("/api/deployments/" + id).body;
  // The position is what this node had applied (a service may write in
  // between): taken from the response itself, then checked in its place.
  const auto head = [&](const std::string& bytes, const std::string& request_id,
                        const std::string& connection) {
    const auto parsed = raw::parse_response(bytes);
    const auto it = parsed ? parsed->first.headers.find("x-deployd-position")
                           : std::map<std::string, std::string>::const_iterator{};
    const auto position =
      parsed && it != parsed->first.headers.end() ? it->second : std::string();
    CHECK(!position.empty());
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
           "ETag: \"1\"\r\nX-Deployd-Position: " +
           position + "\r\nX-Request-ID: " + request_id + "\r\n" +
           connection + "Content-Length: " + std::to_string(body.size()) +
           "\r\n\r\n";
  };
  raw::connection c;
  REQUIRE(c.open(port));
  SECTION("kept alive, twice on one connection") {
    for (const std::string rid : {"wire-1", "wire-2"}) {
      REQUIRE(c.send("GET /api/deployments/" + id +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: " + rid +
                     "\r\n\r\n"));
      const auto bytes = raw_response(c);
      CHECK(bytes == head(bytes, rid, "") + body);
    }
  }
  SECTION("with Connection: close") {
    REQUIRE(c.send("GET /api/deployments/" + id +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: wire-3"
                   "\r\nConnection: close\r\n\r\n"));
    const auto bytes = raw_response(c);
    CHECK(bytes == head(bytes, "wire-3", "Connection: close\r\n") + body);
  }
}

// -- targets and Host -------------------------------------------------------

TEST_CASE("absolute-form targets are served and HTTP/1.1 needs one Host",
          "[integration][hardening][wire]") {
  deployd_process server(with_auth());
  const auto port = server.port();
  const auto auth = "Authorization: Basic " + base64(secret) + "\r\n";

  SECTION("absolute-form") {
    auto r =
        round_trip(port, "GET http://127.0.0.1:" + std::to_string(port) +
                             "/api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "true");
    r = round_trip(port,
                   "GET HTTP://deployd.test/api/health?probe=1 HTTP/1.1\r\n"
                   "Host: elsewhere\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 200);
    // Auth applies to the path inside the URL.
    r = round_trip(port, "GET http://deployd.test/api/version HTTP/1.1\r\n"
                         "Host: deployd.test\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 401);
    r = round_trip(port, "GET http://deployd.test/api/version HTTP/1.1\r\n"
                         "Host: deployd.test\r\n" +
                             auth + "\r\n");
    REQUIRE(r);
    CHECK(r->status == 200);
    const std::string body = R"({"name":"absolute"})";
    r = round_trip(port, "POST https://deployd.test/api/flows/ HTTP/1.1\r\n"
                         "Host: deployd.test\r\n" +
                             auth +
                             "Content-Type: application/json\r\n"
                             "Content-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body);
    REQUIRE(r);
    CHECK(r->status == 201);
    r = raw::request(port, "GET", "/api/flows/name/absolute", {},
                     credentials());
    REQUIRE(r);
    CHECK(r->status == 200);
    // A redirect names the URL's host, not the Host header.
    r = round_trip(port, "POST http://deployd.test:4200/api/flows/filter/ "
                         "HTTP/1.1\r\nHost: other\r\n" +
                             auth + "Content-Length: 0\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 307);
    CHECK(header_of(*r, "location") ==
          "http://deployd.test:4200/api/flows/filter");
  }
  SECTION("HTTP/1.1 without Host") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("GET /api/health HTTP/1.1\r\n\r\n"));
    expect_refused(c, 400, invalid);
  }
  SECTION("two Host fields") {
    raw::connection c;
    REQUIRE(c.open(port));
    REQUIRE(c.send("GET /api/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"));
    expect_refused(c, 400, invalid);
  }
  SECTION("HTTP/1.0 may leave Host out") {
    const auto r = round_trip(port, "GET /api/health HTTP/1.0\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

// -- timeouts -------------------------------------------------------------

TEST_CASE("a request that stalls gets 408 before the connection closes",
          "[integration][hardening][wire][timeouts]") {
  temp_dir dir;
  deployd_process server(with_config(dir, "[http]\n"
                                          "idle_timeout_ms = 1000\n"
                                          "header_timeout_ms = 500\n"
                                          "body_timeout_ms = 500\n"));
  const auto port = server.port();
  raw::connection c;
  REQUIRE(c.open(port));
  const auto start = steady::now();

  SECTION("in the header") {
    REQUIRE(c.send("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    expect_refused(c, 408, timed_out);
    CHECK(steady::now() - start >= 400ms);
  }
  SECTION("in the body") {
    REQUIRE(c.send("POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Length: 100\r\n\r\n{\"name\":"));
    expect_refused(c, 408, timed_out);
    CHECK(steady::now() - start >= 400ms);
  }
  SECTION("in a chunked body") {
    REQUIRE(c.send(chunked_head("/api/flows/filter") + "2\r\n{}\r\n"));
    expect_refused(c, 408, timed_out);
  }
  SECTION("an idle connection is closed without an answer") {
    CHECK_FALSE(c.read_reply(3s));
    CHECK(steady::now() - start >= 900ms);
  }
  check_alive(port);
}

// -- connection cap -------------------------------------------------------

TEST_CASE("every connection beyond max_connections gets the 503",
          "[integration][hardening][wire][limits]") {
  constexpr std::size_t extra = 300;
  raise_own_descriptor_limit(extra + 256);
  temp_dir dir;
  deployd_process server(with_config(dir, "[http]\nmax_connections = 4\n"));
  const auto port = server.port();
  std::vector<raw::connection> held(4);
  for (auto& c : held) {
    REQUIRE(c.open(port));
    REQUIRE(c.send(raw::format_request("GET", "/api/health")));
    const auto r = c.read_reply(5s);
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  // All at once, and none closes before every one has its answer.
  std::vector<raw::connection> refused(extra);
  for (auto& c : refused) {
    REQUIRE(c.open(port));
    c.send(raw::format_request("GET", "/api/health"), 1s);
  }
  std::size_t answered = 0;
  for (auto& c : refused) {
    const auto r = c.read_reply(5s);
    if (r && r->status == 503 && r->body == unavailable &&
        header_of(*r, "connection") == "close")
      ++answered;
  }
  CHECK(answered == extra);
  refused.clear();
  // The held connections keep working.
  for (auto& c : held) {
    REQUIRE(c.send(raw::format_request("GET", "/api/ready")));
    const auto r = c.read_reply(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

// -- credentials before the body
// -----------------------------------------------

TEST_CASE("a request without credentials is refused before its body is read",
          "[integration][hardening][wire][auth]") {
  deployd_process server(with_auth());
  const auto port = server.port();
  raw::connection c;
  REQUIRE(c.open(port));
  // 60 MB announced, none sent: the answer does not wait for it.
  REQUIRE(c.send("POST /api/deployments/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: 60000000\r\n\r\n{"));
  expect_refused(c, 401, R"({"exception_message":"Unauthorized"})");

  // With credentials the same request is read to its end.
  raw::connection good;
  REQUIRE(good.open(port));
  const std::string body = R"({"name":"with-credentials"})";
  REQUIRE(good.send("POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Authorization: Basic " +
                    base64(secret) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n"));
  std::this_thread::sleep_for(100ms); // the header alone, then the body
  REQUIRE(good.send(body));
  const auto r = good.read_reply(10s);
  REQUIRE(r);
  CHECK(r->status == 201);
}

// -- slow readers
// --------------------------------------------------------------

namespace {

// A flow with `count` deployments of ~500 KB of parameters each.
void create_big_deployments(std::uint16_t port, int count) {
  auto r = raw::request(port, "POST", "/api/flows/",
                        json{{"name", "big-pages"}}.dump());
  REQUIRE(r);
  const auto flow = json::parse(r->body).at("id").get<std::string>();
  for (int i = 0; i < count; ++i) {
    r = raw::request(port, "POST", "/api/deployments/",
                     json{{"name", "big-" + std::to_string(i)},
                          {"flow_id", flow},
                          {"parameters", {{"blob", std::string(500'000, 'p')}}}}
                         .dump());
    REQUIRE(r);
    REQUIRE(r->status == 201);
  }
}

} // namespace

TEST_CASE("100 slow readers of 12 MB pages stay within the response budget, "
          "are closed after the write timeout, and RSS stays bounded",
          "[integration][hardening][wire][memory]") {
  constexpr std::size_t readers = 100;
  raise_own_descriptor_limit(readers + 256);
  temp_dir dir;
  deployd_process server(
      with_config(dir, "[http]\n"
                       "write_timeout_ms = 3000\n"
                       "response_queue_total_bytes = 67108864\n"));
  const auto port = server.port();
  const auto pid = deployd_pid();
  create_big_deployments(port, 24);
  const auto first =
      raw::request(port, "POST", "/api/deployments/filter", "{}");
  REQUIRE(first);
  REQUIRE(first->status == 200);
  const auto page = first->body.size();
  REQUIRE(page > 12'000'000);
  const long before = rss_kib(pid);
  const long peak_before = peak_rss_kib(pid);

  std::vector<raw::connection> slow(readers);
  for (auto& c : slow) {
    REQUIRE(c.open(port));
    REQUIRE(c.send(raw::format_request("POST", "/api/deployments/filter",
                                       std::string("{}"))));
  }
  // Nobody reads. Every connection is answered (503, or the first bytes of
  // its page) without being read; then, once the write timeout (3 s) has
  // passed for the last one admitted, each is a 503 or was cut off.
  long most = 0;
  const auto sample_for = [&](std::chrono::milliseconds span) {
    const auto until = steady::now() + span;
    while (steady::now() < until) {
      most = std::max(most, rss_kib(pid));
      std::this_thread::sleep_for(50ms);
    }
  };
  const auto give_up = steady::now() + (sanitized ? 240s : 60s);
  std::size_t answered = 0;
  while (answered < readers && steady::now() < give_up) {
    sample_for(100ms);
    answered = 0;
    for (auto& c : slow) {
      pollfd p{c.fd(), POLLIN, 0};
      answered += ::poll(&p, 1, 0) > 0 ? 1 : 0;
    }
  }
  REQUIRE(answered == readers);
  sample_for(4s);
  std::size_t turned_away = 0;
  std::size_t cut_off = 0;
  for (auto& c : slow) {
    const auto r = c.read_reply(2s);
    if (r && r->status == 503 && r->body == unavailable)
      ++turned_away;
    else if (!r && c.closed_within(2s))
      ++cut_off;
  }
  const long peak = peak_rss_kib(pid);
  WARN("page " << page / 1024 << " KiB; RSS before " << before / 1024
               << " MiB, highest while " << readers << " readers waited "
               << most / 1024 << " MiB (peak " << peak / 1024 << " MiB, before "
               << peak_before / 1024 << " MiB); " << cut_off
               << " slow readers closed, " << turned_away << " answered 503");
  // 64 MiB holds five 12 MB pages at a time (more are admitted only as
  // slow readers are closed); the rest were answered 503.
  CHECK(cut_off >= 1);
  CHECK(turned_away >= readers / 2);
  CHECK(turned_away + cut_off == readers);
  // The stated ceiling: 64 MiB of queued responses over what the server
  // held before, plus pages being assembled (2 read threads, 2 I/O
  // threads) and allocator slack.
  CHECK(most - before < (sanitized ? 512 : 160) * 1024);
  slow.clear();

  // The server is unharmed and serves the page to a reader.
  const auto r = raw::request(port, "POST", "/api/deployments/filter", "{}");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.size() == page);
}

TEST_CASE("a response larger than response_queue_limit_bytes is answered 503",
          "[integration][hardening][wire]") {
  temp_dir dir;
  deployd_process server(
      with_config(dir, "[http]\nresponse_queue_limit_bytes = 1048576\n"));
  const auto port = server.port();
  create_big_deployments(port, 3);
  auto r =
      raw::request(port, "POST", "/api/deployments/filter", R"({"limit": 2})");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.size() > 1'000'000);
  r = raw::request(port, "POST", "/api/deployments/filter", "{}");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body == unavailable);
}
