#include "observe/log.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace deployd::observe;

TEST_CASE("a log line in logfmt quotes only what needs quoting",
          "[observe][log]") {
  const auto line = format_line(
    log_format::logfmt, level::info, "2026-12-06T10:00:00.123Z", "request",
    {{"method", "POST"},
     {"route", "/api/flows/{id}"},
     {"status", 201},
     {"duration_ms", 1.5},
     {"bytes", std::uint64_t{42}},
     {"ok", true},
     {"cause", "name \"x\" = bad\nline"},
     {"empty", ""}});
  CHECK(line == "ts=2026-12-06T10:00:00.123Z level=info msg=request "
                "method=POST route=/api/flows/{id} status=201 "
                "duration_ms=1.500 bytes=42 ok=true "
                "cause=\"name \\\"x\\\" = bad\\nline\" empty=\"\"");
}

TEST_CASE("a log line in JSON is one object nlohmann parses back",
          "[observe][log]") {
  const auto line =
    format_line(log_format::json, level::warn, "2026-12-06T10:00:00.123Z",
                "write rejected",
                {{"status", 409},
                 {"cause", "quote \" backslash \\ control \x01 tab \t"},
                 {"seconds", 0.25}});
  const auto j = nlohmann::json::parse(line);
  CHECK(j["ts"] == "2026-12-06T10:00:00.123Z");
  CHECK(j["level"] == "warn");
  CHECK(j["msg"] == "write rejected");
  CHECK(j["status"] == 409);
  CHECK(j["cause"] == "quote \" backslash \\ control \x01 tab \t");
  CHECK(j["seconds"] == 0.25);
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("log levels and formats parse from settings", "[observe][log]") {
  CHECK(parse_level("DEBUG") == level::debug);
  CHECK(parse_level("info") == level::info);
  CHECK(parse_level("Warning") == level::warn);
  CHECK(parse_level("warn") == level::warn);
  CHECK(parse_level("error") == level::error);
  CHECK_FALSE(parse_level("loud"));
  CHECK(parse_format("json") == log_format::json);
  CHECK(parse_format("logfmt") == log_format::logfmt);
  CHECK_FALSE(parse_format("xml"));
}
