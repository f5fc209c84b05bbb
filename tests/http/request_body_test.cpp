#include "http/request_body.hpp"

#include "events/python/json_text.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using namespace deployd::http;
using events::json;

namespace {

request json_request(std::string body) {
  request r;
  r.method = "POST";
  r.path = "/api/deployments/";
  r.body = std::move(body);
  r.content_type = "application/json";
  return r;
}

json error_body(const response& r) {
  return json::parse(r.body);
}

} // namespace

TEST_CASE("bodies are read as FastAPI reads them", "[http][request_body]") {
  SECTION("no content type means JSON") {
    auto req = json_request(R"({"a":1})");
    req.content_type.reset();
    const auto body = read_json_body(req);
    REQUIRE(body);
    CHECK(body->value == json{{"a", 1}});
  }
  SECTION("a +json content type is JSON") {
    auto req = json_request("[1]");
    req.content_type = "application/merge-patch+json; charset=utf-8";
    CHECK(read_json_body(req)->value == json::array({1}));
  }
  SECTION("text/plain stays text") {
    auto req = json_request(R"({"a":1})");
    req.content_type = "text/plain";
    CHECK(read_json_body(req)->value == R"({"a":1})");
  }
  SECTION("an empty body is absent") {
    CHECK_FALSE(read_json_body(json_request(""))->present);
  }
  SECTION("malformed JSON is json_invalid at Python's offset") {
    const auto body = read_json_body(json_request(R"({"name": "x", )"));
    REQUIRE_FALSE(body);
    CHECK(body.error().status == 422);
    const auto j = error_body(body.error());
    CHECK(j.at("exception_detail")[0].at("loc") == json::array({"body", 14}));
    CHECK(j.at("exception_detail")[0].at("ctx").at("error") ==
          "Expecting property name enclosed in double quotes");
    CHECK(j.at("request_body") == R"({"name": "x", )");
  }
}

TEST_CASE("a valid DeploymentCreate becomes a command with presence kept",
          "[http][request_body]") {
  config::api_settings api;
  json_body body;
  body.present = true;
  body.value = {{"name", "d"},
                {"flow_id", "3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11"},
                {"concurrency_limit", "3"},
                {"description", nullptr},
                {"labels", nullptr},
                {"worker_pool_name", "legacy"},
                {"schedules", json::array({{{"schedule", {{"interval", 60}}},
                                            {"max_scheduled_runs", 5}}})}};
  const auto cmd = parse_create_deployment(body, api, {1'795'000'000'000'000});
  REQUIRE(cmd);
  CHECK(cmd->name == "d");
  CHECK(cmd->concurrency_limit.value == 3);
  CHECK(cmd->description.present);
  CHECK_FALSE(cmd->description.value);
  CHECK_FALSE(cmd->version.present);
  CHECK(cmd->labels == json::object());
  CHECK(cmd->parameters == json::object());
  REQUIRE(cmd->schedules.size() == 1);
  CHECK(cmd->schedules[0].schedule.at("interval") == 60);
  CHECK(cmd->schedules[0].schedule.at("timezone") == "UTC");
}

TEST_CASE("max_scheduled_runs is bounded by 50", "[http][request_body]") {
  config::api_settings api;
  json_body body;
  body.present = true;
  body.value = {{"name", "d"},
                {"flow_id", "3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11"},
                {"schedules", json::array({{{"schedule", {{"interval", 60}}},
                                            {"max_scheduled_runs", 420000}}})}};
  const auto cmd = parse_create_deployment(body, api, {0});
  REQUIRE_FALSE(cmd);
  const auto j = error_body(cmd.error());
  CHECK(j.at("exception_detail")[0].at("msg") ==
        "Value error, `max_scheduled_runs` must be less than or equal to 50.");
  CHECK(j.at("exception_detail")[0].at("loc") ==
        json::array({"body", "schedules", 0, "max_scheduled_runs"}));
}

TEST_CASE("numbers in a body keep the text the client sent",
          "[http][request_body][numbers]") {
  const auto body = read_json_body(json_request(
      R"({"parameters":{"big":123456789012345678901234567890,)"
      R"("neg":-123456789012345678901234567890,"small":1.5e-7,"f":3600.0}})"));
  REQUIRE(body);
  CHECK(events::dump_json(body->value.at("parameters")) ==
        R"({"big":123456789012345678901234567890,)"
        R"("neg":-123456789012345678901234567890,"small":1.5e-7,"f":3600.0})");
  // Beyond double range too (nlohmann alone refuses these).
  const std::string huge = "1" + std::string(399, '0');
  const auto big = read_json_body(json_request(R"({"h":)" + huge + "}"));
  REQUIRE(big);
  CHECK(events::dump_json(big->value) == R"({"h":)" + huge + "}");
}

TEST_CASE("an integer of more than 4300 digits is answered 400 as CPython's "
          "int limit makes the reference answer it",
          "[http][request_body][numbers]") {
  const auto ok =
      read_json_body(json_request(R"({"h":)" + std::string(4300, '7') + "}"));
  REQUIRE(ok);
  const auto body =
      read_json_body(json_request(R"({"h":)" + std::string(4301, '7') + "}"));
  REQUIRE_FALSE(body);
  CHECK(body.error().status == 400);
  CHECK(body.error().body ==
        R"({"detail":"There was an error parsing the body"})");
}

TEST_CASE("the parameter-size rule measures big integers by their digits and "
          "floats as Python's json.dumps writes them",
          "[http][request_body][numbers]") {
  const std::string parameters =
      R"({"a":1234567890123456789012345678901234567890,"b":1.5e-7,"c":1e16})";
  // What json.dumps(parameters, separators=(",", ":")) writes.
  const std::string python_text =
      R"({"a":1234567890123456789012345678901234567890,"b":1.5e-07,"c":1e+16})";
  config::api_settings api;
  api.max_parameter_size = python_text.size() - 1;
  const auto body = read_json_body(json_request(
      R"({"name":"d","flow_id":"3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11",)"
      R"("parameters":)" +
      parameters + "}"));
  REQUIRE(body);
  const auto cmd = parse_create_deployment(*body, api, {0});
  REQUIRE_FALSE(cmd);
  const auto j = error_body(cmd.error());
  CHECK(j.at("exception_detail")[0].at("msg") ==
        "Value error, Flow run parameters must be less than " +
            std::to_string(python_text.size() - 1) +
            " bytes when serialized (got " +
            std::to_string(python_text.size()) + " bytes).");
  // The error echoes the input with every digit.
  CHECK(cmd.error().body.find(
            R"("a":1234567890123456789012345678901234567890)") !=
        std::string::npos);
  api.max_parameter_size = python_text.size();
  CHECK(parse_create_deployment(*body, api, {0}));
}

TEST_CASE("an integer beyond 64 bits in an integer field is refused with "
          "its digits echoed",
          "[http][request_body][numbers]") {
  config::api_settings api;
  const auto body = read_json_body(json_request(
      R"({"name":"d","flow_id":"3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11",)"
      R"("concurrency_limit":123456789012345678901234567890})"));
  REQUIRE(body);
  const auto cmd = parse_create_deployment(*body, api, {0});
  REQUIRE_FALSE(cmd);
  CHECK(cmd.error().status == 422);
  CHECK(cmd.error().body.find(
            R"("type":"int_parsing_size","loc":["body","concurrency_limit"],)"
            R"("msg":"Unable to parse input string as an integer, exceeded )"
            R"(maximum size","input":123456789012345678901234567890})") !=
        std::string::npos);
}
