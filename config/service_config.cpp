#include "config/service_config.hpp"

#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

namespace deployd::config {

namespace {

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

template <class T>
bool parse_number(const std::string& text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    out = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "no" || text == "off") {
    out = false;
    return true;
  }
  return false;
}

// One setter per `section.key`, shared by the INI file, the environment and
// the command line so the three can never disagree.
using setter = std::function<bool(service_config&, const std::string&)>;

const std::map<std::string, setter>& setters() {
  static const std::map<std::string, setter> table = {
    {"http.host",
     [](service_config& c, const std::string& v) {
       c.http.host = v;
       return !v.empty();
     }},
    {"http.port",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.port);
     }},
    {"http.threads",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.threads);
     }},
    {"http.body_limit_bytes",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.body_limit_bytes);
     }},
    {"http.header_limit_bytes",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.header_limit_bytes);
     }},
    {"http.request_timeout_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.request_timeout_ms);
     }},
    {"http.idle_timeout_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.idle_timeout_ms);
     }},
    {"http.header_timeout_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.header_timeout_ms);
     }},
    {"http.body_timeout_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.body_timeout_ms);
     }},
    {"http.write_timeout_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.write_timeout_ms);
     }},
    {"http.target_limit_bytes",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.target_limit_bytes);
     }},
    {"http.chunk_line_limit_bytes",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.chunk_line_limit_bytes);
     }},
    {"http.response_queue_limit_bytes",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.response_queue_limit_bytes);
     }},
    {"http.response_queue_total_bytes",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.response_queue_total_bytes);
     }},
    {"http.max_connections",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.max_connections);
     }},
    {"http.shutdown_drain_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.http.shutdown_drain_ms);
     }},
    {"http.tls_cert_file",
     [](service_config& c, const std::string& v) {
       c.http.tls_cert_file = v;
       return true;
     }},
    {"http.tls_key_file",
     [](service_config& c, const std::string& v) {
       c.http.tls_key_file = v;
       return true;
     }},
    {"http.port_file",
     [](service_config& c, const std::string& v) {
       c.http.port_file = v;
       return true;
     }},
    {"storage.data_dir",
     [](service_config& c, const std::string& v) {
       c.storage.data_dir = v;
       return true;
     }},
    {"storage.block_cache_mb",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.storage.block_cache_mb);
     }},
    {"storage.row_cache_mb",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.storage.row_cache_mb);
     }},
    {"storage.read_threads",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.storage.read_threads);
     }},
    {"storage.sync",
     [](service_config& c, const std::string& v) {
       return parse_bool(v, c.storage.sync);
     }},
    {"actors.scheduler_threads",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.actors.scheduler_threads);
     }},
    {"actors.max_batch",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.actors.max_batch);
     }},
    {"api.auth_string",
     [](service_config& c, const std::string& v) {
       c.api.auth_string = v;
       return true;
     }},
    {"api.server_version",
     [](service_config& c, const std::string& v) {
       c.api.server_version = v;
       return !v.empty();
     }},
    {"api.max_parameter_size",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.api.max_parameter_size);
     }},
    {"api.cors_allowed_origins",
     [](service_config& c, const std::string& v) {
       c.api.cors_allowed_origins = v;
       return true;
     }},
    {"api.cors_allowed_methods",
     [](service_config& c, const std::string& v) {
       c.api.cors_allowed_methods = v;
       return true;
     }},
    {"api.cors_allowed_headers",
     [](service_config& c, const std::string& v) {
       c.api.cors_allowed_headers = v;
       return true;
     }},
    {"cluster.etcd_endpoints",
     [](service_config& c, const std::string& v) {
       c.cluster.etcd_endpoints = v;
       return true;
     }},
    {"cluster.node",
     [](service_config& c, const std::string& v) {
       c.cluster.node = v;
       return true;
     }},
    {"cluster.peer_host",
     [](service_config& c, const std::string& v) {
       c.cluster.peer_host = v;
       return !v.empty();
     }},
    {"cluster.peer_port",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.cluster.peer_port);
     }},
    {"cluster.prefix",
     [](service_config& c, const std::string& v) {
       c.cluster.prefix = v;
       return true;
     }},
    {"cluster.lease_ttl_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.cluster.lease_ttl_ms);
     }},
    {"cluster.append_attempt_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.cluster.append_attempt_ms);
     }},
    {"cluster.append_budget_ms",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.cluster.append_budget_ms);
     }},
    {"cluster.max_entry_bytes",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.cluster.max_entry_bytes);
     }},
    {"determinism.clock",
     [](service_config& c, const std::string& v) {
       c.determinism.clock = v;
       return true;
     }},
    {"determinism.id_seed",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.determinism.id_seed);
     }},
    {"foreman.enabled",
     [](service_config& c, const std::string& v) {
       return parse_bool(v, c.foreman.enabled);
     }},
    {"foreman.loop_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.foreman.loop_seconds);
     }},
    {"foreman.inactivity_heartbeat_multiple",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.foreman.inactivity_heartbeat_multiple);
     }},
    {"foreman.fallback_heartbeat_interval_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.foreman.fallback_heartbeat_interval_seconds);
     }},
    {"foreman.deployment_last_polled_timeout_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.foreman.deployment_last_polled_timeout_seconds);
     }},
    {"foreman.work_queue_last_polled_timeout_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.foreman.work_queue_last_polled_timeout_seconds);
     }},
    {"scheduler.enabled",
     [](service_config& c, const std::string& v) {
       return parse_bool(v, c.scheduler.enabled);
     }},
    {"scheduler.loop_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.loop_seconds);
     }},
    {"scheduler.deployment_batch_size",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.deployment_batch_size);
     }},
    {"scheduler.max_runs",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.max_runs);
     }},
    {"scheduler.min_runs",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.min_runs);
     }},
    {"scheduler.max_scheduled_time_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.max_scheduled_time_seconds);
     }},
    {"scheduler.min_scheduled_time_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.min_scheduled_time_seconds);
     }},
    {"scheduler.insert_batch_size",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.insert_batch_size);
     }},
    {"scheduler.recent_deployments_loop_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.scheduler.recent_deployments_loop_seconds);
     }},
    {"late_runs.enabled",
     [](service_config& c, const std::string& v) {
       return parse_bool(v, c.late_runs.enabled);
     }},
    {"late_runs.loop_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.late_runs.loop_seconds);
     }},
    {"late_runs.after_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.late_runs.after_seconds);
     }},
    {"log.level",
     [](service_config& c, const std::string& v) {
       c.log.level = v;
       return true;
     }},
    {"log.format",
     [](service_config& c, const std::string& v) {
       c.log.format = v;
       return true;
     }},
    {"log.requests",
     [](service_config& c, const std::string& v) {
       return parse_bool(v, c.log.requests);
     }},
    {"metrics.enabled",
     [](service_config& c, const std::string& v) {
       return parse_bool(v, c.metrics.enabled);
     }},
    {"events.retention_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.events.retention_seconds);
     }},
    {"events.retention_sweep_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.events.retention_sweep_seconds);
     }},
    {"events.websocket_backfill_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.events.websocket_backfill_seconds);
     }},
    {"events.websocket_backfill_page_size",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.events.websocket_backfill_page_size);
     }},
    {"events.websocket_buffer_events",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.events.websocket_buffer_events);
     }},
    {"events.idempotency_retention_seconds",
     [](service_config& c, const std::string& v) {
       return parse_number(v, c.events.idempotency_retention_seconds);
     }},
  };
  return table;
}

void set(service_config& c, const std::string& key, const std::string& value,
         const std::string& origin, std::vector<std::string>& problems) {
  const auto& table = setters();
  const auto it = table.find(key);
  if (it == table.end()) {
    problems.push_back(origin + ": unknown setting '" + key + "'");
    return;
  }
  if (!it->second(c, value))
    problems.push_back(origin + ": invalid value '" + value + "' for " + key);
}

void load_ini(service_config& c, const std::string& path,
              std::vector<std::string>& problems) {
  std::ifstream in(path);
  if (!in) {
    problems.push_back("cannot read config file " + path);
    return;
  }
  std::string section;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const auto comment = line.find_first_of(";#");
        comment != std::string::npos)
      line.erase(comment);
    line = trim(line);
    if (line.empty())
      continue;
    const std::string origin = path + ":" + std::to_string(number);
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      problems.push_back(origin + ": expected key = value");
      continue;
    }
    set(c, section + "." + trim(line.substr(0, eq)),
        trim(line.substr(eq + 1)), origin, problems);
  }
}

// Environment variables and the setting each one feeds.
constexpr std::pair<const char*, const char*> environment[] = {
  {"DEPLOYD_HOST", "http.host"},
  {"DEPLOYD_PORT", "http.port"},
  {"DEPLOYD_HTTP_THREADS", "http.threads"},
  {"DEPLOYD_DATA_DIR", "storage.data_dir"},
  {"DEPLOYD_TLS_CERT_FILE", "http.tls_cert_file"},
  {"DEPLOYD_TLS_KEY_FILE", "http.tls_key_file"},
  {"DEPLOYD_MAX_CONNECTIONS", "http.max_connections"},
  {"DEPLOYD_AUTH_STRING", "api.auth_string"},
  {"PREFECT_SERVER_API_AUTH_STRING", "api.auth_string"},
  {"PREFECT_SERVER_API_MAX_PARAMETER_SIZE", "api.max_parameter_size"},
  {"PREFECT_SERVER_CORS_ALLOWED_ORIGINS", "api.cors_allowed_origins"},
  {"PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS", "api.cors_allowed_origins"},
  {"PREFECT_SERVER_CORS_ALLOWED_METHODS", "api.cors_allowed_methods"},
  {"PREFECT_SERVER_API_CORS_ALLOWED_METHODS", "api.cors_allowed_methods"},
  {"PREFECT_SERVER_CORS_ALLOWED_HEADERS", "api.cors_allowed_headers"},
  {"PREFECT_SERVER_API_CORS_ALLOWED_HEADERS", "api.cors_allowed_headers"},
  {"PREFECT_SERVER_SERVICES_FOREMAN_ENABLED", "foreman.enabled"},
  {"PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS", "foreman.loop_seconds"},
  {"PREFECT_SERVER_SERVICES_FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE",
   "foreman.inactivity_heartbeat_multiple"},
  {"PREFECT_SERVER_SERVICES_FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS",
   "foreman.fallback_heartbeat_interval_seconds"},
  {"PREFECT_SERVER_SERVICES_FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS",
   "foreman.deployment_last_polled_timeout_seconds"},
  {"PREFECT_SERVER_SERVICES_FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS",
   "foreman.work_queue_last_polled_timeout_seconds"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED", "scheduler.enabled"},
  {"PREFECT_API_SERVICES_SCHEDULER_ENABLED", "scheduler.enabled"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "scheduler.loop_seconds"},
  {"PREFECT_API_SERVICES_SCHEDULER_LOOP_SECONDS", "scheduler.loop_seconds"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_DEPLOYMENT_BATCH_SIZE", "scheduler.deployment_batch_size"},
  {"PREFECT_API_SERVICES_SCHEDULER_DEPLOYMENT_BATCH_SIZE", "scheduler.deployment_batch_size"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS", "scheduler.max_runs"},
  {"PREFECT_API_SERVICES_SCHEDULER_MAX_RUNS", "scheduler.max_runs"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS", "scheduler.min_runs"},
  {"PREFECT_API_SERVICES_SCHEDULER_MIN_RUNS", "scheduler.min_runs"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME", "scheduler.max_scheduled_time_seconds"},
  {"PREFECT_API_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME", "scheduler.max_scheduled_time_seconds"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME", "scheduler.min_scheduled_time_seconds"},
  {"PREFECT_API_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME", "scheduler.min_scheduled_time_seconds"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_INSERT_BATCH_SIZE", "scheduler.insert_batch_size"},
  {"PREFECT_API_SERVICES_SCHEDULER_INSERT_BATCH_SIZE", "scheduler.insert_batch_size"},
  {"PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS",
   "scheduler.recent_deployments_loop_seconds"},
  {"PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "late_runs.enabled"},
  {"PREFECT_API_SERVICES_LATE_RUNS_ENABLED", "late_runs.enabled"},
  {"PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS", "late_runs.loop_seconds"},
  {"PREFECT_API_SERVICES_LATE_RUNS_LOOP_SECONDS", "late_runs.loop_seconds"},
  {"PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS", "late_runs.after_seconds"},
  {"PREFECT_API_SERVICES_LATE_RUNS_AFTER_SECONDS", "late_runs.after_seconds"},
  {"DEPLOYD_ETCD_ENDPOINTS", "cluster.etcd_endpoints"},
  {"DEPLOYD_NODE", "cluster.node"},
  {"DEPLOYD_METRICS_ENABLED", "metrics.enabled"},
  {"DEPLOYD_LOG_LEVEL", "log.level"},
  {"DEPLOYD_LOG_FORMAT", "log.format"},
  {"DEPLOYD_LOG_REQUESTS", "log.requests"},
  {"PREFECT_SERVER_EVENTS_RETENTION_PERIOD", "events.retention_seconds"},
  {"PREFECT_SERVER_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL",
   "events.websocket_backfill_seconds"},
  {"PREFECT_SERVER_EVENTS_WEBSOCKET_BACKFILL_PAGE_SIZE",
   "events.websocket_backfill_page_size"},
};

// Command-line flags that take a value, and their setting.
constexpr std::pair<const char*, const char*> flags[] = {
  {"--host", "http.host"},
  {"--port", "http.port"},
  {"--threads", "http.threads"},
  {"--port-file", "http.port_file"},
  {"--tls-cert", "http.tls_cert_file"},
  {"--tls-key", "http.tls_key_file"},
  {"--max-connections", "http.max_connections"},
  {"--data-dir", "storage.data_dir"},
  {"--clock", "determinism.clock"},
  {"--id-seed", "determinism.id_seed"},
  {"--max-batch", "actors.max_batch"},
  {"--block-cache-mb", "storage.block_cache_mb"},
  {"--foreman-loop-seconds", "foreman.loop_seconds"},
  {"--log-level", "log.level"},
  {"--log-format", "log.format"},
  {"--etcd", "cluster.etcd_endpoints"},
  {"--node", "cluster.node"},
  {"--peer-host", "cluster.peer_host"},
  {"--peer-port", "cluster.peer_port"},
  {"--cluster-prefix", "cluster.prefix"},
};

} // namespace

invocation load(int argc, const char* const* argv,
                const std::map<std::string, std::string>& env,
                std::vector<std::string>& problems) {
  invocation inv;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::size_t i = 0;
  if (!args.empty() && !args[0].starts_with("-")) {
    inv.command = args[0];
    i = 1;
    // `deployd cluster status`: a command of two words.
    if (inv.command == "cluster" && args.size() > 1 && args[1] == "status") {
      inv.command = "cluster-status";
      i = 2;
    }
  }
  // The config file is applied first, wherever --config appears.
  std::string config_path;
  if (const auto it = env.find("DEPLOYD_CONFIG"); it != env.end())
    config_path = it->second;
  for (std::size_t j = i; j + 1 < args.size(); ++j)
    if (args[j] == "--config")
      config_path = args[j + 1];
  if (!config_path.empty())
    load_ini(inv.config, config_path, problems);
  for (const auto& [name, key] : environment)
    if (const auto it = env.find(name); it != env.end())
      set(inv.config, key, it->second, std::string("environment ") + name,
          problems);

  for (; i < args.size(); ++i) {
    const auto& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "--help" || arg == "-h") {
      inv.help = true;
      continue;
    }
    // `history --version N` is a stream version, not the binary's.
    if (inv.command == "history" && arg == "--version" && has_value) {
      if (!parse_number(args[++i], inv.history_version) ||
          inv.history_version == 0)
        problems.push_back("invalid --version " + args[i] +
                           " (a stream version, from 1)");
      continue;
    }
    if (inv.command == "history" && arg == "--deployment" && has_value) {
      inv.deployment = args[++i];
      continue;
    }
    if (inv.command == "history" && arg == "--at" && has_value) {
      inv.history_at = args[++i];
      continue;
    }
    if (arg == "--version" || arg == "-V") {
      inv.command = "version";
      continue;
    }
    if (arg == "--no-sync") {
      inv.config.storage.sync = false;
      continue;
    }
    if (arg == "--config" && has_value) {
      ++i;
      continue;
    }
    if (arg == "--from" && has_value) {
      if (!parse_number(args[++i], inv.from_position))
        problems.push_back("invalid --from " + args[i]);
      continue;
    }
    if (arg == "--follow") {
      inv.follow = true;
      continue;
    }
    if (arg == "--stream" && has_value) {
      inv.stream = args[++i];
      continue;
    }
    if (arg == "--scratch-dir" && has_value) {
      inv.scratch_dir = args[++i];
      continue;
    }
    bool known = false;
    for (const auto& [flag, key] : flags)
      if (arg == flag) {
        known = true;
        if (!has_value)
          problems.push_back(arg + " needs a value");
        else
          set(inv.config, key, args[++i], arg, problems);
      }
    if (!known)
      problems.push_back("unknown argument '" + arg + "'");
  }
  // `deployd --help` without a command: the whole usage.
  if (inv.help && (args.empty() || args[0].starts_with("-")))
    inv.command = "help";
  return inv;
}

std::vector<std::string> validate(const service_config& c,
                                  const std::string& command) {
  std::vector<std::string> problems;
  if (c.http.port > 65535)
    problems.push_back("http.port must be at most 65535");
  if (c.http.threads == 0 || c.http.threads > 64)
    problems.push_back("http.threads must be between 1 and 64");
  if (c.http.body_limit_bytes < 1024)
    problems.push_back("http.body_limit_bytes must be at least 1024");
  if (c.http.header_limit_bytes < 1024)
    problems.push_back("http.header_limit_bytes must be at least 1024");
  if (c.http.request_timeout_ms == 0)
    problems.push_back("http.request_timeout_ms must be positive");
  for (const auto& [value, name] :
       {std::pair{c.http.idle_timeout_ms, "idle_timeout_ms"},
        std::pair{c.http.header_timeout_ms, "header_timeout_ms"},
        std::pair{c.http.body_timeout_ms, "body_timeout_ms"},
        std::pair{c.http.write_timeout_ms, "write_timeout_ms"}})
    if (value == 0)
      problems.push_back(std::string("http.") + name + " must be positive");
  if (c.http.target_limit_bytes < 256)
    problems.push_back("http.target_limit_bytes must be at least 256");
  if (c.http.chunk_line_limit_bytes < 64)
    problems.push_back("http.chunk_line_limit_bytes must be at least 64");
  if (c.http.response_queue_limit_bytes < 65536)
    problems.push_back("http.response_queue_limit_bytes must be at least 65536");
  if (c.http.response_queue_total_bytes < c.http.response_queue_limit_bytes)
    problems.push_back("http.response_queue_total_bytes must be at least "
                       "http.response_queue_limit_bytes");
  if (c.http.max_connections == 0)
    problems.push_back("http.max_connections must be positive");
  if (c.http.tls_cert_file.empty() != c.http.tls_key_file.empty())
    problems.push_back(
      "http.tls_cert_file and http.tls_key_file must be set together");
  for (const auto* file : {&c.http.tls_cert_file, &c.http.tls_key_file})
    if (!file->empty() && !std::ifstream(*file))
      problems.push_back("cannot read TLS file " + *file);
  if (c.storage.data_dir.empty())
    problems.push_back("storage.data_dir must not be empty");
  if (c.storage.block_cache_mb == 0)
    problems.push_back("storage.block_cache_mb must be positive");
  if (c.storage.read_threads == 0)
    problems.push_back("storage.read_threads must be positive");
  if (c.actors.max_batch == 0)
    problems.push_back("actors.max_batch must be positive");
  if (!c.api.auth_string.empty() &&
      c.api.auth_string.find(':') == std::string::npos)
    problems.push_back("api.auth_string must look like user:password");
  if (!c.cluster.etcd_endpoints.empty()) {
    if (c.cluster.node.empty() && command == "serve")
      problems.push_back("cluster mode (--etcd) needs a node name (--node, "
                         "cluster.node or DEPLOYD_NODE)");
    if (c.cluster.peer_port > 65535)
      problems.push_back("cluster.peer_port must be at most 65535");
    if (c.cluster.lease_ttl_ms < 2000)
      problems.push_back("cluster.lease_ttl_ms must be at least 2000 (etcd's "
                         "minimum lease TTL)");
    if (c.cluster.append_attempt_ms == 0 ||
        c.cluster.append_budget_ms < c.cluster.append_attempt_ms)
      problems.push_back("cluster.append_budget_ms must be at least "
                         "cluster.append_attempt_ms, both positive");
    if (c.cluster.max_entry_bytes < 4096)
      problems.push_back("cluster.max_entry_bytes must be at least 4096");
    if (c.cluster.prefix.empty() || c.cluster.prefix.front() != '/')
      problems.push_back("cluster.prefix must start with '/'");
  }
  if (c.determinism.clock != "system" &&
      !c.determinism.clock.starts_with("step:"))
    problems.push_back("determinism.clock must be 'system' or 'step:<time>'");
  if (c.log.level != "debug" && c.log.level != "info" &&
      c.log.level != "warn" && c.log.level != "warning" &&
      c.log.level != "error")
    problems.push_back("log.level must be debug, info, warn or error");
  if (c.log.format != "logfmt" && c.log.format != "json")
    problems.push_back("log.format must be logfmt or json");
  if (!(c.foreman.loop_seconds > 0) || c.foreman.loop_seconds > 86'400)
    problems.push_back("foreman.loop_seconds must be in (0, 86400]");
  for (const auto& [name, seconds] :
       {std::pair{"foreman.deployment_last_polled_timeout_seconds",
                  c.foreman.deployment_last_polled_timeout_seconds},
        std::pair{"foreman.work_queue_last_polled_timeout_seconds",
                  c.foreman.work_queue_last_polled_timeout_seconds}})
    if (!(seconds >= 0) || seconds > 31'536'000)
      problems.push_back(std::string(name) + " must be in [0, 31536000]");
  for (const auto& [name, seconds] :
       {std::pair{"scheduler.loop_seconds", c.scheduler.loop_seconds},
        std::pair{"scheduler.recent_deployments_loop_seconds",
                  c.scheduler.recent_deployments_loop_seconds},
        std::pair{"late_runs.loop_seconds", c.late_runs.loop_seconds}})
    if (!(seconds > 0) || seconds > 86'400)
      problems.push_back(std::string(name) + " must be in (0, 86400]");
  if (c.scheduler.deployment_batch_size < 1 ||
      c.scheduler.insert_batch_size < 1)
    problems.push_back(
        "scheduler.deployment_batch_size and insert_batch_size must be >= 1");
  if (c.scheduler.min_runs < 0 || c.scheduler.max_runs < 0)
    problems.push_back("scheduler.min_runs and max_runs must be >= 0");
  if (!(c.scheduler.max_scheduled_time_seconds >= 0) ||
      !(c.scheduler.min_scheduled_time_seconds >= 0) ||
      !(c.late_runs.after_seconds >= 0))
    problems.push_back("scheduler.*_scheduled_time_seconds and "
                       "late_runs.after_seconds must be >= 0");
  if (c.events.retention_seconds < 0)
    problems.push_back("events.retention_seconds must be >= 0");
  if (!(c.events.websocket_backfill_seconds >= 0))
    problems.push_back("events.websocket_backfill_seconds must be >= 0");
  if (c.events.websocket_backfill_page_size < 1 ||
      c.events.websocket_backfill_page_size > 10'000)
    problems.push_back(
        "events.websocket_backfill_page_size must be in [1, 10000]");
  if (c.events.websocket_buffer_events < 1 ||
      c.events.websocket_buffer_events > 1'000'000)
    problems.push_back(
        "events.websocket_buffer_events must be in [1, 1000000]");
  if (!(c.events.retention_sweep_seconds > 0) ||
      c.events.retention_sweep_seconds > 86'400)
    problems.push_back("events.retention_sweep_seconds must be in (0, 86400]");
  if (c.events.idempotency_retention_seconds < 1 ||
      c.events.idempotency_retention_seconds > 31'536'000)
    problems.push_back(
      "events.idempotency_retention_seconds must be in [1, 31536000]");
  return problems;
}

namespace {

struct command_help {
  const char* name;
  const char* text;
};

// One entry per command; `usage()` prints them all, `usage(name)` one.
constexpr command_help commands[] = {
  {"serve",
   "  serve   --host H --port P --data-dir D [--config FILE]\n"
   "          [--threads N] [--port-file F] [--clock SPEC]\n"
   "          [--id-seed N] [--no-sync] [--max-connections N]\n"
   "          [--tls-cert PEM --tls-key PEM] [--foreman-loop-seconds S]\n"
   "          [--log-level L] [--log-format logfmt|json]\n"
   "          serve the API (the default command)\n"
   "  serve ... --etcd URL[,URL...] --node NAME [--peer-port P]\n"
   "          [--peer-host H] [--cluster-prefix /deployd]\n"
   "          run as a node of a cluster whose log of record is etcd\n"},
  {"replay",
   "  replay  --data-dir D      rebuild every projection from the log\n"},
  {"verify",
   "  verify  --data-dir D [--scratch-dir S]\n"
   "          replay into a scratch database and compare; exit 1 on "
   "any difference\n"},
  {"events",
   "  events  --data-dir D [--from POSITION] [--stream ID] [--follow]\n"
   "          print the log as JSON lines; --follow keeps printing what a\n"
   "          running server appends (until SIGINT or SIGTERM)\n"},
  {"history",
   "  history --data-dir D --deployment ID [--version N | --at TIME]\n"
   "          a deployment's history as JSON lines, or the deployment as\n"
   "          GET answered at stream version N or ISO 8601 time TIME\n"},
  {"cluster-status",
   "  cluster status --etcd URL[,URL...] [--cluster-prefix P]\n"
   "          print the cluster's leader, head and nodes as JSON\n"},
  {"version",
   "  version (or --version)\n"
   "          print the version, git commit, build type and library "
   "versions\n"},
  {"help", "  help    (or --help; COMMAND --help for one command)\n"},
};

constexpr const char* settings_line =
  "Every command also takes --config FILE; settings, their environment\n"
  "variables and defaults: config/service.ini "
  "(/etc/deployd/deployd.ini when installed)\n";

} // namespace

bool known_command(const std::string& command) {
  for (const auto& c : commands)
    if (command == c.name)
      return true;
  return false;
}

std::string usage() {
  std::string out = "usage: deployd [serve|replay|verify|events|history|"
                    "cluster status|version|help] [options]\n";
  for (const auto& c : commands)
    out += c.text;
  out += settings_line;
  return out;
}

std::string usage(const std::string& command) {
  for (const auto& c : commands)
    if (command == c.name) {
      std::string name = command == "cluster-status" ? "cluster status"
                                                     : command;
      return "usage: deployd " + name + " [options]\n" + c.text +
             settings_line;
    }
  return usage();
}

} // namespace deployd::config
