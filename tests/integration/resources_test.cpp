// What deployments point at, end to end: work pools and queues (and how a
// deployment links to them), job-variable checks, v2 concurrency limits and
// block documents.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>

using namespace deployd::testing;

namespace {

const json k8s_template = {
    {"job_configuration", {{"image", "{{ image }}"}, {"cpu", "{{ cpu }}"}}},
    {"variables",
     {{"type", "object"},
      {"properties",
       {{"image", {{"type", "string"}, {"default", "python:3.12"}}},
        {"cpu", {{"type", "integer"}}}}}}}};

struct fixture {
  deployd_process server;
  std::string flow_id;

  fixture() {
    flow_id =
        server.post("/api/flows/", json{{"name", "etl"}}).json_body().at("id");
  }

  json pool(const std::string& name, json extra = json::object()) {
    extra["name"] = name;
    const auto r = server.post("/api/work_pools/", extra);
    INFO(r.body);
    REQUIRE(r.status == 201);
    return r.json_body();
  }

  http_reply deploy(json body) {
    body["flow_id"] = flow_id;
    return server.post("/api/deployments/", body);
  }
};

} // namespace

TEST_CASE("work pools are created with a default queue and read back",
          "[integration][pools]") {
  fixture f;
  const auto p = f.pool("k8s-pool", {{"type", "kubernetes"},
                                     {"base_job_template", k8s_template}});
  CHECK(p.at("type") == "kubernetes");
  CHECK(p.at("status") == "NOT_READY");
  CHECK(p.at("is_paused") == false);
  CHECK(p.at("active_slots").is_null());
  CHECK(p.at("storage_configuration") ==
        json{{"bundle_upload_step", nullptr},
             {"bundle_execution_step", nullptr},
             {"default_result_storage_block_id", nullptr}});
  CHECK(f.server.get("/api/work_pools/k8s-pool").json_body() == p);
  const auto q =
      f.server.get("/api/work_pools/k8s-pool/queues/default").json_body();
  CHECK(q.at("id") == p.at("default_queue_id"));
  CHECK(q.at("priority") == 1);
  CHECK(q.at("description") == "The work pool's default queue.");
  CHECK(q.at("work_pool_name") == "k8s-pool");

  SECTION("errors follow the reference") {
    auto r = f.server.post("/api/work_pools/", json{{"name", "k8s-pool"}});
    CHECK(r.status == 409);
    CHECK(r.json_body() ==
          json{{"detail", "A work pool with this name already exists."}});
    r = f.server.post("/api/work_pools/", json{{"name", "Prefect-internal"}});
    CHECK(r.status == 403);
    r = f.server.post("/api/work_pools/", json{{"name", " '' "}});
    CHECK(r.status == 422);
    CHECK(r.json_body().at("exception_detail")[0].at("msg") ==
          "Value error, name cannot be an empty string");
    r = f.server.post("/api/work_pools/",
                      json{{"name", "x"}, {"base_job_template", {{"a", 1}}}});
    CHECK(r.json_body().at("exception_detail")[0].at("msg") ==
          "Value error, The `base_job_template` must contain both a "
          "`job_configuration` key and a `variables` key.");
    r = f.server.post(
        "/api/work_pools/",
        json{{"name", "x"},
             {"base_job_template",
              {{"job_configuration", {{"a", "{{ nope }}"}}},
               {"variables", {{"properties", json::object()}}}}}});
    CHECK(r.json_body().at("exception_detail")[0].at("msg") ==
          "Value error, The variables specified in the job configuration "
          "template must be present as properties in the variables schema. "
          "Your job configuration uses the following undeclared variable(s): "
          "nope.");
    CHECK(f.server.get("/api/work_pools/nope").json_body() ==
          json{{"detail", "Work pool \"nope\" not found."}});
  }
  SECTION("queues get gap-filled or requested priorities") {
    auto add = [&](json body) {
      const auto r = f.server.post("/api/work_pools/k8s-pool/queues", body);
      INFO(r.body);
      REQUIRE(r.status == 201);
      return r.json_body();
    };
    CHECK(add({{"name", "b"}}).at("priority") == 2);
    CHECK(add({{"name", "c"}}).at("priority") == 3);
    CHECK(add({{"name", "first"}, {"priority", 1}}).at("priority") == 1);
    const auto listed =
        f.server.post("/api/work_pools/k8s-pool/queues/filter", json::object())
            .json_body();
    std::vector<std::pair<std::string, int>> order;
    for (const auto& queue : listed)
      order.emplace_back(queue.at("name"), queue.at("priority"));
    CHECK(order == std::vector<std::pair<std::string, int>>{
                       {"first", 1}, {"default", 2}, {"b", 3}, {"c", 4}});
    const auto dup =
        f.server.post("/api/work_pools/k8s-pool/queues", json{{"name", "b"}});
    CHECK(dup.status == 409);
    CHECK(f.server.get("/api/work_pools/k8s-pool/queues/zzz").json_body() ==
          json{{"detail", "Work pool queue 'k8s-pool/zzz' not found."}});
  }
  SECTION("PATCH and DELETE") {
    CHECK(f.server
              .request("PATCH", "/api/work_pools/k8s-pool",
                       R"({"is_paused": true, "description": "d"})")
              .status == 204);
    const auto paused = f.server.get("/api/work_pools/k8s-pool").json_body();
    CHECK(paused.at("status") == "PAUSED");
    CHECK(paused.at("description") == "d");
    CHECK(f.server.request("DELETE", "/api/work_pools/k8s-pool").status == 204);
    CHECK(f.server.get("/api/work_pools/k8s-pool").status == 404);
    CHECK(f.server
              .get("/api/work_queues/" +
                   p.at("default_queue_id").get<std::string>())
              .status == 404);
  }
  SECTION("filter by name and type") {
    f.pool("proc", {{"type", "process"}});
    const auto r = f.server.post(
        "/api/work_pools/filter",
        json{{"work_pools", {{"type", {{"any_", {"process"}}}}}}});
    REQUIRE(r.json_body().size() == 1);
    CHECK(r.json_body()[0].at("name") == "proc");
  }
}

TEST_CASE("clients up to 3.3.7 get pools without "
          "storage_configuration.default_result_storage_block_id",
          "[integration][pools]") {
  fixture f;
  const std::map<std::string, std::string> old_client = {
      {"User-Agent", "prefect/3.3.7 (API 0.8.4)"}};
  const std::map<std::string, std::string> new_client = {
      {"User-Agent", "prefect/3.3.8 (API 0.8.4)"}};
  const json without = {{"bundle_upload_step", nullptr},
                        {"bundle_execution_step", nullptr}};
  auto r = f.server.request("POST", "/api/work_pools/",
                            R"({"name":"old","type":"process"})", old_client);
  REQUIRE(r.status == 201);
  const auto created = r.json_body();
  CHECK(created.at("storage_configuration") == without);
  CHECK(created.at("name") == "old");

  r = f.server.request("GET", "/api/work_pools/old", std::nullopt, old_client);
  REQUIRE(r.status == 200);
  CHECK(r.json_body() == created);
  r = f.server.request("POST", "/api/work_pools/filter", "{}", old_client);
  REQUIRE(r.status == 200);
  for (const auto& pool : r.json_body())
    CHECK(pool.at("storage_configuration") == without);

  // Newer clients, other clients and errors are untouched.
  for (const auto& headers :
       {new_client, std::map<std::string, std::string>{
                        {"User-Agent", "curl/8.0 prefect/1.0.0"}}}) {
    r = f.server.request("GET", "/api/work_pools/old", std::nullopt, headers);
    REQUIRE(r.status == 200);
    CHECK(r.json_body()
              .at("storage_configuration")
              .contains("default_result_storage_block_id"));
  }
  r = f.server.request("GET", "/api/work_pools/nope", std::nullopt, old_client);
  CHECK(r.status == 404);
  CHECK(r.json_body() == json{{"detail", "Work pool \"nope\" not found."}});
}

TEST_CASE("a deployment links to the queue its pool and queue names resolve "
          "to",
          "[integration][pools][deployments]") {
  fixture f;
  const auto p = f.pool("k8s-pool", {{"type", "kubernetes"},
                                     {"base_job_template", k8s_template}});
  SECTION("pool only: the pool's default queue, stored queue name null") {
    const auto d =
        f.deploy({{"name", "a"}, {"work_pool_name", "k8s-pool"}}).json_body();
    CHECK(d.at("work_pool_name") == "k8s-pool");
    CHECK(d.at("work_queue_name") == "default");
    CHECK(d.at("work_queue_id") == p.at("default_queue_id"));
    // The filter matches the stored column, which stays null.
    CHECK(f.server
              .post("/api/deployments/count",
                    json{{"deployments",
                          {{"work_queue_name", {{"any_", {"default"}}}}}}})
              .body == "0");
    CHECK(f.server
              .post("/api/deployments/count",
                    json{{"work_pools", {{"name", {{"any_", {"k8s-pool"}}}}}}})
              .body == "1");
  }
  SECTION("pool and a new queue: the queue is created") {
    const auto d = f.deploy({{"name", "a"},
                             {"work_pool_name", "k8s-pool"},
                             {"work_queue_name", "gpu"}})
                       .json_body();
    CHECK(d.at("work_queue_name") == "gpu");
    const auto q =
        f.server.get("/api/work_pools/k8s-pool/queues/gpu").json_body();
    CHECK(d.at("work_queue_id") == q.at("id"));
    CHECK(q.at("priority") == 2);
  }
  SECTION("queue only: default-agent-pool is created on demand") {
    const auto d =
        f.deploy({{"name", "a"}, {"work_queue_name", "legacy"}}).json_body();
    CHECK(d.at("work_pool_name") == "default-agent-pool");
    CHECK(d.at("work_queue_name") == "legacy");
    const auto agent =
        f.server.get("/api/work_pools/default-agent-pool").json_body();
    CHECK(agent.at("type") == "prefect-agent");
    CHECK(agent.at("status").is_null());
    CHECK(f.server.get("/api/work_queues/name/legacy").json_body().at("id") ==
          d.at("work_queue_id"));
  }
  SECTION("PATCH relinks and unlinks; deleting the pool unlinks") {
    const std::string id =
        f.deploy({{"name", "a"}, {"work_pool_name", "k8s-pool"}})
            .json_body()
            .at("id");
    CHECK(f.server
              .request(
                  "PATCH", "/api/deployments/" + id,
                  R"({"work_pool_name": "k8s-pool", "work_queue_name": "hi"})")
              .status == 204);
    CHECK(f.server.get("/api/deployments/" + id)
              .json_body()
              .at("work_queue_name") == "hi");
    CHECK(f.server
              .request("PATCH", "/api/deployments/" + id,
                       R"({"work_pool_name": null})")
              .status == 204);
    auto d = f.server.get("/api/deployments/" + id).json_body();
    CHECK(d.at("work_queue_id").is_null());
    CHECK(d.at("work_pool_name").is_null());
    CHECK(d.at("work_queue_name") == "hi"); // the stored column

    f.server.request("PATCH", "/api/deployments/" + id,
                     R"({"work_pool_name": "k8s-pool"})");
    CHECK(f.server.request("DELETE", "/api/work_pools/k8s-pool").status == 204);
    d = f.server.get("/api/deployments/" + id).json_body();
    CHECK(d.at("work_queue_id").is_null());
    CHECK(d.at("work_pool_name").is_null());
  }
}

TEST_CASE("job variables are checked against the pool's template",
          "[integration][pools][job_variables]") {
  fixture f;
  f.pool("k8s-pool",
         {{"type", "kubernetes"}, {"base_job_template", k8s_template}});
  auto r = f.deploy({{"name", "a"},
                     {"work_pool_name", "k8s-pool"},
                     {"job_variables", {{"image", 5}}}});
  CHECK(r.status == 422);
  CHECK(r.json_body().at("detail").get<std::string>().starts_with(
      "Error creating deployment: Validation failed for field 'image'. Failure "
      "reason: 5 is not"));
  r = f.deploy({{"name", "a"},
                {"work_pool_name", "k8s-pool"},
                {"job_variables", {{"cpu", 2}}}});
  REQUIRE(r.status == 201);
  const std::string id = r.json_body().at("id");
  r = f.server.request(
      "PATCH", "/api/deployments/" + id,
      json{{"work_pool_name", "k8s-pool"}, {"job_variables", {{"image", 5}}}}
          .dump());
  CHECK(r.status == 409);
  CHECK(r.json_body().at("detail").get<std::string>().starts_with(
      "Error creating deployment: <ValidationError: \"5 is not"));
  // Nothing changed.
  CHECK(
      f.server.get("/api/deployments/" + id).json_body().at("job_variables") ==
      json{{"cpu", 2}});
}

TEST_CASE("v2 concurrency limits can be created, linked, changed and deleted",
          "[integration][limits]") {
  fixture f;
  auto r = f.server.post("/api/v2/concurrency_limits/",
                         json{{"name", "shared"}, {"limit", 4}});
  REQUIRE(r.status == 201);
  const auto limit = r.json_body();
  CHECK(limit.at("active") == true);
  CHECK(limit.at("denied_slots") == 0);
  CHECK(limit.contains("avg_slot_occupancy_seconds"));
  CHECK(f.server
            .post("/api/v2/concurrency_limits/",
                  json{{"name", "shared"}, {"limit", 1}})
            .status == 409);
  const auto by_name =
      f.server.get("/api/v2/concurrency_limits/shared").json_body();
  CHECK(by_name.size() == 8);
  CHECK(by_name.at("id") == limit.at("id"));
  CHECK(f.server
            .get("/api/v2/concurrency_limits/" +
                 limit.at("id").get<std::string>())
            .json_body() == by_name);
  CHECK(f.server.get("/api/v2/concurrency_limits/nope").json_body() ==
        json{{"detail", "Concurrency Limit not found"}});

  const auto d =
      f.deploy({{"name", "a"}, {"global_concurrency_limit_id", limit.at("id")}})
          .json_body();
  CHECK(d.at("global_concurrency_limit") == by_name);
  CHECK(f.server
            .request("PATCH", "/api/v2/concurrency_limits/shared",
                     R"({"limit": 9})")
            .status == 204);
  CHECK(f.server.get("/api/deployments/" + d.at("id").get<std::string>())
            .json_body()
            .at("global_concurrency_limit")
            .at("limit") == 9);
  const auto listed =
      f.server.post("/api/v2/concurrency_limits/filter", json::object())
          .json_body();
  CHECK(listed.size() == 1);
  CHECK(
      f.server.request("DELETE", "/api/v2/concurrency_limits/shared").status ==
      204);
  CHECK(f.server.get("/api/deployments/" + d.at("id").get<std::string>())
            .json_body()
            .at("global_concurrency_limit")
            .is_null());
  // A deployment-managed limit shows up under v2 with its reserved name.
  const auto managed =
      f.deploy({{"name", "b"}, {"concurrency_limit", 2}}).json_body();
  CHECK(f.server
            .get("/api/v2/concurrency_limits/deployment:" +
                 managed.at("id").get<std::string>())
            .json_body()
            .at("limit") == 2);
}

TEST_CASE("block documents can be created, referenced and deleted with "
          "their deployments",
          "[integration][blocks]") {
  fixture f;
  auto r =
      f.server.post("/api/block_types/", json{{"name", "My Storage"},
                                              {"slug", "my-storage"},
                                              {"description", "a <b> & c"}});
  REQUIRE(r.status == 201);
  const auto type = r.json_body();
  CHECK(type.at("description") == "a &lt;b&gt; &amp; c");
  CHECK(f.server.get("/api/block_types/slug/my-storage").json_body() == type);
  CHECK(f.server
            .post("/api/block_types/",
                  json{{"name", "Other"}, {"slug", "my-storage"}})
            .json_body() ==
        json{{"detail", "Block type with name \"Other\" already exists"}});
  CHECK(
      f.server
          .post("/api/block_types/", json{{"name", "x"}, {"slug", "Bad Slug"}})
          .status == 422);
  const json fields = {
      {"title", "MyStorage"},
      {"type", "object"},
      {"properties",
       {{"bucket", {{"type", "string"}}}, {"token", {{"type", "string"}}}}},
      {"secret_fields", {"token"}}};
  r = f.server.post("/api/block_schemas/",
                    json{{"fields", fields},
                         {"block_type_id", type.at("id")},
                         {"capabilities", json::array()}});
  REQUIRE(r.status == 201);
  const auto schema = r.json_body();
  CHECK(schema.at("checksum").get<std::string>().starts_with("sha256:"));
  CHECK(f.server
            .post("/api/block_schemas/",
                  json{{"fields", fields}, {"block_type_id", type.at("id")}})
            .status == 200);
  CHECK(f.server
            .get("/api/block_schemas/checksum/" +
                 schema.at("checksum").get<std::string>())
            .json_body()
            .at("id") == schema.at("id"));
  r = f.server.post("/api/block_documents/",
                    json{{"name", "prod-bucket"},
                         {"data", {{"bucket", "prod"}, {"token", "s3cret"}}},
                         {"block_schema_id", schema.at("id")},
                         {"block_type_id", type.at("id")}});
  REQUIRE(r.status == 201);
  const auto doc = r.json_body();
  const std::string doc_id = doc.at("id");
  const auto read = f.server.get("/api/block_documents/" + doc_id).json_body();
  CHECK(read.at("data") == json{{"bucket", "prod"}, {"token", "********"}});
  CHECK(read.at("block_type_name") == "My Storage");
  CHECK(f.server
            .post("/api/block_documents/",
                  json{{"name", "prod-bucket"},
                       {"data", json::object()},
                       {"block_schema_id", schema.at("id")},
                       {"block_type_id", type.at("id")}})
            .json_body() == json{{"detail", "Block already exists"}});

  const auto d =
      f.deploy({{"name", "uses-block"}, {"storage_document_id", doc_id}});
  REQUIRE(d.status == 201);
  const std::string dep_id = d.json_body().at("id");
  CHECK(f.server.request("DELETE", "/api/block_documents/" + doc_id).status ==
        204);
  CHECK(f.server.get("/api/block_documents/" + doc_id).status == 404);
  // The reference's foreign key cascades to the deployment.
  CHECK(f.server.get("/api/deployments/" + dep_id).status == 404);
}

TEST_CASE("blocks and v2 concurrency limits announce the reference's "
          "lifecycle events, a deployment's own limit none",
          "[integration][events][limits]") {
  fixture f;
  auto r = f.server.post("/api/block_types/",
                         json{{"name", "My Storage"}, {"slug", "my-storage"}});
  REQUIRE(r.status == 201);
  const auto type = r.json_body();
  const auto type_id = type.at("id").get<std::string>();
  REQUIRE(f.server
              .request("PATCH", "/api/block_types/" + type_id,
                       R"({"documentation_url": "https://d.example"})")
              .status == 204);
  const json fields = {
    {"title", "MyStorage"},
    {"type", "object"},
    {"properties",
     {{"bucket", {{"type", "string"}}},
      {"token", {{"type", "string"}}},
      {"size", {{"type", "integer"}}}}},
    {"secret_fields", {"token"}}};
  r = f.server.post("/api/block_schemas/",
                    json{{"fields", fields},
                         {"block_type_id", type_id},
                         {"capabilities", {"read-path"}}});
  REQUIRE(r.status == 201);
  const auto schema_id = r.json_body().at("id").get<std::string>();
  r = f.server.post("/api/block_documents/",
                    json{{"name", "prod-bucket"},
                         {"data", {{"bucket", "prod"}, {"token", "s3cret"},
                                   {"size", 3}}},
                         {"block_schema_id", schema_id},
                         {"block_type_id", type_id}});
  REQUIRE(r.status == 201);
  const auto doc_id = r.json_body().at("id").get<std::string>();
  // Anonymous documents are not announced.
  REQUIRE(f.server
              .post("/api/block_documents/",
                    json{{"is_anonymous", true},
                         {"data", {{"bucket", "tmp"}}},
                         {"block_schema_id", schema_id},
                         {"block_type_id", type_id}})
              .status == 201);
  REQUIRE(f.server.request("DELETE", "/api/block_documents/" + doc_id).status ==
          204);
  // A rejected write announces nothing.
  REQUIRE(f.server.request("DELETE", "/api/block_documents/" + doc_id).status ==
          404);

  const auto types = feed_events(f.server, "prefect.block-type.");
  REQUIRE(types.size() == 2);
  CHECK(types[0].at("event") == "prefect.block-type.created");
  CHECK(types[0].at("resource") ==
        json{{"prefect.resource.id", "prefect.block-type." + type_id},
             {"prefect.resource.name", "My Storage"}});
  CHECK(types[0].at("payload") == json{{"name", "My Storage"},
                                       {"slug", "my-storage"},
                                       {"logo_url", nullptr},
                                       {"documentation_url", nullptr},
                                       {"description", nullptr},
                                       {"code_example", nullptr},
                                       {"is_protected", false}});
  CHECK(types[1].at("event") == "prefect.block-type.updated");
  CHECK(types[1].at("payload").at("documentation_url") ==
        "https://d.example");

  const auto docs = feed_events(f.server, "prefect.block-document.");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].at("event") == "prefect.block-document.created");
  CHECK(docs[1].at("event") == "prefect.block-document.deleted");
  for (const auto& e : docs) {
    CHECK(e.at("resource") ==
          json{{"prefect.resource.id", "prefect.block-document." + doc_id},
               {"prefect.resource.name", "prod-bucket"}});
    // The secret field and the non-string value are left out.
    CHECK(e.at("payload") ==
          json{{"name", "prod-bucket"},
               {"data", {{"bucket", "prod"}}},
               {"block_schema",
                {{"capabilities", {"read-path"}},
                 {"block_type", {{"id", type_id}, {"name", "My Storage"}}}}}});
    // id, role, then name, as the reference builds them.
    CHECK(e.at("related").dump() ==
          json::array(
            {json{{"prefect.resource.id", "prefect.block-type." + type_id},
                  {"prefect.resource.role", "block-type"},
                  {"prefect.resource.name", "My Storage"}},
             json{{"prefect.resource.id", "prefect.block-schema." + schema_id},
                  {"prefect.resource.role", "block-schema"}}})
            .dump());
  }

  // v2 limits through their endpoints: created, updated, deleted.
  r = f.server.post("/api/v2/concurrency_limits/",
                    json{{"name", "shared"}, {"limit", 4}});
  REQUIRE(r.status == 201);
  const auto limit_id = r.json_body().at("id").get<std::string>();
  REQUIRE(f.server
              .request("PATCH", "/api/v2/concurrency_limits/shared",
                       R"({"limit": 9})")
              .status == 204);
  REQUIRE(f.server.request("DELETE", "/api/v2/concurrency_limits/shared")
              .status == 204);
  // A deployment's own limit is made, resized and deleted with no event.
  const auto d = f.deploy({{"name", "limited"}, {"concurrency_limit", 2}});
  REQUIRE(d.status == 201);
  const auto d_id = d.json_body().at("id").get<std::string>();
  REQUIRE(f.server
              .request("PATCH", "/api/deployments/" + d_id,
                       R"({"concurrency_limit": 3})")
              .status == 204);
  REQUIRE(f.server
              .request("PATCH", "/api/deployments/" + d_id,
                       R"({"concurrency_limit": null})")
              .status == 204);

  const auto limits = feed_events(f.server, "prefect.concurrency-limit.");
  REQUIRE(limits.size() == 3);
  const std::vector<std::string> verbs = {"created", "updated", "deleted"};
  const std::vector<int> sizes = {4, 9, 9};
  for (std::size_t i = 0; i < limits.size(); ++i) {
    INFO(limits[i].dump());
    CHECK(limits[i].at("event") == "prefect.concurrency-limit." + verbs[i]);
    CHECK(limits[i].at("resource") ==
          json{{"prefect.resource.id", "prefect.concurrency-limit." + limit_id},
               {"prefect.resource.name", "shared"}});
    CHECK(limits[i].at("payload") == json{{"name", "shared"},
                                          {"limit", sizes[i]},
                                          {"active", true},
                                          {"slot_decay_per_second", 0.0}});
  }
}

TEST_CASE("a block document's data is updated, merged or replaced, keeping "
          "secrets posted back masked, and deleting a block type cascades",
          "[integration][blocks][events]") {
  fixture f;
  auto r = f.server.post("/api/block_types/",
                         json{{"name", "My Storage"}, {"slug", "my-storage"}});
  REQUIRE(r.status == 201);
  const auto type_id = r.json_body().at("id").get<std::string>();
  const json fields = {
    {"title", "MyStorage"},
    {"type", "object"},
    {"properties",
     {{"bucket", {{"type", "string"}}},
      {"token", {{"type", "string"}}},
      {"nested", {{"type", "object"}}}}},
    {"secret_fields", {"token", "nested.*"}}};
  r = f.server.post("/api/block_schemas/",
                    json{{"fields", fields}, {"block_type_id", type_id}});
  REQUIRE(r.status == 201);
  const auto schema_id = r.json_body().at("id").get<std::string>();
  r = f.server.post("/api/block_documents/",
                    json{{"name", "prod-bucket"},
                         {"data", {{"bucket", "prod"},
                                   {"token", "s3cret"},
                                   {"nested", {{"key", "k1"}, {"n", 1}}}}},
                         {"block_schema_id", schema_id},
                         {"block_type_id", type_id}});
  REQUIRE(r.status == 201);
  const auto doc_id = r.json_body().at("id").get<std::string>();
  const auto path = "/api/block_documents/" + doc_id;
  const auto secrets = [&] {
    return f.server.get(path + "?include_secrets=true").json_body().at("data");
  };

  // Merged: the keys sent replace theirs, the others stay.
  REQUIRE(f.server.request("PATCH", path, R"({"data": {"bucket": "prod-2"}})")
              .status == 204);
  CHECK(secrets() == json{{"bucket", "prod-2"},
                          {"token", "s3cret"},
                          {"nested", {{"key", "k1"}, {"n", 1}}}});
  // What a GET without secrets answered, saved back as it was: the masked
  // secrets keep their stored values.
  const auto shown = f.server.get(path).json_body().at("data");
  CHECK(shown.at("token") == "********");
  REQUIRE(f.server.request("PATCH", path, json{{"data", shown}}.dump()).status ==
          204);
  CHECK(secrets() == json{{"bucket", "prod-2"},
                          {"token", "s3cret"},
                          {"nested", {{"key", "k1"}, {"n", 1}}}});
  // Replaced: only what was sent is left.
  REQUIRE(f.server
              .request("PATCH", path,
                       R"({"data": {"bucket": "b", "token": "new"},
                           "merge_existing_data": false})")
              .status == 204);
  CHECK(secrets() == json{{"bucket", "b"}, {"token", "new"}});
  // Nothing to change: 204, and nothing is written.
  const auto at =
    f.server.get("/api/health").headers.at("x-deployd-position");
  CHECK(f.server.request("PATCH", path, "{}").status == 204);
  CHECK(f.server.get("/api/health").headers.at("x-deployd-position") == at);

  // Errors in the reference's shapes.
  CHECK(f.server
          .request("PATCH",
                   "/api/block_documents/00000000-0000-4000-8000-000000000000",
                   R"({"data": {}})")
          .json_body() == json{{"detail", "Block document not found"}});
  CHECK(f.server.request("PATCH", path, R"({"data": {}, "other": 1})").status ==
        422);
  r = f.server.post("/api/block_types/",
                    json{{"name", "Other Type"}, {"slug", "other-type"}});
  const auto other_type = r.json_body().at("id").get<std::string>();
  r = f.server.post("/api/block_schemas/",
                    json{{"fields", {{"type", "object"}}},
                         {"block_type_id", other_type}});
  const auto other_schema = r.json_body().at("id").get<std::string>();
  r = f.server.request("PATCH", path,
                       json{{"data", json::object()},
                            {"block_schema_id", other_schema}}
                         .dump());
  CHECK(r.status == 400);
  CHECK(r.json_body() ==
        json{{"detail", "Must migrate block document to a block schema of "
                        "the same block type."}});

  // Deleting the type takes its schema, its documents and the deployment
  // that used one; only the type's deletion is announced.
  const auto d = f.deploy({{"name", "uses-block"}, {"storage_document_id", doc_id}});
  REQUIRE(d.status == 201);
  const auto dep_id = d.json_body().at("id").get<std::string>();
  CHECK(f.server
          .request("DELETE",
                   "/api/block_types/00000000-0000-4000-8000-000000000000")
          .json_body() == json{{"detail", "Block type not found"}});
  REQUIRE(f.server.request("DELETE", "/api/block_types/" + type_id).status ==
          204);
  CHECK(f.server.get(path).status == 404);
  CHECK(f.server.get("/api/deployments/" + dep_id).status == 404);
  CHECK(f.server.get("/api/block_types/slug/my-storage").status == 404);
  CHECK(f.server.get("/api/block_types/slug/other-type").status == 200);
  // The slug and the document's name are free again.
  REQUIRE(f.server
            .post("/api/block_types/",
                  json{{"name", "My Storage"}, {"slug", "my-storage"}})
            .status == 201);

  const auto docs = feed_events(f.server, "prefect.block-document.");
  REQUIRE(docs.size() == 3); // created, then two updates that changed data
  CHECK(docs[0].at("event") == "prefect.block-document.created");
  CHECK(docs[1].at("event") == "prefect.block-document.updated");
  CHECK(docs[1].at("payload").at("data") == json{{"bucket", "prod-2"}});
  CHECK(docs[2].at("event") == "prefect.block-document.updated");
  CHECK(docs[2].at("payload").at("data") == json{{"bucket", "b"}});
  const auto types = feed_events(f.server, "prefect.block-type.");
  std::vector<std::string> names;
  for (const auto& e : types)
    names.push_back(e.at("event").get<std::string>() + " " +
                    e.at("resource").at("prefect.resource.name").get<std::string>());
  CHECK(names == std::vector<std::string>{
                   "prefect.block-type.created My Storage",
                   "prefect.block-type.created Other Type",
                   "prefect.block-type.deleted My Storage",
                   "prefect.block-type.created My Storage"});
  CHECK(feed_events(f.server, "prefect.deployment.deleted").empty());
}
