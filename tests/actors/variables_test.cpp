// Workspace variables through the real writer on a real RocksDB log: name
// uniqueness (also within one group commit), PATCH semantics, deletion, the
// fold and its replay, and `workspace_variable` hydration on PATCH
// /deployments/{id} reading variables through the writer's batch.
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "actors/replay.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"
#include "tests/support/run_commands.hpp"
#include "tests/support/temp_event_log.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using namespace deployd::actors;
using deployd::testing::run_commands;
using deployd::testing::temp_event_log;
using events::json;
using outcome = command_result::outcome;

namespace {

struct fixture {
  temp_event_log t;
  events::stepping_clock clock{{1'795'000'000'000'000}, 1000};
  events::random_ids ids{42};

  std::vector<command_result> run(std::vector<command> commands) {
    return run_commands(t.log(), std::move(commands), clock, ids);
  }
  command_result run_one(command c) {
    std::vector<command> list;
    list.push_back(std::move(c));
    return run(std::move(list)).front();
  }
  std::optional<json> variable(const std::string& name) {
    storage::log_reader r(t.log(), storage::read_tier::any);
    auto doc =
        find_resource(r, resource_name_key(events::resource_kind::variable,
                                           {{"name", name}}));
    REQUIRE(doc);
    return *doc;
  }
};

events::create_variable create(const std::string& name, json value) {
  return {json{{"name", name}, {"value", std::move(value)}}};
}

} // namespace

TEST_CASE("a variable is created once per name, even within one commit",
          "[actors][variables]") {
  fixture f;
  std::vector<command> batch;
  batch.push_back(create("v", 1));
  batch.push_back(create("v", 2));
  const auto results = f.run(std::move(batch));
  REQUIRE(results[0].result == outcome::ok);
  CHECK(results[0].created);
  const auto doc = json::parse(results[0].body);
  CHECK(doc.at("name") == "v");
  CHECK(doc.at("value") == 1);
  CHECK(doc.at("tags") == json::array());
  CHECK(doc.at("created") == doc.at("updated"));
  REQUIRE(results[1].result == outcome::rejected);
  CHECK(results[1].reason ==
        events::rejection{events::rejection_code::conflict,
                          "A variable with the name 'v' already exists."});
  CHECK(f.variable("v")->at("value") == 1);
}

TEST_CASE("PATCH writes only the keys sent, null name or tags and a taken "
          "name are integrity conflicts",
          "[actors][variables]") {
  fixture f;
  REQUIRE(f.run_one(create("a", "x")).result == outcome::ok);
  REQUIRE(f.run_one(create("b", "y")).result == outcome::ok);
  const auto before = *f.variable("a");
  auto r = f.run_one(
      events::update_variable{std::nullopt, "a", json{{"value", nullptr}}});
  REQUIRE(r.result == outcome::ok);
  auto after = *f.variable("a");
  CHECK(after.at("value").is_null());
  CHECK(after.at("tags") == json::array());
  CHECK(after.at("updated") != before.at("updated"));
  CHECK(after.at("created") == before.at("created"));
  for (const auto& body : {json{{"tags", nullptr}}, json{{"name", nullptr}},
                           json{{"name", "b"}}}) {
    INFO(body.dump());
    r = f.run_one(events::update_variable{std::nullopt, "a", body});
    CHECK(r.result == outcome::rejected);
    CHECK(r.reason.code == events::rejection_code::integrity_conflict);
  }
  // A rename frees the old name and takes the new one.
  r = f.run_one(events::update_variable{events::uuid_field(after, "id"),
                                        std::nullopt, json{{"name", "c"}}});
  REQUIRE(r.result == outcome::ok);
  CHECK_FALSE(f.variable("a"));
  CHECK(f.variable("c")->at("id") == after.at("id"));
  r = f.run_one(events::update_variable{std::nullopt, "a", json::object()});
  CHECK(r.reason == events::rejection{events::rejection_code::not_found,
                                      "Variable not found."});
  r = f.run_one(events::delete_variable{std::nullopt, "c"});
  CHECK(r.result == outcome::ok);
  CHECK_FALSE(f.variable("c"));
  r = f.run_one(
      events::delete_variable{events::uuid_field(after, "id"), std::nullopt});
  CHECK(r.result == outcome::rejected);

  // The log folds into the same rows again.
  const auto scratch = f.t.dir() / "scratch";
  auto report = verify(f.t.log(), scratch.string());
  REQUIRE(report);
  CHECK(report->differences == 0);
}

TEST_CASE("PATCH /deployments hydrates workspace variables read through the "
          "writer's batch",
          "[actors][variables][hydration]") {
  fixture f;
  auto flow = f.run_one(events::create_flow{"f", {}, json::object()});
  REQUIRE(flow.result == outcome::ok);
  events::create_deployment d;
  d.name = std::string(1, 'd');
  d.flow_id = events::uuid_field(json::parse(flow.body), "id");
  auto created = f.run_one(d);
  REQUIRE(created.result == outcome::ok);
  const auto id = events::uuid_field(json::parse(created.body), "id");

  const json param = {{"x",
                       {{"__prefect_kind", "workspace_variable"},
                        {"variable_name", "threshold"}}}};
  events::update_deployment patch;
  patch.id = id;
  patch.parameters.present = true;
  patch.parameters.value = param;
  // The variable is created in the same group commit, just before.
  std::vector<command> batch;
  batch.push_back(create("threshold", json{{"n", 12}}));
  batch.push_back(patch);
  auto results = f.run(std::move(batch));
  REQUIRE(results[1].result == outcome::ok);
  storage::log_reader r(f.t.log(), storage::read_tier::any);
  auto view = read_model(f.t.log()).deployment(id, storage::read_tier::any);
  REQUIRE(view);
  REQUIRE(*view);
  CHECK(json::parse(**view).at("parameters") == json{{"x", {{"n", 12}}}});

  // An unknown variable: 400, nothing written.
  patch.parameters.value = json{
      {"y",
       {{"__prefect_kind", "workspace_variable"}, {"variable_name", "nope"}}}};
  const auto position = f.t.log().last_position();
  auto missing = f.run_one(patch);
  CHECK(missing.result == outcome::rejected);
  CHECK(missing.reason ==
        events::rejection{events::rejection_code::bad_request,
                          "Error hydrating deployment parameters: Variable "
                          "'nope' not found in workspace."});
  CHECK(f.t.log().last_position() == position);
}
