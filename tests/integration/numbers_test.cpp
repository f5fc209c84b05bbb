// Numbers on the wire (issue 12, item 6): integers beyond 64 bits keep every
// digit and float-typed fields print as the reference prints them, through
// the request, the log, the projections, replay and the response. The
// checks are on response text, never on parsed values (a parse would hide
// both problems). A database an older binary rendered is rebuilt on start.
#include "events/python/json_text.hpp"
#include "storage/event_log.hpp"
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

namespace {

constexpr const char* big = "123456789012345678901234567890";

std::string id_of(const http_reply& r) {
  return deployd::events::parse_json(r.body).at("id").get<std::string>();
}

// `text` must contain `part`; on failure both are shown.
void require_contains(const std::string& text, const std::string& part) {
  INFO("looking for " << part << "\nin " << text);
  CHECK(text.find(part) != std::string::npos);
}

} // namespace

TEST_CASE("numbers keep the reference's text through the log, the "
          "projections, replay and the response",
          "[integration][numbers]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  const std::string b(big);
  std::map<std::string, std::string> reads; // target -> body before replay
  {
    deployd_process server(options);
    const auto flow = server.request("POST", "/api/flows/",
                                     R"({"name":"f","labels":{"big":)" + b +
                                         R"(,"f":0.25}})");
    REQUIRE(flow.status == 201);
    require_contains(flow.body, R"("labels":{"big":)" + b + R"(,"f":0.25})");
    const auto flow_id = id_of(flow);

    // A deployment with a 30-digit integer and a small float in its
    // parameters, free-form numbers elsewhere, an interval schedule of
    // 3600 s and a concurrency limit (the v2 limit behind it decays 0).
    const std::string params =
        R"({"big":)" + b + R"(,"neg":-)" + b +
        R"(,"small":1.5e-7,"whole":3600.0,"e16":1e16,"e15":1e15,)"
        R"("tiny":0.00001,"i":7})";
    const auto created = server.request(
        "POST", "/api/deployments/",
        R"({"name":"n","flow_id":")" + flow_id + R"(","parameters":)" + params +
            R"(,"job_variables":{"u64":18446744073709551616,"cpu":0.5},)"
            R"("labels":{"n":)" +
            b +
            R"(},"schedules":[{"schedule":{"interval":3600,)"
            R"("anchor_date":"2026-01-01T00:00:00Z","timezone":"UTC"},)"
            R"("parameters":{"big":)" +
            b + R"(}}],"concurrency_limit":3})");
    REQUIRE(created.status == 201);
    const auto id = id_of(created);
    const auto doc = json::parse(created.body);
    const std::string schedule_id = doc.at("schedules")[0].at("id");
    const std::string limit_id = doc.at("global_concurrency_limit").at("id");
    const std::string t0 = doc.at("created");
    const std::string t_schedule = doc.at("schedules")[0].at("created");
    const std::string t_limit =
        doc.at("global_concurrency_limit").at("created");
    const std::string schedule =
        R"({"id":")" + schedule_id + R"(","created":")" + t_schedule +
        R"(","updated":")" + t_schedule + R"(","deployment_id":")" + id +
        R"(","schedule":{"interval":3600.0,"anchor_date":)"
        R"("2026-01-01T00:00:00Z","timezone":"UTC"},"active":true,)"
        R"("max_scheduled_runs":null,"parameters":{"big":)" +
        b + R"(},"slug":null})";
    const std::string expected =
        R"({"id":")" + id + R"(","created":")" + t0 + R"(","updated":")" + t0 +
        R"(","name":"n","version":null,"description":null,"flow_id":")" +
        flow_id + R"(","paused":false,"schedules":[)" + schedule +
        R"(],"concurrency_limit":null,"global_concurrency_limit":{"id":")" +
        limit_id + R"(","created":")" + t_limit + R"(","updated":")" + t_limit +
        R"(","active":true,"name":"deployment:)" + id +
        R"(","limit":3,"active_slots":0,"slot_decay_per_second":0.0},)"
        R"("concurrency_options":null,"job_variables":{"u64":)"
        R"(18446744073709551616,"cpu":0.5},"parameters":{"big":)" +
        b + R"(,"neg":-)" + b +
        R"(,"small":1.5e-7,"whole":3600.0,"e16":1e16,)"
        R"("e15":1000000000000000.0,"tiny":0.00001,"i":7},"tags":[],)"
        R"("labels":{"big":)" +
        b + R"(,"f":0.25,"prefect.flow.id":")" + flow_id + R"(","n":)" + b +
        R"(},"work_queue_name":null,"work_queue_id":null,"last_polled":null,)"
        R"("parameter_openapi_schema":{},"path":null,"pull_steps":[],)"
        R"("entrypoint":null,"storage_document_id":null,)"
        R"("infrastructure_document_id":null,"created_by":null,)"
        R"("updated_by":null,"work_pool_name":null,"status":"NOT_READY",)"
        R"("enforce_parameter_schema":true})";
    CHECK(created.body == expected);
    CHECK(server.get("/api/deployments/" + id).body == expected);
    CHECK(server.get("/api/deployments/" + id + "/schedules").body ==
          "[" + schedule + "]");
    CHECK(server.request("POST", "/api/deployments/filter", "{}").body ==
          "[" + expected + "]");
    // Every other route whose response schema holds IntervalSchedule or
    // GlobalConcurrencyLimitResponse (checked against the OpenAPI document).
    CHECK(server.get("/api/deployments/name/f/n").body == expected);
    require_contains(
        server.request("POST", "/api/deployments/paginate", "{}").body,
        R"("results":[)" + expected + "]");

    // A schedule added later, with a fractional interval.
    const auto added =
        server.request("POST", "/api/deployments/" + id + "/schedules",
                       R"([{"schedule":{"interval":90061.5,"anchor_date":)"
                       R"("2026-01-01T00:00:00Z"},"parameters":{"x":-1e-7}}])");
    REQUIRE(added.status == 201);
    require_contains(added.body, R"("schedule":{"interval":90061.5,)");
    require_contains(added.body, R"("parameters":{"x":-1e-7})");

    // v2 limits: slot_decay_per_second and avg_slot_occupancy_seconds are
    // floats.
    const auto limit = server.request(
        "POST", "/api/v2/concurrency_limits/",
        R"({"name":"rate","limit":2,"slot_decay_per_second":0})");
    REQUIRE(limit.status == 201);
    require_contains(limit.body, R"("limit":2,"active_slots":0,)"
                                 R"("denied_slots":0,)"
                                 R"("slot_decay_per_second":0.0,)"
                                 R"("avg_slot_occupancy_seconds":2.0})");
    const auto read = server.get("/api/v2/concurrency_limits/rate");
    CHECK(read.body.ends_with(R"("limit":2,"active_slots":0,)"
                              R"("slot_decay_per_second":0.0})"));
    REQUIRE(server
                .request("PATCH", "/api/v2/concurrency_limits/rate",
                         R"({"slot_decay_per_second":2})")
                .status == 204);
    CHECK(server.get("/api/v2/concurrency_limits/rate")
              .body.ends_with(R"("slot_decay_per_second":2.0})"));
    require_contains(
        server.request("POST", "/api/v2/concurrency_limits/filter", "{}").body,
        R"("slot_decay_per_second":2.0})");

    // Block documents and work-pool templates are free-form too.
    const auto type = server.request("POST", "/api/block_types/",
                                     R"({"name":"Store","slug":"store"})");
    REQUIRE(type.status == 201);
    const auto block_schema = server.request(
        "POST", "/api/block_schemas/",
        R"({"fields":{"type":"object","properties":{"n":{"default":)" + b +
            R"(}}},"block_type_id":")" + id_of(type) + R"("})");
    REQUIRE(block_schema.status == 201);
    require_contains(block_schema.body, R"("default":)" + b + "}");
    const auto block =
        server.request("POST", "/api/block_documents/",
                       R"({"name":"doc","data":{"n":-)" + b +
                           R"(,"x":1e-6,"y":2.5e20},"block_schema_id":")" +
                           id_of(block_schema) + R"(","block_type_id":")" +
                           id_of(type) + R"("})");
    REQUIRE(block.status == 201);
    require_contains(block.body,
                     R"("data":{"n":-)" + b + R"(,"x":1e-6,"y":2.5e20})");
    const auto pool = server.request(
        "POST", "/api/work_pools/",
        R"({"name":"p","type":"process","base_job_template":)"
        R"({"job_configuration":{"n":"{{ n }}"},"variables":{"properties":)"
        R"({"n":{"type":"integer","default":)" +
            b + R"(,"maximum":1e300}}}}})");
    INFO(pool.body);
    REQUIRE(pool.status == 201);
    require_contains(pool.body, R"("default":)" + b + R"(,"maximum":1e300})");

    // Python accepts integers of up to 4300 digits.
    const std::string longest(4300, '9');
    const auto huge =
        server.request("POST", "/api/deployments/",
                       R"({"name":"h","flow_id":")" + flow_id +
                           R"(","parameters":{"h":)" + longest + "}}");
    REQUIRE(huge.status == 201);
    require_contains(huge.body, R"("parameters":{"h":)" + longest + "}");
    const auto too_long =
        server.request("POST", "/api/deployments/",
                       R"({"name":"t","flow_id":")" + flow_id +
                           R"(","parameters":{"h":)" + longest + "9}}");
    CHECK(too_long.status == 400);
    CHECK(too_long.body ==
          R"({"detail":"There was an error parsing the body"})");

    for (const std::string& target : std::vector<std::string>{
             "/api/flows/" + flow_id, "/api/deployments/" + id,
             "/api/deployments/" + id + "/schedules",
             "/api/deployments/" + id_of(huge),
             "/api/v2/concurrency_limits/rate",
             "/api/v2/concurrency_limits/" + limit_id,
             "/api/block_documents/" + id_of(block), "/api/work_pools/p"}) {
      const auto r = server.get(target);
      CHECK(r.status == 200);
      reads[target] = r.body;
    }
    CHECK(server.stop() == 0);
  }

  check_verified(options.data_dir);
  const auto replayed = run_tool({"replay", "--data-dir", options.data_dir});
  INFO(replayed.out);
  REQUIRE(replayed.status == 0);

  // The log holds the exact digits, so the replayed read model answers the
  // same bytes.
  const auto events = run_tool({"events", "--data-dir", options.data_dir});
  require_contains(events.out,
                   R"("big":)" + b + R"(,"neg":-)" + b + R"(,"small":1.5e-7)");
  deployd_process server(options);
  for (const auto& [target, body] : reads) {
    INFO(target);
    CHECK(server.get(target).body == body);
  }
}

TEST_CASE("a database whose views an older binary rendered is rebuilt on the "
          "next start",
          "[integration][numbers]") {
  temp_dir dir;
  process_options options;
  options.data_dir = (dir.path() / "data").string();
  std::string id;
  std::string served;
  {
    deployd_process server(options);
    const auto flow = server.request("POST", "/api/flows/", R"({"name":"f"})");
    const auto created =
        server.request("POST", "/api/deployments/",
                       R"({"name":"d","flow_id":")" + id_of(flow) +
                           R"(","schedules":[{"schedule":{"interval":3600,)"
                           R"("anchor_date":"2026-01-01T00:00:00Z"}}]})");
    REQUIRE(created.status == 201);
    id = id_of(created);
    served = created.body;
    CHECK(server.stop() == 0);
  }
  {
    // What the binary before the format stamp left: its own rendering of
    // the view (`"interval":3600`) and no stamp.
    deployd::storage::open_options open;
    open.data_dir = options.data_dir;
    auto log = deployd::storage::event_log::open(open);
    REQUIRE(log);
    std::string key;
    std::string view;
    REQUIRE((*log)->scan(deployd::storage::table::deployment_views, "",
                         [&](std::string_view k, std::string_view v) {
                           key = k;
                           view = v;
                           return false;
                         }));
    // Today's row: the stream's version (8 bytes), then the response; the
    // older binary's row was the response alone.
    REQUIRE(view.size() > 8);
    view.erase(0, 8);
    REQUIRE(view == served);
    const std::string now = R"("interval":3600.0,)";
    view.replace(view.find(now), now.size(), R"("interval":3600,)");
    auto b = (*log)->begin();
    b.put(deployd::storage::table::deployment_views, key, view);
    REQUIRE((*log)->commit(b, true));
    REQUIRE((*log)->set_read_model_format(1));
  }
  const auto stale = run_tool({"verify", "--data-dir", options.data_dir});
  CHECK(stale.status == 1);
  require_contains(stale.out, "the live read model has format 1");

  deployd_process server(options);
  CHECK(server.get("/api/deployments/" + id).body == served);
  CHECK(server.stop() == 0);
  check_verified(options.data_dir);
}
