// What an operator sees of the real binary over HTTP: Prometheus metrics at
// GET /metrics (counted by route template and status, the writer's commits,
// log positions, RocksDB memory; `promtool check metrics` accepts the text),
// and the auth rule that covers /metrics like every route but health.
#include "tests/integration/harness.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sys/wait.h>
#include <thread>

using namespace deployd::testing;

namespace {

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

// A request is counted once its response is written, which can be just
// after the client has read it: scrapes until `settled(text)` holds (5 s at
// most) and returns the last scrape. `scrapes` counts the scrapes made.
template <class Settled>
http_reply scrape_until(deployd_process& d, Settled settled, int& scrapes,
                        const std::map<std::string, std::string>& headers = {}) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto r = d.request("GET", "/metrics", std::nullopt, headers);
    ++scrapes;
    if (r.status != 200 || settled(r.body) ||
        std::chrono::steady_clock::now() > deadline)
      return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
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

  // The seven requests above, each counted once.
  int scrapes = 0;
  const auto counted = [](const std::string& text) {
    return metric_value(text, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="201"})m") == 1 &&
           metric_value(text, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="200"})m") == 1 &&
           metric_value(text, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="422"})m") == 1 &&
           metric_value(text, R"m(deployd_http_requests_total{method="GET",route="/api/flows/{id}",status="200"})m") == 2 &&
           metric_value(text, R"m(deployd_http_requests_total{method="GET",route="(unmatched)",status="404"})m") == 1 &&
           metric_value(text, R"m(deployd_http_requests_total{method="other",route="(unmatched)",status="404"})m") == 1;
  };
  const auto r = scrape_until(d, counted, scrapes);
  REQUIRE(r.status == 200);
  CHECK(r.headers.at("content-type") ==
        "text/plain; version=0.0.4; charset=utf-8");
  const auto& m = r.body;
  INFO(m.substr(0, 4000));
  CHECK(metric_value(m, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="201"})m") == 1);
  CHECK(metric_value(m, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="200"})m") == 1);
  CHECK(metric_value(m, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="422"})m") == 1);
  CHECK(metric_value(m, R"m(deployd_http_requests_total{method="GET",route="/api/flows/{id}",status="200"})m") == 2);
  CHECK(metric_value(m, R"m(deployd_http_requests_total{method="GET",route="(unmatched)",status="404"})m") == 1);
  // A method no route has is client text: it is counted as "other".
  CHECK(metric_value(m, R"m(deployd_http_requests_total{method="other",route="(unmatched)",status="404"})m") == 1);
  CHECK(m.find("BREW") == std::string::npos);
  CHECK(metric_value(m, R"m(deployd_http_request_duration_seconds_count{method="GET",route="/api/flows/{id}"})m") == 2);
  CHECK(metric_value(m, R"m(deployd_http_request_duration_seconds_bucket{method="GET",route="/api/flows/{id}",le="+Inf"})m") == 2);
  // One flow created: one commit of one command and one event; the second
  // POST changed nothing and wrote nothing.
  CHECK(metric_value(m, "deployd_commit_batch_commands_count") == 1);
  CHECK(metric_value(m, "deployd_commit_duration_seconds_count") == 1);
  CHECK(metric_value(m, "deployd_events_appended_total") == 1);
  CHECK(metric_value(m, "deployd_log_position") == 1);
  CHECK(metric_value(m, "deployd_projected_position") == 1);
  // This scrape's own connection.
  CHECK(metric_value(m, "deployd_http_connections") >= 1);
  CHECK(metric_value(m, R"m(deployd_rocksdb_memory_bytes{kind="memtables"})m") > 0);
  CHECK(metric_value(m, R"m(deployd_rocksdb_memory_bytes{kind="block_cache"})m") >= 0);
  CHECK(metric_value(m, "deployd_rocksdb_pending_compaction_bytes") >= 0);
  // A single node exports no cluster series.
  CHECK(m.find("deployd_cluster_") == std::string::npos);

  // The scrapes themselves are counted by the next ones: each once, never
  // more than were made before.
  const int before = scrapes;
  const auto metrics_200 = R"m(deployd_http_requests_total{method="GET",route="/metrics",status="200"})m";
  const auto again = scrape_until(d, [&](const std::string& text) {
    return metric_value(text, metrics_200) >= before;
  }, scrapes).body;
  CHECK(metric_value(again, metrics_200) >= before);
  CHECK(metric_value(again, metrics_200) <= scrapes - 1);
  CHECK(counted(again));

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
  int scrapes = 0;
  const auto r = scrape_until(
    d,
    [](const std::string& text) {
      return metric_value(text, R"m(deployd_http_requests_total{method="GET",route="(unmatched)",status="401"})m") >= 1;
    },
    scrapes, {{"Authorization", "Basic " + base64("admin:s3cret")}});
  CHECK(r.status == 200);
  // The refused scrape is counted, without a route.
  CHECK(metric_value(r.body, R"m(deployd_http_requests_total{method="GET",route="(unmatched)",status="401"})m") == 1);
}

TEST_CASE("metrics can be turned off: nothing recorded and /metrics is 404",
          "[integration][metrics]") {
  process_options options;
  options.extra_env["DEPLOYD_METRICS_ENABLED"] = "false";
  deployd_process d(options);
  CHECK(d.get("/api/health").status == 200);
  CHECK(d.get("/metrics").status == 404);
}

// -- the request log ---------------------------------------------------------

namespace {

std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

// The JSON log lines whose request_id is `id`.
std::vector<json> lines_with_id(const std::vector<json>& lines,
                                const std::string& id) {
  std::vector<json> out;
  for (const auto& l : lines)
    if (l.value("request_id", "") == id)
      out.push_back(l);
  return out;
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

} // namespace

TEST_CASE("the request log: one JSON line per request, X-Request-ID echoed "
          "or generated, rejected writes with their cause",
          "[integration][log]") {
  temp_dir dir;
  process_options o;
  o.stderr_file = (dir.path() / "deployd.log").string();
  o.extra_args = {"--log-format", "json"};
  const std::string flow_body = R"({"name":"logged"})";
  http_reply created, missing, rejected, invalid, odd_id;
  {
    deployd_process d(o);
    created = d.request("POST", "/api/flows/", flow_body,
                        {{"X-Request-ID", "client-id-1"}});
    missing = d.get("/api/nothing/here");
    rejected = d.request(
      "POST", "/api/deployments/",
      R"({"name":"d","flow_id":"00000000-0000-4000-8000-000000000000"})",
      {{"X-Request-ID", "rejected-1"}});
    invalid = d.request("POST", "/api/flows/", R"({"name":7})",
                        {{"X-Request-ID", "invalid-1"}});
    odd_id = d.request("GET", "/api/health", std::nullopt,
                       {{"X-Request-ID", "has space \"and quotes\""}});
    REQUIRE(d.stop() == 0); // the log is written out before exit
  }
  REQUIRE(created.status == 201);
  CHECK(created.headers.at("x-request-id") == "client-id-1");
  REQUIRE(missing.status == 404);
  const auto generated = missing.headers.at("x-request-id");
  CHECK(generated.size() == 24);
  CHECK(is_hex(generated));
  REQUIRE(rejected.status == 409);
  REQUIRE(invalid.status == 422);
  const auto replaced = odd_id.headers.at("x-request-id");
  CHECK(replaced.size() == 24);
  CHECK(replaced != generated);

  std::vector<json> lines;
  for (const auto& text : read_lines(o.stderr_file)) {
    INFO(text);
    REQUIRE_NOTHROW(lines.push_back(json::parse(text)));
    CHECK(lines.back().contains("ts"));
    CHECK(lines.back().contains("level"));
  }

  const auto c = lines_with_id(lines, "client-id-1");
  REQUIRE(c.size() == 1);
  CHECK(c[0]["msg"] == "request");
  CHECK(c[0]["level"] == "info");
  CHECK(c[0]["method"] == "POST");
  CHECK(c[0]["route"] == "/api/flows/");
  CHECK(c[0]["status"] == 201);
  CHECK(c[0]["duration_ms"].get<double>() >= 0);
  CHECK(c[0]["bytes_in"] == flow_body.size());
  CHECK(c[0]["bytes_out"] == created.body.size());
  CHECK_FALSE(c[0].contains("cause"));

  const auto m = lines_with_id(lines, generated);
  REQUIRE(m.size() == 1);
  CHECK(m[0]["path"] == "/api/nothing/here");
  CHECK_FALSE(m[0].contains("route"));
  CHECK(m[0]["status"] == 404);
  CHECK(m[0]["level"] == "info"); // a miss on a read is not a warning

  // Each rejected write once, at warn, with its cause.
  const auto r = lines_with_id(lines, "rejected-1");
  REQUIRE(r.size() == 1);
  CHECK(r[0]["level"] == "warn");
  CHECK(r[0]["status"] == 409);
  CHECK(r[0]["cause"] == "rejected: unknown_flow");
  const auto v = lines_with_id(lines, "invalid-1");
  REQUIRE(v.size() == 1);
  CHECK(v[0]["level"] == "warn");
  CHECK(v[0]["cause"].get<std::string>().starts_with(
    "invalid body: [\"body\",\"name\"]"));

  CHECK(lines_with_id(lines, replaced).size() == 1);
  // Start and stop are logged too.
  CHECK(std::any_of(lines.begin(), lines.end(),
                    [](const json& l) { return l["msg"] == "listening"; }));
  CHECK(std::any_of(lines.begin(), lines.end(),
                    [](const json& l) { return l["msg"] == "storage closed"; }));
}

TEST_CASE("with request lines off, rejected writes are still logged (logfmt)",
          "[integration][log]") {
  temp_dir dir;
  process_options o;
  o.stderr_file = (dir.path() / "deployd.log").string();
  o.extra_env["DEPLOYD_LOG_REQUESTS"] = "false";
  {
    deployd_process d(o);
    REQUIRE(d.request("POST", "/api/flows/", R"({"name":"quiet"})",
                      {{"X-Request-ID", "ok-1"}})
              .status == 201);
    REQUIRE(d.request("DELETE",
                      "/api/flows/00000000-0000-4000-8000-000000000000",
                      std::nullopt, {{"X-Request-ID", "gone-1"}})
              .status == 404);
    REQUIRE(d.stop() == 0);
  }
  const auto lines = read_lines(o.stderr_file);
  const auto with = [&](const std::string& needle) {
    return std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
      return l.find(needle) != std::string::npos;
    });
  };
  CHECK(with("request_id=ok-1") == 0);
  REQUIRE(with("request_id=gone-1") == 1);
  for (const auto& l : lines)
    if (l.find("request_id=gone-1") != std::string::npos) {
      CHECK(l.starts_with("ts="));
      CHECK(l.find(" level=warn msg=request method=DELETE "
                   "route=/api/flows/{id} status=404 ") != std::string::npos);
      CHECK(l.find(" cause=") != std::string::npos);
    }
}

TEST_CASE("a storage error is logged once with its cause",
          "[integration][log]") {
  temp_dir dir;
  // The data dir is a file: RocksDB cannot create it.
  const auto blocker = dir.path() / "not-a-dir";
  std::ofstream(blocker) << "x";
  const auto result = run_tool_stderr(
    {"serve", "--port", "0", "--data-dir", (blocker / "data").string()});
  CHECK(result.status == 1);
  const auto& err = result.out;
  INFO(err);
  std::size_t count = 0;
  for (std::size_t at = 0;
       (at = err.find("msg=\"storage error\"", at)) != std::string::npos; ++at)
    ++count;
  CHECK(count == 1);
  CHECK(err.find("op=\"create data dir\"") != std::string::npos);
  CHECK(err.find("status=\"Not a directory\"") != std::string::npos);
}

// -- the command line --------------------------------------------------------

TEST_CASE("deployd --version and deployd version print the version, commit, "
          "build type and library versions",
          "[integration][cli]") {
  const std::regex shape(
    R"(deployd \d+\.\d+\.\d+\n)"
    R"(commit ([0-9a-f]{12}(-dirty)?|unknown)\n)"
    R"(build type \S+\n)"
    R"(RocksDB \d+\.\d+\.\d+\n)"
    R"(CAF \d+\.\d+\.\d+\n)"
    R"(Boost 1\.\d+\.\d+\n)"
    R"(OpenSSL \d+\.\d+\.\d+[^\n]*\n)");
  const auto flag = run_tool({"--version"});
  const auto word = run_tool({"version"});
  INFO(flag.out);
  CHECK(flag.status == 0);
  CHECK(std::regex_match(flag.out, shape));
  CHECK(word.status == 0);
  CHECK(word.out == flag.out);
}

TEST_CASE("--help on every command prints that command's usage",
          "[integration][cli]") {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>
    commands = {
      {{"serve"}, {"--host", "--port", "--data-dir", "--etcd", "--log-format"}},
      {{"replay"}, {"--data-dir"}},
      {{"verify"}, {"--data-dir", "--scratch-dir"}},
      {{"events"}, {"--from", "--stream"}},
      {{"cluster", "status"}, {"--etcd", "--cluster-prefix"}},
      {{"version"}, {"--version"}},
    };
  for (const auto& [words, flags] : commands)
    for (const auto* help : {"--help", "-h"}) {
      auto args = words;
      args.push_back(help);
      const auto r = run_tool(args);
      std::string name = words[0];
      if (words.size() > 1)
        name += " " + words[1];
      INFO(name << ' ' << help << '\n' << r.out);
      CHECK(r.status == 0);
      CHECK(r.out.starts_with("usage: deployd " + name + " [options]\n"));
      for (const auto& f : flags)
        CHECK(r.out.find(f) != std::string::npos);
      // Only this command's section.
      if (name != "replay")
        CHECK(r.out.find("\n  replay  --") == std::string::npos);
    }
  // Without a command, and as a command: every command.
  for (const auto& args : {std::vector<std::string>{"--help"},
                           std::vector<std::string>{"help"}}) {
    const auto all = run_tool(args);
    INFO(all.out);
    CHECK(all.status == 0);
    for (const auto* c : {"  serve ", "  replay ", "  verify ", "  events ",
                          "  cluster status ", "  version ", "  help "})
      CHECK(all.out.find(c) != std::string::npos);
    // The settings as flags, and the flag named in the help is accepted.
    CHECK(all.out.find("--section.key") != std::string::npos);
  }
  // --help does not start a server or open a database.
  temp_dir dir;
  CHECK(run_tool({"serve", "--data-dir", (dir.path() / "d").string(),
                  "--help"}).status == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "d"));
  // An unknown command is an error, with or without --help.
  const auto bogus = run_tool_stderr({"bogus", "--help"});
  CHECK(bogus.status == 2);
  CHECK(bogus.out.starts_with("deployd: unknown command 'bogus'"));
}

TEST_CASE("settings: the file, then the environment, then flags, each value "
          "checked by CLI11 and its problem naming where it came from",
          "[integration][cli]") {
  temp_dir dir;
  const auto ini = [&](const std::string& name, const std::string& body) {
    const auto path = (dir.path() / name).string();
    std::ofstream(path) << body;
    return path;
  };
  // A comment after a section header, a list with commas and spaces kept
  // whole, and `key=value` without spaces.
  const auto bad = ini("bad.ini", "[api]            ; the API\n"
                                  "auth_string = nocolon ; a comment\n"
                                  "[cluster]\n"
                                  "prefix=/a b,c\n");
  const auto good = ini("good.ini", "[api]\nauth_string = user:pw\n");
  const auto data = (dir.path() / "d").string();
  const std::string auth_problem = "api.auth_string must look like";
  const auto run = [&](std::vector<std::string> args,
                       const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"replay", "--data-dir", data});
    return run_tool_stderr(args, env);
  };
  const std::map<std::string, std::string> env_bad = {
    {"PREFECT_SERVER_API_AUTH_STRING", "nocolon"}};
  const std::map<std::string, std::string> env_good = {
    {"PREFECT_SERVER_API_AUTH_STRING", "user:pw"}};

  const auto file_only = run({"--config", bad});
  INFO(file_only.out);
  CHECK(file_only.status == 2);
  CHECK(file_only.out.find(auth_problem) != std::string::npos);
  // The environment wins over the file.
  CHECK(run({"--config", bad}, env_good).status == 0);
  const auto env_over_file = run({"--config", good}, env_bad);
  CHECK(env_over_file.status == 2);
  CHECK(env_over_file.out.find(auth_problem) != std::string::npos);
  // Flags win over both; every setting is a flag `--section.key`.
  CHECK(run({"--config", bad, "--api.auth_string", "user:pw"}, env_bad)
          .status == 0);
  CHECK(run({"--api.auth_string=user:pw"}, env_bad).status == 0);
  // DEPLOYD_CONFIG names the file when --config does not.
  CHECK(run({}, {{"DEPLOYD_CONFIG", bad}}).status == 2);
  CHECK(run({"--config", good}, {{"DEPLOYD_CONFIG", bad}}).status == 0);

  // Each problem says where the value came from.
  const auto unknown =
    run({"--config", ini("unknown.ini", "[http]\nbogus = 1\n")});
  CHECK(unknown.status == 2);
  CHECK(unknown.out.find("unknown.ini: unknown setting 'http.bogus'") !=
        std::string::npos);
  const auto env_value =
    run({}, {{"PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS", "12x"}});
  CHECK(env_value.status == 2);
  CHECK(env_value.out.find("environment "
                           "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS: "
                           "invalid value '12x' for scheduler.max_runs") !=
        std::string::npos);
  // Numbers are decimal and in range: no octal, no wrap-around of -1.
  for (const auto* port : {"0x50", "-1", "99999999999999999999", "8o"}) {
    const auto r = run({"--port", port});
    INFO(port << '\n' << r.out);
    CHECK(r.status == 2);
    CHECK(r.out.find("--http.port") != std::string::npos);
  }
  CHECK(run({"--port", "010"}).status == 0);
  const auto range = run({"--port", "70000"});
  CHECK(range.out.find("http.port must be at most 65535") !=
        std::string::npos);
  // Command options belong to their command.
  const auto stray = run_tool_stderr({"serve", "--data-dir", data, "--from",
                                      "3"});
  CHECK(stray.status == 2);
  CHECK(stray.out.find("unknown argument '--from'") != std::string::npos);
  const auto history = run_tool_stderr({"history", "--data-dir", data,
                                        "--deployment", "x", "--version",
                                        "0"});
  CHECK(history.status == 2);
  CHECK(history.out.find("a stream version, from 1") != std::string::npos);
}

// -- the OpenAPI document ----------------------------------------------------

TEST_CASE("GET /api/openapi.json serves the route table as a valid OpenAPI "
          "3.1 document, behind the auth string",
          "[integration][openapi]") {
  {
    deployd_process d;
    const auto r = d.get("/api/openapi.json");
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("content-type") == "application/json");
    const auto doc = r.json_body();
    CHECK(doc["openapi"] == "3.1.0");
    for (const auto& [path, method] :
         std::vector<std::pair<std::string, std::string>>{
           {"/api/flows/", "post"},
           {"/api/deployments/{id}", "patch"},
           {"/api/work_pools/{name}/workers/heartbeat", "post"},
           {"/api/variables/name/{name}", "delete"},
           {"/api/work_pools/{name}/workers/{name_2}", "delete"},
           {"/api/health", "get"},
           {"/metrics", "get"},
           {"/api/openapi.json", "get"}}) {
      INFO(method << ' ' << path);
      CHECK(doc["paths"][path].contains(method));
    }
    // A real OpenAPI validator accepts it (Python openapi-spec-validator).
    temp_dir dir;
    const auto file = dir.path() / "openapi.json";
    std::ofstream(file) << r.body;
    const auto out = dir.path() / "validator.txt";
    const std::string command =
      "python3 -c 'import json, sys; from openapi_spec_validator import "
      "validate; validate(json.load(open(sys.argv[1]))); print(\"valid\")' " +
      file.string() + " > " + out.string() + " 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream f(out);
    std::string report((std::istreambuf_iterator<char>(f)), {});
    INFO(report);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(report == "valid\n");
  }
  process_options options;
  options.extra_env["PREFECT_SERVER_API_AUTH_STRING"] = "admin:s3cret";
  deployd_process d(options);
  CHECK(d.get("/api/openapi.json").status == 401);
  CHECK(d.request("GET", "/api/openapi.json", std::nullopt,
                  {{"Authorization", "Basic " + base64("admin:s3cret")}})
          .status == 200);
}

TEST_CASE("GET /docs serves Swagger UI over /api/openapi.json, its files "
          "from npm's swagger-ui-dist",
          "[integration][openapi][docs]") {
  deployd_process d;
  const auto page = d.get("/docs");
  REQUIRE(page.status == 200);
  CHECK(page.headers.at("content-type") == "text/html; charset=utf-8");
  CHECK(page.body.find("/docs/swagger-ui-bundle.js") != std::string::npos);
  CHECK(page.body.find("/docs/swagger-ui.css") != std::string::npos);
  CHECK(page.body.find(R"(url: "/api/openapi.json")") != std::string::npos);
  const auto js = d.get("/docs/swagger-ui-bundle.js");
  REQUIRE(js.status == 200);
  CHECK(js.headers.at("content-type") == "text/javascript; charset=utf-8");
  CHECK(js.body.size() > 100'000);
  CHECK(js.body.find("SwaggerUIBundle") != std::string::npos);
  const auto css = d.get("/docs/swagger-ui.css");
  REQUIRE(css.status == 200);
  CHECK(css.headers.at("content-type") == "text/css; charset=utf-8");
  CHECK(css.body.find(".swagger-ui") != std::string::npos);
  CHECK(d.get("/docs/other.js").status == 404);
}
