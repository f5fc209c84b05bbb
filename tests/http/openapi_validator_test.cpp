// Unit tests for schema-driven body validation. The expected errors are the
// items pydantic 2 / FastAPI put in `exception_detail` for the same bodies on
// the reference server (deployments-api.md §1.3, §6-§11).
#include "events/json.hpp"
#include "events/validation.hpp"
#include "http/openapi_validator.hpp"

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>
#include <string_view>

namespace {

using deployd::events::json;
using deployd::events::validator;
using deployd::http::openapi_components;
using deployd::http::validate_against;
using deployd::http::validate_embedded_body;
using deployd::http::validate_schema;

constexpr std::string_view deployments_filter =
    "Body_read_deployments_deployments_filter_post";
constexpr std::string_view deployments_paginate =
    "Body_paginate_deployments_deployments_paginate_post";
constexpr std::string_view deployments_bulk_delete =
    "Body_bulk_delete_deployments_deployments_bulk_delete_post";

// -- helpers -----------------------------------------------------------------

/// The errors as the response body lists them: `ctx` only when present.
json rendered(validator& v) {
  json out = json::array();
  for (const auto& e : v.errors()) {
    json item = {
        {"type", e.type}, {"loc", e.loc}, {"msg", e.msg}, {"input", e.input}};
    if (!e.ctx.is_null())
      item["ctx"] = e.ctx;
    out.push_back(std::move(item));
  }
  return out;
}

/// Errors of `body` against the embedded body schema `name`.
json body_errors(std::string_view name, std::string_view body) {
  validator v;
  const auto out = validate_embedded_body(v, name, json::parse(body));
  CHECK(out.has_value() == v.ok());
  return rendered(v);
}

/// Errors of `body` against the single-object schema `name`.
json model_errors(std::string_view name, std::string_view body) {
  validator v;
  const auto out = validate_against(v, name, json::parse(body));
  CHECK(out.has_value() == v.ok());
  return rendered(v);
}

void collect_keywords(const json& schema, std::set<std::string>& out) {
  if (!schema.is_object())
    return;
  for (const auto& [key, value] : schema.items()) {
    out.insert(key);
    if (key == "properties") {
      for (const auto& [name, field] : value.items())
        collect_keywords(field, out);
    } else if (key == "anyOf") {
      for (const auto& member : value)
        collect_keywords(member, out);
    } else if (key == "items" || key == "additionalProperties") {
      collect_keywords(value, out);
    }
  }
}

} // namespace

// -- the embedded document ----------------------------------------------------

TEST_CASE("the embedded schemas hold every body schema the routes need",
          "[openapi]") {
  const auto& components = openapi_components();
  for (const auto* name :
       {"Body_read_deployments_deployments_filter_post",
        "Body_count_deployments_deployments_count_post",
        "Body_paginate_deployments_deployments_paginate_post",
        "Body_bulk_delete_deployments_deployments_bulk_delete_post",
        "Body_read_flows_flows_filter_post",
        "Body_count_flows_flows_count_post",
        "Body_paginate_flows_flows_paginate_post",
        "Body_bulk_delete_flows_flows_bulk_delete_post",
        "Body_read_work_pools_work_pools_filter_post",
        "Body_read_work_queues_work_pools__work_pool_name__queues_filter_post",
        "Body_read_work_queues_work_queues_filter_post",
        "FlowUpdate",
        "WorkPoolCreate",
        "WorkPoolUpdate",
        "WorkQueueCreate",
        "WorkQueueUpdate",
        "ConcurrencyLimitV2Create",
        "ConcurrencyLimitV2Update",
        "BlockTypeCreate",
        "BlockSchemaCreate",
        "BlockDocumentCreate"}) {
    INFO(name);
    CHECK(components.contains(name));
  }
}

TEST_CASE("the embedded schemas use only keywords the validator understands",
          "[openapi]") {
  const std::set<std::string> understood = {"$ref",
                                            "anyOf",
                                            "enum",
                                            "type",
                                            "format",
                                            "pattern",
                                            "minLength",
                                            "maxLength",
                                            "minimum",
                                            "maximum",
                                            "exclusiveMinimum",
                                            "exclusiveMaximum",
                                            "items",
                                            "properties",
                                            "required",
                                            "additionalProperties",
                                            "title",
                                            "description",
                                            "default",
                                            "examples",
                                            "deprecated",
                                            // `Literal["x"]`: literal_error
                                            "const",
                                            // pydantic `set` fields (e.g.
                                            // pause_keys): duplicates are
                                            // accepted, so nothing to check
                                            "uniqueItems"};
  std::set<std::string> used;
  const auto& components = openapi_components();
  for (const auto& [name, schema] : components.items()) {
    // The tuple of `resources_in_roles` is the one schema the validator
    // does not walk: http::check_resource_pairs checks it
    // (event_bodies_test).
    if (name == "EventRelatedFilter") {
      auto copy = schema;
      const auto& pairs = copy["properties"]["resources_in_roles"];
      CHECK(pairs.at("anyOf")[0].at("items").contains("prefixItems"));
      copy["properties"].erase("resources_in_roles");
      collect_keywords(copy, used);
      continue;
    }
    collect_keywords(schema, used);
  }
  for (const auto& keyword : used) {
    INFO(keyword);
    CHECK(understood.contains(keyword));
  }
  // Every $ref resolves within the embedded subset.
  const std::regex ref(R"re("\$ref":"#/components/schemas/([^"]+)")re");
  const auto text = components.dump();
  for (std::sregex_iterator it(text.begin(), text.end(), ref), end; it != end;
       ++it) {
    INFO((*it)[1].str());
    CHECK(components.contains((*it)[1].str()));
  }
}

// -- filter bodies
// -------------------------------------------------------------

TEST_CASE("the python client's expanded deployment filter validates",
          "[openapi]") {
  const auto body = json::parse(
      R"({"deployments":{"operator":"and_","id":null,"name":{"any_":["nightly"],"like_":null},"tags":null,"work_queue_name":null,"concurrency_limit":null},"limit":null,"offset":0,"sort":null})");
  validator v;
  const auto out = validate_embedded_body(v, deployments_filter, body);
  REQUIRE(v.ok());
  REQUIRE(out.has_value());
  // Null parameters are left out (the caller applies the defaults); nulls
  // inside a filter object are kept.
  CHECK(
      *out ==
      json::parse(
          R"({"deployments":{"operator":"and_","id":null,"name":{"any_":["nightly"],"like_":null},"tags":null,"work_queue_name":null,"concurrency_limit":null},"offset":0})"));
}

TEST_CASE("an absent or null filter body is an empty one", "[openapi]") {
  validator v;
  CHECK(validate_embedded_body(v, deployments_filter, nullptr) ==
        json::object());
  CHECK(validate_embedded_body(v, deployments_filter, json::object()) ==
        json::object());
  CHECK(v.ok());
}

TEST_CASE("unknown top-level filter keys are ignored", "[openapi]") {
  validator v;
  const auto out = validate_embedded_body(
      v, deployments_filter, json::parse(R"({"bogus":1,"limit":"3"})"));
  REQUIRE(out.has_value());
  CHECK(*out == json::parse(R"({"limit":3})"));
}

TEST_CASE("an unknown key inside a filter object is extra_forbidden",
          "[openapi]") {
  CHECK(
      body_errors(deployments_filter,
                  R"({"deployments":{"name":{"bogus":1}}})") ==
      json::parse(
          R"([{"type":"extra_forbidden","loc":["body","deployments","name","bogus"],"msg":"Extra inputs are not permitted","input":1}])"));
}

TEST_CASE("a negative offset is greater_than_equal", "[openapi]") {
  CHECK(
      body_errors(deployments_filter, R"({"offset":-1})") ==
      json::parse(
          R"([{"type":"greater_than_equal","loc":["body","offset"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}}])"));
}

TEST_CASE("an unknown sort is an enum error listing the members", "[openapi]") {
  CHECK(
      body_errors(deployments_filter, R"({"sort":"NOPE"})") ==
      json::parse(
          R"([{"type":"enum","loc":["body","sort"],"msg":"Input should be 'CREATED_DESC', 'UPDATED_DESC', 'NAME_ASC' or 'NAME_DESC'","input":"NOPE","ctx":{"expected":"'CREATED_DESC', 'UPDATED_DESC', 'NAME_ASC' or 'NAME_DESC'"}}])"));
  SECTION("also for a value that is not a string") {
    CHECK(body_errors(deployments_filter, R"({"sort":5})")[0]["type"] ==
          "enum");
  }
  SECTION("and for a nested operator") {
    CHECK(
        body_errors(deployments_filter,
                    R"({"deployments":{"operator":"xor_"}})") ==
        json::parse(
            R"([{"type":"enum","loc":["body","deployments","operator"],"msg":"Input should be 'and_' or 'or_'","input":"xor_","ctx":{"expected":"'and_' or 'or_'"}}])"));
  }
}

TEST_CASE("a limit that is not a number is int_parsing", "[openapi]") {
  CHECK(
      body_errors(deployments_filter, R"({"limit":"x"})") ==
      json::parse(
          R"([{"type":"int_parsing","loc":["body","limit"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}])"));
}

TEST_CASE("limit errors come before the endpoint's own parameters",
          "[openapi]") {
  const auto errors =
      body_errors(deployments_filter, R"({"offset":-1,"sort":1,"limit":"x"})");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0]["loc"] == json::parse(R"(["body","limit"])"));
  CHECK(errors[1]["loc"] == json::parse(R"(["body","offset"])"));
  CHECK(errors[2]["loc"] == json::parse(R"(["body","sort"])"));
}

TEST_CASE("a malformed id in a filter is uuid_parsing at its index",
          "[openapi]") {
  CHECK(
      body_errors(deployments_filter,
                  R"({"deployments":{"id":{"any_":["nope"]}}})") ==
      json::parse(
          R"([{"type":"uuid_parsing","loc":["body","deployments","id","any_",0],"msg":"Input should be a valid UUID, invalid character: found `n` at 1","input":"nope","ctx":{"error":"invalid character: found `n` at 1"}}])"));
}

TEST_CASE("a filter that is not an object is model_attributes_type",
          "[openapi]") {
  CHECK(
      body_errors(deployments_filter, R"({"deployments":[]})") ==
      json::parse(
          R"([{"type":"model_attributes_type","loc":["body","deployments"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[]}])"));
}

TEST_CASE("a filter body that is not an object misses every parameter",
          "[openapi]") {
  const auto errors =
      body_errors("Body_bulk_delete_flows_flows_bulk_delete_post", "[]");
  CHECK(
      errors ==
      json::parse(
          R"([{"type":"missing","loc":["body","flows"],"msg":"Field required","input":null},{"type":"missing","loc":["body","limit"],"msg":"Field required","input":null}])"));
}

TEST_CASE("page zero is greater_than_equal 1", "[openapi]") {
  CHECK(
      body_errors(deployments_paginate, R"({"page":0})") ==
      json::parse(
          R"([{"type":"greater_than_equal","loc":["body","page"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}])"));
}

TEST_CASE("a bulk delete limit above 50 is less_than_equal", "[openapi]") {
  CHECK(
      body_errors(deployments_bulk_delete, R"({"limit":51})") ==
      json::parse(
          R"([{"type":"less_than_equal","loc":["body","limit"],"msg":"Input should be less than or equal to 50","input":51,"ctx":{"le":50}}])"));
  CHECK(body_errors(deployments_bulk_delete, R"({"limit":0})")[0]["ctx"] ==
        json::parse(R"({"ge":1})"));
}

TEST_CASE("nested filters validate state types, times and booleans",
          "[openapi]") {
  const auto errors = body_errors(
      deployments_filter,
      R"({"flow_runs":{"state":{"type":{"any_":["FAILED","nope"]}},"start_time":{"before_":"soon","is_null_":"maybe"}}})");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0]["loc"] ==
        json::parse(R"(["body","flow_runs","state","type","any_",1])"));
  CHECK(errors[0]["type"] == "enum");
  CHECK(errors[0]["msg"] ==
        "Input should be 'SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', "
        "'FAILED', 'CANCELLED', 'CRASHED', 'PAUSED' or 'CANCELLING'");
  CHECK(errors[1]["loc"] ==
        json::parse(R"(["body","flow_runs","start_time","before_"])"));
  CHECK(errors[1]["type"] == "datetime_from_date_parsing");
  CHECK(errors[2]["loc"] ==
        json::parse(R"(["body","flow_runs","start_time","is_null_"])"));
  CHECK(errors[2]["type"] == "bool_parsing");
}

TEST_CASE("coerced filter values come back converted", "[openapi]") {
  validator v;
  const auto out = validate_embedded_body(
      v, deployments_filter,
      json::parse(
          R"({"offset":"2","flow_runs":{"start_time":{"after_":"2026-01-02 03:04:05+01:00","is_null_":"yes"}}})"));
  REQUIRE(out.has_value());
  CHECK(
      *out ==
      json::parse(
          R"({"offset":2,"flow_runs":{"start_time":{"after_":"2026-01-02T02:04:05Z","is_null_":true}}})"));
}

// -- single-object bodies
// ----------------------------------------------------------

TEST_CASE("FlowUpdate takes a list of tags and nothing else", "[openapi]") {
  CHECK(
      model_errors("FlowUpdate", R"({"tags":"x"})") ==
      json::parse(
          R"([{"type":"list_type","loc":["body","tags"],"msg":"Input should be a valid list","input":"x"}])"));
  CHECK(
      model_errors("FlowUpdate", R"({"name":"x"})") ==
      json::parse(
          R"([{"type":"extra_forbidden","loc":["body","name"],"msg":"Extra inputs are not permitted","input":"x"}])"));
  CHECK(
      model_errors("FlowUpdate", R"({"tags":[1]})") ==
      json::parse(
          R"([{"type":"string_type","loc":["body","tags",0],"msg":"Input should be a valid string","input":1}])"));
  validator v;
  CHECK(validate_against(v, "FlowUpdate", json::parse(R"({"tags":["a"]})")) ==
        json::parse(R"({"tags":["a"]})"));
}

TEST_CASE("field errors precede extra keys and missing fields quote the body",
          "[openapi]") {
  CHECK(
      model_errors("WorkPoolCreate",
                   R"({"zzz":1,"is_paused":"x","concurrency_limit":-1})") ==
      json::parse(
          R"([{"type":"missing","loc":["body","name"],"msg":"Field required","input":{"zzz":1,"is_paused":"x","concurrency_limit":-1}},
              {"type":"bool_parsing","loc":["body","is_paused"],"msg":"Input should be a valid boolean, unable to interpret input","input":"x"},
              {"type":"greater_than_equal","loc":["body","concurrency_limit"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}},
              {"type":"extra_forbidden","loc":["body","zzz"],"msg":"Extra inputs are not permitted","input":1}])"));
}

TEST_CASE("names with banned characters fail the pattern", "[openapi]") {
  CHECK(
      model_errors("WorkPoolCreate", R"({"name":"a/b"})") ==
      json::parse(
          R"([{"type":"string_pattern_mismatch","loc":["body","name"],"msg":"String should match pattern '^[^/%&><]+$'","input":"a/b","ctx":{"pattern":"^[^/%&><]+$"}}])"));
  CHECK(model_errors("WorkPoolCreate", R"({"name":""})")[0]["type"] ==
        "string_pattern_mismatch");
  CHECK(model_errors("WorkPoolCreate", R"({"name":"ok name ✓"})").empty());
  SECTION("even very long ones") {
    validator v;
    const json name = std::string(200000, 'a');
    CHECK(validate_against(v, "WorkPoolCreate", json{{"name", name}}));
  }
}

TEST_CASE("exclusive minimums are greater_than", "[openapi]") {
  CHECK(
      model_errors("WorkQueueCreate", R"({"name":"q","priority":0})") ==
      json::parse(
          R"([{"type":"greater_than","loc":["body","priority"],"msg":"Input should be greater than 0","input":0,"ctx":{"gt":0}}])"));
}

TEST_CASE("float bounds keep a float ctx and an integral message",
          "[openapi]") {
  CHECK(
      model_errors("ConcurrencyLimitV2Create",
                   R"({"name":"n","limit":1,"slot_decay_per_second":-0.5})")
          .dump() ==
      R"([{"type":"greater_than_equal","loc":["body","slot_decay_per_second"],"msg":"Input should be greater than or equal to 0","input":-0.5,"ctx":{"ge":0.0}}])");
  validator v;
  CHECK(
      validate_against(
          v, "ConcurrencyLimitV2Create",
          json::parse(R"({"name":"n","limit":"3","slot_decay_per_second":2})"))
          ->dump() == R"({"name":"n","limit":3,"slot_decay_per_second":2.0})");
}

TEST_CASE("a body that is not an object cannot be a model", "[openapi]") {
  CHECK(
      model_errors("BlockTypeCreate", R"("x")") ==
      json::parse(
          R"([{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"x"}])"));
}

TEST_CASE("free-form dict fields take any object only", "[openapi]") {
  CHECK(
      model_errors(
          "BlockDocumentCreate",
          R"({"data":[],"block_schema_id":"6c1c3c3e-0000-4000-8000-000000000001","block_type_id":"6c1c3c3e-0000-4000-8000-000000000002"})") ==
      json::parse(
          R"([{"type":"dict_type","loc":["body","data"],"msg":"Input should be a valid dictionary","input":[]}])"));
  validator v;
  const auto out = validate_against(
      v, "WorkPoolUpdate",
      json::parse(
          R"({"base_job_template":{"b":[1],"a":null},"is_paused":null})"));
  REQUIRE(out.has_value());
  CHECK(out->dump() ==
        R"({"base_job_template":{"b":[1],"a":null},"is_paused":null})");
}

TEST_CASE("a model that ignores extras drops them from the result",
          "[openapi]") {
  validator v;
  const auto out = validate_against(
      v, "WorkQueueCreate",
      json::parse(R"({"filter":{"tags":["t"],"other":1},"name":"q"})"));
  REQUIRE(out.has_value());
  CHECK(out->dump() == R"({"filter":{"tags":["t"]},"name":"q"})");
}

// -- unions
// ------------------------------------------------------------------------

TEST_CASE("a union of several types tags each member's errors", "[openapi]") {
  const auto schema = json::parse(
      R"({"anyOf":[{"type":"integer"},{"$ref":"#/components/schemas/Operator"},{"type":"null"}]})");
  validator v;
  CHECK_FALSE(validate_schema(v, schema, json::parse("[1]")));
  CHECK(
      rendered(v) ==
      json::parse(
          R"([{"type":"int_type","loc":["body","int"],"msg":"Input should be a valid integer","input":[1]},
              {"type":"enum","loc":["body","Operator"],"msg":"Input should be 'and_' or 'or_'","input":[1],"ctx":{"expected":"'and_' or 'or_'"}}])"));
  SECTION("and prefers the member that takes the input as it is") {
    validator w;
    const auto string_first =
        json::parse(R"({"anyOf":[{"type":"integer"},{"type":"string"}]})");
    CHECK(validate_schema(w, string_first, "3") == json("3"));
    CHECK(validate_schema(w, string_first, 3) == json(3));
    CHECK(validate_schema(w, schema, nullptr) == json(nullptr));
    CHECK(w.ok());
  }
}

TEST_CASE("a Literal reports literal_error and model checks run inside "
          "union members",
          "[openapi]") {
  validator v;
  int before_calls = 0;
  deployd::http::model_checks checks;
  checks.before = [&](validator&, std::string_view title,
                      json& input) {
    if (title == "EventTrigger")
      ++before_calls;
    (void)input;
  };
  checks.after = [](validator& val, std::string_view title,
                    json& value) {
    if (title == "DoNothing")
      val.value_error("no", value);
  };
  const auto out = validate_against(
      v, "AutomationCreate",
      json{{"name", "n"},
                   {"trigger", {{"type", "compound"}}},
                   {"actions", {{{"type", "do-nothing"}}}}},
      checks);
  CHECK_FALSE(out);
  CHECK(before_calls == 1);
  bool literal = false;
  bool hooked = false;
  for (const auto& e : v.errors()) {
    if (e.type == "literal_error" &&
        e.loc == json{"body", "trigger", "EventTrigger", "type"}) {
      literal = true;
      CHECK(e.msg == "Input should be 'event'");
      CHECK(e.ctx == json{{"expected", "'event'"}});
    }
    if (e.type == "value_error" &&
        e.loc == json{"body", "actions", 0, "DoNothing"})
      hooked = true;
  }
  CHECK(literal);
  CHECK(hooked);
  // Without checks, the same schemas accept a valid body.
  validator plain;
  CHECK(validate_against(
      plain, "AutomationCreate",
      json{{"name", "n"},
                   {"trigger", {{"posture", "Reactive"}}},
                   {"actions", {{{"type", "do-nothing"}}}}}));
}
