#include "events/deployment.hpp"

#include "events/python/json_text.hpp"
#include "tests/support/deployment_samples.hpp"

#include <catch2/catch.hpp>

using namespace deployd::events;

namespace {

using deployd::testing::limit_links;

deployment sample() {
  return deployd::testing::sample_deployment();
}

} // namespace

TEST_CASE("a deployment survives its stored JSON form",
          "[events][deployment]") {
  const auto d = sample();
  CHECK(deployment_from_json(to_json(d)) == d);
  CHECK(to_json(d).size() == deployment_field_count);
}

TEST_CASE("diff lists changed fields in order and apply_changes replays "
          "them",
          "[events][deployment]") {
  const auto before = sample();
  auto after = before;
  after.description = "changed";
  after.updated = {before.updated.micros + 5};
  after.schedules.clear();
  after.paused = true;
  const auto changes = diff(before, after);
  REQUIRE(changes.size() == 4);
  CHECK(changes.begin().key() == "updated");
  CHECK(changes.at("description") ==
        json{{"from", nullptr}, {"to", "changed"}});
  CHECK(changes.at("paused") == json{{"from", false}, {"to", true}});
  auto replayed = before;
  apply_changes(replayed, changes);
  CHECK(replayed == after);
  CHECK(diff(after, after).empty());
}

TEST_CASE("the response has every field of the reference object in order",
          "[events][deployment]") {
  const auto d = sample();
  const auto r = deployment_response(d, {});
  const std::vector<std::string> expected = {"id",
                                             "created",
                                             "updated",
                                             "name",
                                             "version",
                                             "description",
                                             "flow_id",
                                             "paused",
                                             "schedules",
                                             "concurrency_limit",
                                             "global_concurrency_limit",
                                             "concurrency_options",
                                             "job_variables",
                                             "parameters",
                                             "tags",
                                             "labels",
                                             "work_queue_name",
                                             "work_queue_id",
                                             "last_polled",
                                             "parameter_openapi_schema",
                                             "path",
                                             "pull_steps",
                                             "entrypoint",
                                             "storage_document_id",
                                             "infrastructure_document_id",
                                             "created_by",
                                             "updated_by",
                                             "work_pool_name",
                                             "status",
                                             "enforce_parameter_schema"};
  std::vector<std::string> keys;
  for (const auto& [k, v] : r.items())
    keys.push_back(k);
  CHECK(keys == expected);
  CHECK(r.at("concurrency_limit").is_null());
  CHECK(r.at("schedules")[0].at("schedule").at("interval") == 3600);
}

TEST_CASE("float-typed fields answer as floats while the stored form keeps "
          "its compact numbers",
          "[events][deployment]") {
  auto d = sample();
  const auto links = limit_links(d);
  d.parameters = parse_json(
      R"({"big":123456789012345678901234567890,"small":1.5e-7,"f":2.0})");
  const auto view = render_deployment(d, links);
  // IntervalSchedule.interval and slot_decay_per_second are floats in the
  // reference's models.
  CHECK(view.find(R"("schedule":{"interval":3600.0,)") != std::string::npos);
  CHECK(view.find(R"("active_slots":0,"slot_decay_per_second":0.0})") !=
        std::string::npos);
  CHECK(view.find(R"("parameters":{"big":123456789012345678901234567890,)"
                  R"("small":1.5e-7,"f":2.0})") != std::string::npos);
  // The stored form (event payloads, state rows) is unchanged: golden v1
  // payloads still re-encode byte for byte.
  const auto stored = stored_text(d);
  CHECK(stored.find(R"("schedule":{"interval":3600,)") != std::string::npos);
  CHECK(stored.find(R"("big":123456789012345678901234567890)") !=
        std::string::npos);
  CHECK(deployment_from_json(parse_json(stored)) == d);
  CHECK(dump_json(schedule_response(d.schedules.front()))
            .find(R"("interval":3600.0)") != std::string::npos);
  CHECK(dump_json(schedules_response(to_json(d).at("schedules"))) ==
        "[" + dump_json(schedule_response(d.schedules.front())) + "]");
  d.schedules.front().schedule["interval"] = 0.5;
  CHECK(render_deployment(d, links).find(R"("interval":0.5,)") !=
        std::string::npos);
}

TEST_CASE("the rendered view and the stored text are byte for byte the "
          "dumps of the response and stored documents",
          "[events][deployment]") {
  auto check = [](const deployment& d, const deployment_links& links) {
    CHECK(render_deployment(d, links) ==
          dump_json(deployment_response(d, links)));
    CHECK(stored_text(d) == dump_json(to_json(d)));
  };
  auto d = sample();
  check(d, {});
  // Every optional present, strings needing escapes, non-ASCII text, nested
  // documents, several tags, no schedules.
  d.version = "1.0 \"quoted\"\n";
  d.description = "dé⚡ 描述 \\ tab\t";
  d.name = "naïve/\u0001";
  d.paused = true;
  d.tags = {"a", "b\"", "ü"};
  d.concurrency_options = {{"collision_strategy", "ENQUEUE"}};
  d.job_variables = {{"image", "python:3.12"},
                     {"cpu", 0.5},
                     {"n", 3},
                     {"big", big_integer("-123456789012345678901234567890")},
                     {"tiny", 1.5e-7}};
  d.parameters = {{"x", {1, 2.5, "s", nullptr, true}}, {"y", json::object()}};
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
  d.status = "READY";
  d.enforce_parameter_schema = false;
  check(d, {});
  auto links = limit_links(d);
  links.queue_name = "linked-queue";
  links.pool_name = "pool ü";
  check(d, links);
  d.schedules.clear();
  d.tags.clear();
  d.name = std::string("bad \xff utf-8");
  check(d, links);
  d.name = "del \x7f and \\";
  d.tags = {"", "\"", "\x1f"};
  d.concurrency_limit_id = links.limit->id;
  check(d, links);
}
