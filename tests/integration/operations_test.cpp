// What an operator sees of the real binary over HTTP: Prometheus metrics at
// GET /metrics (counted by route template and status, the writer's commits,
// log positions, RocksDB memory; `promtool check metrics` accepts the text),
// and the auth rule that covers /metrics like every route but health.
#include "tests/integration/harness.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sys/wait.h>

using namespace deployd::testing;

namespace {

// The value of the sample whose name and labels are exactly `series`
// (`name{a="b",...}` as the text writes it), or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n')
      return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

// Runs `promtool check metrics` on `text`; returns its exit status and
// output.
std::pair<int, std::string> promtool_check(const temp_dir& dir,
                                           const std::string& text) {
  const auto in = dir.path() / "metrics.txt";
  const auto out = dir.path() / "promtool.txt";
  std::ofstream(in) << text;
  const std::string command = "promtool check metrics < " + in.string() +
                              " > " + out.string() + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream f(out);
  std::string report((std::istreambuf_iterator<char>(f)), {});
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, report};
}

} // namespace

TEST_CASE("GET /metrics counts requests by route template and status and "
          "passes promtool",
          "[integration][metrics]") {
  deployd_process d;
  temp_dir scratch;
  REQUIRE(d.post("/api/flows/", {{"name", "metrics-flow"}}).status == 201);
  const auto flow = d.post("/api/flows/", {{"name", "metrics-flow"}});
  REQUIRE(flow.status == 200);
  const auto id = flow.json_body()["id"].get<std::string>();
  REQUIRE(d.get("/api/flows/" + id).status == 200);
  REQUIRE(d.get("/api/flows/" + id).status == 200);
  REQUIRE(d.get("/api/no/such/route").status == 404);
  REQUIRE(d.request("BREW", "/api/nothing").status == 404);
  REQUIRE(d.post("/api/flows/", {{"name", 7}}).status == 422);

  const auto r = d.get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.headers.at("content-type") ==
        "text/plain; version=0.0.4; charset=utf-8");
  const auto& m = r.body;
  INFO(m.substr(0, 4000));
  CHECK(sample(m, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="201"})m") == 1);
  CHECK(sample(m, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="200"})m") == 1);
  CHECK(sample(m, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="422"})m") == 1);
  CHECK(sample(m, R"m(deployd_http_requests_total{method="GET",route="/api/flows/{id}",status="200"})m") == 2);
  CHECK(sample(m, R"m(deployd_http_requests_total{method="GET",route="(unmatched)",status="404"})m") == 1);
  // A method no route has is client text: it is counted as "other".
  CHECK(sample(m, R"m(deployd_http_requests_total{method="other",route="(unmatched)",status="404"})m") == 1);
  CHECK(m.find("BREW") == std::string::npos);
  CHECK(sample(m, R"m(deployd_http_request_duration_seconds_count{method="GET",route="/api/flows/{id}"})m") == 2);
  CHECK(sample(m, R"m(deployd_http_request_duration_seconds_bucket{method="GET",route="/api/flows/{id}",le="+Inf"})m") == 2);
  // One flow created: one commit of one command and one event; the second
  // POST changed nothing and wrote nothing.
  CHECK(sample(m, "deployd_commit_batch_commands_count") == 1);
  CHECK(sample(m, "deployd_commit_duration_seconds_count") == 1);
  CHECK(sample(m, "deployd_events_appended_total") == 1);
  CHECK(sample(m, "deployd_log_position") == 1);
  CHECK(sample(m, "deployd_projected_position") == 1);
  // This scrape's own connection.
  CHECK(sample(m, "deployd_http_connections") >= 1);
  CHECK(sample(m, R"m(deployd_rocksdb_memory_bytes{kind="memtables"})m") > 0);
  CHECK(sample(m, R"m(deployd_rocksdb_memory_bytes{kind="block_cache"})m") >= 0);
  CHECK(sample(m, "deployd_rocksdb_pending_compaction_bytes") >= 0);
  // A single node exports no cluster series.
  CHECK(m.find("deployd_cluster_") == std::string::npos);

  // The scrape itself is counted by the next one.
  const auto again = d.get("/metrics").body;
  CHECK(sample(again, R"m(deployd_http_requests_total{method="GET",route="/metrics",status="200"})m") == 1);

  const auto [status, report] = promtool_check(scratch, again);
  INFO(report);
  CHECK(status == 0);
}

TEST_CASE("/metrics needs the auth string like every route but health",
          "[integration][metrics][auth]") {
  process_options options;
  options.extra_env["PREFECT_SERVER_API_AUTH_STRING"] = "admin:s3cret";
  deployd_process d(options);
  const auto denied = d.get("/metrics");
  CHECK(denied.status == 401);
  CHECK(denied.body == R"m({"exception_message":"Unauthorized"})m");
  CHECK(d.get("/api/health").status == 200);
  const auto r = d.request("GET", "/metrics", std::nullopt,
                           {{"Authorization", "Basic " + base64("admin:s3cret")}});
  CHECK(r.status == 200);
  // The refused scrape is counted, without a route.
  CHECK(sample(r.body, R"m(deployd_http_requests_total{method="GET",route="(unmatched)",status="401"})m") == 1);
}

TEST_CASE("metrics can be turned off: nothing recorded and /metrics is 404",
          "[integration][metrics]") {
  process_options options;
  options.extra_env["DEPLOYD_METRICS_ENABLED"] = "false";
  deployd_process d(options);
  CHECK(d.get("/api/health").status == 200);
  CHECK(d.get("/metrics").status == 404);
}
