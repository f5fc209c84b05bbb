// Writes a large, valid event log straight into a data directory: one
// flow_created, then N deployment_created events on that flow, through the
// project's own events codec and storage::event_log, without HTTP, actors or
// projections.
//
// The projected position is left at 0, so the directory is exactly a log
// whose read model has not been built: `deployd replay` (or the catch-up of
// `deployd serve`) folds it. The deployments look like the ones bench/run
// creates over HTTP (bench/wrk/body.lua): names `d-<i>`, tags
// ["bench", "t<i % tags>"], parameters {"x": i, "who": "world"}. Benchmark tool, run by bench/run; never by CI.
//
// usage: make_log --data-dir D --deployments N [--tags T] [--batch B]
//                 [--ids-file F] [--ids N]
//   --ids-file writes N deployment ids (spread over the log), one a line.

#include "events/catalog.hpp"
#include "events/codec.hpp"
#include "events/deployment.hpp"
#include "events/flow.hpp"
#include "events/ids.hpp"
#include "events/time.hpp"
#include "storage/event_log.hpp"
#include "storage/record.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace deployd;

struct options {
  std::string data_dir;
  std::uint64_t deployments = 0;
  std::uint64_t tags = 10;
  std::uint64_t batch = 1000;
  std::string ids_file;
  std::uint64_t ids = 1000;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: make_log --data-dir D --deployments N [--tags T] "
               "[--batch B] [--ids-file F] [--ids N]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc)
      usage();
    const char* value = argv[++i];
    const auto number = static_cast<std::uint64_t>(std::atoll(value));
    if (arg == "--data-dir")
      o.data_dir = value;
    else if (arg == "--deployments")
      o.deployments = number;
    else if (arg == "--tags")
      o.tags = number;
    else if (arg == "--batch")
      o.batch = number;
    else if (arg == "--ids-file")
      o.ids_file = value;
    else if (arg == "--ids")
      o.ids = number;
    else
      usage();
  }
  if (o.data_dir.empty() || o.tags == 0 || o.batch == 0)
    usage();
  return o;
}

/// Deterministic 64-bit mixer (splitmix64) for ids.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

events::uuid id_of(std::uint64_t n) {
  return events::uuid::v4_from(mix(2 * n), mix(2 * n + 1));
}

events::timestamp now() {
  using namespace std::chrono;
  return {duration_cast<microseconds>(system_clock::now().time_since_epoch())
            .count()};
}

/// Appends `e` as the first event of its stream.
void append(storage::write_batch& b, const events::any_event& e,
            events::timestamp at, std::uint64_t n) {
  auto encoded = events::encode(e);
  storage::record r;
  r.stream = events::stream_of(e);
  r.name = std::move(encoded.name);
  r.schema_version = encoded.version;
  r.payload = std::move(encoded.payload);
  r.recorded_at = at;
  r.command_id = id_of(n ^ 0x5a5a5a5a5a5a5a5aULL);
  if (auto appended = b.append(r, {0}); !appended) {
    std::fprintf(stderr, "make_log: append: %s\n",
                 storage::to_string(appended.error()));
    std::exit(1);
  }
}

void commit(storage::event_log& log, storage::write_batch& b, bool sync) {
  // Appends move the projected position along; this log has no read model
  // yet, so keep it at 0 and let replay / catch-up build it.
  b.set_projected({0});
  if (auto committed = log.commit(b, sync); !committed) {
    std::fprintf(stderr, "make_log: commit: %s\n",
                 storage::to_string(committed.error()));
    std::exit(1);
  }
}

} // namespace

int main(int argc, char** argv) {
  const auto opts = parse(argc, argv);
  storage::open_options open;
  open.data_dir = opts.data_dir;
  auto opened = storage::event_log::open(open);
  if (!opened) {
    std::fprintf(stderr, "make_log: cannot open %s: %s\n",
                 opts.data_dir.c_str(), storage::to_string(opened.error()));
    return 1;
  }
  auto& log = **opened;
  if (log.last_position().value != 0) {
    std::fprintf(stderr, "make_log: %s already holds a log\n",
                 opts.data_dir.c_str());
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();

  events::flow f;
  f.id = id_of(0);
  f.created = now();
  f.updated = f.created;
  f.name = "bench";
  auto batch = log.begin();
  append(batch, events::flow_created{f}, f.created, 0);

  std::ofstream ids;
  if (!opts.ids_file.empty())
    ids.open(opts.ids_file);
  const auto ids_every =
    std::max<std::uint64_t>(1, opts.deployments / std::max<std::uint64_t>(
                                                    1, opts.ids));

  // The shape of bench/wrk/body.lua, as the writer would store it.
  const auto schema = events::json::parse(R"({"title":"Parameters",
    "type":"object","properties":{"x":{"title":"x","position":0,
    "type":"integer"},"who":{"title":"who","position":1,"type":"string",
    "default":"world"}},"required":["x"],"definitions":{}})");
  const auto job_variables = events::json::parse(
    R"({"env":{"BENCH":"1"},"image":"prefecthq/prefect:3"})");
  const auto pull_steps = events::json::parse(
    R"([{"prefect.deployments.steps.set_working_directory":)"
    R"({"directory":"/opt/prefect/flows"}}])");
  const events::json labels = {{"prefect.flow.id", f.id.str()},
                               {"team", "bench"}};

  for (std::uint64_t i = 1; i <= opts.deployments; ++i) {
    events::deployment d;
    d.id = id_of(i);
    d.created = now();
    d.updated = d.created;
    // Appending, not `"d-" + std::to_string(i)`: g++ 12 -O2 raises a false
    // -Wrestrict on operator+(const char*, std::string&&).
    d.name = "d-";
    d.name += std::to_string(i);
    d.version = "1.0";
    d.description = "load test";
    d.flow_id = f.id;
    d.parameters = events::json{{"x", i}, {"who", "world"}};
    d.parameter_openapi_schema = schema;
    d.entrypoint = "flows/bench.py:bench";
    d.path = "/opt/prefect/flows";
    d.job_variables = job_variables;
    d.pull_steps = pull_steps;
    std::string tag = "t";
    tag += std::to_string(i % opts.tags);
    d.tags = {"bench", std::move(tag)};
    d.labels = labels;
    if (ids.is_open() && i % ids_every == 0)
      ids << d.id.str() << '\n';
    append(batch, events::deployment_created{std::move(d)}, now(), i);
    if (i % opts.batch == 0) {
      commit(log, batch, false);
      batch = log.begin();
    }
  }
  commit(log, batch, true);
  if (auto flushed = log.flush(); !flushed)
    return 1;
  const double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  std::printf("{\"events\":%llu,\"deployments\":%llu,\"seconds\":%.3f,"
              "\"flow_id\":\"%s\"}\n",
              static_cast<unsigned long long>(log.last_position().value),
              static_cast<unsigned long long>(opts.deployments), seconds,
              f.id.str().c_str());
  return 0;
}
