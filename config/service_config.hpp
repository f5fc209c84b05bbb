// The service's configuration: one struct of nested settings, loaded once.
//
// Order of precedence: in-class defaults, then the INI file (`--config` or
// DEPLOYD_CONFIG), then environment variables, then the command line. Every
// key is listed with its default in config/service.ini. `validate` reports
// every problem at once; any problem means a non-zero exit before a port or
// the database is opened. Knows nothing of the other folders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace deployd::config {

struct http_settings {
  /// Address to listen on. Default: 127.0.0.1
  std::string host = "127.0.0.1";
  /// TCP port; 0 picks a free one. Default: 4200
  std::uint32_t port = 4200;
  /// I/O threads running Beast sessions. Default: 2
  std::size_t threads = 2;
  /// Largest request body accepted, in bytes (413 above). Default: 67108864
  std::size_t body_limit_bytes = 64u << 20;
  /// Largest request header block, in bytes (431 above). Default: 16384
  std::size_t header_limit_bytes = 16u << 10;
  /// Time a write may wait for the writer's answer (503 after). Default: 10000
  std::uint32_t request_timeout_ms = 10'000;
  /// A connection with no request under way (before its first byte) is
  /// closed after this, in ms. Default: 60000
  std::uint32_t idle_timeout_ms = 60'000;
  /// Time from a request's first byte to the end of its header (and for a
  /// TLS handshake), in ms; a slower client gets 408 and is closed.
  /// Default: 10000
  std::uint32_t header_timeout_ms = 10'000;
  /// Time to receive a request body once its header is in, in ms; a slower
  /// client gets 408 and is closed. Default: 60000
  std::uint32_t body_timeout_ms = 60'000;
  /// Time to send one response, in ms; a client that does not read is
  /// closed. Default: 30000
  std::uint32_t write_timeout_ms = 30'000;
  /// Longest request target (path and query), in bytes (414 above; a request
  /// line beyond header_limit_bytes gets 431). Default: 8192
  std::size_t target_limit_bytes = 8192;
  /// Longest chunk-size line of a chunked body (size and extensions), in
  /// bytes (413 above; a chunk line must end in CRLF, 400 otherwise).
  /// Trailers are held to header_limit_bytes (431). Default: 4096
  std::size_t chunk_line_limit_bytes = 4096;
  /// Most response bytes one connection may have waiting to be sent; a
  /// larger response is answered 503 instead. Default: 33554432
  std::size_t response_queue_limit_bytes = 32u << 20;
  /// Most response bytes all connections together may have waiting to be
  /// sent (responses up to 64 KiB are not counted); a response beyond it is
  /// answered 503 instead. Default: 134217728
  std::size_t response_queue_total_bytes = 128u << 20;
  /// Connections served at once; one more is answered 503 and closed.
  /// Default: 4096
  std::size_t max_connections = 4096;
  /// On SIGTERM/SIGINT, how long requests in flight may take to finish, in
  /// ms, before the listener stops anyway. Default: 10000
  std::uint32_t shutdown_drain_ms = 10'000;
  /// PEM certificate chain; with `tls_key_file` the listener speaks HTTPS
  /// only. Default: (empty, plain HTTP)
  std::string tls_cert_file;
  /// PEM private key of `tls_cert_file`. Default: (empty)
  std::string tls_key_file;
  /// When set, the bound port is written to this file once listening.
  /// Default: (empty)
  std::string port_file;
};

struct storage_settings {
  /// Directory of the embedded RocksDB database. Default: ./data
  std::string data_dir = "./data";
  /// RocksDB block cache, in MiB. Default: 56
  std::size_t block_cache_mb = 56;
  /// RocksDB row cache (values of point lookups), in MiB; 0 = off.
  /// Default: 8
  std::size_t row_cache_mb = 8;
  /// Threads for reads that must wait for the disk. Default: 2
  std::size_t read_threads = 2;
  /// fsync every commit; turning it off loses acknowledged writes on a
  /// crash (benchmarks of the CPU path only). Default: true
  bool sync = true;
};

struct actor_settings {
  /// Threads of CAF's shared scheduler. Default: 1
  std::size_t scheduler_threads = 1;
  /// Commands decided per group commit at most. Default: 256
  std::size_t max_batch = 256;
};

struct api_settings {
  /// `user:password` required as HTTP basic auth when set
  /// (PREFECT_SERVER_API_AUTH_STRING). Default: (empty, no auth)
  std::string auth_string;
  /// Reported by GET /api/admin/version. Default: 3.8.3
  std::string server_version = "3.8.3";
  /// Largest serialised `parameters`, in bytes; 0 disables
  /// (PREFECT_SERVER_API_MAX_PARAMETER_SIZE). Default: 524288
  std::size_t max_parameter_size = 524'288;
  /// CORS, comma-separated as in Prefect (PREFECT_SERVER_CORS_ALLOWED_ORIGINS,
  /// _METHODS, _HEADERS, also with _API_ after SERVER). Default: * each
  std::string cors_allowed_origins = "*";
  std::string cors_allowed_methods = "*";
  std::string cors_allowed_headers = "*";
};

/// The worker sweep (the reference's foreman service, same environment
/// variables).
struct foreman_settings {
  /// Run the sweep (PREFECT_SERVER_SERVICES_FOREMAN_ENABLED). Default: true
  bool enabled = true;
  /// Seconds between sweeps (PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS).
  /// Default: 15
  double loop_seconds = 15.0;
  /// A worker is OFFLINE after this many missed intervals
  /// (PREFECT_SERVER_SERVICES_FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE).
  /// Default: 3
  std::int64_t inactivity_heartbeat_multiple = 3;
  /// The interval of a worker that never sent one, in seconds
  /// (PREFECT_SERVER_SERVICES_FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS).
  /// Default: 30
  std::int64_t fallback_heartbeat_interval_seconds = 30;
  /// A READY deployment not polled for this long (nor its queue, when that
  /// was ever polled) becomes NOT_READY, in seconds
  /// (PREFECT_SERVER_SERVICES_FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS).
  /// Default: 60
  double deployment_last_polled_timeout_seconds = 60.0;
  /// A READY work queue not polled for this long becomes NOT_READY
  /// (PREFECT_SERVER_SERVICES_FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS).
  /// Default: 60
  double work_queue_last_polled_timeout_seconds = 60.0;
};

/// The scheduler service (flow-runs.md §11.1; Prefect's environment names,
/// the PREFECT_API_SERVICES_SCHEDULER_* spellings accepted too). Its two
/// loops run on the leader only.
struct scheduler_settings {
  /// Run the service (PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED).
  /// Default: true
  bool enabled = true;
  /// Seconds between passes of the main loop
  /// (PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS). Default: 60
  double loop_seconds = 60.0;
  /// Deployments looked at per command
  /// (PREFECT_SERVER_SERVICES_SCHEDULER_DEPLOYMENT_BATCH_SIZE). Default: 100
  std::int64_t deployment_batch_size = 100;
  /// Runs per schedule at most (PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS).
  /// Default: 100
  std::int64_t max_runs = 100;
  /// Runs per schedule at least (PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS).
  /// Default: 3
  std::int64_t min_runs = 3;
  /// How far ahead at most, in seconds
  /// (PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME). Default:
  /// 8640000 (100 days)
  double max_scheduled_time_seconds = 8'640'000.0;
  /// How far ahead at least, in seconds
  /// (PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME). Default: 3600
  double min_scheduled_time_seconds = 3'600.0;
  /// Runs made per command at most (a command stops after the deployment
  /// that reaches it) (PREFECT_SERVER_SERVICES_SCHEDULER_INSERT_BATCH_SIZE).
  /// Default: 500
  std::int64_t insert_batch_size = 500;
  /// Seconds between passes over recently updated deployments
  /// (PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS).
  /// Default: 5
  double recent_deployments_loop_seconds = 5.0;
};

/// The late-runs service (flow-runs.md §12), on the leader only.
struct late_runs_settings {
  /// Run the service (PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED).
  /// Default: true
  bool enabled = true;
  /// Seconds between passes (PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS).
  /// Default: 5
  double loop_seconds = 5.0;
  /// A Scheduled run this many seconds past its time becomes Late
  /// (PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS). Default: 15
  double after_seconds = 15.0;
};

/// The events API (events-api §2): how long client events are kept.
struct events_settings {
  /// Client events older than this (by `occurred`) are deleted, in seconds;
  /// 0 keeps them (PREFECT_SERVER_EVENTS_RETENTION_PERIOD). Events deployd
  /// derives from its own log are never dropped. Default: 604800 (7 days)
  std::int64_t retention_seconds = 604'800;
  /// Seconds between retention sweeps. Default: 3600
  double retention_sweep_seconds = 3600.0;
  /// `/api/events/out`: how far back a backfill reaches at most, in seconds
  /// (PREFECT_SERVER_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL). Default: 900
  double websocket_backfill_seconds = 900.0;
  /// Events per backfill query (PREFECT_SERVER_EVENTS_WEBSOCKET_BACKFILL_
  /// PAGE_SIZE). Default: 250
  std::int64_t websocket_backfill_page_size = 250;
  /// Events a subscriber may have waiting to be sent; one that falls
  /// further behind is closed (1013) and resumes with a backfill.
  /// Default: 1024
  std::int64_t websocket_buffer_events = 1024;
  /// How long an `Idempotency-Key` answers its first response again, in
  /// seconds (swept every `retention_sweep_seconds`). Default: 86400
  std::int64_t idempotency_retention_seconds = 86'400;
};

struct determinism_settings {
  /// `system`, or `step:<ISO time>[:<micros>]` for a deterministic clock
  /// (tests). Default: system
  std::string clock = "system";
  /// Seed of the UUID generator; 0 seeds from the OS. Default: 0
  std::uint64_t id_seed = 0;
};

struct cluster_settings {
  /// etcd client URLs, comma-separated; set = cluster mode
  /// (DEPLOYD_ETCD_ENDPOINTS, --etcd). Default: (empty, a single node)
  std::string etcd_endpoints;
  /// This node's name, unique in the cluster (DEPLOYD_NODE, --node).
  /// Default: (empty; required in cluster mode)
  std::string node;
  /// Address other nodes reach this node's peer port on (--peer-host).
  /// Default: 127.0.0.1
  std::string peer_host = "127.0.0.1";
  /// Port for the other nodes' forwarded writes, CAF's middleman; 0 picks
  /// a free one (--peer-port). Default: 0
  std::uint32_t peer_port = 0;
  /// Key prefix of this cluster in etcd. Default: /deployd
  std::string prefix = "/deployd";
  /// TTL of the node's etcd lease (leadership), in ms; etcd's minimum is
  /// 2000. Default: 2000
  std::uint32_t lease_ttl_ms = 2000;
  /// One try of a fenced append, in ms. Default: 1500
  std::uint32_t append_attempt_ms = 1500;
  /// All tries of one append before its writes get 503, in ms. Default: 4000
  std::uint32_t append_budget_ms = 4000;
  /// Largest replicated-log entry (one group commit), in bytes; keep it
  /// below etcd's --max-request-bytes. Default: 1400000
  std::size_t max_entry_bytes = 1'400'000;
};

/// Prometheus metrics (`GET /metrics`).
struct metrics_settings {
  /// Record and serve metrics (DEPLOYD_METRICS_ENABLED). Default: true
  bool enabled = true;
};

/// The structured log (stderr).
struct log_settings {
  /// Least level written: debug, info, warn, error (DEPLOYD_LOG_LEVEL,
  /// --log-level). Default: info
  std::string level = "info";
  /// Line format: logfmt or json (DEPLOYD_LOG_FORMAT, --log-format).
  /// Default: logfmt
  std::string format = "logfmt";
  /// One info line per request; rejected writes and 5xx are logged
  /// either way (DEPLOYD_LOG_REQUESTS). Default: true
  bool requests = true;
};

struct service_config {
  http_settings http;
  cluster_settings cluster;
  storage_settings storage;
  actor_settings actors;
  api_settings api;
  determinism_settings determinism;
  foreman_settings foreman;
  metrics_settings metrics;
  log_settings log;
  events_settings events;
  scheduler_settings scheduler;
  late_runs_settings late_runs;
};

/// What the command line asked for.
struct invocation {
  /// serve | replay | verify | events | cluster-status | version | help
  std::string command = "serve";
  /// `--help` (or `-h`) was given: print the command's usage.
  bool help = false;
  service_config config;
  /// `events --from`.
  std::uint64_t from_position = 1;
  /// `events --stream`.
  std::string stream;
  /// `events --follow`.
  bool follow = false;
  /// `verify --scratch-dir`; a temporary directory when empty.
  std::string scratch_dir;
  /// `history --deployment ID [--version N | --at TIME]`.
  std::string deployment;
  std::uint64_t history_version = 0; ///< 0: not given
  std::string history_at;
};

/// Parses argv and the environment into an invocation; problems (unknown
/// flags, unreadable config file, malformed values) are appended to
/// `problems`.
[[nodiscard]] invocation load(int argc, const char* const* argv,
                              const std::map<std::string, std::string>& env,
                              std::vector<std::string>& problems);

/// Every problem of a loaded configuration, for `command` (what a cluster
/// node needs to serve is not needed to read the cluster's status).
[[nodiscard]] std::vector<std::string>
validate(const service_config& c, const std::string& command = "serve");

/// The usage text printed by `deployd help`.
[[nodiscard]] std::string usage();
/// The usage of one command (`deployd serve --help`); all of it for a
/// command it does not know.
[[nodiscard]] std::string usage(const std::string& command);
/// Whether `command` (as `invocation::command` spells it) exists.
[[nodiscard]] bool known_command(const std::string& command);

} // namespace deployd::config
