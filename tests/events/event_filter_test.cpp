#include "events/event_filter.hpp"
#include "events/python/json_text.hpp"

#include <catch2/catch.hpp>

using namespace deployd::events;

namespace {

prefect_event sample() {
  prefect_event e;
  e.occurred = *parse_timestamp("2026-08-21T16:45:00Z");
  e.event = "prefect.flow-run.Running";
  e.resource = {{"prefect.resource.id", "prefect.flow-run.1"},
                {"prefect.resource.name", "crimson-lemur"}};
  e.related = json::array({{{"prefect.resource.id", "prefect.flow.9"},
                            {"prefect.resource.role", "flow"},
                            {"prefect.resource.name", "etl"}}});
  e.payload = {{"intended", {{"from", "PENDING"}, {"to", "RUNNING"}}}};
  e.id = *uuid::parse("01920f5e-6b2b-7111-9222-333344445555");
  return e;
}

bool match(const json& filter) {
  json f = filter;
  f["occurred"] = {{"since", "2026-01-01T00:00:00Z"},
                   {"until", "2027-01-01T00:00:00Z"}};
  return matches(parse_event_filter(f, {0}), sample());
}

} // namespace

TEST_CASE("label patterns: * ? and negation, case-sensitive",
          "[events][filter]") {
  CHECK(label_pattern_matches("prefect.flow-run.*", "prefect.flow-run.1"));
  CHECK(label_pattern_matches("etl-?", "etl-a"));
  CHECK_FALSE(label_pattern_matches("etl-?", "etl-ab"));
  CHECK(label_pattern_matches("*", ""));
  CHECK(label_pattern_matches("!etl-test", "etl-prod"));
  CHECK_FALSE(label_pattern_matches("!etl-*", "etl-prod"));
  CHECK_FALSE(label_pattern_matches("ETL", "etl"));
  CHECK(label_pattern_matches("a*b*c", "aXXbYYc"));
  CHECK_FALSE(label_pattern_matches("a*b*c", "aXXbYY"));
}

TEST_CASE("a missing label never matches, not even a negated pattern",
          "[events][filter]") {
  const label_patterns spec{{"prefect.absent", {"!x"}}};
  CHECK_FALSE(labels_match(spec, sample().resource));
  CHECK_FALSE(labels_match({{"prefect.resource.name", {}}}, sample().resource));
}

TEST_CASE("the default window is the start of today minus 180 days until now",
          "[events][filter]") {
  const auto now = *parse_timestamp("2026-12-06T14:47:03.5Z");
  const auto f = parse_event_filter(nullptr, now);
  CHECK(format_timestamp(f.since) == "2026-06-09T00:00:00Z");
  CHECK(f.until == now);
  CHECK_FALSE(f.ascending);
  const auto explicit_json = event_filter_json(json::object(), f);
  CHECK(explicit_json.at("occurred").at("since") == "2026-06-09T00:00:00Z");
  CHECK(explicit_json.at("order") == "DESC");
}

TEST_CASE("each criterion of an EventFilter", "[events][filter]") {
  CHECK(match(json::object()));
  CHECK(match({{"event", {{"prefix", {"prefect.flow-run."}}}}}));
  CHECK_FALSE(match({{"event", {{"exclude_prefix", {"prefect.flow"}}}}}));
  CHECK(match({{"event", {{"name", json::array()}}}})); // empty: ignored
  CHECK_FALSE(
      match({{"event", {{"exclude_name", {"prefect.flow-run.Running"}}}}}));
  CHECK(match({{"resource", {{"id", {"prefect.flow-run.1"}}}}}));
  CHECK_FALSE(match({{"resource", {{"id", {"prefect.flow-run"}}}}}));
  CHECK(match({{"resource", {{"id_prefix", {"prefect.flow-run"}}}}}));
  CHECK(match({{"related", {{"role", {"flow"}}}}}));
  CHECK_FALSE(match({{"related", {{"id", {"prefect.flow-run.1"}}}}}));
  CHECK(match({{"related", json::object()}}));
  CHECK(match({{"related",
                {{"resources_in_roles",
                  json::array({json::array({"prefect.flow.9", "flow"})})}}}}));
  CHECK_FALSE(match(
      {{"related",
        {{"resources_in_roles",
          json::array({json::array({"prefect.flow.9", "deployment"})})}}}}));
  CHECK(match({{"any_resource", {{"id", {"prefect.flow-run.1"}}}}}));
  CHECK(match(
      {{"any_resource", {{"labels", {{"prefect.resource.role", "flow"}}}}}}));
  CHECK_FALSE(match({{"any_resource", json::array({{{"id", {"prefect.flow.9"}}},
                                                   {{"id", {"nope"}}}})}}));
  CHECK(match({{"id", {{"id", {"01920f5e-6b2b-7111-9222-333344445555"}}}}}));
  CHECK_FALSE(
      match({{"id", {{"id", {"01920f5e-6b2b-7111-9222-333344445556"}}}}}));
  CHECK(match({{"text", {{"query", "crimson"}}}}));
  CHECK(match({{"text", {{"query", "CRIMSON -nothing"}}}}));
  CHECK_FALSE(match({{"text", {{"query", "crimson -etl"}}}}));
  CHECK_FALSE(match({{"text", {{"query", "+pending +absent"}}}}));
  CHECK(match({{"text", {{"query", "\"flow-run.Running\""}}}}));
  CHECK(match({{"text", {{"query", "   "}}}}));
}

TEST_CASE("the window is inclusive at both ends and since > until matches "
          "nothing",
          "[events][filter]") {
  auto f = parse_event_filter({{"occurred",
                                {{"since", "2026-08-21T16:45:00Z"},
                                 {"until", "2026-08-21T16:45:00Z"}}}},
                              {0});
  CHECK(matches(f, sample()));
  f.since.micros += 1;
  CHECK_FALSE(matches(f, sample()));
}

TEST_CASE("announced event ids are UUIDv7 of the record and stable",
          "[events][filter]") {
  const auto command = *uuid::parse("11111111-2222-4333-8444-555555555555");
  const auto at = *parse_timestamp("2026-08-21T16:45:00.123Z");
  const auto a = announced_event_id(command, {7}, 0, at);
  CHECK(a == announced_event_id(command, {7}, 0, at));
  CHECK(a != announced_event_id(command, {7}, 1, at));
  CHECK(a != announced_event_id(command, {8}, 0, at));
  const auto text = a.str();
  CHECK(text[14] == '7');
  CHECK(std::string("89ab").find(text[19]) != std::string::npos);
  // The first 48 bits are the time in ms.
  CHECK(text.substr(0, 8) + text.substr(9, 4) == "01a02536235b");
  CHECK(render_event(prefect_event_from_json(to_json(sample()))) ==
        render_event(sample()));
}
