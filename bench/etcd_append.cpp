// Sequential fenced appends through deployd's etcd client (storage/etcd):
// the replicated log's per-batch ceiling in cluster mode. One txn in flight
// (ETCD.md: pipelined fenced txns are reordered by etcd), each
//   compare value(<prefix>head) == seq
//   success put <prefix>e/<20-digit seq> = value, put <prefix>head = seq+1
//   failure range <prefix>head
// Prints one JSON object: txn/s, MB/s, latency percentiles, errors. Keys go
// under a prefix of their own (bench/<pid>/ by default); --cleanup deletes
// them afterwards and compacts. Benchmark tool; never run by CI.
//
// usage: etcd_append --etcd URL[,URL...] [--size BYTES] [--count N]
//                    [--prefix P] [--deadline-ms MS] [--cleanup]
// A local 3-member cluster: tests/support/etcd-cluster.sh start DIR

#include "storage/etcd/client.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {

namespace etcd = deployd::storage::etcd;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct options {
  std::vector<std::string> endpoints;
  std::size_t size = 1536;
  std::int64_t count = 2000;
  std::string prefix;
  std::chrono::milliseconds deadline{2000};
  bool cleanup = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: etcd_append --etcd URL[,URL...] [--size BYTES] "
               "[--count N] [--prefix P] [--deadline-ms MS] [--cleanup]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  o.prefix = "bench/" + std::to_string(getpid()) + "/";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--etcd" && has_value) {
      std::stringstream list{argv[++i]};
      std::string e;
      while (std::getline(list, e, ',')) {
        o.endpoints.push_back(e);
      }
    } else if (arg == "--size" && has_value) {
      o.size = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--count" && has_value) {
      o.count = std::strtoll(argv[++i], nullptr, 10);
    } else if (arg == "--prefix" && has_value) {
      o.prefix = argv[++i];
    } else if (arg == "--deadline-ms" && has_value) {
      o.deadline = std::chrono::milliseconds{std::atoi(argv[++i])};
    } else if (arg == "--cleanup") {
      o.cleanup = true;
    } else {
      usage();
    }
  }
  if (o.endpoints.empty() || o.count <= 0) {
    usage();
  }
  return o;
}

std::string entry_key(const std::string& prefix, std::int64_t seq) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(seq));
  return prefix + "e/" + digits;
}

double percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const auto index = std::min(
      sorted.size() - 1, static_cast<std::size_t>(p * double(sorted.size())));
  return sorted[index];
}

} // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  auto connected = etcd::client::connect(o.endpoints);
  if (!connected) {
    std::fprintf(stderr, "connect: %s\n", connected.error().message.c_str());
    return 1;
  }
  auto& c = **connected;
  const std::string head = o.prefix + "head";

  // Create the head once (create_revision == 0), or start from it.
  const etcd::txn_request create{
      {{head, etcd::compare::target::create_revision, "", 0}},
      {etcd::put_op{head, "0", 0}},
      {etcd::range_op{head, "", 0}}};
  auto created = c.txn(create, o.deadline);
  if (!created) {
    std::fprintf(stderr, "create head: %s\n", created.error().message.c_str());
    return 1;
  }
  std::int64_t seq = 0;
  if (!created->succeeded) {
    seq = std::strtoll(created->ranges.at(0).at(0).value.c_str(), nullptr, 10);
  }

  std::string value(o.size, 'x');
  std::vector<double> latencies_ms;
  latencies_ms.reserve(std::size_t(o.count));
  std::int64_t errors = 0;
  std::int64_t conflicts = 0;
  std::string first_error;
  const auto started = steady::now();
  for (std::int64_t done = 0; done < o.count;) {
    // A commit id at the front, as the real writer's batches carry.
    const auto id = "bench-" + std::to_string(seq) + "|";
    value.replace(0, std::min(id.size(), value.size()), id, 0,
                  std::min(id.size(), value.size()));
    const etcd::txn_request append{
        {{head, etcd::compare::target::value, std::to_string(seq), 0}},
        {etcd::put_op{entry_key(o.prefix, seq), value, 0},
         etcd::put_op{head, std::to_string(seq + 1), 0}},
        {etcd::range_op{head, "", 0}}};
    const auto t0 = steady::now();
    auto r = c.txn(append, o.deadline);
    const auto t1 = steady::now();
    if (!r) {
      if (first_error.empty()) {
        first_error = r.error().message;
        std::replace(first_error.begin(), first_error.end(), '"', '\'');
      }
      if (++errors > 50) {
        break;
      }
      continue; // resend the identical txn
    }
    if (!r->succeeded) {
      // A lost answer that was applied, or another writer: take the head.
      ++conflicts;
      seq = std::strtoll(r->ranges.at(0).at(0).value.c_str(), nullptr, 10);
      continue;
    }
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(t1 - t0).count());
    ++seq;
    ++done;
  }
  const double seconds =
      std::chrono::duration<double>(steady::now() - started).count();
  auto sorted = latencies_ms;
  std::sort(sorted.begin(), sorted.end());
  const double n = double(sorted.size());
  std::printf(
      "{\"tool\": \"etcd_append\", \"endpoints\": %zu, \"value_bytes\": %zu, "
      "\"appends\": %.0f, \"seconds\": %.3f, \"txn_per_s\": %.1f, "
      "\"mb_per_s\": %.2f, \"p50_ms\": %.2f, \"p90_ms\": %.2f, "
      "\"p99_ms\": %.2f, \"max_ms\": %.2f, \"errors\": %lld, "
      "\"conflicts\": %lld, \"first_error\": \"%s\"}\n",
      o.endpoints.size(), o.size, n, seconds, n / seconds,
      n * double(o.size) / seconds / 1e6, percentile(sorted, 0.50),
      percentile(sorted, 0.90), percentile(sorted, 0.99),
      sorted.empty() ? 0.0 : sorted.back(), static_cast<long long>(errors),
      static_cast<long long>(conflicts), first_error.c_str());

  if (o.cleanup) {
    auto deleted = c.del({o.prefix, etcd::prefix_end(o.prefix)}, 30s);
    if (deleted) {
      auto now = c.range({head, "", 0, 0, false, false, true}, o.deadline);
      if (now) {
        (void)c.compact(now->revision, true, 30s);
      }
    }
  }
  return errors > 50 ? 1 : 0;
}
