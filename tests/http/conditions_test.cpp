#include "http/conditions.hpp"

#include <catch2/catch.hpp>

using namespace deployd;

TEST_CASE("entity-tag lists parse into versions, * and other tags",
          "[http][conditions]") {
  auto any = http::parse_tag_list(" * ");
  REQUIRE(any);
  CHECK(any->any);
  auto list = http::parse_tag_list("\"3\", W/\"4\" ,\"x\",\"12\"");
  REQUIRE(list);
  CHECK_FALSE(list->any);
  CHECK(list->versions == std::vector<std::uint64_t>{3, 12});
  CHECK(list->others); // the weak tag and "x" never match a write
  CHECK_FALSE(http::parse_tag_list("3"));
  CHECK_FALSE(http::parse_tag_list(""));
  CHECK_FALSE(http::parse_tag_list("\"3"));
  CHECK_FALSE(http::parse_tag_list("\"a b\""));
}

TEST_CASE("a write's conditions come from its headers, malformed ones are a "
          "400",
          "[http][conditions]") {
  http::request req;
  req.method = "POST";
  req.path = "/api/flows/";
  req.body = "{\"name\":\"a\"}";
  req.if_match = "\"2\"";
  req.idempotency_key = "retry-1";
  auto c = http::write_conditions_of(req);
  REQUIRE(c);
  CHECK(c->if_match->versions == std::vector<std::uint64_t>{2});
  CHECK(c->idempotency_key == "retry-1");
  CHECK(c->request_hash.size() == 64);
  auto other = req;
  other.body = "{\"name\":\"b\"}";
  CHECK(http::write_conditions_of(other)->request_hash != c->request_hash);
  other = req;
  other.path = "/api/flows";
  CHECK(http::write_conditions_of(other)->request_hash != c->request_hash);

  req.idempotency_key = std::string(256, 'k');
  CHECK(http::write_conditions_of(req).error().status == 400);
  req.idempotency_key = "tab\there";
  CHECK(http::write_conditions_of(req).error().status == 400);
  req.idempotency_key.reset();
  req.if_none_match = "nope";
  CHECK(http::write_conditions_of(req).error().status == 400);
}

TEST_CASE("a GET is not modified when If-None-Match names its version, weak "
          "or strong",
          "[http][conditions]") {
  http::request req;
  CHECK_FALSE(http::not_modified(req, 3));
  req.if_none_match = "\"3\"";
  CHECK(http::not_modified(req, 3));
  CHECK_FALSE(http::not_modified(req, 4));
  req.if_none_match = "W/\"4\"";
  CHECK(http::not_modified(req, 4));
  req.if_none_match = "*";
  CHECK(http::not_modified(req, 1));
  CHECK(http::etag(7) == "\"7\"");
}
