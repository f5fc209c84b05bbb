// Replays the request/response pairs recorded from the reference server
// (tests/data/samples) against deployd and compares every status and body.
// Ids and timestamps differ between servers, so the comparison binds each
// reference UUID to ours on first sight (consistently, both ways) and checks
// timestamps by format; every other value must be equal.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>
#include <regex>

using namespace deployd::testing;

namespace {

const std::regex
    uuid_re("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
const std::regex time_re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$)");

struct id_binding {
  std::map<std::string, std::string> ours_of;
  std::map<std::string, std::string> theirs_of;

  // Binds (or checks) one reference id against ours.
  bool bind(const std::string& theirs, const std::string& ours) {
    auto a = ours_of.find(theirs);
    auto b = theirs_of.find(ours);
    if (a == ours_of.end() && b == theirs_of.end()) {
      ours_of[theirs] = ours;
      theirs_of[ours] = theirs;
      return true;
    }
    return a != ours_of.end() && a->second == ours;
  }

  std::string rewrite(std::string text) const {
    for (const auto& [theirs, ours] : ours_of)
      for (auto pos = text.find(theirs); pos != std::string::npos;
           pos = text.find(theirs, pos))
        text.replace(pos, theirs.size(), ours);
    return text;
  }
};

// Structural comparison; `where` names the place of the first mismatch.
bool same_shape(const json& expected, const json& actual, id_binding& ids,
                std::string& where, const std::string& path = "$") {
  if (expected.is_string() &&
      std::regex_match(expected.get<std::string>(), uuid_re)) {
    if (!actual.is_string() ||
        !std::regex_match(actual.get<std::string>(), uuid_re) ||
        !ids.bind(expected.get<std::string>(), actual.get<std::string>())) {
      where = path + ": expected an id bound to " + expected.dump() + ", got " +
              actual.dump();
      return false;
    }
    return true;
  }
  if (expected.is_string() &&
      std::regex_match(expected.get<std::string>(), time_re)) {
    if (!actual.is_string() ||
        !std::regex_match(actual.get<std::string>(), time_re)) {
      where = path + ": expected a timestamp, got " + actual.dump();
      return false;
    }
    return true;
  }
  if (expected.is_object()) {
    if (!actual.is_object() || actual.size() != expected.size()) {
      where = path + ": expected " + expected.dump() + ", got " + actual.dump();
      return false;
    }
    for (const auto& [key, value] : expected.items()) {
      if (!actual.contains(key)) {
        where = path + ": missing key " + key;
        return false;
      }
      if (!same_shape(value, actual.at(key), ids, where, path + "." + key))
        return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) {
      where = path + ": expected " + expected.dump() + ", got " + actual.dump();
      return false;
    }
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (!same_shape(expected[i], actual[i], ids, where,
                      path + "[" + std::to_string(i) + "]"))
        return false;
    return true;
  }
  // Strings that embed a bound id (`deployment:<id>`) compare rewritten.
  const json wanted = expected.is_string()
                          ? json(ids.rewrite(expected.get<std::string>()))
                          : expected;
  if (wanted != actual) {
    where = path + ": expected " + wanted.dump() + ", got " + actual.dump();
    return false;
  }
  return true;
}

// Total length of the timestamp strings in `j`.
long timestamp_bytes(const json& j) {
  if (j.is_string())
    return std::regex_match(j.get<std::string>(), time_re)
               ? static_cast<long>(j.get<std::string>().size())
               : 0;
  long total = 0;
  if (j.is_structured())
    for (const auto& item : j)
      total += timestamp_bytes(item);
  return total;
}

// Sends a sample's request (ids rewritten) and checks its response.
void replay_sample(const deployd_process& server, const std::string& name,
                   id_binding& ids, bool compare_body = true) {
  INFO("sample " << name);
  const json sample = load_sample(name);
  const auto& req = sample.at("request");
  std::map<std::string, std::string> headers;
  for (const auto& [k, v] : req.at("headers").items()) {
    std::string key = k;
    for (auto& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "content-type" || key == "x-prefect-api-version")
      headers[key] = v.get<std::string>();
  }
  std::optional<std::string> body;
  if (!req.at("body").is_null())
    body = req.at("body").is_string() ? req.at("body").get<std::string>()
                                      : req.at("body").dump();
  if (body)
    body = ids.rewrite(*body);
  if (body && !headers.contains("content-type"))
    headers["no-content-type"] = "1";
  const auto reply = server.request(
      req.at("method").get<std::string>(),
      ids.rewrite(req.at("path").get<std::string>()), body, headers);
  const auto& expected = sample.at("response");
  REQUIRE(reply.status == expected.at("status").get<unsigned>());
  if (!compare_body)
    return;
  json expected_body = expected.at("body");
  json actual_body = reply.json_body();
  std::string where;
  const bool same = same_shape(expected_body, actual_body, ids, where);
  INFO(where);
  CHECK(same);
  // The sample files hold re-serialised bodies (`3600.0` became `3600`), but
  // the recorded content-length is the reference's own byte count. Ids have
  // a fixed width and timestamps are accounted for (a whole second prints
  // without its fraction), so the rest must match byte for byte, which pins
  // number formats such as `"interval":3600.0` and
  // `"slot_decay_per_second":0.0`.
  const auto& recorded = expected.at("headers");
  if (recorded.contains("content-length") &&
      !recorded.contains("content-encoding")) {
    const auto reference_bytes =
        std::stol(recorded.at("content-length").get<std::string>());
    const auto ours = static_cast<long>(reply.body.size());
    INFO(reply.body);
    CHECK(ours - timestamp_bytes(actual_body) ==
          reference_bytes - timestamp_bytes(expected_body));
  }
}

} // namespace

TEST_CASE("recorded reference samples replay with the same statuses and "
          "bodies",
          "[integration][samples]") {
  deployd_process server;
  id_binding ids;
  for (const char* name : {
           "01-create-flow.json",
           "02-create-flow-again-upsert.json",
           "03-create-deployment-minimal.json",
           "04-create-deployment-full.json",
           "05-upsert-deployment-same-name.json",
           "06-422-missing-flow-id.json",
           "07-422-bad-types.json",
           "08-422-invalid-json.json",
           "09-get-deployment.json",
           "10-get-deployment-404.json",
           "11-get-deployment-non-uuid-404.json",
           "15-create-deployment-unknown-flow.json",
           "16-param-schema-violation.json",
           "17-create-deployment-unknown-work-pool.json",
           "18-422-extra-field.json",
       })
    replay_sample(server, name, ids);
}

TEST_CASE("the Python client's recorded calls are answered as the reference "
          "did",
          "[integration][samples]") {
  deployd_process server;
  id_binding ids;
  replay_sample(server, "client-01-hello.json", ids);
  replay_sample(server, "client-02-csrf-token.json", ids);
  replay_sample(server, "client-03-create-flow.json", ids);
  // The reference compressed these bodies; the recording kept only statuses.
  replay_sample(server, "client-04-create-deployment-minimal.json", ids, false);
  replay_sample(server, "client-05-create-deployment-full.json", ids, false);
}
