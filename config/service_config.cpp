#include "config/service_config.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <algorithm>
#include <type_traits>

namespace deployd::config {

namespace {

// Flags, the environment and the INI file are parsed with CLI11: every setting
// is one option of the top-level app named `--section.key` (and a short alias
// for the common ones), so all three sources convert and check a value the
// same way. CLI11 gives a config file precedence over the environment; ours is
// the other way round (defaults, file, environment, flags), so the file and the
// environment are applied here, after the command line, to the options the
// command line left alone.

// Integers and floats as `std::from_chars` reads them: CLI11's own conversion
// (strtoull with base 0) would read `010` as 8, `-1` as 2^64-1 and ignore
// overflow.
template <class T>
CLI::Validator decimal() {
  return CLI::Validator(
    [](std::string& text) -> std::string {
      T value{};
      const auto* end = text.data() + text.size();
      const auto [ptr, ec] = std::from_chars(text.data(), end, value);
      if (ec != std::errc() || ptr != end || text.empty())
        return "not a number in range: '" + text + "'";
      return {};
    },
    "NUMBER");
}

const CLI::Validator non_empty(
  [](std::string& text) -> std::string {
    return text.empty() ? "must not be empty" : std::string();
  },
  "TEXT");

template <class T>
CLI::Option* setting(CLI::App& app, const std::string& names, T& field,
                  const std::optional<CLI::Validator>& check = {}) {
  auto* option = app.add_option(names, field)->multi_option_policy(
    CLI::MultiOptionPolicy::TakeLast);
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
    option->check(decimal<T>());
  if (check)
    option->check(*check);
  return option;
}

// One option per `section.key`: the INI file, the environment and the flags
// all set a setting through it, so the three can never disagree.
void add_settings(CLI::App& app, service_config& c) {
  setting(app, "--http.host,--host", c.http.host, non_empty);
  setting(app, "--http.port,--port", c.http.port);
  setting(app, "--http.threads,--threads", c.http.threads);
  setting(app, "--http.body_limit_bytes", c.http.body_limit_bytes);
  setting(app, "--http.header_limit_bytes", c.http.header_limit_bytes);
  setting(app, "--http.request_timeout_ms", c.http.request_timeout_ms);
  setting(app, "--http.idle_timeout_ms", c.http.idle_timeout_ms);
  setting(app, "--http.header_timeout_ms", c.http.header_timeout_ms);
  setting(app, "--http.body_timeout_ms", c.http.body_timeout_ms);
  setting(app, "--http.write_timeout_ms", c.http.write_timeout_ms);
  setting(app, "--http.target_limit_bytes", c.http.target_limit_bytes);
  setting(app, "--http.chunk_line_limit_bytes", c.http.chunk_line_limit_bytes);
  setting(app, "--http.response_queue_limit_bytes", c.http.response_queue_limit_bytes);
  setting(app, "--http.response_queue_total_bytes", c.http.response_queue_total_bytes);
  setting(app, "--http.max_connections,--max-connections", c.http.max_connections);
  setting(app, "--http.shutdown_drain_ms", c.http.shutdown_drain_ms);
  setting(app, "--http.tls_cert_file,--tls-cert", c.http.tls_cert_file);
  setting(app, "--http.tls_key_file,--tls-key", c.http.tls_key_file);
  setting(app, "--http.port_file,--port-file", c.http.port_file);
  setting(app, "--storage.data_dir,--data-dir", c.storage.data_dir);
  setting(app, "--storage.block_cache_mb,--block-cache-mb", c.storage.block_cache_mb);
  setting(app, "--storage.row_cache_mb", c.storage.row_cache_mb);
  setting(app, "--storage.read_threads", c.storage.read_threads);
  setting(app, "--storage.sync", c.storage.sync);
  setting(app, "--actors.scheduler_threads", c.actors.scheduler_threads);
  setting(app, "--actors.max_batch,--max-batch", c.actors.max_batch);
  setting(app, "--api.auth_string", c.api.auth_string);
  setting(app, "--api.server_version", c.api.server_version, non_empty);
  setting(app, "--api.max_parameter_size", c.api.max_parameter_size);
  setting(app, "--api.cors_allowed_origins", c.api.cors_allowed_origins);
  setting(app, "--api.cors_allowed_methods", c.api.cors_allowed_methods);
  setting(app, "--api.cors_allowed_headers", c.api.cors_allowed_headers);
  setting(app, "--cluster.etcd_endpoints,--etcd", c.cluster.etcd_endpoints);
  setting(app, "--cluster.node,--node", c.cluster.node);
  setting(app, "--cluster.peer_host,--peer-host", c.cluster.peer_host, non_empty);
  setting(app, "--cluster.peer_port,--peer-port", c.cluster.peer_port);
  setting(app, "--cluster.prefix,--cluster-prefix", c.cluster.prefix);
  setting(app, "--cluster.lease_ttl_ms", c.cluster.lease_ttl_ms);
  setting(app, "--cluster.append_attempt_ms", c.cluster.append_attempt_ms);
  setting(app, "--cluster.append_budget_ms", c.cluster.append_budget_ms);
  setting(app, "--cluster.max_entry_bytes", c.cluster.max_entry_bytes);
  setting(app, "--determinism.clock,--clock", c.determinism.clock);
  setting(app, "--determinism.id_seed,--id-seed", c.determinism.id_seed);
  setting(app, "--foreman.enabled", c.foreman.enabled);
  setting(app, "--foreman.loop_seconds,--foreman-loop-seconds", c.foreman.loop_seconds);
  setting(app, "--foreman.inactivity_heartbeat_multiple", c.foreman.inactivity_heartbeat_multiple);
  setting(app, "--foreman.fallback_heartbeat_interval_seconds", c.foreman.fallback_heartbeat_interval_seconds);
  setting(app, "--foreman.deployment_last_polled_timeout_seconds", c.foreman.deployment_last_polled_timeout_seconds);
  setting(app, "--foreman.work_queue_last_polled_timeout_seconds", c.foreman.work_queue_last_polled_timeout_seconds);
  setting(app, "--scheduler.enabled", c.scheduler.enabled);
  setting(app, "--scheduler.loop_seconds", c.scheduler.loop_seconds);
  setting(app, "--scheduler.deployment_batch_size", c.scheduler.deployment_batch_size);
  setting(app, "--scheduler.max_runs", c.scheduler.max_runs);
  setting(app, "--scheduler.min_runs", c.scheduler.min_runs);
  setting(app, "--scheduler.max_scheduled_time_seconds", c.scheduler.max_scheduled_time_seconds);
  setting(app, "--scheduler.min_scheduled_time_seconds", c.scheduler.min_scheduled_time_seconds);
  setting(app, "--scheduler.insert_batch_size", c.scheduler.insert_batch_size);
  setting(app, "--scheduler.recent_deployments_loop_seconds", c.scheduler.recent_deployments_loop_seconds);
  setting(app, "--late_runs.enabled", c.late_runs.enabled);
  setting(app, "--late_runs.loop_seconds", c.late_runs.loop_seconds);
  setting(app, "--late_runs.after_seconds", c.late_runs.after_seconds);
  setting(app, "--log.level,--log-level", c.log.level);
  setting(app, "--log.format,--log-format", c.log.format);
  setting(app, "--log.requests", c.log.requests);
  setting(app, "--metrics.enabled", c.metrics.enabled);
  setting(app, "--events.retention_seconds", c.events.retention_seconds);
  setting(app, "--events.retention_sweep_seconds", c.events.retention_sweep_seconds);
  setting(app, "--events.websocket_backfill_seconds", c.events.websocket_backfill_seconds);
  setting(app, "--events.websocket_backfill_page_size", c.events.websocket_backfill_page_size);
  setting(app, "--events.websocket_buffer_events", c.events.websocket_buffer_events);
  setting(app, "--events.idempotency_retention_seconds", c.events.idempotency_retention_seconds);
}

// Sets one setting from the file or the environment, unless the command
// line gave it.
void apply(CLI::App& app, const std::set<const CLI::Option*>& from_flags,
           const std::string& key, const std::string& value,
           const std::string& origin, std::vector<std::string>& problems) {
  auto* option = app.get_option_no_throw("--" + key);
  if (option == nullptr) {
    problems.push_back(origin + ": unknown setting '" + key + "'");
    return;
  }
  if (from_flags.contains(option))
    return;
  try {
    option->clear();
    option->add_result(value);
    option->run_callback();
  } catch (const CLI::Error& e) {
    problems.push_back(origin + ": invalid value '" + value + "' for " + key +
                       " (" + e.what() + ")");
  }
}

// The INI file as (section.key, value) pairs, read by CLI11's config reader set
// up for INI: `;` comments, `key = value` lines, `[section]` headers, and no
// arrays (a comma or a space belongs to the value, as in `etcd_endpoints`).
std::optional<std::vector<std::pair<std::string, std::string>>>
read_ini(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return std::nullopt;
  // A comment runs from `;` or `#` to the end of the line, also after a
  // `[section]` header, which CLI11 2.1 would otherwise take as a key.
  std::string text;
  for (std::string line; std::getline(in, line);)
    text += line.substr(0, line.find_first_of(";#")) + "\n";
  std::istringstream lines(text);
  CLI::ConfigBase ini;
  ini.comment(';')->arrayBounds('\x01', '\x02')->arrayDelimiter('\x03');
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : ini.from_config(lines)) {
    if (item.name == "++" || item.name == "--")
      continue;
    std::string value;
    for (const auto& part : item.inputs)
      value += part;
    out.emplace_back(item.fullname(), value);
  }
  return out;
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

} // namespace

invocation load(int argc, const char* const* argv,
                const std::map<std::string, std::string>& env,
                std::vector<std::string>& problems) {
  invocation inv;
  std::vector<std::string> args(argv + 1, argv + argc);
  // An unknown command word: nothing else is parsed (main reports it).
  if (!args.empty() && !args[0].starts_with("-") && args[0] != "cluster" &&
      !known_command(args[0])) {
    inv.command = args[0];
    inv.help = std::find(args.begin(), args.end(), "--help") != args.end() ||
               std::find(args.begin(), args.end(), "-h") != args.end();
    return inv;
  }
  // `--no-sync` is `--storage.sync false`, so that it wins over the file.
  for (auto& arg : args)
    if (arg == "--no-sync")
      arg = "--storage.sync=false";

  CLI::App app("deployd", "deployd");
  app.set_help_flag();
  app.fallthrough();
  add_settings(app, inv.config);
  std::string config_path;
  app.add_option("--config", config_path);
  app.add_flag("-h,--help", inv.help);
  bool version_flag = false;
  app.add_flag("-V,--version", version_flag);

  auto* serve = app.add_subcommand("serve");
  auto* replay = app.add_subcommand("replay");
  auto* verify = app.add_subcommand("verify");
  verify->add_option("--scratch-dir", inv.scratch_dir);
  auto* events = app.add_subcommand("events");
  events->add_option("--from", inv.from_position)
    ->check(decimal<std::uint64_t>());
  events->add_flag("--follow", inv.follow);
  events->add_option("--stream", inv.stream);
  auto* history = app.add_subcommand("history");
  history->add_option("--deployment", inv.deployment);
  history->add_option("--version", inv.history_version)
    ->check(decimal<std::uint64_t>())
    ->check(CLI::Validator(
      [](std::string& text) -> std::string {
        return text == "0" ? "a stream version, from 1" : std::string();
      },
      "VERSION"));
  history->add_option("--at", inv.history_at);
  auto* cluster = app.add_subcommand("cluster");
  auto* cluster_status = cluster->add_subcommand("status");
  auto* version = app.add_subcommand("version");
  auto* help = app.add_subcommand("help");
  for (auto* sub : {serve, replay, verify, events, history, cluster,
                    cluster_status, version, help})
    sub->fallthrough();
  app.require_subcommand(0, 1);
  cluster->require_subcommand(0, 1);
  app.allow_extras();

  try {
    std::vector<const char*> words{argv[0]};
    for (const auto& arg : args)
      words.push_back(arg.c_str());
    app.parse(static_cast<int>(words.size()), words.data());
  } catch (const CLI::ParseError& e) {
    problems.push_back(e.what());
  }
  for (const auto& extra : app.remaining(true))
    problems.push_back("unknown argument '" + extra + "'");
  for (auto* sub : {serve, replay, verify, events, history, version, help})
    if (sub->parsed())
      inv.command = sub->get_name();
  if (cluster->parsed())
    inv.command = cluster_status->parsed() ? "cluster-status" : "cluster";
  if (version_flag && !history->parsed())
    inv.command = "version";

  // The file first, then the environment over it; each only where the
  // command line said nothing.
  if (config_path.empty())
    if (const auto it = env.find("DEPLOYD_CONFIG"); it != env.end())
      config_path = it->second;
  std::set<const CLI::Option*> from_flags;
  for (const auto* option : app.get_options())
    if (option->count() > 0)
      from_flags.insert(option);
  if (!config_path.empty()) {
    if (const auto file = read_ini(config_path))
      for (const auto& [key, value] : *file)
        apply(app, from_flags, key, value, config_path, problems);
    else
      problems.push_back("cannot read config file " + config_path);
  }
  for (const auto& [name, key] : environment)
    if (const auto it = env.find(name); it != env.end())
      apply(app, from_flags, key, it->second,
            std::string("environment ") + name, problems);

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
  "Every command also takes --config FILE, and every setting of that file\n"
  "as a flag --section.key VALUE (--http.port 4200, --scheduler.max_runs 50);\n"
  "flags win over the environment, which wins over the file. Settings, their\n"
  "environment variables and defaults: config/service.ini "
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
