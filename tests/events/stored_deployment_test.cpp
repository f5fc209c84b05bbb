#include "events/stored_deployment.hpp"

#include "events/python/json_text.hpp"
#include "tests/support/deployment_samples.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace deployd::events;

namespace {

// The text parse_json then dump_json gives back for `text`.
std::string round_trip(const std::string& text) {
  return dump_json(parse_json(text));
}

using deployd::testing::limit_links;

deployment sample() {
  return deployd::testing::sample_deployment();
}

} // namespace

TEST_CASE("canonical_json_length measures text that a parse and a dump give "
          "back unchanged, and nothing else",
          "[events][json_text]") {
  for (const std::string text :
       {"null", "true", "false", "0", "-7", "18446744073709551616",
        "-123456789012345678901234567890", R"("")", R"("a \"b\" \\ \n\t")",
        R"("\b\f\r")", "[]", "{}", R"([1,[2,[3]],{"a":{}}])",
        R"({"x":1,"who":"world","n":null,"l":[true,false]})"}) {
    CHECK(canonical_json_length(text) == text.size());
    CHECK(round_trip(text) == text);
  }
  // Only the value at the start is measured.
  CHECK(canonical_json_length(R"({"a":1},"b":2})") == 7);
  CHECK(canonical_json_length("12]") == 2);
  // Anything a parse and a dump would write otherwise, or that this does
  // not prove they would not: 0.
  for (const std::string text :
       {"", " 1", "{ }", R"({"a": 1})", "[1 ,2]", "-0", "01", "-", "1.0",
        "1e5", "2E1", R"("\u0041")", R"("\/")", R"("\u00e9")", "\"\xc3\xa9\"",
        "\"\x7f\"", "\"\x01\"", R"("open)", R"({"a":1,"a":2})",
        R"({"a":1,"b":{"c":1,"c":1}})", "nul", "[1,]", "{\"a\"}", "[",
        "tru"}) {
    INFO(text);
    CHECK(canonical_json_length(text) == 0);
  }
  // A duplicate among many keys (checked by sorting).
  std::string many = "{";
  for (int i = 0; i < 40; ++i)
    many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  CHECK(canonical_json_length(many + "\"k39\":0}") == 0);
  CHECK(canonical_json_length(many + "\"k40\":0}") == many.size() + 8);
  // Nesting beyond 64 levels is left to the parser.
  CHECK(canonical_json_length(std::string(64, '[') + std::string(64, ']')) ==
        128);
  CHECK(canonical_json_length(std::string(65, '[') + std::string(65, ']')) ==
        0);
}

TEST_CASE("whatever canonical_json_length accepts, parse_json and dump_json "
          "give back byte for byte",
          "[events][json_text]") {
  // Documents as deployd stores them, then mutated at random places with
  // tokens that break the canonical form in the ways text can: each
  // accepted value must round-trip.
  const std::vector<std::string> seeds = {
      R"({"x":1,"who":"world","nested":{"a":[1,-2,{"b":null}],"c":"d\"e"}})",
      R"([{"k":"v"},[],{},12345678901234567890123,-9,"t\tab"])",
      R"({"prefect.flow.id":"3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11"})",
  };
  const std::vector<std::string> tokens = {
      " ",  "0",  "-",   "-0", ".5",   "e1",   "\\u0041", "\\/", "\\n",
      "\"", ",",  ":",   "{",  "}",    "[",    "]",       "\xc3\xa9",
      "\x7f", "\x01", "\"a\":1,", "\"x\":2,", "null", "1.0", "00"};
  std::uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&](std::uint64_t n) {
    state = state * 6364136223846793005 + 1442695040888963407;
    return (state >> 33) % n;
  };
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = seeds[next(seeds.size())];
    for (std::uint64_t m = 0, count = 1 + next(3); m < count; ++m)
      text.insert(next(text.size() + 1), tokens[next(tokens.size())]);
    const auto n = canonical_json_length(text);
    if (n == 0)
      continue;
    ++accepted;
    const auto value = text.substr(0, n);
    INFO(value);
    std::string again;
    REQUIRE_NOTHROW(again = round_trip(value));
    CHECK(again == value);
  }
  CHECK(accepted > 100);
}

namespace {

// `d` as replay reads its stored text without a document: its scalar
// fields as the document path reads them, and the same rendered view.
void check_stored_read(const deployment& d) {
  const auto text = stored_text(d);
  INFO(text);
  stored_deployment stored;
  REQUIRE(read_stored_deployment(text, stored));
  const auto from_document = deployment_from_json(parse_json(text));
  // The JSON members are not read (only their text is kept).
  auto read = stored.value;
  read.concurrency_options = from_document.concurrency_options;
  read.job_variables = from_document.job_variables;
  read.parameters = from_document.parameters;
  read.labels = from_document.labels;
  read.parameter_openapi_schema = from_document.parameter_openapi_schema;
  read.pull_steps = from_document.pull_steps;
  read.created_by = from_document.created_by;
  read.updated_by = from_document.updated_by;
  CHECK(read == from_document);
  auto links = limit_links(d);
  links.queue_name = "linked-queue";
  links.pool_name = "pool";
  for (const auto& l : {deployment_links{}, links})
    CHECK(render_deployment(stored, text, l) ==
          render_deployment(from_document, l));
}

} // namespace

TEST_CASE("a stored deployment read without a document renders the view "
          "the document gives",
          "[events][deployment]") {
  auto d = sample();
  check_stored_read(d);
  d.schedules.clear();
  check_stored_read(d);
  d.version = "1.0";
  d.description = "plain";
  d.paused = true;
  d.tags = {"a", "b", "t7"};
  d.concurrency_limit_id =
      *uuid::parse("41111111-2222-4333-8444-555555555555");
  d.concurrency_options = {{"collision_strategy", "ENQUEUE"}};
  d.job_variables = {{"image", "python:3.12"},
                     {"n", -3},
                     {"big", big_integer("-123456789012345678901234567890")},
                     {"quoted", "a \"b\" \\ \n\t"}};
  d.parameters = {{"x", {1, "s", nullptr, true, json::array()}},
                  {"y", json::object()}};
  d.labels = {{"prefect.flow.id", d.flow_id.str()}, {"k", "v"}};
  d.work_queue_name = "q";
  d.work_queue_id = *uuid::parse("11111111-2222-4333-8444-555555555555");
  d.last_polled = timestamp{1'795'000'000'123'456};
  d.parameter_openapi_schema = {{"type", "object"},
                                {"properties", {{"x", {{"type", "array"}}}}}};
  d.path = "/srv";
  d.pull_steps = json::array({{{"prefect.deployments.steps.git_clone",
                                {{"repository", "https://x"}}}}});
  d.entrypoint = "flows.py:main";
  d.storage_document_id = *uuid::parse("21111111-2222-4333-8444-555555555555");
  d.infrastructure_document_id =
      *uuid::parse("31111111-2222-4333-8444-555555555555");
  d.created_by = {{"id", nullptr}, {"type", "USER"}, {"display_value", "me"}};
  d.updated_by = d.created_by;
  d.status = "READY";
  d.enforce_parameter_schema = false;
  check_stored_read(d);
  d.schedules = sample().schedules;
  check_stored_read(d);
}

TEST_CASE("a stored deployment in any other form is left to the document",
          "[events][deployment]") {
  auto refused = [](const deployment& d) {
    stored_deployment stored;
    return !read_stored_deployment(stored_text(d), stored);
  };
  auto d = sample();
  d.schedules.clear();
  // Escaped or non-ASCII scalar strings, floats in a member, non-ASCII text
  // in a member: each is read through the document.
  auto e = d;
  e.name = "tab\there";
  CHECK(refused(e));
  e = d;
  e.description = "d\xc3\xa9j\xc3\xa0";
  CHECK(refused(e));
  e = d;
  e.tags = {"ok", "\"quoted\""};
  CHECK(refused(e));
  e = d;
  e.parameters = {{"f", 0.5}};
  CHECK(refused(e));
  e = d;
  e.labels = {{"k", "\xe2\x9a\xa1"}};
  CHECK(refused(e));
  // Text no binary writes: spaces, another field order, a duplicate key,
  // an extra field, trailing bytes, `-0`.
  const auto text = stored_text(d);
  stored_deployment stored;
  REQUIRE(read_stored_deployment(text, stored));
  auto edited = [&](std::string_view from, std::string_view to) {
    auto t = text;
    const auto at = t.find(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    return t;
  };
  for (const auto& t :
       {edited("\"name\":", "\"name\": "),
        edited("\"parameters\":{}", "\"parameters\":{\"a\":1,\"a\":2}"),
        edited("\"parameters\":{}", "\"parameters\":{\"a\":-0}"),
        edited("\"parameters\":{}", "\"parameters\":{ }"),
        edited("{\"id\"", "{\"extra\":1,\"id\""), text + " ", text + "{}",
        edited("\"paused\":false,", ""),
        edited("\"status\":\"NOT_READY\"", "\"status\":null")}) {
    INFO(t);
    CHECK_FALSE(read_stored_deployment(t, stored));
  }
  // The field order itself: name before created.
  const auto created_at = text.find(",\"created\":");
  const auto name_at = text.find(",\"name\":");
  const auto version_at = text.find(",\"version\":");
  auto swapped = text.substr(0, created_at) +
                 text.substr(name_at, version_at - name_at) +
                 text.substr(created_at, name_at - created_at) +
                 text.substr(version_at);
  CHECK(deployment_from_json(parse_json(swapped)) ==
        deployment_from_json(parse_json(text)));
  CHECK_FALSE(read_stored_deployment(swapped, stored));
}
