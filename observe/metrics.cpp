#include "observe/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <sstream>

namespace deployd::observe {

namespace {

namespace prom = prometheus;

// Request durations: 0.5 ms (a GET from the cache) to 10 s (the request
// timeout).
const prom::Histogram::BucketBoundaries& latency_buckets() {
  static const prom::Histogram::BucketBoundaries b = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  return b;
}

// Methods an unmatched request is counted under; anything else is "other"
// (the method is client text: it must not make new series).
constexpr std::array<std::string_view, 7> known_methods = {
  "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

constexpr unsigned first_status = 100;
constexpr unsigned status_count = 500; // 100..599

// The counters of one (route, method), by status, created on first use.
struct route_slot {
  std::string method;
  std::string pattern;
  prom::Histogram* latency = nullptr;
  std::array<std::atomic<prom::Counter*>, status_count> by_status{};
};

} // namespace

struct metrics::impl {
  std::shared_ptr<prom::Registry> registry = std::make_shared<prom::Registry>();
  prom::Family<prom::Counter>& requests =
    prom::BuildCounter()
      .Name("deployd_http_requests_total")
      .Help("HTTP requests answered, by route template, method and status")
      .Register(*registry);
  prom::Family<prom::Histogram>& latency =
    prom::BuildHistogram()
      .Name("deployd_http_request_duration_seconds")
      .Help("Time from a request read in full to its response written, by "
            "route template")
      .Register(*registry);
  prom::Histogram& batch_commands =
    prom::BuildHistogram()
      .Name("deployd_commit_batch_commands")
      .Help("Commands decided per group commit")
      .Register(*registry)
      .Add({}, prom::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128,
                                                  256, 512});
  prom::Histogram& commit_seconds =
    prom::BuildHistogram()
      .Name("deployd_commit_duration_seconds")
      .Help("Duration of one group commit's synced RocksDB write (mostly "
            "its fsync)")
      .Register(*registry)
      .Add({}, prom::Histogram::BucketBoundaries{
                 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                 0.05, 0.1, 0.25, 0.5, 1.0});
  prom::Counter& events_appended =
    prom::BuildCounter()
      .Name("deployd_events_appended_total")
      .Help("Events appended to the log by this node's writer")
      .Register(*registry)
      .Add({});

  prom::Gauge& gauge(const char* name, const char* help) {
    return prom::BuildGauge().Name(name).Help(help).Register(*registry).Add(
      {});
  }

  prom::Gauge& log_position =
    gauge("deployd_log_position", "Last position in this node's log");
  prom::Gauge& projected_position = gauge(
    "deployd_projected_position", "Log position the read model has applied");
  prom::Gauge& connections =
    gauge("deployd_http_connections", "Open HTTP connections");
  prom::Family<prom::Gauge>& rocksdb_memory =
    prom::BuildGauge()
      .Name("deployd_rocksdb_memory_bytes")
      .Help("RocksDB memory by use: memtables, table readers, block cache, "
            "row cache")
      .Register(*registry);
  prom::Gauge& memtables = rocksdb_memory.Add({{"kind", "memtables"}});
  prom::Gauge& table_readers = rocksdb_memory.Add({{"kind", "table_readers"}});
  prom::Gauge& block_cache = rocksdb_memory.Add({{"kind", "block_cache"}});
  prom::Gauge& row_cache = rocksdb_memory.Add({{"kind", "row_cache"}});
  prom::Gauge& pending_compaction =
    gauge("deployd_rocksdb_pending_compaction_bytes",
          "RocksDB's estimate of the bytes compaction has yet to rewrite");
  prom::Gauge& log_dropped =
    gauge("deployd_log_lines_dropped",
          "Log lines dropped since start because the log queue was full");
  prom::Counter& cache_hits =
    prom::BuildCounter()
      .Name("deployd_idempotency_cache_hits_total")
      .Help("Retries with an Idempotency-Key answered from the first answers "
            "kept in memory, before the writer")
      .Register(*registry)
      .Add({});
  /// What `cache_hits` has been told (scrapes add the difference).
  std::mutex cache_hits_mutex;
  std::uint64_t cache_hits_told = 0;
  prom::Gauge& cache_entries =
    gauge("deployd_idempotency_cache_entries",
          "First answers of keyed writes kept in memory for their retries");
  prom::Gauge& cache_bytes =
    gauge("deployd_idempotency_cache_bytes",
          "Bytes those answers and their requests hold");

  // Cluster mode: created at the first scrape that has a cluster view, so
  // a single node does not export them.
  std::mutex cluster_mutex;
  prom::Family<prom::Gauge>* role = nullptr;
  prom::Gauge* role_leader = nullptr;
  prom::Gauge* role_follower = nullptr;
  prom::Gauge* applied = nullptr;
  prom::Gauge* head = nullptr;
  prom::Gauge* lag = nullptr;
  prom::Gauge* ready = nullptr;
  prom::Gauge* etcd_up = nullptr;

  std::vector<std::unique_ptr<route_slot>> routes;
  /// Unmatched requests, one slot per known method and one for the rest.
  std::vector<std::unique_ptr<route_slot>> unmatched;

  route_slot& slot(std::size_t route, std::string_view method) {
    if (route < routes.size())
      return *routes[route];
    for (std::size_t i = 0; i < known_methods.size(); ++i)
      if (method == known_methods[i])
        return *unmatched[i];
    return *unmatched.back();
  }

  std::unique_ptr<route_slot> make_slot(std::string method,
                                        std::string pattern) {
    auto s = std::make_unique<route_slot>();
    s->method = std::move(method);
    s->pattern = std::move(pattern);
    s->latency = &latency.Add({{"method", s->method}, {"route", s->pattern}},
                              latency_buckets());
    return s;
  }

  prom::Counter& counter(route_slot& s, unsigned status) {
    if (status < first_status || status >= first_status + status_count)
      status = 500; // not an HTTP status we send; counted as a failure
    auto& cell = s.by_status[status - first_status];
    if (auto* c = cell.load(std::memory_order_acquire))
      return *c;
    // First request with this status: Family::Add takes the family's lock
    // and returns the same counter to every caller with these labels.
    auto& c = requests.Add({{"method", s.method},
                            {"route", s.pattern},
                            {"status", std::to_string(status)}});
    cell.store(&c, std::memory_order_release);
    return c;
  }
};

metrics::metrics(std::vector<route_label> routes)
  : impl_(std::make_unique<impl>()) {
  for (auto& r : routes)
    impl_->routes.push_back(
      impl_->make_slot(std::move(r.method), std::move(r.pattern)));
  for (const auto m : known_methods)
    impl_->unmatched.push_back(impl_->make_slot(std::string(m), "(unmatched)"));
  impl_->unmatched.push_back(impl_->make_slot("other", "(unmatched)"));
}

metrics::~metrics() = default;

void metrics::request_done(std::size_t route, std::string_view method,
                           unsigned status, double seconds) {
  auto& s = impl_->slot(route, method);
  impl_->counter(s, status).Increment();
  s.latency->Observe(seconds);
}

void metrics::connection_opened() {
  impl_->connections.Increment();
}

void metrics::connection_closed() {
  impl_->connections.Decrement();
}

void metrics::commit_done(std::size_t commands, std::size_t events,
                          double seconds) {
  impl_->batch_commands.Observe(static_cast<double>(commands));
  impl_->commit_seconds.Observe(seconds);
  impl_->events_appended.Increment(static_cast<double>(events));
}

std::string metrics::scrape(const state& s) {
  auto& m = *impl_;
  const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  m.log_position.Set(d(s.log_position));
  m.projected_position.Set(d(s.projected_position));
  m.memtables.Set(d(s.memtable_bytes));
  m.table_readers.Set(d(s.table_reader_bytes));
  m.block_cache.Set(d(s.block_cache_bytes));
  m.row_cache.Set(d(s.row_cache_bytes));
  m.pending_compaction.Set(d(s.pending_compaction_bytes));
  m.log_dropped.Set(d(s.log_lines_dropped));
  m.cache_entries.Set(d(s.idempotency_cache_entries));
  m.cache_bytes.Set(d(s.idempotency_cache_bytes));
  {
    std::lock_guard lock(m.cache_hits_mutex);
    if (s.idempotency_cache_hits > m.cache_hits_told) {
      m.cache_hits.Increment(d(s.idempotency_cache_hits - m.cache_hits_told));
      m.cache_hits_told = s.idempotency_cache_hits;
    }
  }
  if (s.cluster) {
    std::lock_guard lock(m.cluster_mutex);
    if (!m.role) {
      m.role = &prom::BuildGauge()
                  .Name("deployd_cluster_role")
                  .Help("1 for this node's current role in the cluster")
                  .Register(*m.registry);
      m.role_leader = &m.role->Add({{"role", "leader"}});
      m.role_follower = &m.role->Add({{"role", "follower"}});
      m.applied = &m.gauge("deployd_cluster_applied_position",
                           "Log position this node's replica has applied");
      m.head = &m.gauge("deployd_cluster_log_head",
                        "Last log position in etcd, as last read");
      m.lag = &m.gauge("deployd_cluster_replication_lag",
                       "Log head minus applied position, in entries");
      m.ready = &m.gauge("deployd_cluster_ready",
                         "1 once the replica caught up with the head read "
                         "at start");
      m.etcd_up = &m.gauge("deployd_cluster_etcd_reachable",
                           "1 when the last etcd call succeeded");
    }
    const auto& c = *s.cluster;
    m.role_leader->Set(c.role == "leader" ? 1 : 0);
    m.role_follower->Set(c.role == "follower" ? 1 : 0);
    m.applied->Set(d(c.applied));
    // The head is read from etcd periodically and can be older than what
    // this replica has applied; the head is at least that.
    m.head->Set(d(std::max(c.log_head, c.applied)));
    m.lag->Set(c.log_head > c.applied ? d(c.log_head - c.applied) : 0.0);
    m.ready->Set(c.ready ? 1 : 0);
    m.etcd_up->Set(c.etcd_reachable ? 1 : 0);
  }
  std::ostringstream out;
  prom::TextSerializer().Serialize(out, m.registry->Collect());
  return std::move(out).str();
}

} // namespace deployd::observe
