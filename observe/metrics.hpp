// The service's Prometheus metrics: one registry with a fixed set of
// instruments, recorded from the HTTP sessions and the writer, and served as
// Prometheus text by `GET /metrics`.
//
// Built on prometheus-cpp (core only: its registry, counters, gauges,
// histograms and text serialiser; no HTTP server of its own). The hot-path
// calls (`request_done`, `commit_done`) take no lock but the histogram's
// own short one: the counter of a (route, method, status) is looked up in
// a table of atomics filled on first use. Gauges that describe state (log
// positions, RocksDB memory, cluster role and lag) are read
// when scraped, from a `state` the caller gathers. Knows nothing of the
// other folders: routes arrive as strings.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::observe {

/// One route of the route table as metrics label it.
struct route_label {
  std::string method;  ///< "GET"
  std::string pattern; ///< "/api/deployments/{id}"
};

/// What the process looks like at a scrape: gathered by the caller (the
/// composition root knows where each value lives), set into gauges.
struct state {
  /// Last position in the local log.
  std::uint64_t log_position = 0;
  /// Position the read model (projections) has applied.
  std::uint64_t projected_position = 0;
  /// RocksDB: memtables, table readers (indexes and filters outside the
  /// block cache), block cache and row cache usage, in bytes.
  std::uint64_t memtable_bytes = 0;
  std::uint64_t table_reader_bytes = 0;
  std::uint64_t block_cache_bytes = 0;
  std::uint64_t row_cache_bytes = 0;
  /// RocksDB's estimate of the bytes compaction still has to rewrite.
  std::uint64_t pending_compaction_bytes = 0;
  /// Log lines dropped because the logger's queue was full.
  std::uint64_t log_lines_dropped = 0;
  /// Idempotent retries answered from memory (http/answer_cache.hpp):
  /// since the start, and the first answers kept (count, bytes).
  std::uint64_t idempotency_cache_hits = 0;
  std::uint64_t idempotency_cache_entries = 0;
  std::uint64_t idempotency_cache_bytes = 0;

  /// Cluster mode only.
  struct cluster_view {
    std::string role; ///< "leader" | "follower"
    std::uint64_t applied = 0;
    std::uint64_t log_head = 0;
    bool ready = false;
    bool etcd_reachable = false;
  };
  std::optional<cluster_view> cluster;
};

/// The registry and its instruments. Create once in the composition root;
/// every member function may be called from any thread.
class metrics {
public:
  /// `routes` are the route table's entries, by index (the index a session
  /// passes to `request_done`).
  explicit metrics(std::vector<route_label> routes);
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Index meaning "no route matched" (404, 405, 307, or a request refused
  /// before routing: 400, 408, 413, 414, 431, 401).
  static constexpr std::size_t unmatched = static_cast<std::size_t>(-1);

  /// One request answered: counts it by route, method and status and
  /// observes its duration (request read to response written), in seconds.
  /// `method` is only used for unmatched requests (a route has its own).
  void request_done(std::size_t route, std::string_view method,
                    unsigned status, double seconds);

  /// A connection was accepted / closed (the open-connections gauge).
  void connection_opened();
  void connection_closed();

  /// One group commit: `commands` decided, `events` appended, and the
  /// synced write's duration in seconds (the fsync is most of it). Called
  /// on the writer's thread.
  void commit_done(std::size_t commands, std::size_t events, double seconds);

  /// Sets the state gauges from `s` and returns the whole registry as
  /// Prometheus text (version 0.0.4).
  [[nodiscard]] std::string scrape(const state& s);

  /// Content-Type of `scrape`'s text.
  static constexpr std::string_view content_type =
    "text/plain; version=0.0.4; charset=utf-8";

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace deployd::observe
