#include "observe/metrics.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

using deployd::observe::metrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("metrics count requests by route, method and status",
          "[observe][metrics]") {
  metrics m({{"GET", "/api/flows/{id}"}, {"POST", "/api/flows/"}});
  m.request_done(0, "GET", 200, 0.002);
  m.request_done(0, "GET", 200, 0.004);
  m.request_done(1, "POST", 201, 0.02);
  m.request_done(metrics::unmatched, "DELETE", 404, 0.0001);
  m.request_done(metrics::unmatched, "<script>", 400, 0.0001);
  const auto text = m.scrape({});
  CHECK(has_line(text, R"m(deployd_http_requests_total{method="GET",route="/api/flows/{id}",status="200"} 2)m"));
  CHECK(has_line(text, R"m(deployd_http_requests_total{method="POST",route="/api/flows/",status="201"} 1)m"));
  CHECK(has_line(text, R"m(deployd_http_requests_total{method="DELETE",route="(unmatched)",status="404"} 1)m"));
  CHECK(has_line(text, R"m(deployd_http_requests_total{method="other",route="(unmatched)",status="400"} 1)m"));
  CHECK(text.find("<script>") == std::string::npos);
  CHECK(has_line(text, R"m(deployd_http_request_duration_seconds_count{method="GET",route="/api/flows/{id}"} 2)m"));
  CHECK(has_line(text, R"m(deployd_http_request_duration_seconds_bucket{method="GET",route="/api/flows/{id}",le="0.0025"} 1)m"));
  CHECK(has_line(text, R"m(deployd_http_request_duration_seconds_bucket{method="GET",route="/api/flows/{id}",le="0.005"} 2)m"));
}

TEST_CASE("metrics record commits and the state gauges",
          "[observe][metrics]") {
  metrics m(std::vector<deployd::observe::route_label>{});
  m.commit_done(3, 5, 0.002);
  m.commit_done(64, 70, 0.004);
  m.connection_opened();
  m.connection_opened();
  m.connection_closed();
  deployd::observe::state s;
  s.log_position = 75;
  s.projected_position = 74;
  s.memtable_bytes = 1024;
  s.pending_compaction_bytes = 9;
  const auto text = m.scrape(s);
  CHECK(has_line(text, "deployd_commit_batch_commands_count 2"));
  CHECK(has_line(text, "deployd_commit_batch_commands_sum 67"));
  CHECK(has_line(text, R"m(deployd_commit_batch_commands_bucket{le="4"} 1)m"));
  CHECK(has_line(text, "deployd_events_appended_total 75"));
  CHECK(has_line(text, "deployd_log_position 75"));
  CHECK(has_line(text, "deployd_projected_position 74"));
  CHECK(has_line(text, "deployd_http_connections 1"));
  CHECK(has_line(text, R"m(deployd_rocksdb_memory_bytes{kind="memtables"} 1024)m"));
  CHECK(has_line(text, "deployd_rocksdb_pending_compaction_bytes 9"));
  CHECK(text.find("deployd_cluster_") == std::string::npos);

  SECTION("a cluster view adds the role and the replication lag") {
    s.cluster = deployd::observe::state::cluster_view{"follower", 70, 75,
                                                       true, true};
    const auto c = m.scrape(s);
    CHECK(has_line(c, R"m(deployd_cluster_role{role="follower"} 1)m"));
    CHECK(has_line(c, R"m(deployd_cluster_role{role="leader"} 0)m"));
    CHECK(has_line(c, "deployd_cluster_applied_position 70"));
    CHECK(has_line(c, "deployd_cluster_log_head 75"));
    CHECK(has_line(c, "deployd_cluster_replication_lag 5"));
  }
}

TEST_CASE("metrics count every request when threads race on a new status",
          "[observe][metrics]") {
  metrics m(std::vector<deployd::observe::route_label>{{"GET", "/x"}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m] {
      for (int i = 0; i < 10000; ++i)
        m.request_done(0, "GET", 200 + static_cast<unsigned>(i % 3), 0.001);
    });
  for (auto& t : threads)
    t.join();
  const auto text = m.scrape({});
  CHECK(has_line(text, R"m(deployd_http_requests_total{method="GET",route="/x",status="200"} 13336)m"));
  CHECK(has_line(text, R"m(deployd_http_requests_total{method="GET",route="/x",status="201"} 13332)m"));
  CHECK(has_line(text, R"m(deployd_http_requests_total{method="GET",route="/x",status="202"} 13332)m"));
  CHECK(has_line(text, R"m(deployd_http_request_duration_seconds_count{method="GET",route="/x"} 40000)m"));
}
