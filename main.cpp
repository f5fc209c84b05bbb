// deployd's composition root: the only file that sees every folder.
//
// Loads the configuration, opens storage (catching projections up with the
// log), starts the actor runtime and the HTTP listener, waits for SIGINT or
// SIGTERM, then stops everything in reverse order. Also hosts the offline
// tools: replay, verify and events.
#include "actors/cluster.hpp"
#include "actors/gateway.hpp"
#include "actors/history.hpp"
#include "actors/projections.hpp"
#include "actors/replay.hpp"
#include "config/service_config.hpp"
#include "events/clock.hpp"
#include "events/codec.hpp"
#include "events/python/json_text.hpp"
#include "http/answer_cache.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"
#include "http/services.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "storage/etcd/client.hpp"
#include "storage/etcd/replicated_log.hpp"
#include "storage/event_log.hpp"
#include "storage/read_pool.hpp"

#include <algorithm>
#include <boost/version.hpp>
#include <caf/config.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <openssl/crypto.h>
#include <rocksdb/version.h>
#include <string>
#include <thread>
#include <unistd.h>

extern char** environ;
// build_info.cpp, written at build time by config/build_info.cmake.
extern const char deployd_git_commit[];
extern const char deployd_build_type[];

#ifdef DEPLOYD_JEMALLOC_CONF
// jemalloc's options, read once at its start (the MALLOC_CONF environment
// variable still overrides them). Pages freed under load go back to the
// kernel within about a second, purged by jemalloc's background thread, and
// blocks of 1 MiB and more come from an arena that returns them at once.
// With the defaults (10 s decay, no background thread) a GET + create load
// on 1M deployments peaked ~20 MB higher for the same CPU per request
// (bench/README.md, "RSS under GET + create load with 1M deployments"). The
// threshold is 1 MiB, not 256 KiB: at 256 KiB filters of 200 deployments
// cost 30-60% more CPU (bench/README.md, "jemalloc's oversize threshold";
// likely their ~240 KB answer buffers purged and faulted in again on every
// request, inferred, not traced). The writer's batch, which grows past it,
// is reused instead (storage/event_log.cpp, write_batch::~write_batch).
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf =
  "background_thread:true,dirty_decay_ms:1000,oversize_threshold:1048576";
}
#endif

namespace {

using namespace deployd;

/// What the first answers of keyed writes may hold in memory (retries are
/// answered from them; http/answer_cache.hpp).
constexpr std::size_t answer_cache_bytes = std::size_t{8} << 20;

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos)
      env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

// A positive interval in seconds as milliseconds (at least 1).
std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(
      std::max<std::int64_t>(1, std::llround(seconds * 1000.0)));
}

// The scheduler's settings as the window of its passes and of
// `POST /deployments/{id}/schedule` (flow-runs.md §3.3, §11.3).
events::schedule_window schedule_window_of(const config::scheduler_settings& s) {
  events::schedule_window w;
  w.min_time_micros = std::llround(s.min_scheduled_time_seconds * 1e6);
  w.max_scheduled_micros = std::llround(s.max_scheduled_time_seconds * 1e6);
  w.min_runs = s.min_runs;
  w.max_runs = s.max_runs;
  return w;
}

long long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now() - since)
    .count();
}

std::unique_ptr<storage::event_log> open_log(const config::service_config& c) {
  storage::open_options options;
  options.data_dir = c.storage.data_dir;
  options.block_cache_bytes = c.storage.block_cache_mb << 20;
  options.row_cache_bytes = c.storage.row_cache_mb << 20;
  auto log = storage::event_log::open(options);
  if (!log) {
    std::fprintf(stderr, "deployd: cannot open %s: %s\n",
                 c.storage.data_dir.c_str(), storage::to_string(log.error()));
    return nullptr;
  }
  return std::move(*log);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos)
      comma = text.size();
    if (comma > start)
      out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::unique_ptr<storage::etcd::client>
connect_etcd(const config::cluster_settings& c) {
  auto client = storage::etcd::client::connect(split_list(c.etcd_endpoints));
  if (!client) {
    std::fprintf(stderr, "deployd: cannot use etcd at %s: %s\n",
                 c.etcd_endpoints.c_str(), client.error().message.c_str());
    return nullptr;
  }
  return std::move(*client);
}

actors::cluster_settings cluster_settings_of(const config::service_config& c) {
  actors::cluster_settings s;
  s.node = c.cluster.node;
  s.peer_host = c.cluster.peer_host;
  s.peer_port = static_cast<std::uint16_t>(c.cluster.peer_port);
  s.lease_ttl = std::chrono::milliseconds(c.cluster.lease_ttl_ms);
  s.append_attempt = std::chrono::milliseconds(c.cluster.append_attempt_ms);
  s.append_budget = std::chrono::milliseconds(c.cluster.append_budget_ms);
  s.max_entry_bytes = c.cluster.max_entry_bytes;
  s.forward_timeout = std::chrono::milliseconds(c.http.request_timeout_ms);
  return s;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  return {std::istreambuf_iterator<char>(in), {}};
}

// Swagger UI's files for /docs (npm swagger-ui-dist, fetched by the build):
// `swagger-ui/` next to the binary (the build tree), else
// `../share/deployd/swagger-ui/` (the package: /usr/share/deployd).
void load_docs_assets(http::services& s) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return;
  for (const auto& dir : {exe.parent_path() / "swagger-ui",
                          exe.parent_path() / ".." / "share" / "deployd" /
                            "swagger-ui"}) {
    auto js = read_file(dir / "swagger-ui-bundle.js");
    auto css = read_file(dir / "swagger-ui.css");
    if (!js.empty() && !css.empty()) {
      s.docs_bundle_js = std::move(js);
      s.docs_css = std::move(css);
      return;
    }
  }
  observe::log(observe::level::warn, "no Swagger UI files: /docs answers 404",
               {{"looked_in", (exe.parent_path() / "swagger-ui").string()}});
}

int serve(const config::service_config& c) {
  // Signals are handled by sigwait below: block them before any thread
  // starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto log = open_log(c);
  if (!log)
    return 1;
  auto prepared = actors::prepare_read_model(*log);
  if (!prepared) {
    std::fprintf(stderr, "deployd: catch-up failed: %s\n",
                 storage::to_string(prepared.error()));
    return 1;
  }
  if (prepared->rebuilt && log->last_position().value != 0)
    std::fprintf(stderr,
                 "deployd: read model format %u, this binary writes %u: "
                 "rebuilt from %llu events in %.3f s\n",
                 prepared->found_format, actors::read_model_format,
                 static_cast<unsigned long long>(prepared->stats.events),
                 prepared->stats.seconds);
  else if (prepared->stats.events != 0)
    std::fprintf(stderr, "deployd: projections caught up %llu events\n",
                 static_cast<unsigned long long>(prepared->stats.events));

  auto clock = events::make_clock(c.determinism.clock);
  if (!clock) {
    std::fprintf(stderr, "deployd: bad clock '%s'\n",
                 c.determinism.clock.c_str());
    return 2;
  }
  auto ids = events::make_id_source(c.determinism.id_seed);

  // Cluster mode: etcd is the log of record and this data dir a replica of
  // it. Waits for etcd (a node may start before its members are up).
  const bool clustered = !c.cluster.etcd_endpoints.empty();
  std::unique_ptr<storage::etcd::client> etcd;
  std::unique_ptr<storage::etcd::replicated_log> replicated;
  std::string cluster_id;
  if (clustered) {
    etcd = connect_etcd(c.cluster);
    if (!etcd)
      return 1;
    replicated = std::make_unique<storage::etcd::replicated_log>(
      *etcd, c.cluster.prefix);
    const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
      auto joined =
        actors::join_cluster(*log, *replicated, std::chrono::seconds(2));
      if (joined) {
        std::fprintf(stderr, "deployd: cluster %s, node %s\n",
                     joined->c_str(), c.cluster.node.c_str());
        cluster_id = *joined;
        break;
      }
      if (std::chrono::steady_clock::now() > give_up ||
          joined.error().find("data dir") != std::string::npos) {
        std::fprintf(stderr, "deployd: %s\n", joined.error().c_str());
        return 1;
      }
      std::fprintf(stderr, "deployd: waiting for etcd: %s\n",
                   joined.error().c_str());
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT))
        return 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  auto routes = http::make_routes();
  // Outlives the runtime: the writer reports commits until it stops.
  std::optional<observe::metrics> metrics;
  if (c.metrics.enabled) {
    std::vector<observe::route_label> labels;
    for (auto& e : routes.entries())
      labels.push_back({std::move(e.method), std::move(e.pattern)});
    metrics.emplace(std::move(labels));
  }
  int status = 0;
  {
    actors::runtime_settings runtime_settings;
    runtime_settings.scheduler_threads = c.actors.scheduler_threads;
    runtime_settings.max_batch = c.actors.max_batch;
    runtime_settings.sync = c.storage.sync;
    if (c.foreman.enabled) {
      runtime_settings.sweep_interval =
          std::chrono::milliseconds(std::max<std::int64_t>(
              1, std::llround(c.foreman.loop_seconds * 1000.0)));
      runtime_settings.sweep_rules = {
          c.foreman.inactivity_heartbeat_multiple,
          c.foreman.fallback_heartbeat_interval_seconds,
          std::llround(c.foreman.deployment_last_polled_timeout_seconds * 1e6),
          std::llround(c.foreman.work_queue_last_polled_timeout_seconds * 1e6)};
    }
    if (metrics)
      runtime_settings.on_commit = [&m = *metrics](
                                       const actors::commit_stats& s) {
        m.commit_done(s.commands, s.events, s.seconds);
      };
    runtime_settings.idempotency_retention =
        std::chrono::seconds(c.events.idempotency_retention_seconds);
    runtime_settings.idempotency_sweep_interval =
        std::chrono::milliseconds(std::max<std::int64_t>(
            1, std::llround(c.events.retention_sweep_seconds * 1000.0)));
    if (c.events.retention_seconds > 0) {
      runtime_settings.retention_interval =
          std::chrono::milliseconds(std::max<std::int64_t>(
              1, std::llround(c.events.retention_sweep_seconds * 1000.0)));
      runtime_settings.retention = {c.events.retention_seconds};
    }
    const auto window = schedule_window_of(c.scheduler);
    if (c.scheduler.enabled) {
      runtime_settings.scheduler_interval = millis(c.scheduler.loop_seconds);
      runtime_settings.recent_scheduler_interval =
          millis(c.scheduler.recent_deployments_loop_seconds);
      runtime_settings.scheduler_pass.batch_size =
          c.scheduler.deployment_batch_size;
      runtime_settings.scheduler_pass.insert_batch_size =
          c.scheduler.insert_batch_size;
      runtime_settings.scheduler_pass.window = window;
    }
    if (c.late_runs.enabled) {
      runtime_settings.late_runs_interval = millis(c.late_runs.loop_seconds);
      runtime_settings.late_runs.after_micros =
          std::llround(c.late_runs.after_seconds * 1e6);
    }
    if (clustered) {
      runtime_settings.cluster = cluster_settings_of(c);
      runtime_settings.cluster->cluster_id = cluster_id;
      runtime_settings.replicated = replicated.get();
    }
    // Retries of keyed writes answered before the writer; only with the
    // system clock, which the cache compares the keys' retention with.
    // Declared before the writer and the read pool, whose work uses it.
    std::optional<http::answer_cache> answers;
    if (c.determinism.clock == "system" || c.determinism.clock.empty())
      answers.emplace(
        answer_cache_bytes,
        std::chrono::seconds(c.events.idempotency_retention_seconds));
    actors::runtime runtime(*log, *clock, *ids, std::move(runtime_settings));
    const actors::read_model reads(*log);
    storage::read_pool blocking_reads(c.storage.read_threads);
    // What a scrape reads besides the counters; only the log, the runtime
    // and the answer cache, which outlive the read pool that runs it.
    auto gauges = [&log = *log, &runtime, &answers] {
      observe::state st;
      st.log_position = log.last_position().value;
      if (auto projected = log.projected_position())
        st.projected_position = projected->value;
      const auto memory = log.memory();
      st.memtable_bytes = memory.memtable_bytes;
      st.table_reader_bytes = memory.table_reader_bytes;
      st.block_cache_bytes = memory.block_cache_bytes;
      st.row_cache_bytes = memory.row_cache_bytes;
      st.pending_compaction_bytes = memory.pending_compaction_bytes;
      if (const auto cluster = runtime.cluster())
        st.cluster = observe::state::cluster_view{
          cluster->role, cluster->applied, cluster->log_head, cluster->ready,
          cluster->etcd_reachable};
      st.log_lines_dropped = observe::dropped_lines();
      if (answers) {
        st.idempotency_cache_hits = answers->hits();
        st.idempotency_cache_entries = answers->size();
        st.idempotency_cache_bytes = answers->bytes();
      }
      return st;
    };
    // Live events for /api/events/out: told of every commit by the writer,
    // reads on the pool; destroyed before it (declared after).
    actors::event_hub event_hub(*log, blocking_reads, runtime.positions());
    http::services services{runtime, reads, blocking_reads, c.api,
                            metrics ? &*metrics : nullptr, gauges,
                            c.log.requests, {}, {}, &event_hub, c.events,
                            {}};
    services.schedule_defaults = window;
    if (answers)
      services.answers = &*answers;
    load_docs_assets(services);
    http::server server(c.http, services, std::move(routes));
    auto port = server.start();
    if (!port) {
      std::fprintf(stderr, "deployd: %s\n", port.error().c_str());
      status = 1;
    } else {
      observe::log(observe::level::info, "listening",
                   {{"host", c.http.host},
                    {"port", unsigned{*port}},
                    {"data_dir", c.storage.data_dir},
                    {"version", std::string_view(DEPLOYD_VERSION)}});
      auto peer_port =
        runtime.start(c.http.host + ":" + std::to_string(*port));
      if (!peer_port) {
        std::fprintf(stderr, "deployd: %s\n", peer_port.error().c_str());
        server.stop(0);
        status = 1;
      } else if (clustered) {
        observe::log(observe::level::info, "cluster peer port",
                     {{"node", c.cluster.node},
                      {"host", c.cluster.peer_host},
                      {"port", unsigned{*peer_port}}});
      }
    }
    if (status == 0 && port) {
      int sig = 0;
      sigwait(&signals, &sig);
      observe::log(observe::level::info, "shutting down", {{"signal", sig}});
      const auto t0 = std::chrono::steady_clock::now();
      server.stop();
      observe::log(observe::level::info, "http stopped",
                   {{"after_ms", std::int64_t{elapsed_ms(t0)}}});
    }
    // Leaving the scope stops the writer (it answers what it accepted) and
    // then the read pool, before the log closes.
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (auto flushed = log->flush(); !flushed)
    status = 1;
  log.reset();
  observe::log(observe::level::info, "storage closed",
               {{"after_ms", std::int64_t{elapsed_ms(t1)}}, {"exit", status}});
  return status;
}

// `deployd cluster status`: what etcd says of the cluster, as JSON.
int cluster_status(const config::service_config& c) {
  if (c.cluster.etcd_endpoints.empty()) {
    std::fprintf(stderr, "deployd: cluster status needs --etcd URL[,URL...]\n");
    return 2;
  }
  auto etcd = connect_etcd(c.cluster);
  if (!etcd)
    return 1;
  storage::etcd::replicated_log rlog(*etcd, c.cluster.prefix);
  const auto deadline = std::chrono::seconds(2);
  const auto& keys = rlog.keys();
  storage::etcd::txn_request look;
  look.success.push_back(storage::etcd::range_op{keys.cluster_id(), {}, 0});
  look.success.push_back(storage::etcd::range_op{keys.leader(), {}, 0});
  look.success.push_back(storage::etcd::range_op{keys.head(), {}, 0});
  look.success.push_back(storage::etcd::range_op{
    keys.nodes(), storage::etcd::prefix_end(keys.nodes()), 0});
  auto seen = etcd->txn(look, deadline);
  if (!seen || seen->ranges.size() != 4) {
    std::fprintf(stderr, "deployd: cannot read the cluster from etcd: %s\n",
                 seen ? "short answer" : seen.error().message.c_str());
    return 1;
  }
  auto parsed = [](const std::string& text) {
    try {
      return events::json::parse(text);
    } catch (const std::exception&) {
      return events::json(text);
    }
  };
  events::json out = events::json::object();
  out["prefix"] = c.cluster.prefix;
  out["cluster_id"] =
    seen->ranges[0].empty() ? events::json() : events::json(seen->ranges[0][0].value);
  out["leader"] =
    seen->ranges[1].empty() ? events::json() : parsed(seen->ranges[1][0].value);
  if (!seen->ranges[2].empty()) {
    if (auto head = storage::etcd::parse_head(seen->ranges[2][0].value)) {
      out["log_head"] = head->next_position.value - 1;
      out["entries"] = head->next_seq - 1;
    }
  }
  auto nodes = events::json::array();
  for (const auto& kv : seen->ranges[3])
    nodes.push_back(parsed(kv.value));
  out["nodes"] = std::move(nodes);
  auto members = events::json::array();
  if (auto st = etcd->status(deadline)) {
    for (const auto& m : *st) {
      events::json j = events::json::object();
      j["endpoint"] = m.endpoint;
      j["member_id"] = m.member_id;
      j["leader"] = m.member_id != 0 && m.member_id == m.leader_id;
      j["db_size"] = m.db_size;
      j["raft_term"] = m.raft_term;
      j["alarms"] = m.alarms;
      j["version"] = m.version;
      members.push_back(std::move(j));
    }
  }
  out["etcd"] = std::move(members);
  std::cout << out.dump(2) << '\n';
  return 0;
}

int replay(const config::service_config& c) {
  auto log = open_log(c);
  if (!log)
    return 1;
  auto stats = actors::replay(*log, actors::terminal_progress("replay"));
  if (!stats) {
    std::fprintf(stderr, "deployd: replay failed: %s\n",
                 storage::to_string(stats.error()));
    return 1;
  }
  std::printf("replayed %llu events in %.3f s (%.0f events/s)\n",
              static_cast<unsigned long long>(stats->events), stats->seconds,
              stats->seconds > 0 ? stats->events / stats->seconds : 0.0);
  std::printf("fold %.3f s (this thread's CPU %.3f s, the reader's %.3f s), "
              "table files and ingest %.3f s (%.3f s)\n",
              stats->fold_seconds, stats->fold_cpu_seconds,
              stats->decode_cpu_seconds, stats->finish_seconds,
              stats->finish_cpu_seconds);
  return 0;
}

int verify(const config::service_config& c, std::string scratch) {
  auto log = open_log(c);
  if (!log)
    return 1;
  bool remove_scratch = false;
  if (scratch.empty()) {
    std::string pattern =
      (std::filesystem::temp_directory_path() / "deployd-verify-XXXXXX")
        .string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("deployd: mkdtemp");
      return 1;
    }
    scratch = pattern;
    remove_scratch = true;
  }
  auto report =
      actors::verify(*log, scratch, actors::terminal_progress("verify"));
  if (remove_scratch) {
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
  }
  if (!report) {
    std::fprintf(stderr, "deployd: verify failed: %s\n",
                 storage::to_string(report.error()));
    return 1;
  }
  std::printf("verified %llu rows against a replay of %llu events: %llu "
              "differences\n",
              static_cast<unsigned long long>(report->rows_compared),
              static_cast<unsigned long long>(log->last_position().value),
              static_cast<unsigned long long>(report->differences));
  if (report->differences != 0) {
    std::printf("first difference: %s\n", report->first_difference.c_str());
    if (report->live_format != actors::read_model_format)
      std::printf("the live read model has format %u and this binary writes "
                  "%u: `deployd replay` (or the next `serve`) rebuilds it\n",
                  report->live_format, actors::read_model_format);
    return 1;
  }
  return 0;
}

events::json record_json(const storage::record& r) {
  events::json j = events::json::object();
  j["position"] = r.position.value;
  j["stream"] = r.stream.value;
  j["version"] = r.version.value;
  j["event"] = r.name;
  j["schema_version"] = r.schema_version;
  j["recorded_at"] = events::format_timestamp(r.recorded_at);
  j["command_id"] = r.command_id.str();
  try {
    j["payload"] = events::parse_json(r.payload);
  } catch (const std::exception&) {
    j["payload"] = r.payload;
  }
  return j;
}

// `events --follow`: the log opened as a RocksDB secondary beside the
// running server, read again every 200 ms from where it stopped, until
// SIGINT or SIGTERM.
int follow_events(const config::service_config& c, std::uint64_t from,
                  const std::string& stream) {
  // Blocked before RocksDB starts its threads (they inherit the mask), so
  // SIGINT/SIGTERM reach only the wait below and end the loop cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::string scratch =
      (std::filesystem::temp_directory_path() / "deployd-follow-XXXXXX")
          .string();
  if (mkdtemp(scratch.data()) == nullptr) {
    std::perror("deployd: mkdtemp");
    return 1;
  }
  struct cleanup {
    std::string dir;
    ~cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_scratch{scratch};
  storage::open_options options;
  options.data_dir = c.storage.data_dir;
  options.secondary_dir = scratch;
  options.create_if_missing = false;
  options.durable = false;
  auto log = storage::event_log::open(options);
  if (!log) {
    std::fprintf(stderr, "deployd: cannot follow %s: %s\n",
                 c.storage.data_dir.c_str(), storage::to_string(log.error()));
    return 1;
  }
  const timespec pause{0, 200'000'000};
  std::uint64_t next = std::max<std::uint64_t>(from, 1);
  for (;;) {
    auto read = (*log)->for_each_from({next}, [&](const storage::record& r) {
      next = r.position.value + 1;
      if (stream.empty() || r.stream.value == stream)
        std::cout << events::dump_json(record_json(r)) << '\n';
      return true;
    });
    if (!read)
      return 1;
    std::cout.flush();
    if (sigtimedwait(&stop_signals, nullptr, &pause) > 0)
      return 0;
    if (auto caught = (*log)->catch_up(); !caught)
      return 1;
  }
}

int print_events(const config::service_config& c, std::uint64_t from,
                 const std::string& stream, bool follow) {
  if (follow)
    return follow_events(c, from, stream);
  auto log = open_log(c);
  if (!log)
    return 1;
  auto print = [](const storage::record& r) {
    std::cout << events::dump_json(record_json(r)) << '\n';
  };
  if (!stream.empty()) {
    auto records = log->read_stream({stream});
    if (!records)
      return 1;
    for (const auto& r : *records)
      if (r.position.value >= from)
        print(r);
    return 0;
  }
  auto done = log->for_each_from({from}, [&](const storage::record& r) {
    print(r);
    return true;
  });
  return done ? 0 : 1;
}

// `deployd history`: a deployment's records (one JSON line each), or the
// deployment as GET answered at a version or a time (exit 1 when it did
// not exist then; a deleted one prints the 410 body of the HTTP route).
int print_history(const config::service_config& c, const std::string& id_text,
                  std::uint64_t version, const std::string& at) {
  const auto id = events::uuid::parse(id_text);
  if (!id) {
    std::fprintf(stderr, "deployd: --deployment must be a deployment id\n");
    return 2;
  }
  if (version != 0 && !at.empty()) {
    std::fprintf(stderr, "deployd: give --version or --at, not both\n");
    return 2;
  }
  auto log = open_log(c);
  if (!log)
    return 1;
  if (version == 0 && at.empty()) {
    auto text = actors::history_json(*log, events::deployment_stream(*id));
    if (!text)
      return 1;
    if (!*text) {
      std::fprintf(stderr, "deployd: no deployment %s in the log\n",
                   id_text.c_str());
      return 1;
    }
    for (const auto& entry : events::parse_json(**text))
      std::cout << events::dump_json(entry) << '\n';
    return 0;
  }
  actors::as_of when;
  if (version != 0)
    when.version = version;
  else {
    when.time = events::parse_timestamp(at);
    if (!when.time) {
      std::fprintf(stderr, "deployd: --at must be an ISO 8601 time\n");
      return 2;
    }
  }
  auto past = actors::deployment_at(*log, *id, when);
  if (!past)
    return 1;
  switch (past->state) {
  case actors::past_state::status::absent:
    std::fprintf(stderr, "deployd: deployment %s did not exist then\n",
                 id_text.c_str());
    return 1;
  case actors::past_state::status::present:
    std::cout << past->body << '\n';
    return 0;
  case actors::past_state::status::deleted:
    break;
  }
  std::cout << "{\"detail\":\"Deployment was deleted.\",\"version\":"
            << past->version << ",\"deleted\":\""
            << events::format_timestamp(past->deleted_at)
            << "\",\"last\":" << past->body << "}\n";
  return 0;
}

// `deployd version`: what an operator quotes in a bug report.
std::string version_text() {
  std::string out = "deployd " DEPLOYD_VERSION "\n";
  out += std::string("commit ") + deployd_git_commit + "\n";
  out += std::string("build type ") + deployd_build_type + "\n";
  out += "RocksDB " + rocksdb::GetRocksVersionAsString() + "\n";
  out += "CAF " + std::to_string(CAF_VERSION / 10000) + "." +
         std::to_string(CAF_VERSION / 100 % 100) + "." +
         std::to_string(CAF_VERSION % 100) + "\n";
  out += "Boost " + std::to_string(BOOST_VERSION / 100000) + "." +
         std::to_string(BOOST_VERSION / 100 % 1000) + "." +
         std::to_string(BOOST_VERSION % 100) + "\n";
  out += std::string(OpenSSL_version(OPENSSL_VERSION)) + "\n";
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> problems;
  const auto inv = config::load(argc, argv, environment(), problems);
  for (auto& p : config::validate(inv.config, inv.command))
    problems.push_back(std::move(p));
  if (inv.help || inv.command == "help") {
    if (!config::known_command(inv.command)) {
      std::fprintf(stderr, "deployd: unknown command '%s'\n%s",
                   inv.command.c_str(), config::usage().c_str());
      return 2;
    }
    std::cout << (inv.command == "help" ? config::usage()
                                        : config::usage(inv.command));
    return 0;
  }
  if (inv.command == "version") {
    std::cout << version_text();
    return 0;
  }
  if (!problems.empty()) {
    for (const auto& p : problems)
      std::fprintf(stderr, "deployd: %s\n", p.c_str());
    std::fprintf(stderr, "%s", config::usage().c_str());
    return 2;
  }
  if (inv.command == "serve") {
    observe::log_options options;
    options.min_level = *observe::parse_level(inv.config.log.level);
    options.format = *observe::parse_format(inv.config.log.format);
    observe::start_logging(options);
    const int status = serve(inv.config);
    observe::stop_logging();
    return status;
  }
  if (inv.command == "replay")
    return replay(inv.config);
  if (inv.command == "verify")
    return verify(inv.config, inv.scratch_dir);
  if (inv.command == "events")
    return print_events(inv.config, inv.from_position, inv.stream,
                        inv.follow);
  if (inv.command == "history")
    return print_history(inv.config, inv.deployment, inv.history_version,
                         inv.history_at);
  if (inv.command == "cluster-status")
    return cluster_status(inv.config);
  std::fprintf(stderr, "deployd: unknown command '%s'\n%s",
               inv.command.c_str(), config::usage().c_str());
  return 2;
}
