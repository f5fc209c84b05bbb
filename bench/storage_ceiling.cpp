// The storage ceiling: synced appends of 1 KiB events through the project's
// own storage layer (storage::event_log), with no HTTP and no actors.
//
// Two runs on a fresh data directory: one event per synced commit, then 64
// events per synced commit. Each event opens a new stream (expected version
// 0), as a created deployment does. Prints one JSON object per run on
// stdout. Benchmark tool, run by bench/run; never by CI.
//
// usage: storage_ceiling --data-dir D [--seconds S] [--batch N]

#include "events/ids.hpp"
#include "events/time.hpp"
#include "storage/event_log.hpp"
#include "storage/record.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace deployd;
using steady = std::chrono::steady_clock;

struct options {
  std::string data_dir;
  double seconds = 5.0;
  std::size_t batch = 64;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--data-dir" && has_value)
      o.data_dir = argv[++i];
    else if (arg == "--seconds" && has_value)
      o.seconds = std::atof(argv[++i]);
    else if (arg == "--batch" && has_value)
      o.batch = static_cast<std::size_t>(std::atoll(argv[++i]));
    else {
      o.data_dir.clear();
      break;
    }
  }
  if (o.data_dir.empty() || o.batch == 0 || o.seconds <= 0) {
    std::fprintf(stderr, "usage: storage_ceiling --data-dir D [--seconds S] "
                         "[--batch N]\n");
    std::exit(2);
  }
  return o;
}

/// A 1 KiB JSON payload.
std::string make_payload() {
  std::string p = R"({"padding":")";
  while (p.size() < 1024 - 2)
    p += 'x';
  p += "\"}";
  return p;
}

struct run_result {
  std::uint64_t events = 0;
  std::uint64_t batches = 0;
  double seconds = 0;
};

/// Commits batches of `per_batch` new-stream events, synced, for `seconds`.
run_result run(storage::event_log& log, std::size_t per_batch, double seconds,
               std::uint64_t& next_stream) {
  const auto payload = make_payload();
  run_result out;
  const auto start = steady::now();
  const auto deadline =
    start + std::chrono::duration_cast<steady::duration>(
              std::chrono::duration<double>(seconds));
  while (steady::now() < deadline) {
    auto batch = log.begin();
    for (std::size_t i = 0; i < per_batch; ++i) {
      const auto n = ++next_stream;
      storage::record r;
      r.stream = {"bench/" + std::to_string(n)};
      r.name = "bench_event";
      r.schema_version = 1;
      r.recorded_at = {static_cast<std::int64_t>(n)};
      r.command_id = events::uuid::v4_from(n, ~n);
      r.payload = payload;
      if (auto appended = batch.append(r, {0}); !appended) {
        std::fprintf(stderr, "storage_ceiling: append: %s\n",
                     storage::to_string(appended.error()));
        std::exit(1);
      }
    }
    if (auto committed = log.commit(batch, true); !committed) {
      std::fprintf(stderr, "storage_ceiling: commit: %s\n",
                   storage::to_string(committed.error()));
      std::exit(1);
    }
    out.events += per_batch;
    ++out.batches;
  }
  out.seconds = std::chrono::duration<double>(steady::now() - start).count();
  return out;
}

void print(const char* name, std::size_t per_batch, const run_result& r) {
  std::printf("{\"run\":\"%s\",\"events_per_batch\":%zu,\"events\":%llu,"
              "\"batches\":%llu,\"seconds\":%.3f,\"events_per_s\":%.0f,"
              "\"batches_per_s\":%.0f}\n",
              name, per_batch, static_cast<unsigned long long>(r.events),
              static_cast<unsigned long long>(r.batches), r.seconds,
              r.events / r.seconds, r.batches / r.seconds);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  const auto opts = parse(argc, argv);
  storage::open_options open;
  open.data_dir = opts.data_dir;
  auto log = storage::event_log::open(open);
  if (!log) {
    std::fprintf(stderr, "storage_ceiling: cannot open %s: %s\n",
                 opts.data_dir.c_str(), storage::to_string(log.error()));
    return 1;
  }
  std::uint64_t next_stream = 0;
  print("single", 1, run(**log, 1, opts.seconds, next_stream));
  print("batch", opts.batch, run(**log, opts.batch, opts.seconds, next_stream));
  return 0;
}
