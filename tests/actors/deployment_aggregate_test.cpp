#include "actors/deployment_aggregate.hpp"
#include "actors/flow_aggregate.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using namespace deployd::actors;
using events::json;

namespace {

struct fixture {
  events::random_ids ids{7};
  events::timestamp now{1'795'000'000'000'000};
  decision_env env{now, ids};
  events::flow flow;

  fixture() {
    flow.id = *events::uuid::parse("3f9c0b52-1d0e-4a7c-9a53-1c2f5e0b7d11");
    flow.name = "etl";
    flow.labels = {{"team", "data"}};
  }

  events::create_deployment command(const std::string& name = "nightly") {
    events::create_deployment c;
    c.name = name;
    c.flow_id = flow.id;
    return c;
  }

  create_deployment_context context() {
    create_deployment_context ctx;
    ctx.flow = flow;
    return ctx;
  }
};

} // namespace

TEST_CASE("given no deployment, create emits deployment_created with the "
          "defaults",
          "[actors][deployment][decide]") {
  fixture f;
  auto cmd = f.command();
  cmd.labels = {{"team", "ops"}};
  const auto decision = decide(cmd, f.context(), f.env);
  REQUIRE(decision);
  CHECK(decision->created);
  REQUIRE(decision->events.size() == 1);
  const auto& d =
      std::get<events::deployment_created>(decision->events[0]).value;
  CHECK(d.id == decision->deployment_id);
  CHECK(d.created == f.now);
  CHECK(d.labels ==
        json{{"team", "ops"}, {"prefect.flow.id", f.flow.id.str()}});
  CHECK(d.parameter_openapi_schema == json::object());
  CHECK(d.pull_steps == json::array());
  CHECK(d.status == "NOT_READY");
}

TEST_CASE("given an existing deployment, create upserts with a diff",
          "[actors][deployment][decide]") {
  fixture f;
  auto first = f.command();
  first.description = {true, "one"};
  first.tags = std::vector<std::string>{"a"};
  first.job_variables = json{{"image", "v1"}};
  const auto created = decide(first, f.context(), f.env);
  REQUIRE(created);
  auto state = evolve(std::get<events::deployment_created>(created->events[0]));

  auto ctx = f.context();
  ctx.existing = state;
  f.env.now = {f.now.micros + 10};
  auto second = f.command();
  second.job_variables = json::object();
  const auto upsert = decide(second, ctx, f.env);
  REQUIRE(upsert);
  CHECK_FALSE(upsert->created);
  CHECK(upsert->deployment_id == state.id);
  REQUIRE(upsert->events.size() == 1);
  const auto& e = std::get<events::deployment_updated>(upsert->events[0]);
  // Only `updated` moved: description, tags and job variables are kept.
  CHECK(e.changes.size() == 1);
  CHECK(e.changes.contains("updated"));
  const auto after = evolve(state, e);
  CHECK(after.description == "one");
  CHECK(after.job_variables == json{{"image", "v1"}});
}

TEST_CASE("rejections follow the reference's order of checks",
          "[actors][deployment][decide]") {
  fixture f;
  auto cmd = f.command();
  const auto missing =
      *events::uuid::parse("9c2b1a0f-8e7d-4c6b-a5f4-3e2d1c0b9a88");
  cmd.work_pool_name = {true, "pool"};
  cmd.storage_document_id = {true, missing};
  auto ctx = f.context();
  ctx.flow.reset();
  CHECK(decide(cmd, ctx, f.env).error().code ==
        events::rejection_code::unknown_work_pool);
  cmd.work_pool_name = {};
  CHECK(decide(cmd, ctx, f.env).error().code ==
        events::rejection_code::missing_storage_block);
  cmd.storage_document_id = {};
  CHECK(decide(cmd, ctx, f.env).error().code ==
        events::rejection_code::unknown_flow);
  ctx.flow = f.flow;
  cmd.schedules = {events::schedule_input{json::object(), true, json::object(),
                                          "s", std::nullopt},
                   events::schedule_input{json::object(), true, json::object(),
                                          "s", std::nullopt}};
  CHECK(decide(cmd, ctx, f.env).error().code ==
        events::rejection_code::duplicate_schedule_slug);
}

TEST_CASE("concurrency_limit creates, resizes and deletes the linked limit",
          "[actors][deployment][decide]") {
  fixture f;
  auto cmd = f.command();
  cmd.concurrency_limit = {true, 3};
  const auto created = decide(cmd, f.context(), f.env);
  REQUIRE(created);
  REQUIRE(created->events.size() == 2);
  const auto limit =
      std::get<events::concurrency_limit_created>(created->events[0]).value;
  CHECK(limit.limit == 3);
  CHECK(limit.name == "deployment:" + created->deployment_id.str());
  auto state = evolve(std::get<events::deployment_created>(created->events[1]));
  CHECK(state.concurrency_limit_id == limit.id);

  auto ctx = f.context();
  ctx.existing = state;
  ctx.linked_limit = limit;
  cmd.concurrency_limit = {true, 5};
  const auto resized = decide(cmd, ctx, f.env);
  REQUIRE(resized);
  const auto& r =
      std::get<events::concurrency_limit_resized>(resized->events[0]);
  CHECK(r.from == 3);
  CHECK(r.to == 5);

  cmd.concurrency_limit = {true, std::nullopt};
  const auto deleted = decide(cmd, ctx, f.env);
  REQUIRE(deleted);
  CHECK(std::holds_alternative<events::concurrency_limit_deleted>(
      deleted->events.back()));
  const auto& u = std::get<events::deployment_updated>(deleted->events[0]);
  CHECK(u.changes.at("concurrency_limit_id").at("to").is_null());

  cmd.concurrency_limit = {};
  f.env.now = {f.now.micros + 1};
  const auto kept = decide(cmd, ctx, f.env);
  REQUIRE(kept);
  REQUIRE(kept->events.size() == 1);
  CHECK_FALSE(std::get<events::deployment_updated>(kept->events[0])
                  .changes.contains("concurrency_limit_id"));
}

TEST_CASE("schedules are listed newest first with fresh ids",
          "[actors][deployment][decide]") {
  fixture f;
  auto cmd = f.command();
  cmd.schedules = {events::schedule_input{json{{"interval", 60}}, true,
                                          json::object(), "a", std::nullopt},
                   events::schedule_input{json{{"interval", 90}}, false,
                                          json::object(), "b", std::nullopt}};
  const auto decision = decide(cmd, f.context(), f.env);
  REQUIRE(decision);
  const auto& d =
      std::get<events::deployment_created>(decision->events[0]).value;
  REQUIRE(d.schedules.size() == 2);
  CHECK(d.schedules[0].slug == "b");
  CHECK(d.schedules[1].slug == "a");
  CHECK(d.schedules[0].id != d.schedules[1].id);
  CHECK(d.schedules[0].deployment_id == d.id);
}

TEST_CASE("create_flow emits nothing for a name that exists",
          "[actors][flow][decide]") {
  fixture f;
  events::create_flow cmd{"etl", {}, json::object()};
  CHECK(decide(cmd, f.flow, f.env).empty());
  const auto events = decide(cmd, std::nullopt, f.env);
  REQUIRE(events.size() == 1);
  CHECK(evolve(std::get<events::flow_created>(events[0])).name == "etl");
}
