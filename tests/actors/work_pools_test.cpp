#include "actors/work_pools.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using namespace deployd::actors;
using events::json;

namespace {

struct fixture {
  events::random_ids ids{3};
  decision_env env{{1'795'000'000'000'000}, ids};
  pool_world world;

  json pool(const std::string& name) {
    auto events =
        create_pool(json{{"name", name}, {"type", "process"}}, world, env);
    REQUIRE(events.size() == 2);
    return *world.pool(name);
  }

  std::vector<std::pair<std::string, std::int64_t>>
  priorities(const json& p) const {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto* q : world.queues_of(p.at("id")))
      out.emplace_back(q->at("name"), q->at("priority"));
    std::sort(out.begin(), out.end(),
              [](auto& a, auto& b) { return a.second < b.second; });
    return out;
  }
};

} // namespace

TEST_CASE("a new pool brings its default queue", "[actors][pools]") {
  fixture f;
  const auto p = f.pool("p");
  const auto* q = f.world.queue(p.at("id"), "default");
  REQUIRE(q);
  CHECK(q->at("id") == p.at("default_queue_id"));
  CHECK(q->at("priority") == 1);
  CHECK(p.at("status") == "NOT_READY");
}

TEST_CASE("queue priorities fill gaps, or shift others to make room",
          "[actors][pools]") {
  fixture f;
  const auto p = f.pool("p");
  REQUIRE(create_queue("p", {{"name", "b"}}, f.world, f.env));
  REQUIRE(create_queue("p", {{"name", "c"}, {"priority", 9}}, f.world, f.env));
  using list = std::vector<std::pair<std::string, std::int64_t>>;
  CHECK(f.priorities(p) == list{{"default", 1}, {"b", 2}, {"c", 9}});
  // A requested priority that is taken pushes the others up by one, only as
  // far as needed.
  const auto shifted =
      create_queue("p", {{"name", "top"}, {"priority", 1}}, f.world, f.env);
  REQUIRE(shifted);
  CHECK(f.priorities(p) ==
        list{{"top", 1}, {"default", 2}, {"b", 3}, {"c", 9}});
  // Two existing queues moved: two updates, then the creation.
  std::size_t updates = 0;
  for (const auto& e : *shifted)
    updates += std::holds_alternative<events::resource_updated>(e);
  CHECK(updates == 2);
  CHECK(std::holds_alternative<events::resource_created>(shifted->back()));
  // The gap at 4..8 is filled next.
  REQUIRE(create_queue("p", {{"name", "d"}}, f.world, f.env));
  CHECK(f.priorities(p).back() == std::pair<std::string, std::int64_t>{"c", 9});
  CHECK(f.world.queue(p.at("id"), "d")->at("priority") == 4);
  CHECK(create_queue("p", {{"name", "d"}}, f.world, f.env).error().code ==
        events::rejection_code::conflict);
  CHECK(create_queue("nope", {{"name", "x"}}, f.world, f.env).error().code ==
        events::rejection_code::unknown_work_pool);
}

TEST_CASE("queue resolution follows the reference's table", "[actors][pools]") {
  fixture f;
  const auto p = f.pool("p");
  SECTION("no names: no change") {
    const auto r = resolve_queue(std::nullopt, std::nullopt, f.world, f.env);
    REQUIRE(r);
    CHECK_FALSE(r->linked);
    CHECK(r->events.empty());
  }
  SECTION("pool only: its default queue") {
    const auto r = resolve_queue("p", std::string(), f.world, f.env);
    REQUIRE(r);
    CHECK(r->linked == p.at("default_queue_id").get<std::string>());
  }
  SECTION("pool and a missing queue: created") {
    const auto r = resolve_queue("p", "new", f.world, f.env);
    REQUIRE(r);
    REQUIRE(r->events.size() == 1);
    CHECK(r->linked ==
          f.world.queue(p.at("id"), "new")->at("id").get<std::string>());
  }
  SECTION("unknown pool: rejected") {
    CHECK(resolve_queue("nope", "q", f.world, f.env).error().code ==
          events::rejection_code::unknown_work_pool);
  }
  SECTION("queue only, no default-agent-pool: found in any pool first") {
    REQUIRE(create_queue("p", {{"name", "shared"}}, f.world, f.env));
    const auto r = resolve_queue(std::nullopt, "shared", f.world, f.env);
    REQUIRE(r);
    CHECK(r->events.empty());
    CHECK(r->linked ==
          f.world.queue(p.at("id"), "shared")->at("id").get<std::string>());
  }
  SECTION("queue only and unknown: the default-agent-pool is created") {
    const auto r = resolve_queue(std::nullopt, "legacy", f.world, f.env);
    REQUIRE(r);
    const auto* agent = f.world.pool(default_agent_pool);
    REQUIRE(agent);
    CHECK(agent->at("type") == "prefect-agent");
    CHECK(agent->at("status").is_null());
    const auto* q = f.world.queue(agent->at("id"), "legacy");
    REQUIRE(q);
    CHECK(q->at("priority") == 1);
    CHECK(r->linked == q->at("id").get<std::string>());
    // pool + default queue + legacy, and the default queue shifted to 2.
    CHECK(f.world.queue(agent->at("id"), "default")->at("priority") == 2);
    CHECK(r->events.size() == 4);
  }
}

TEST_CASE("job variables are checked with defaults and null-widening",
          "[actors][pools][job_variables]") {
  const json pool = {
      {"base_job_template",
       {{"job_configuration", {{"image", "{{ image }}"}}},
        {"variables",
         {{"type", "object"},
          {"properties",
           {{"image", {{"type", "string"}, {"default", "python"}}},
            {"cpu", {{"type", "integer"}}}}},
          {"required", {"image"}}}}}}};
  CHECK(check_job_variables(pool, {{"cpu", 2}}, true).result ==
        job_variable_check::outcome::ok);
  CHECK(check_job_variables(pool, {{"cpu", nullptr}}, true).result ==
        job_variable_check::outcome::ok);
  const auto bad = check_job_variables(pool, {{"image", 5}}, true);
  CHECK(bad.result == job_variable_check::outcome::invalid);
  CHECK(bad.message ==
        "Validation failed for field 'image'. Failure reason: 5 is not of "
        "type 'string'");
  CHECK(bad.reason == "5 is not of type 'string'");
  const json broken = {
      {"base_job_template", {{"variables", {{"type", "blork"}}}}}};
  CHECK(check_job_variables(broken, {{"x", 1}}, true).result ==
        job_variable_check::outcome::invalid_schema);
  CHECK(check_job_variables(json::object(), {{"x", 1}}, true).result ==
        job_variable_check::outcome::ok);
}
