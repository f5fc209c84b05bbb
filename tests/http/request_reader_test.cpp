#include "http/request_reader.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace deployd::http;

namespace {

const reader_limits small{.header_limit_bytes = 1024,
                          .target_limit_bytes = 256,
                          .body_limit_bytes = 4096,
                          .chunk_line_limit_bytes = 64};

// Feeds `bytes` to `reader` `per_read` at a time, parsing after each read
// as a session does; every step it returned, and the requests it let through.
struct fed {
  std::vector<read_step::kind> steps;
  std::vector<request> requests;
  read_step last;
};

fed feed(request_reader& reader, const std::string& bytes,
         std::size_t per_read = 8192) {
  fed out;
  std::size_t pos = 0;
  for (;;) {
    for (bool more = false; !more;) {
      out.last = reader.parse();
      out.steps.push_back(out.last.what);
      REQUIRE(reader.buffered() <= reader.capacity());
      switch (out.last.what) {
      case read_step::kind::need_more:
        more = true;
        break;
      case read_step::kind::header:
        break;
      case read_step::kind::complete:
        out.requests.push_back(reader.take());
        reader.start();
        break;
      case read_step::kind::failed:
        return out;
      }
    }
    if (pos == bytes.size())
      return out;
    const auto room = reader.prepare();
    REQUIRE_FALSE(room.empty());
    const auto n = std::min({room.size(), per_read, bytes.size() - pos});
    std::memcpy(room.data(), bytes.data() + pos, n);
    reader.commit(n);
    pos += n;
  }
}

fed feed(const std::string& bytes, std::size_t per_read = 8192) {
  request_reader reader(small);
  return feed(reader, bytes, per_read);
}

} // namespace

TEST_CASE("the reader reads pipelined requests in any read sizes",
          "[http][reader]") {
  const std::string bytes =
      "POST /api/flows/?x=1 HTTP/1.1\r\nHost: h\r\n"
      "Content-Type: application/json\r\nAuthorization: Basic YTpi\r\n"
      "X-Prefect-API-Version: 0.8.4\r\nUser-Agent: prefect/3.1\r\n"
      "Content-Length: 15\r\n\r\n{\"name\":\"flow\"}"
      "GET /api/health HTTP/1.1\r\nHost: h\r\n\r\n";
  for (const std::size_t per_read :
       {std::size_t{1}, std::size_t{7}, std::size_t{8192}}) {
    INFO(per_read << " bytes per read");
    const auto out = feed(bytes, per_read);
    REQUIRE(out.requests.size() == 2);
    const auto& post = out.requests[0];
    CHECK(post.method == "POST");
    CHECK(post.path == "/api/flows/");
    CHECK(post.query == "x=1");
    CHECK(post.body == R"({"name":"flow"})");
    CHECK(post.content_type == "application/json");
    CHECK(post.authorization == "Basic YTpi");
    CHECK(post.api_version == "0.8.4");
    CHECK(post.user_agent == "prefect/3.1");
    CHECK(post.host == "h");
    CHECK(out.requests[1].method == "GET");
    CHECK(out.requests[1].path == "/api/health");
    CHECK(out.last.what == read_step::kind::need_more);
  }
}

TEST_CASE("the reader stops after a header that announces a body",
          "[http][reader]") {
  request_reader reader(small);
  const auto out =
      feed(reader, "POST /api/flows/ HTTP/1.1\r\nHost: h\r\n"
                   "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  CHECK(out.steps == std::vector{read_step::kind::need_more,
                                 read_step::kind::header,
                                 read_step::kind::need_more});
  CHECK(reader.expects_continue());
  CHECK(reader.current().path == "/api/flows/");
  const auto rest = feed(reader, "{}");
  REQUIRE(rest.requests.size() == 1);
  CHECK(rest.requests[0].body == "{}");
}

TEST_CASE("the reader takes the path of an absolute-form target",
          "[http][reader]") {
  auto out = feed("GET HTTP://example.test:4200/api/health?probe=1 "
                  "HTTP/1.1\r\nHost: other\r\n\r\n");
  REQUIRE(out.requests.size() == 1);
  CHECK(out.requests[0].path == "/api/health");
  CHECK(out.requests[0].query == "probe=1");
  CHECK(out.requests[0].host == "example.test:4200");
  out = feed("GET http://example.test HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(out.requests.size() == 1);
  CHECK(out.requests[0].path == "/");
  out = feed("GET /api/health HTTP/1.0\r\n\r\n");
  REQUIRE(out.requests.size() == 1);
  CHECK(out.requests[0].host == "127.0.0.1");
}

TEST_CASE("the reader refuses what the limits and framing rules forbid",
          "[http][reader]") {
  const std::string chunked = "POST /f HTTP/1.1\r\nHost: h\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n";
  struct refusal {
    std::string bytes;
    unsigned status;
  };
  for (const auto& [bytes, status] : std::vector<refusal>{
           {chunked + "2\r\n{}\r\n0\r\nX-A: " + std::string(70'000, 'a') +
                "\r\n\r\n",
            431},
           {chunked + "2\r\n{}\r\n0\r\nX-A: " + std::string(900, 'a') +
                "\r\nX-B: " + std::string(900, 'b') + "\r\n\r\n",
            431},
           {chunked + "2;x=" + std::string(10'000, 'a'), 413},
           {chunked + "2;x=" + std::string(100, 'a') + "\r\n{}\r\n", 413},
           {chunked + std::string(10'000, '0'), 413},
           {chunked + "2\n{}\n0\n\n", 400},
           {chunked + "2\r\n{}\r\n0\r\nX: y\n\n", 400},
           {chunked + "1001\r\n" + std::string(10, ' '), 413},
           {"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n", 413},
           {"POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
            400},
           {"POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, "
            "identity\r\n\r\n",
            400},
           {"POST /f HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
           {"GET /f HTTP/1.1\r\n\r\n", 400},
           {"GET /f HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
           {"GET /" + std::string(300, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n",
            414},
           {"GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(2000, 'a'), 431},
           {"NOT HTTP\r\n\r\n", 400}}) {
    INFO(bytes.substr(0, 120));
    for (const std::size_t per_read : {std::size_t{3}, std::size_t{8192}}) {
      INFO(per_read << " bytes per read");
      const auto out = feed(bytes, per_read);
      CHECK(out.requests.empty());
      CHECK(out.last.what == read_step::kind::failed);
      CHECK(out.last.status == status);
    }
  }
}
