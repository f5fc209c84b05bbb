#include "http/answer_cache.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace deployd;

namespace {

http::request keyed(std::string key, std::string body,
                    std::string path = "/api/flows/") {
  http::request req;
  req.method = "POST";
  req.path = std::move(path);
  req.body = std::move(body);
  req.idempotency_key = std::move(key);
  return req;
}

http::response created(std::string body) {
  http::response r;
  r.status = 201;
  r.body = std::move(body);
  r.headers.emplace_back(std::string(http::position_header), "7");
  r.cause = "log only";
  return r;
}

constexpr std::int64_t second = 1'000'000;

} // namespace

TEST_CASE("a kept answer is given again only to the same request, marked "
          "replayed",
          "[http][idempotency]") {
  http::answer_cache cache(1 << 20, std::chrono::seconds(86'400));
  const auto req = keyed("k", "{\"name\":\"a\"}");
  CHECK_FALSE(cache.find(req, 0));
  cache.remember(req, created("{\"id\":1}"), 100 * second);

  const auto again = cache.find(req, 10 * second);
  REQUIRE(again);
  CHECK(again->status == 201);
  CHECK(again->body == "{\"id\":1}");
  CHECK(again->cause.empty());
  REQUIRE(again->headers.size() == 2);
  CHECK(again->headers[0].second == "7");
  CHECK(again->headers[1] ==
        std::pair<std::string, std::string>("Idempotent-Replayed", "true"));

  // Another body, path, query or method under the key: not this entry (the
  // writer answers those: 422).
  CHECK_FALSE(cache.find(keyed("k", "{\"name\":\"b\"}"), 10 * second));
  CHECK_FALSE(cache.find(keyed("k", "{\"name\":\"a\"}", "/api/variables/"),
                         10 * second));
  auto query = req;
  query.query = "x=1";
  CHECK_FALSE(cache.find(query, 10 * second));
  auto method = req;
  method.method = "PUT";
  CHECK_FALSE(cache.find(method, 10 * second));
  auto unkeyed = req;
  unkeyed.idempotency_key.reset();
  CHECK_FALSE(cache.find(unkeyed, 10 * second));
  CHECK_FALSE(cache.find(keyed("other", req.body), 10 * second));
}

TEST_CASE("a kept answer stops a margin before its key's retention ends",
          "[http][idempotency]") {
  // Retention 2 s: the margin is a quarter of it.
  http::answer_cache short_lived(1 << 20, std::chrono::seconds(2));
  const auto req = keyed("k", "{}");
  short_lived.remember(req, created("x"), 10 * second);
  CHECK(short_lived.find(req, 10 * second - second / 2 - 1));
  CHECK_FALSE(short_lived.find(req, 10 * second - second / 2));
  // A day's retention: the margin is one second.
  http::answer_cache day(1 << 20, std::chrono::seconds(86'400));
  day.remember(req, created("x"), 10 * second);
  CHECK(day.find(req, 9 * second - 1));
  CHECK_FALSE(day.find(req, 9 * second));
  // A key used again after it expired stands for its new request.
  const auto next = keyed("k", "{\"new\":true}");
  day.remember(next, created("y"), 100 * second);
  CHECK_FALSE(day.find(req, 50 * second));
  REQUIRE(day.find(next, 50 * second));
  CHECK(day.find(next, 50 * second)->body == "y");
  CHECK(day.size() == 1);
}

TEST_CASE("the answer cache holds at most its bytes, dropping the oldest",
          "[http][idempotency]") {
  http::answer_cache cache(64 * 1024, std::chrono::seconds(86'400));
  const std::string big(4000, 'b');
  for (int i = 0; i < 100; ++i)
    cache.remember(keyed("k" + std::to_string(i), big), created(big),
                   100 * second);
  CHECK(cache.bytes() <= 64 * 1024);
  CHECK(cache.size() > 0);
  CHECK(cache.size() < 100);
  CHECK(cache.find(keyed("k99", big), second));
  CHECK_FALSE(cache.find(keyed("k0", big), second));
  // Remembering one key over and over keeps one entry, and the order
  // behind it does not grow without bound.
  for (int i = 0; i < 10'000; ++i)
    cache.remember(keyed("same", "{}"), created(std::to_string(i)),
                   100 * second);
  CHECK(cache.find(keyed("same", "{}"), second)->body == "9999");
  CHECK(cache.bytes() <= 64 * 1024);
  // An answer larger than the whole cache is not kept.
  cache.remember(keyed("huge", std::string(70 * 1024, 'h')), created("z"),
                 100 * second);
  CHECK_FALSE(cache.find(keyed("huge", std::string(70 * 1024, 'h')), second));
}
