#include "events/automation.hpp"

#include <catch2/catch.hpp>

using namespace deployd::events;

namespace {

class counting_ids final : public id_source {
public:
  uuid next() override {
    ++n_;
    return *uuid::parse("00000000-0000-4000-8000-00000000000" +
                        std::to_string(n_));
  }

private:
  int n_ = 0;
};

json run_deployment(const std::string& source, const json& id = nullptr) {
  return json{{"type", "run-deployment"},
              {"source", source},
              {"deployment_id", id}};
}

} // namespace

TEST_CASE("an automation relates to its owner and its selected deployments",
          "[events][automation]") {
  const json doc = {
      {"actions",
       {run_deployment("selected", "d1"), run_deployment("inferred"),
        json{{"type", "pause-deployment"}, {"deployment_id", "d9"}},
        run_deployment("selected", "d2"), run_deployment("selected", "d1")}}};
  CHECK(automation_relations(doc, std::nullopt) ==
        std::vector<automation_relation>{{"prefect.deployment.d1", false},
                                         {"prefect.deployment.d2", false}});
  // Owning one of them makes that row owned.
  CHECK(automation_relations(doc, "prefect.deployment.d2") ==
        std::vector<automation_relation>{{"prefect.deployment.d1", false},
                                         {"prefect.deployment.d2", true}});
  CHECK(automation_relations(json{{"actions", json::array()}}, "x") ==
        std::vector<automation_relation>{{"x", true}});
}

TEST_CASE("run-deployment loops on flow-run state events are refused",
          "[events][automation]") {
  json a = {{"enabled", true},
            {"trigger",
             {{"type", "event"},
              {"posture", "Reactive"},
              {"match", json::object()},
              {"match_related", json::object()},
              {"expect", {"prefect.flow-run.Running"}}}},
            {"actions", {run_deployment("inferred")}}};
  REQUIRE(run_deployment_loop(a));
  CHECK(run_deployment_loop(a)->starts_with("Running an inferred"));
  a["actions"] = json::array({run_deployment("selected", "d")});
  REQUIRE(run_deployment_loop(a));
  CHECK(run_deployment_loop(a)->starts_with("Running a selected"));
  SECTION("a narrowing label, a safe event, a disabled automation or a "
          "Proactive trigger is fine") {
    auto narrowed = a;
    narrowed["trigger"]["match"] = {{"prefect.resource.id", "prefect.flow-run.x"}};
    CHECK_FALSE(run_deployment_loop(narrowed));
    auto only_kind = a;
    only_kind["trigger"]["match"] = {{"prefect.resource.id", "prefect.flow-run.*"}};
    CHECK(run_deployment_loop(only_kind));
    auto completed = a;
    completed["trigger"]["expect"] = {"prefect.flow-run.Completed"};
    CHECK_FALSE(run_deployment_loop(completed));
    auto disabled = a;
    disabled["enabled"] = false;
    CHECK_FALSE(run_deployment_loop(disabled));
    auto proactive = a;
    proactive["trigger"]["posture"] = "Proactive";
    CHECK_FALSE(run_deployment_loop(proactive));
  }
}

TEST_CASE("trigger ids are assigned to every trigger, after the type",
          "[events][automation]") {
  counting_ids ids;
  json trigger = {{"type", "compound"},
                  {"id", "client-id"},
                  {"triggers",
                   {{{"type", "event"}, {"posture", "Reactive"}},
                    {{"type", "sequence"}, {"triggers", json::array()}}}},
                  {"within", nullptr},
                  {"require", "any"}};
  assign_trigger_ids(trigger, ids);
  CHECK(trigger.at("id") == "00000000-0000-4000-8000-000000000001");
  CHECK(trigger.begin().key() == "type");
  CHECK(std::next(trigger.begin()).key() == "id");
  CHECK(trigger.at("triggers").at(0).at("id") ==
        "00000000-0000-4000-8000-000000000002");
  CHECK(trigger.at("triggers").at(1).at("id") ==
        "00000000-0000-4000-8000-000000000003");
}
