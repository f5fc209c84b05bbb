#include "events/codec.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace deployd::events;

namespace {

std::string golden(const std::string& name, int version) {
  std::ifstream in(std::string(DEPLOYD_TEST_DATA_DIR) + "/events/" + name +
                   ".v" + std::to_string(version) + ".json");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

} // namespace

TEST_CASE("every event version ever written decodes from its golden file",
          "[events][codec]") {
  for (const auto& entry : catalog) {
    INFO(entry.name << " v" << entry.version);
    const auto payload = golden(std::string(entry.name), entry.version);
    const auto decoded = decode(entry.name, entry.version, payload);
    REQUIRE(decoded);
    CHECK(stored_name(*decoded) == entry.name);
    if (!entry.retired) {
      // Current versions re-encode to exactly the golden bytes.
      const auto encoded = encode(*decoded);
      CHECK(encoded.name == entry.name);
      CHECK(encoded.version == entry.version);
      CHECK(encoded.payload == payload);
    }
  }
}

TEST_CASE("decoding refuses unknown events and malformed payloads",
          "[events][codec]") {
  CHECK(decode("deployment_exploded", 1, "{}").error() ==
        decode_errc::unknown_event);
  CHECK(decode("flow_created", 99, "{}").error() == decode_errc::unknown_event);
  CHECK(decode("flow_created", 1, "{not json").error() ==
        decode_errc::malformed_payload);
  CHECK(decode("concurrency_limit_resized", 1, R"({"id":1})").error() ==
        decode_errc::malformed_payload);
}

TEST_CASE("events name their streams", "[events][codec]") {
  const auto e =
      decode("deployment_updated", 1, golden("deployment_updated", 1));
  REQUIRE(e);
  CHECK(stream_of(*e).value ==
        "deployment/5d1a7e0c-9a51-4c55-8d3c-3d1f1f2a9b77");
  const auto f = decode("flow_created", 1, golden("flow_created", 1));
  REQUIRE(f);
  CHECK(stream_of(*f).value == "flow/3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11");
}

TEST_CASE("payloads keep integers beyond 64 bits and floats exactly",
          "[events][codec][json_text]") {
  // A v1 deployment_created payload with free-form numbers: decode then
  // encode gives the same bytes, big integers digit for digit.
  auto payload = golden("deployment_created", 1);
  const std::string params =
      R"("parameters":{"big":123456789012345678901234567890,)"
      R"("neg":-98765432109876543210987654321,"small":1.5e-7,"f":3600.0})";
  const auto at = payload.find(R"("parameters":{"x":1})");
  REQUIRE(at != std::string::npos);
  payload.replace(at, std::string(R"("parameters":{"x":1})").size(), params);
  const auto decoded = decode("deployment_created", 1, payload);
  REQUIRE(decoded);
  CHECK(encode(*decoded).payload == payload);

  const std::string doc =
      R"({"id":"5d1a7e0c-9a51-4c55-8d3c-3d1f1f2a9b77","name":"doc",)"
      R"("data":{"n":18446744073709551616,"x":1e-6,"y":1e16}})";
  const auto block = decode("block_document_created", 1, doc);
  REQUIRE(block);
  CHECK(encode(*block).payload == doc);
}

TEST_CASE("a worker heartbeat's interval must be an int64",
          "[events][codec][workers]") {
  const std::string head = R"({"id":"9d5b2c4e-7f3a-4c1e-8b2d-0a6f1e3c5d77",)"
                           R"("last_heartbeat_time":"2026-08-21T16:45:00Z")";
  CHECK(decode("worker_heartbeat_recorded", 1, head + "}"));
  for (const char* bad :
       {"null", "30.5", "1e300", "\"30\"", "18446744073709551615"}) {
    INFO(bad);
    CHECK(decode("worker_heartbeat_recorded", 1,
                 head + R"(,"heartbeat_interval_seconds":)" + bad + "}")
              .error() == decode_errc::malformed_payload);
  }
}
