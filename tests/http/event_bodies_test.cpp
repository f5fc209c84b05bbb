#include "http/event_bodies.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using events::json;

namespace {

json good_event() {
  return {{"occurred", "2026-08-21T16:45:00.1Z"},
          {"event", "my.event"},
          {"resource", {{"prefect.resource.id", "my.thing"}}},
          {"related", json::array({{{"prefect.resource.id", "x"},
                                    {"prefect.resource.role", "r"}}})},
          {"id", "0192F5E0-0000-7000-8000-000000000001"},
          {"bogus", 1}};
}

events::field_errors errors_of(const json& input) {
  events::validator v(json::array({"body", 0}));
  const auto parsed = http::parse_client_event(v, input);
  CHECK_FALSE(parsed);
  return v.errors();
}

} // namespace

TEST_CASE("a client event: unknown keys ignored, ids in any case",
          "[http][events]") {
  events::validator v;
  const auto e = http::parse_client_event(v, good_event());
  REQUIRE(e);
  CHECK(v.ok());
  CHECK(e->id.str() == "0192f5e0-0000-7000-8000-000000000001");
  CHECK(e->payload == json::object());
  CHECK_FALSE(e->follows);
  CHECK(events::format_timestamp(e->occurred) == "2026-08-21T16:45:00.100000Z");
}

TEST_CASE("client events: the Resource rules and the limits of the spec",
          "[http][events]") {
  auto no_id = good_event();
  no_id["resource"] = {{"prefect.resource.name", "x"}};
  auto errors = errors_of(no_id);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].msg ==
        "Value error, Resources must include the prefect.resource.id label");
  CHECK(errors[0].loc == json{"body", 0, "resource"});

  auto empty_id = good_event();
  empty_id["resource"] = {{"prefect.resource.id", ""}};
  CHECK(errors_of(empty_id)[0].msg ==
        "Value error, The prefect.resource.id label must be non-empty");

  auto no_role = good_event();
  no_role["related"] = json::array({{{"prefect.resource.id", "x"}}});
  errors = errors_of(no_role);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].loc == json{"body", 0, "related", 0});
  CHECK(errors[0].msg == "Value error, Related Resources must include the "
                         "prefect.resource.role label");

  auto not_string = good_event();
  not_string["resource"]["prefect.resource.name"] = 3;
  errors = errors_of(not_string);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].type == "string_type");
  CHECK(errors[0].loc == json{"body", 0, "resource", "prefect.resource.name"});

  auto long_name = good_event();
  long_name["event"] = std::string(1025, 'e');
  CHECK(errors_of(long_name)[0].msg ==
        "Value error, Event name must be at most 1024 characters");

  auto many = good_event();
  many["related"] = json::array();
  for (int i = 0; i < 101; ++i)
    many["related"].push_back(
        {{"prefect.resource.id", "x"}, {"prefect.resource.role", "r"}});
  CHECK(errors_of(many)[0].msg ==
        "Value error, The maximum number of related resources is 100");

  auto labels = good_event();
  for (int i = 0; i < 500; ++i)
    labels["resource"]["l" + std::to_string(i)] = "v";
  CHECK(errors_of(labels)[0].msg ==
        "Value error, The maximum number of labels per resource is 500");

  auto missing = good_event();
  missing.erase("id");
  CHECK(errors_of(missing)[0].type == "missing");
}

TEST_CASE("resources_in_roles takes pairs of strings only", "[http][events]") {
  events::validator v(json::array({"body", "filter"}));
  const json filter = {
      {"related", {{"resources_in_roles", {{"a", "b"}, {"a"}, {"a", 1}}}}}};
  CHECK_FALSE(http::check_resource_pairs(v, filter));
  REQUIRE(v.errors().size() == 2);
  CHECK(v.errors()[0].type == "too_short");
  CHECK(v.errors()[0].loc == json{"body", "filter", "related",
                                  "EventRelatedFilter", "resources_in_roles",
                                  1});
  CHECK(v.errors()[1].type == "string_type");
}

TEST_CASE("page tokens are URL-safe and checked like input", "[http][events]") {
  http::page_token t;
  t.filter = {
      {"occurred",
       {{"since", "2026-01-01T00:00:00Z"}, {"until", "2026-02-01T00:00:00Z"}}},
      {"event", {{"prefix", {"a+b/c?"}}}},
      {"order", "DESC"}};
  t.count = 120;
  t.page_size = 50;
  t.offset = 50;
  t.head = std::string(15, '\0') + "\x07";
  const auto text = http::encode_page_token(t);
  CHECK(text.find_first_of("+/=") == std::string::npos);
  const auto back = http::decode_page_token(text);
  REQUIRE(back);
  CHECK(back->count == 120);
  CHECK(back->offset == 50);
  CHECK(back->head == t.head);
  CHECK(back->filter.at("event").at("prefix") == json{"a+b/c?"});

  CHECK_FALSE(http::decode_page_token(""));
  CHECK_FALSE(http::decode_page_token("!!!"));
  CHECK_FALSE(http::decode_page_token("e30")); // {}
  // A valid encoding of a filter that does not validate.
  http::page_token bad = t;
  bad.filter["bogus"] = 1;
  CHECK_FALSE(http::decode_page_token(http::encode_page_token(bad)));
  bad = t;
  bad.page_size = 51;
  CHECK_FALSE(http::decode_page_token(http::encode_page_token(bad)));
}
