#include "storage/event_log.hpp"

#include "observe/log.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>

namespace deployd::storage {

namespace {

// Column families that belong to the log itself, after the projection tables.
constexpr const char* log_cf = "log";
constexpr const char* streams_cf = "streams";
constexpr const char* stream_index_cf = "stream_index";
constexpr const char* meta_cf = "meta";

constexpr const char* table_names[table_count] = {
  "flows",
  "flow_names",
  "deployments",
  "deployment_views",
  "deployment_names",
  "limits",
  "limit_links",
  "deployment_by_name",
  "deployment_by_created",
  "deployment_by_updated",
  "deployment_tags",
  "deployment_queue_names",
  "deployment_summaries",
  "flow_by_created",
  "flow_by_updated",
  "resources",
  "resource_names",
  "queue_links",
  "block_links",
  "limit_names",
  "worker_names",
  "worker_heartbeats",
  "worker_keys",
  "event_rows",
  "event_ids",
  "event_resources",
  "event_related",
  "event_names",
  "event_feed",
  "event_status",
  "client_events",
  "automation_relations",
  "run_index",
  "scheduled_deployments",
};



constexpr std::string_view projected_key = "projected_position";
constexpr std::string_view format_key = "read_model_format";

// RocksDB's own diagnostics (warnings and worse) go to our stderr instead of
// a LOG file in the data directory: on a full disk, writing that file fails
// and Debian's librocksdb (built with assertions) aborts on the next line
// logged to a file writer that has seen an error.
class stderr_logger final : public rocksdb::Logger {
public:
  stderr_logger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    // Table files a bulk rebuild built and ingested carry no unique id in
    // the manifest; RocksDB says so once per file opened.
    if (std::strstr(line, "without unique ID to verify") != nullptr)
      return;
    observe::log(observe::level::warn, "rocksdb", {{"detail", line}});
  }
};

errc from_status(const rocksdb::Status& s, const char* what) {
  observe::log(observe::level::error, "storage error",
               {{"op", what}, {"status", s.ToString()}});
  if (s.IsNoSpace())
    return errc::no_space;
  if (s.IsCorruption())
    return errc::corruption;
  return errc::io_error;
}

std::string u64_value(std::uint64_t v) {
  return position_key({v});
}

std::uint64_t u64_of(std::string_view bytes) {
  return position_from_key(bytes).value;
}

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

// The smallest key greater than every key starting with `prefix`, or empty
// when there is none (the prefix is all 0xff).
std::string prefix_successor(std::string_view prefix) {
  std::string next(prefix);
  while (!next.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(next.back());
    if (last != 0xff) {
      ++last;
      return next;
    }
    next.pop_back();
  }
  return next;
}

// Walks `it` over keys with `prefix` in `order`.
std::expected<void, errc> walk(rocksdb::Iterator& it, std::string_view prefix,
                               const visitor& visit, scan_order order) {
  if (order == scan_order::forward) {
    for (it.Seek(slice(prefix)); it.Valid(); it.Next()) {
      const auto key = view(it.key());
      if (!key.starts_with(prefix) || !visit(key, view(it.value())))
        break;
    }
  } else {
    const auto upper = prefix_successor(prefix);
    if (upper.empty()) {
      it.SeekToLast();
    } else {
      it.SeekForPrev(upper);
      if (it.Valid() && view(it.key()) == upper)
        it.Prev();
    }
    for (; it.Valid(); it.Prev()) {
      const auto key = view(it.key());
      if (!key.starts_with(prefix) || !visit(key, view(it.value())))
        break;
    }
  }
  if (it.status().IsIncomplete())
    return std::unexpected(errc::would_block);
  if (!it.status().ok())
    return std::unexpected(from_status(it.status(), "scan"));
  return {};
}

// Walks `it` over keys in [from, to) (empty `to`: unbounded) in `order`.
std::expected<void, errc> walk_range(rocksdb::Iterator& it,
                                     std::string_view from, std::string_view to,
                                     const visitor& visit, scan_order order) {
  if (order == scan_order::forward) {
    for (it.Seek(slice(from)); it.Valid(); it.Next()) {
      const auto key = view(it.key());
      if ((!to.empty() && key >= to) || !visit(key, view(it.value())))
        break;
    }
  } else {
    if (to.empty()) {
      it.SeekToLast();
    } else {
      it.SeekForPrev(slice(to));
      if (it.Valid() && view(it.key()) == to)
        it.Prev();
    }
    for (; it.Valid(); it.Prev()) {
      const auto key = view(it.key());
      if (key < from || !visit(key, view(it.value())))
        break;
    }
  }
  if (it.status().IsIncomplete())
    return std::unexpected(errc::would_block);
  if (!it.status().ok())
    return std::unexpected(from_status(it.status(), "scan"));
  return {};
}

} // namespace

const char* to_string(errc e) {
  switch (e) {
    case errc::io_error:
      return "io_error";
    case errc::version_conflict:
      return "version_conflict";
    case errc::corruption:
      return "corruption";
    case errc::no_space:
      return "no_space";
    case errc::would_block:
      return "would_block";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::too_large:
      return "too_large";
    case errc::unavailable:
      return "unavailable";
  }
  return "unknown";
}

const char* table_name(table t) {
  return table_names[static_cast<std::size_t>(t)];
}

// -- bulk rebuild buffers -------------------------------------------------------

// The rows of one table written during a bulk rebuild and not yet visible:
// an arena of key and value bytes and one entry per write, in write order,
// plus the run files already spilled (each sorted, one entry per key).
struct bulk_table {
  struct entry {
    const char* data; // key then value, in one of `blocks`
    std::uint32_t key_size;
    std::uint32_t value_size;
    bool del;
  };
  // Key and value bytes go to blocks of 4 MiB (a larger row gets one of its
  // own) that never move: one growing string copied everything it held at
  // each doubling (a twentieth of the fold thread's time).
  static constexpr std::size_t block_size = 4u << 20;
  std::vector<std::string> blocks;
  std::size_t block = 0;    // the block being filled
  std::size_t used = 0;     // key and value bytes held
  std::vector<entry> entries;
  std::vector<std::string> runs;

  std::string_view key(const entry& e) const {
    return {e.data, e.key_size};
  }
  std::string_view value(const entry& e) const {
    return {e.data + e.key_size, e.value_size};
  }
  void add(std::string_view k, std::string_view v, bool del) {
    const auto n = k.size() + v.size();
    while (block < blocks.size() &&
           blocks[block].capacity() - blocks[block].size() < n &&
           !blocks[block].empty())
      ++block;
    if (block == blocks.size())
      blocks.emplace_back();
    auto& b = blocks[block];
    // An empty block: make it large enough, and never a short string's
    // inline buffer (which moves with the string).
    if (b.capacity() - b.size() < n || b.capacity() < block_size)
      b.reserve(std::max(n, block_size));
    const char* at = b.data() + b.size();
    b.append(k);
    b.append(v);
    used += n;
    entries.push_back({at, static_cast<std::uint32_t>(k.size()),
                       static_cast<std::uint32_t>(v.size()), del});
  }
  // The entries in key order, the last write of each key only;
  // `ascending`, when given, says whether they were written in strictly
  // ascending key order.
  std::vector<std::uint32_t> sorted(bool* ascending = nullptr) const {
    std::vector<std::uint32_t> order(entries.size());
    std::iota(order.begin(), order.end(), 0u);
    bool in_order = true;
    for (std::size_t i = 1; i < entries.size() && in_order; ++i)
      in_order = key(entries[i - 1]) < key(entries[i]);
    if (ascending)
      *ascending = in_order;
    if (in_order)
      return order;
    // Sorted by the keys' first 8 bytes as a number (most keys start with
    // an id or a time, so that decides nearly every comparison without a
    // memcmp), then the whole key, then write order: a stable sort by key.
    struct item {
      std::uint64_t prefix;
      std::uint32_t index;
    };
    std::vector<item> items(entries.size());
    for (std::uint32_t i = 0; i < items.size(); ++i) {
      const auto k = key(entries[i]);
      std::uint64_t prefix = 0;
      for (std::size_t b = 0; b < 8; ++b)
        prefix = (prefix << 8) |
                 (b < k.size() ? static_cast<unsigned char>(k[b]) : 0u);
      items[i] = {prefix, i};
    }
    std::sort(items.begin(), items.end(), [&](const item& a, const item& b) {
      if (a.prefix != b.prefix)
        return a.prefix < b.prefix;
      const int c = key(entries[a.index]).compare(key(entries[b.index]));
      return c != 0 ? c < 0 : a.index < b.index;
    });
    for (std::size_t i = 0; i < items.size(); ++i)
      order[i] = items[i].index;
    std::vector<std::uint32_t> last;
    last.reserve(order.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      if (i + 1 == order.size() ||
          key(entries[order[i]]) != key(entries[order[i + 1]]))
        last.push_back(order[i]);
    return last;
  }
  // Empties the buffer; `release` gives its memory back (otherwise it is
  // reused by the next rows, without faulting fresh pages in again).
  void clear(bool release) {
    for (auto& b : blocks)
      b.clear();
    block = 0;
    used = 0;
    entries.clear();
    if (release) {
      blocks.clear();
      blocks.shrink_to_fit();
      entries.shrink_to_fit();
    }
  }
};

struct bulk_rebuild {
  std::string dir;
  std::size_t budget = 0; // for each of the two buffer sets
  std::size_t buffered = 0;
  std::size_t files = 0; // run files named so far (spill thread only)
  bool direct[table_count] = {};
  bulk_table tables[table_count];
  /// The first failure of a spill (reported by the next commit).
  std::optional<errc> failure;
  // A spill runs on a thread of its own while the fold fills the other
  // buffer set: `spare` is the set being sorted and written (its `runs`
  // collect the run files it wrote, moved to `tables` when it is joined).
  // Writer thread only, except `spare`, `files` and `spill_result` while
  // `spiller` runs.
  bulk_table spare[table_count];
  std::thread spiller;
  std::expected<void, errc> spill_result;
  // A table whose rows have so far come in strictly ascending key order,
  // each spill's above the last one's (the feed rows by time, the indexes
  // by creation time), is written as table files by the spill itself: no
  // run file written, read back and merged. The first spill out of order
  // ends that (its file joins the runs, merged as they are). The spill
  // thread's, or the writer's once the spill is joined.
  struct ordered_table {
    bool ordered = true;
    bool any = false; // a row was written: `last_key` is set
    std::string last_key;
    std::unique_ptr<rocksdb::SstFileWriter> writer;
    std::string path;
    std::size_t files = 0;
  };
  ordered_table ordered[table_count];
  /// Whether the spills write ordered tables' files (not in a throwaway
  /// database: verify compares the merged rows, files would be waste).
  bool ordered_files = true;

  ~bulk_rebuild() {
    if (spiller.joinable())
      spiller.join();
  }
};

// -- event_log::impl -----------------------------------------------------------

struct event_log::impl {
  std::string data_dir;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned, see ~impl
  /// `handles` indexed by column family id.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_by_id;
  rocksdb::ColumnFamilyHandle* tables[table_count] = {};
  rocksdb::ColumnFamilyHandle* log = nullptr;
  rocksdb::ColumnFamilyHandle* streams = nullptr;
  rocksdb::ColumnFamilyHandle* stream_index = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::atomic<std::uint64_t> last_position{0};
  /// The row cache (for its usage), if any.
  std::shared_ptr<rocksdb::Cache> row_cache;
  /// A commit failed (full disk, I/O error): RocksDB may be read-only until
  /// resumed. Writer thread only.
  bool write_failed = false;
  /// The options table files are built with (bulk rebuild).
  rocksdb::Options sst_options;
  /// Opened as a throwaway database (`open_options::durable` false).
  bool throwaway = false;
  /// A bulk rebuild in progress, if any. Writer thread only.
  std::unique_ptr<bulk_rebuild> bulk;
  /// The last finished batch, emptied, for the next `begin` to reuse with
  /// its buffers' capacity (write_batch::~write_batch). Shared so that a
  /// batch outliving its log (a test dropping the log mid-batch, as a crash
  /// would) finds it gone instead of dangling.
  struct spare_slot {
    std::mutex mutex;
    std::unique_ptr<write_batch::impl> batch;
  };
  std::shared_ptr<spare_slot> recycled = std::make_shared<spare_slot>();

  ~impl();

  void close() {
    if (db) {
      for (auto* h : handles)
        db->DestroyColumnFamilyHandle(h);
      handles.clear();
      db->Close().PermitUncheckedError();
    }
  }

  rocksdb::ColumnFamilyHandle* cf(table t) const {
    return tables[static_cast<std::size_t>(t)];
  }

  // Whether a write to `t` goes to the bulk buffers.
  bool buffered(table t) const {
    return bulk && !bulk->direct[static_cast<std::size_t>(t)];
  }
  void buffer(table t, std::string_view key, std::string_view value,
              bool del) {
    bulk->tables[static_cast<std::size_t>(t)].add(key, value, del);
    bulk->buffered += key.size() + value.size() + sizeof(bulk_table::entry);
    if (bulk->buffered >= bulk->budget && !bulk->failure)
      if (auto s = spill_all(); !s)
        bulk->failure = s.error();
  }
  std::expected<void, errc> spill_all();
  std::expected<void, errc> spill(std::size_t t, bulk_table& buffer);
  std::expected<void, errc>
  write_ordered(std::size_t t, const bulk_table& buffer,
                const std::vector<std::uint32_t>& order,
                std::vector<std::string>& finished);
  std::expected<void, errc> close_ordered(std::size_t t,
                                          std::vector<std::string>& runs);
  void wait_spill();
  std::optional<errc> settle_bulk();
  template <class Put>
  std::expected<void, errc> merge_table(std::size_t t, Put&& put);
  std::expected<std::vector<std::string>, errc> build_files(std::size_t t);
  std::expected<void, errc> make_direct(table t);
};

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

// Reads a run file written by `spill`, one entry at a time: a run of its
// own format, or (`.sst`) an ordered table's file (no deletions).
class run_reader {
public:
  run_reader(const std::string& path, const rocksdb::Options& options) {
    if (path.ends_with(".sst")) {
      sst_ = std::make_unique<rocksdb::SstFileReader>(options);
      if (sst_->Open(path).ok()) {
        rocksdb::ReadOptions read;
        read.readahead_size = 2u << 20;
        rows_.reset(sst_->NewIterator(read));
        rows_->SeekToFirst();
      }
      return;
    }
    file_ = std::fopen(path.c_str(), "rb");
    if (file_)
      std::setvbuf(file_, nullptr, _IOFBF, 1u << 20);
  }
  ~run_reader() {
    if (file_)
      std::fclose(file_);
  }
  run_reader(const run_reader&) = delete;
  run_reader& operator=(const run_reader&) = delete;

  bool open() const {
    return file_ != nullptr || rows_ != nullptr;
  }
  // False at the end (or on a short read: `failed`).
  bool next() {
    if (rows_) {
      if (started_)
        rows_->Next();
      started_ = true;
      if (!rows_->Valid()) {
        failed_ = !rows_->status().ok();
        return false;
      }
      key.assign(rows_->key().data(), rows_->key().size());
      value.assign(rows_->value().data(), rows_->value().size());
      del = false;
      return true;
    }
    std::uint32_t sizes[2];
    const auto n = std::fread(sizes, 4, 2, file_);
    if (n != 2) {
      failed_ = n != 0 || std::ferror(file_);
      return false;
    }
    del = (sizes[1] & 0x80000000u) != 0;
    key.resize(sizes[0]);
    value.resize(sizes[1] & 0x7fffffffu);
    if ((!key.empty() && std::fread(key.data(), 1, key.size(), file_) !=
                             key.size()) ||
        (!value.empty() && std::fread(value.data(), 1, value.size(), file_) !=
                               value.size())) {
      failed_ = true;
      return false;
    }
    return true;
  }
  bool failed() const {
    return failed_;
  }

  std::string key;
  std::string value;
  bool del = false;

private:
  std::FILE* file_ = nullptr;
  std::unique_ptr<rocksdb::SstFileReader> sst_;
  std::unique_ptr<rocksdb::Iterator> rows_; // before sst_ goes
  bool started_ = false;
  bool failed_ = false;
};

} // namespace

// Appends `buffer`'s rows (in `order`, ascending and above table `t`'s
// rows so far; deletions dropped: they delete nothing) to the table's
// open table file, starting a new one past 64 MiB; finished files go to
// `finished`.
std::expected<void, errc>
event_log::impl::write_ordered(std::size_t t, const bulk_table& buffer,
                               const std::vector<std::uint32_t>& order,
                               std::vector<std::string>& finished) {
  auto& o = bulk->ordered[t];
  auto fail = [&](const rocksdb::Status& s) {
    return std::unexpected(from_status(s, "bulk build"));
  };
  for (const auto i : order) {
    const auto& e = buffer.entries[i];
    if (e.del)
      continue;
    if (!o.writer) {
      o.path = bulk->dir + "/ordered-" + std::to_string(t) + "-" +
               std::to_string(o.files++) + ".sst";
      o.writer = std::make_unique<rocksdb::SstFileWriter>(
          rocksdb::EnvOptions(), sst_options, tables[t], false);
      if (auto s = o.writer->Open(o.path); !s.ok())
        return fail(s);
    }
    if (auto s = o.writer->Put(slice(buffer.key(e)), slice(buffer.value(e)));
        !s.ok())
      return fail(s);
    // 64 MiB, as build_files.
    if (o.writer->FileSize() >= (64u << 20)) {
      if (auto s = o.writer->Finish(); !s.ok())
        return fail(s);
      o.writer.reset();
      finished.push_back(o.path);
    }
  }
  if (!order.empty()) {
    o.last_key.assign(buffer.key(buffer.entries[order.back()]));
    o.any = true;
  }
  return {};
}

// Ends table `t`'s ordered writing: its open file, finished, joins `runs`
// (the newest of them), merged with what comes after.
std::expected<void, errc>
event_log::impl::close_ordered(std::size_t t, std::vector<std::string>& runs) {
  auto& o = bulk->ordered[t];
  o.ordered = false;
  if (!o.writer)
    return {};
  const auto s = o.writer->Finish();
  o.writer.reset();
  if (!s.ok())
    return std::unexpected(from_status(s, "bulk build"));
  runs.push_back(o.path);
  return {};
}

// Sorts a table's buffer and writes it as a run file, or as table files
// while the table's rows come in order (on the spill thread).
std::expected<void, errc> event_log::impl::spill(std::size_t t,
                                                 bulk_table& buffer) {
  if (buffer.entries.empty())
    return {};
  bool ascending = false;
  const auto order = buffer.sorted(&ascending);
  auto& o = bulk->ordered[t];
  if (o.ordered && bulk->ordered_files && ascending &&
      (!o.any || buffer.key(buffer.entries[order.front()]) > o.last_key)) {
    if (auto w = write_ordered(t, buffer, order, buffer.runs); !w)
      return w;
    buffer.clear(false);
    return {};
  }
  if (auto c = close_ordered(t, buffer.runs); !c)
    return c;
  const auto path =
      bulk->dir + "/run-" + std::to_string(bulk->files++) + ".bin";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    observe::log(observe::level::error, "storage error",
                 {{"op", "bulk spill"}, {"path", path}});
    return std::unexpected(errc::io_error);
  }
  std::string chunk;
  chunk.reserve(1u << 20);
  bool ok = true;
  for (const auto i : order) {
    const auto& e = buffer.entries[i];
    put_u32(chunk, e.key_size);
    put_u32(chunk, e.value_size | (e.del ? 0x80000000u : 0u));
    chunk.append(buffer.key(e));
    chunk.append(buffer.value(e));
    if (chunk.size() >= (1u << 20)) {
      ok = ok && std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size();
      chunk.clear();
    }
  }
  ok = ok && std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    observe::log(observe::level::error, "storage error",
                 {{"op", "bulk spill"}, {"path", path}});
    return std::unexpected(errc::io_error);
  }
  buffer.runs.push_back(path);
  buffer.clear(false);
  return {};
}

// Hands the filled buffer set to the spill thread and goes on with the other
// (once the spill before has finished).
std::expected<void, errc> event_log::impl::spill_all() {
  wait_spill();
  if (bulk->failure)
    return std::unexpected(*bulk->failure);
  for (std::size_t t = 0; t < table_count; ++t) {
    std::swap(bulk->tables[t], bulk->spare[t]);
    bulk->tables[t].runs = std::move(bulk->spare[t].runs);
    bulk->spare[t].runs.clear();
  }
  bulk->buffered = 0;
  bulk->spiller = std::thread([this] {
    for (std::size_t t = 0; t < table_count; ++t)
      if (auto s = spill(t, bulk->spare[t]); !s) {
        bulk->spill_result = std::unexpected(s.error());
        return;
      }
  });
  return {};
}

// Joins the spill in flight, if any: its run files (newer than the runs
// before, older than the rows buffered since) join their tables' runs.
// The end of a bulk rebuild's fold, before its rows are merged: the last
// spill done and the spare buffers freed; what failed on the way, if any.
std::optional<errc> event_log::impl::settle_bulk() {
  wait_spill();
  for (auto& spare : bulk->spare)
    spare.clear(true);
  return bulk->failure;
}

void event_log::impl::wait_spill() {
  if (!bulk->spiller.joinable())
    return;
  bulk->spiller.join();
  for (std::size_t t = 0; t < table_count; ++t) {
    auto& runs = bulk->spare[t].runs;
    for (auto& run : runs)
      bulk->tables[t].runs.push_back(std::move(run));
    runs.clear();
  }
  if (!bulk->spill_result && !bulk->failure)
    bulk->failure = bulk->spill_result.error();
}

// Merges table `t`'s runs and buffer (the newest write of a key wins; the
// table was empty, so deletions leave nothing), handing each row in key
// order to `put(key, value)` (false or an error stops it), then drops the
// runs and the buffer.
template <class Put>
std::expected<void, errc> event_log::impl::merge_table(std::size_t t,
                                                       Put&& put) {
  auto& buffer = bulk->tables[t];
  if (auto c = close_ordered(t, buffer.runs); !c)
    return c;
  std::vector<std::unique_ptr<run_reader>> runs;
  std::vector<std::size_t> heap; // see below
  for (const auto& path : buffer.runs) {
    runs.push_back(std::make_unique<run_reader>(path, sst_options));
    if (!runs.back()->open())
      return std::unexpected(errc::io_error);
    if (runs.back()->next())
      heap.push_back(runs.size() - 1);
    else if (runs.back()->failed())
      return std::unexpected(errc::io_error);
  }
  const auto order = buffer.sorted();
  std::size_t at = 0; // next buffered entry (the newest source)

  // The runs holding a key still to merge, as a heap: smallest key first,
  // and of equal keys the newest run (a later spill) first. A linear walk
  // over every run per key cost O(runs) comparisons, and a rebuild of a
  // million events spills some thirty times.
  auto comes_later = [&](std::size_t a, std::size_t b) {
    const int c = runs[a]->key.compare(runs[b]->key);
    return c != 0 ? c > 0 : a < b;
  };
  std::make_heap(heap.begin(), heap.end(), comes_later);
  std::string key;
  for (;;) {
    // The smallest key among the sources.
    std::string_view smallest;
    bool any = false;
    if (at < order.size()) {
      smallest = buffer.key(buffer.entries[order[at]]);
      any = true;
    }
    if (!heap.empty() && (!any || runs[heap.front()]->key < smallest)) {
      smallest = runs[heap.front()]->key;
      any = true;
    }
    if (!any)
      break;
    key.assign(smallest);
    // The newest source holding it decides; every source moves past it.
    bool del = false;
    std::string_view value;
    std::string newest;
    bool found = false;
    if (at < order.size() && buffer.key(buffer.entries[order[at]]) == key) {
      const auto& e = buffer.entries[order[at]];
      del = e.del;
      value = buffer.value(e);
      found = true;
      ++at;
    }
    while (!heap.empty() && runs[heap.front()]->key == key) {
      const auto r = heap.front();
      std::pop_heap(heap.begin(), heap.end(), comes_later);
      heap.pop_back();
      if (!found) {
        del = runs[r]->del;
        newest = std::move(runs[r]->value);
        value = newest;
        found = true;
      }
      if (runs[r]->next()) {
        heap.push_back(r);
        std::push_heap(heap.begin(), heap.end(), comes_later);
      } else if (runs[r]->failed()) {
        return std::unexpected(errc::io_error);
      }
    }
    if (del)
      continue;
    auto more = put(std::string_view(key), value);
    if (!more)
      return std::unexpected(more.error());
    if (!*more)
      break;
  }
  runs.clear();
  for (const auto& run : buffer.runs)
    std::filesystem::remove(run);
  buffer.runs.clear();
  buffer.clear(true);
  return {};
}

// Table `t`'s merged rows as sorted table files.
std::expected<std::vector<std::string>, errc>
event_log::impl::build_files(std::size_t t) {
  auto& buffer = bulk->tables[t];
  if (auto& o = bulk->ordered[t]; o.ordered && bulk->ordered_files) {
    // Every spill wrote table files: the buffer goes after them if it
    // still comes in order.
    bool ascending = false;
    const auto order = buffer.sorted(&ascending);
    if (ascending && (order.empty() || !o.any ||
                      buffer.key(buffer.entries[order.front()]) > o.last_key)) {
      auto files = std::move(buffer.runs);
      buffer.runs.clear();
      if (auto w = write_ordered(t, buffer, order, files); !w)
        return std::unexpected(w.error());
      if (o.writer) {
        const auto s = o.writer->Finish();
        o.writer.reset();
        if (!s.ok())
          return std::unexpected(from_status(s, "bulk build"));
        files.push_back(o.path);
      }
      o.ordered = false;
      buffer.clear(true);
      return files;
    }
  }
  std::vector<std::string> files;
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::string path;
  auto fail = [&](const rocksdb::Status& s) -> std::expected<bool, errc> {
    return std::unexpected(from_status(s, "bulk build"));
  };
  auto merged = merge_table(
      t,
      [&](std::string_view key,
          std::string_view value) -> std::expected<bool, errc> {
        if (!writer) {
          path = bulk->dir + "/table-" + std::to_string(t) + "-" +
                 std::to_string(files.size()) + ".sst";
          // The files are read again soon (serving, verify): keep them
          // cached.
          writer = std::make_unique<rocksdb::SstFileWriter>(
              rocksdb::EnvOptions(), sst_options, tables[t], false);
          if (auto s = writer->Open(path); !s.ok())
            return fail(s);
        }
        if (auto s = writer->Put(slice(key), slice(value)); !s.ok())
          return fail(s);
        // Files of 64 MiB (RocksDB's default target file size): each file's
        // index block is read whole into the block cache on a miss, and
        // with 256 MiB files (index blocks of ~2 MB) GETs and creates on a
        // million deployments thrashed the 56 MiB cache: 765 against 367 us
        // of server CPU per request (bench/README.md, 2026-12-07 second
        // round).
        if (writer->FileSize() >= (64u << 20)) {
          if (auto s = writer->Finish(); !s.ok())
            return fail(s);
          writer.reset();
          files.push_back(path);
        }
        return true;
      });
  if (!merged)
    return std::unexpected(merged.error());
  if (writer) {
    if (auto s = writer->Finish(); !s.ok())
      return std::unexpected(from_status(s, "bulk build"));
    files.push_back(path);
  }
  return files;
}

// Makes table `t`'s buffered rows visible (ingested) before the fold reads
// it; later writes to it go through the batch.
std::expected<void, errc> event_log::impl::make_direct(table t) {
  if (!buffered(t))
    return {};
  const auto i = static_cast<std::size_t>(t);
  wait_spill();
  if (bulk->failure)
    return std::unexpected(*bulk->failure);
  const auto held = bulk->tables[i].used +
                    bulk->tables[i].entries.size() * sizeof(bulk_table::entry);
  auto files = build_files(i);
  if (!files)
    return std::unexpected(files.error());
  bulk->buffered -= std::min(bulk->buffered, held);
  bulk->direct[i] = true;
  if (files->empty())
    return {};
  rocksdb::IngestExternalFileOptions options;
  options.move_files = true;
  options.write_global_seqno = false;
  const auto s = db->IngestExternalFile(tables[i], *files, options);
  if (!s.ok())
    return std::unexpected(from_status(s, "bulk ingest"));
  return {};
}

// -- write_batch ---------------------------------------------------------------

struct write_batch::impl {
  event_log::impl* log = nullptr;
  /// Where this batch goes when it is dropped (event_log::impl::recycled).
  std::weak_ptr<event_log::impl::spare_slot> recycled;
  /// The batch's rows in key order per column family (event_log::commit).
  rocksdb::WriteBatch sorted;
  rocksdb::WriteBatchWithIndex batch{rocksdb::BytewiseComparator(), 0, true};
  std::uint64_t next_position = 1;
  std::size_t appended = 0;
  std::optional<std::uint64_t> projected;
  bool keep_records = false;
  std::vector<std::string> records;
  std::vector<side_write> side_writes;
  /// Rows or meta were written (a batch of client events appends nothing
  /// to the log and must still be committed).
  bool touched = false;
  struct save_point {
    std::uint64_t next_position;
    std::size_t appended;
    std::optional<std::uint64_t> projected;
    std::size_t records;
    std::size_t side_writes;
    bool touched;
  };
  std::vector<save_point> save_points;

  /// Empty, as `begin` makes it, with its buffers' capacity kept.
  void reset() {
    batch.Clear();
    sorted.Clear();
    appended = 0;
    projected.reset();
    keep_records = false;
    records.clear();
    side_writes.clear();
    touched = false;
    save_points.clear();
  }

  std::expected<std::optional<std::string>, errc>
  get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
    std::string value;
    const auto s = batch.GetFromBatchAndDB(log->db.get(), rocksdb::ReadOptions(),
                                           cf, slice(key), &value);
    if (s.IsNotFound())
      return std::optional<std::string>{};
    if (!s.ok())
      return std::unexpected(from_status(s, "batch get"));
    return std::optional<std::string>{std::move(value)};
  }
};

event_log::impl::~impl() {
  close();
}

write_batch::write_batch(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

// A WriteBatch grows its buffer by doubling, and with jemalloc's oversize
// threshold (main.cpp) every block of 1 MiB and more is returned to the
// kernel as soon as it is freed: a scheduler command of ~2 MB of rows
// faulted its fresh pages in again each time (~330,000 of the ~535,000 page
// faults of a fill of 100k runs, bench/README.md "The scheduler fill and
// page faults"). The emptied batch is kept for the next `begin` instead,
// unless its buffer grew past what is worth keeping.
constexpr std::size_t max_spare_batch_bytes = std::size_t{16} << 20;

// Rows from which a commit applies a sorted copy of its batch: a scheduler
// command of 500 runs (~5,500 rows), not a group commit of creates (~20
// rows each), whose gain was not measured.
constexpr std::uint32_t sorted_commit_rows = 4096;

write_batch::~write_batch() {
  if (!impl_ ||
      impl_->batch.GetWriteBatch()->Data().capacity() > max_spare_batch_bytes)
    return;
  const auto slot = impl_->recycled.lock();
  if (!slot)
    return;
  impl_->reset();
  const std::lock_guard lock(slot->mutex);
  slot->batch = std::move(impl_);
}
write_batch::write_batch(write_batch&&) noexcept = default;
write_batch& write_batch::operator=(write_batch&&) noexcept = default;

std::expected<events::stream_version, errc>
write_batch::stream_head(const events::stream_id& s) {
  auto current = impl_->get(impl_->log->streams, s.value);
  if (!current)
    return std::unexpected(current.error());
  if (!*current)
    return events::stream_version{0};
  return events::stream_version{u64_of(**current)};
}

std::expected<events::log_position, errc>
write_batch::append(record& r, events::stream_version expected) {
  const auto head = stream_head(r.stream);
  if (!head)
    return std::unexpected(head.error());
  if (*head != expected)
    return std::unexpected(errc::version_conflict);
  return append_after(r, expected);
}

std::expected<events::log_position, errc>
write_batch::append_at_head(record& r) {
  const auto head = stream_head(r.stream);
  if (!head)
    return std::unexpected(head.error());
  return append_after(r, *head);
}

std::expected<events::log_position, errc>
write_batch::append_after(record& r, events::stream_version head) {
  if (impl_->log->bulk) {
    std::fprintf(stderr, "deployd: append during a bulk rebuild\n");
    std::abort();
  }
  r.version = {head.value + 1};
  r.position = {impl_->next_position++};
  ++impl_->appended;
  auto& b = impl_->batch;
  const auto key = position_key(r.position);
  auto encoded = encode_record(r);
  // The record and its stream_index row are never read through the batch
  // (only the stream head is): written without the batch's index.
  auto& unread = *b.GetWriteBatch();
  unread.Put(impl_->log->log, slice(key), encoded).PermitUncheckedError();
  b.Put(impl_->log->streams, slice(r.stream.value), u64_value(r.version.value))
    .PermitUncheckedError();
  unread.Put(impl_->log->stream_index, stream_version_key(r.stream, r.version),
             key)
    .PermitUncheckedError();
  impl_->projected = r.position.value;
  if (impl_->keep_records)
    impl_->records.push_back(std::move(encoded));
  return r.position;
}

std::expected<void, errc>
write_batch::append_replicated(const record& r, std::string_view encoded) {
  if (r.position.value != impl_->next_position)
    return std::unexpected(errc::corruption);
  const auto head = stream_head(r.stream);
  if (!head)
    return std::unexpected(head.error());
  if (head->value + 1 != r.version.value)
    return std::unexpected(errc::corruption);
  ++impl_->next_position;
  ++impl_->appended;
  auto& b = impl_->batch;
  const auto key = position_key(r.position);
  auto& unread = *b.GetWriteBatch();
  unread.Put(impl_->log->log, slice(key), slice(encoded)).PermitUncheckedError();
  b.Put(impl_->log->streams, slice(r.stream.value), u64_value(r.version.value))
    .PermitUncheckedError();
  unread.Put(impl_->log->stream_index, stream_version_key(r.stream, r.version),
             key)
    .PermitUncheckedError();
  impl_->projected = r.position.value;
  return {};
}

const std::vector<std::string>& write_batch::records() const {
  return impl_->records;
}

void write_batch::add_side_write(std::uint8_t kind, std::string_view key,
                                 std::string_view value) {
  if (impl_->keep_records)
    impl_->side_writes.push_back(
        {kind, std::string(key), std::string(value)});
}

const std::vector<side_write>& write_batch::side_writes() const {
  return impl_->side_writes;
}

void write_batch::put(table t, std::string_view key, std::string_view value) {
  impl_->touched = true;
  if (impl_->log->buffered(t)) {
    impl_->log->buffer(t, key, value, false);
    return;
  }
  impl_->batch.Put(impl_->log->cf(t), slice(key), slice(value))
    .PermitUncheckedError();
}

void write_batch::put_unread(table t, std::string_view key,
                             std::string_view value) {
  impl_->touched = true;
  if (impl_->log->buffered(t)) {
    impl_->log->buffer(t, key, value, false);
    return;
  }
  impl_->batch.GetWriteBatch()
    ->Put(impl_->log->cf(t), slice(key), slice(value))
    .PermitUncheckedError();
}

void write_batch::del(table t, std::string_view key) {
  impl_->touched = true;
  if (impl_->log->buffered(t)) {
    impl_->log->buffer(t, key, {}, true);
    return;
  }
  impl_->batch.Delete(impl_->log->cf(t), slice(key)).PermitUncheckedError();
}

void write_batch::put_meta(std::string_view key, std::string_view value) {
  impl_->touched = true;
  impl_->batch.Put(impl_->log->meta, slice(key), slice(value))
    .PermitUncheckedError();
}

std::expected<std::optional<std::string>, errc>
write_batch::meta(std::string_view key) {
  return impl_->get(impl_->log->meta, key);
}

bool write_batch::has_writes() const {
  return impl_->appended > 0 || impl_->touched;
}

std::expected<void, errc>
write_batch::scan_range(table t, std::string_view from, std::string_view to,
                        const visitor& visit, scan_order order) {
  if (auto direct = impl_->log->make_direct(t); !direct)
    return direct;
  auto* cf = impl_->log->cf(t);
  std::unique_ptr<rocksdb::Iterator> base(
    impl_->log->db->NewIterator(rocksdb::ReadOptions(), cf));
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->batch.NewIteratorWithBase(cf, base.release()));
  return walk_range(*it, from, to, visit, order);
}

std::expected<std::optional<std::string>, errc>
write_batch::get(table t, std::string_view key) {
  if (auto direct = impl_->log->make_direct(t); !direct)
    return std::unexpected(direct.error());
  return impl_->get(impl_->log->cf(t), key);
}

std::expected<void, errc> write_batch::scan(table t, std::string_view prefix,
                                            const visitor& visit,
                                            scan_order order) {
  if (auto direct = impl_->log->make_direct(t); !direct)
    return direct;
  auto* cf = impl_->log->cf(t);
  std::unique_ptr<rocksdb::Iterator> base(
    impl_->log->db->NewIterator(rocksdb::ReadOptions(), cf));
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->batch.NewIteratorWithBase(cf, base.release()));
  return walk(*it, prefix, visit, order);
}

void write_batch::set_projected(events::log_position p) {
  impl_->projected = p.value;
}

void write_batch::set_save_point() {
  if (impl_->log->bulk) {
    // Buffered rows cannot be rolled back: a bulk rebuild folds the log,
    // whose events are never rejected.
    std::fprintf(stderr, "deployd: savepoint during a bulk rebuild\n");
    std::abort();
  }
  impl_->batch.SetSavePoint();
  impl_->save_points.push_back({impl_->next_position, impl_->appended,
                                impl_->projected, impl_->records.size(),
                                impl_->side_writes.size(), impl_->touched});
}

void write_batch::rollback_to_save_point() {
  impl_->batch.RollbackToSavePoint().PermitUncheckedError();
  const auto sp = impl_->save_points.back();
  impl_->save_points.pop_back();
  impl_->next_position = sp.next_position;
  impl_->appended = sp.appended;
  impl_->projected = sp.projected;
  impl_->records.resize(sp.records);
  impl_->side_writes.resize(sp.side_writes);
  impl_->touched = sp.touched;
}

void write_batch::pop_save_point() {
  impl_->batch.PopSavePoint().PermitUncheckedError();
  impl_->save_points.pop_back();
}

std::size_t write_batch::appended() const {
  return impl_->appended;
}

events::log_position write_batch::next_position() const {
  return {impl_->next_position};
}

std::size_t write_batch::size_bytes() const {
  return impl_->batch.GetDataSize();
}

// -- event_log -----------------------------------------------------------------

event_log::event_log(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}
event_log::~event_log() = default;

std::expected<std::unique_ptr<event_log>, errc>
event_log::open(const open_options& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    observe::log(observe::level::error, "storage error",
                 {{"op", "create data dir"},
                  {"path", options.data_dir},
                  {"status", ec.message()}});
    return std::unexpected(errc::invalid_argument);
  }

  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table_options.cache_index_and_filter_blocks = true;
  // Partitioned index and filters (4 KiB partitions under a small top-level
  // block, which alone stays pinned): a GET or a name check brings into the
  // cache only the partitions it touches. With one index block per file
  // (~0.5-4 MB for a table of 1M deployments) and every rebuilt file in L0,
  // `pin_l0_filter_and_index_blocks_in_cache` pinned those of every L0 file
  // (the files of 1M deployments hold 21.2 MB of index blocks and 22.5 MB
  // of filters; the 56 MiB cache ran 5-8 MB over its capacity), or,
  // unpinned, evicting and re-reading whole index blocks under load cost
  // ~270 us of server CPU per request. With partitions: ~100 us, and the
  // cache stays within its capacity (bench/README.md, "RSS under GET +
  // create load with 1M deployments").
  table_options.index_type =
    rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table_options.partition_filters = true;
  table_options.metadata_block_size = 4096;
  table_options.cache_index_and_filter_blocks_with_high_priority = true;
  // Pinned: every top-level block, and, in files written before partitions
  // (data dirs of earlier versions), the whole index and filter of L0 files
  // up to 1.5 write buffers, as `pin_l0_filter_and_index_blocks_in_cache`
  // did (unpinned, such a dir served creates at a quarter of the rate).
  table_options.metadata_cache_options.top_level_index_pinning =
    rocksdb::PinningTier::kAll;
  table_options.metadata_cache_options.partition_pinning =
    rocksdb::PinningTier::kNone;
  table_options.metadata_cache_options.unpartitioned_pinning =
    rocksdb::PinningTier::kFlushedAndSimilar;

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(
    rocksdb::NewBlockBasedTableFactory(table_options));
  cf_options.write_buffer_size = options.write_buffer_bytes;
  cf_options.compression = rocksdb::kLZ4Compression;
  // Universal (tiered) compaction: most rows are keyed by random UUIDs, so
  // leveled compaction rewrote much of L1 on every L0 -> L1 merge (write
  // amplification ~4 on the state and view tables). Under creates at 64
  // connections on a data dir already holding ~150k deployments, universal
  // compaction used 24-31% of a core against 30-38% for leveled, and create
  // p99 fell from 19.4-21.4 ms to 14.3-17.2 ms (bench/README.md, "Storage
  // settings").
  cf_options.compaction_style = rocksdb::kCompactionStyleUniversal;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // Point lookups of hot rows (GET by id) skip the per-run filter, index
  // and block search: GET by id over 100k deployments at 64 connections
  // answered 52.5-57.3k req/s with an 8-16 MiB row cache against
  // 43.4-53.1k without (bench/README.md, "Storage settings"). Taken from
  // the block cache's share, so RocksDB's memory stays the same.
  if (options.row_cache_bytes > 0)
    db_options.row_cache = rocksdb::NewLRUCache(options.row_cache_bytes);
  // All memtables together stay within one write buffer: with the block
  // cache this bounds RocksDB's memory (issue 6: RSS <= 150 MB).
  db_options.db_write_buffer_size = options.write_buffer_bytes;
  db_options.max_total_wal_size = options.write_buffer_bytes * 4;
  db_options.keep_log_file_num = 4;
  db_options.avoid_flush_during_shutdown = !options.durable;
  db_options.info_log = std::make_shared<stderr_logger>();
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const char* name : table_names)
    descriptors.emplace_back(name, cf_options);
  for (const char* name : {log_cf, streams_cf, stream_index_cf, meta_cf})
    descriptors.emplace_back(name, cf_options);

  auto state = std::make_unique<impl>();
  state->data_dir = options.data_dir;
  state->sst_options = rocksdb::Options(db_options, cf_options);
  state->throwaway = !options.durable;
  state->row_cache = db_options.row_cache;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.secondary_dir.empty()) {
    s = rocksdb::DB::Open(db_options, options.data_dir, descriptors,
                          &state->handles, &raw);
  } else {
    db_options.max_open_files = -1; // a secondary keeps every file open
    s = rocksdb::DB::OpenAsSecondary(db_options, options.data_dir,
                                     options.secondary_dir, descriptors,
                                     &state->handles, &raw);
  }
  if (!s.ok())
    return std::unexpected(from_status(s, "open"));
  state->db.reset(raw);
  for (std::size_t i = 0; i < table_count; ++i)
    state->tables[i] = state->handles[1 + i];
  state->log = state->handles[1 + table_count];
  state->streams = state->handles[2 + table_count];
  state->stream_index = state->handles[3 + table_count];
  state->meta = state->handles[4 + table_count];
  for (auto* h : state->handles) {
    if (h->GetID() >= state->handles_by_id.size())
      state->handles_by_id.resize(h->GetID() + 1, nullptr);
    state->handles_by_id[h->GetID()] = h;
  }

  std::unique_ptr<rocksdb::Iterator> it(
    state->db->NewIterator(rocksdb::ReadOptions(), state->log));
  it->SeekToLast();
  if (it->Valid())
    state->last_position = position_from_key(view(it->key())).value;
  if (!it->status().ok())
    return std::unexpected(from_status(it->status(), "seek last"));
  return std::unique_ptr<event_log>(new event_log(std::move(state)));
}

write_batch event_log::begin(bool keep_records) {
  std::unique_ptr<write_batch::impl> b;
  {
    const std::lock_guard lock(impl_->recycled->mutex);
    b = std::move(impl_->recycled->batch);
  }
  if (!b)
    b = std::make_unique<write_batch::impl>();
  b->log = impl_.get();
  b->recycled = impl_->recycled;
  b->keep_records = keep_records;
  b->next_position = impl_->last_position.load() + 1;
  return write_batch(std::move(b));
}

namespace {

// The puts and deletes of a batch, in key order within each column family
// and in their own order for one key (a stable sort), into `out`; false
// (and `out` unusable) if the batch holds anything else.
bool sorted_by_key(const rocksdb::WriteBatch& in,
                   const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                   rocksdb::WriteBatch& out) {
  struct entry {
    std::uint32_t cf;
    bool del;
    rocksdb::Slice key;
    rocksdb::Slice value;
  };
  struct collector final : rocksdb::WriteBatch::Handler {
    std::vector<entry> entries;
    bool other = false;
    rocksdb::Status PutCF(std::uint32_t cf, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      entries.push_back({cf, false, key, value});
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(std::uint32_t cf,
                             const rocksdb::Slice& key) override {
      entries.push_back({cf, true, key, {}});
      return rocksdb::Status::OK();
    }
    void LogData(const rocksdb::Slice&) override { other = true; }
  } c;
  c.entries.reserve(in.Count());
  if (!in.Iterate(&c).ok() || c.other || c.entries.size() != in.Count())
    return false;
  std::stable_sort(c.entries.begin(), c.entries.end(),
                   [](const entry& a, const entry& b) {
                     if (a.cf != b.cf)
                       return a.cf < b.cf;
                     return a.key.compare(b.key) < 0;
                   });
  out.Clear();
  for (const auto& e : c.entries) {
    auto* cf = e.cf < handles.size() ? handles[e.cf] : nullptr;
    if (cf == nullptr || cf->GetID() != e.cf)
      return false;
    const auto s = e.del ? out.Delete(cf, e.key) : out.Put(cf, e.key, e.value);
    if (!s.ok())
      return false;
  }
  return true;
}

} // namespace

std::expected<void, errc> event_log::commit(write_batch& b, bool sync) {
  auto& state = *b.impl_;
  if (impl_->bulk) {
    // A bulk rebuild: the rows the batch holds (tables the fold reads) skip
    // the WAL, and no position is recorded until finish_bulk_rebuild has
    // made everything durable.
    if (impl_->bulk->failure)
      return std::unexpected(*impl_->bulk->failure);
    rocksdb::WriteOptions options;
    options.disableWAL = true;
    const auto s = impl_->db->Write(options, state.batch.GetWriteBatch());
    if (!s.ok())
      return std::unexpected(from_status(s, "bulk commit"));
    return {};
  }
  if (state.projected)
    state.batch
      .Put(impl_->meta, slice(projected_key), u64_value(*state.projected))
      .PermitUncheckedError();
  // After a failed write (ENOSPC, EIO) RocksDB keeps a background error and
  // refuses writes while reads go on. Each later commit first asks it to
  // resume (it flushes the memtables to a new WAL, which needs the space
  // back); while that fails the commit is refused like the one before, so
  // writes start again by themselves once space returns. RocksDB may also be
  // recovering by itself (a retryable error): then Resume says Busy.
  if (impl_->write_failed) {
    const auto resumed = impl_->db->Resume();
    if (!resumed.ok()) {
      if (resumed.IsNoSpace())
        return std::unexpected(errc::no_space);
      if (!resumed.IsBusy())
        return std::unexpected(from_status(resumed, "resume"));
      return std::unexpected(errc::io_error);
    }
    observe::log(observe::level::info, "storage writes resumed");
    impl_->write_failed = false;
  }
  rocksdb::WriteOptions options;
  options.sync = sync;
  // A large batch goes to the memtables in key order: each insert then
  // starts its skip-list search from the one before (RocksDB's sequential
  // insert), where the fold's order jumps between tables and key ranges.
  auto* rows = state.batch.GetWriteBatch();
  if (rows->Count() >= sorted_commit_rows &&
      sorted_by_key(*rows, impl_->handles_by_id, state.sorted))
    rows = &state.sorted;
  const auto s = impl_->db->Write(options, rows);
  if (!s.ok()) {
    impl_->write_failed = true;
    return std::unexpected(from_status(s, "commit"));
  }
  if (state.appended > 0)
    impl_->last_position = state.next_position - 1;
  return {};
}

namespace {

/// Options for a read at `tier`, as of `snapshot` (a `rocksdb::Snapshot`)
/// or of the latest writes when null.
rocksdb::ReadOptions read_options(read_tier tier, const void* snapshot) {
  rocksdb::ReadOptions options;
  if (tier == read_tier::cache_only)
    options.read_tier = rocksdb::kBlockCacheTier;
  options.snapshot = static_cast<const rocksdb::Snapshot*>(snapshot);
  return options;
}

/// A point read's answer: the value, none, or why not.
std::expected<std::optional<std::string>, errc> got(const rocksdb::Status& s,
                                                    std::string value) {
  if (s.IsNotFound())
    return std::optional<std::string>{};
  if (s.IsIncomplete())
    return std::unexpected(errc::would_block);
  if (!s.ok())
    return std::unexpected(from_status(s, "get"));
  return std::optional<std::string>{std::move(value)};
}

} // namespace

std::expected<std::optional<std::string>, errc>
event_log::get(table t, std::string_view key, read_tier tier) const {
  std::string value;
  const auto s = impl_->db->Get(read_options(tier, nullptr), impl_->cf(t),
                                slice(key), &value);
  return got(s, std::move(value));
}

std::expected<void, errc> event_log::scan(table t, std::string_view prefix,
                                          const visitor& visit,
                                          scan_order order,
                                          read_tier tier) const {
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->db->NewIterator(read_options(tier, nullptr), impl_->cf(t)));
  return walk(*it, prefix, visit, order);
}

std::expected<void, errc>
event_log::scan_range(table t, std::string_view from, std::string_view to,
                      const visitor& visit, scan_order order,
                      read_tier tier) const {
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->db->NewIterator(read_options(tier, nullptr), impl_->cf(t)));
  return walk_range(*it, from, to, visit, order);
}

// -- snapshot_reader ----------------------------------------------------------

snapshot_reader::snapshot_reader(const event_log& log, read_tier tier)
    : log_(log), tier_(tier), snapshot_(log.impl_->db->GetSnapshot()) {
}

snapshot_reader::~snapshot_reader() {
  log_.impl_->db->ReleaseSnapshot(
      static_cast<const rocksdb::Snapshot*>(snapshot_));
}

std::expected<std::optional<std::string>, errc>
snapshot_reader::get(table t, std::string_view key) {
  std::string value;
  const auto s = log_.impl_->db->Get(read_options(tier_, snapshot_),
                                     log_.impl_->cf(t), slice(key), &value);
  return got(s, std::move(value));
}

std::expected<void, errc> snapshot_reader::scan(table t,
                                                std::string_view prefix,
                                                const visitor& visit,
                                                scan_order order) {
  std::unique_ptr<rocksdb::Iterator> it(log_.impl_->db->NewIterator(
      read_options(tier_, snapshot_), log_.impl_->cf(t)));
  return walk(*it, prefix, visit, order);
}

std::expected<void, errc>
snapshot_reader::scan_range(table t, std::string_view from,
                            std::string_view to, const visitor& visit,
                            scan_order order) {
  std::unique_ptr<rocksdb::Iterator> it(log_.impl_->db->NewIterator(
      read_options(tier_, snapshot_), log_.impl_->cf(t)));
  return walk_range(*it, from, to, visit, order);
}

std::expected<void, errc>
event_log::compare_table(table t, const event_log& other,
                         const diff_visitor& visit) const {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.readahead_size = 2u << 20;
  std::unique_ptr<rocksdb::Iterator> a(
    impl_->db->NewIterator(options, impl_->cf(t)));
  std::unique_ptr<rocksdb::Iterator> b(
    other.impl_->db->NewIterator(options, other.impl_->cf(t)));
  a->SeekToFirst();
  b->SeekToFirst();
  while (a->Valid() || b->Valid()) {
    const int order = !a->Valid()   ? 1
                      : !b->Valid() ? -1
                                    : a->key().compare(b->key());
    bool go_on;
    if (order == 0) {
      go_on = visit(view(a->key()), view(a->value()), view(b->value()));
      a->Next();
      b->Next();
    } else if (order < 0) {
      go_on = visit(view(a->key()), view(a->value()), std::nullopt);
      a->Next();
    } else {
      go_on = visit(view(b->key()), std::nullopt, view(b->value()));
      b->Next();
    }
    if (!go_on)
      break;
  }
  for (auto* it : {a.get(), b.get()})
    if (!it->status().ok())
      return std::unexpected(from_status(it->status(), "compare"));
  return {};
}

events::log_position event_log::last_position() const {
  return {impl_->last_position.load()};
}

std::expected<std::optional<std::string>, errc>
event_log::meta(std::string_view key) const {
  std::string value;
  const auto s =
    impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, slice(key), &value);
  if (s.IsNotFound())
    return std::optional<std::string>{};
  if (!s.ok())
    return std::unexpected(from_status(s, "meta"));
  return std::optional<std::string>{std::move(value)};
}

std::expected<events::log_position, errc>
event_log::projected_position() const {
  std::string value;
  const auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta,
                                slice(projected_key), &value);
  if (s.IsNotFound())
    return events::log_position{0};
  if (!s.ok())
    return std::unexpected(from_status(s, "projected position"));
  return events::log_position{u64_of(value)};
}

std::expected<std::uint32_t, errc> event_log::read_model_format() const {
  std::string value;
  const auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta,
                                slice(format_key), &value);
  if (s.IsNotFound())
    return 0;
  if (!s.ok())
    return std::unexpected(from_status(s, "read model format"));
  return static_cast<std::uint32_t>(u64_of(value));
}

std::expected<void, errc>
event_log::set_read_model_format(std::uint32_t format) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const auto s =
    impl_->db->Put(sync, impl_->meta, slice(format_key), u64_value(format));
  if (!s.ok())
    return std::unexpected(from_status(s, "read model format"));
  return {};
}

std::expected<void, errc>
event_log::for_each_from(events::log_position from,
                         const std::function<bool(const record&)>& visit) const {
  rocksdb::ReadOptions options;
  options.readahead_size = 2u << 20;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->db->NewIterator(options, impl_->log));
  for (it->Seek(position_key(from)); it->Valid(); it->Next()) {
    auto r = decode_record(view(it->value()));
    if (!r)
      return std::unexpected(errc::corruption);
    if (!visit(*r))
      break;
  }
  if (!it->status().ok())
    return std::unexpected(from_status(it->status(), "read log"));
  return {};
}

std::expected<std::vector<record>, errc>
event_log::read_from(events::log_position from, std::size_t max) const {
  std::vector<record> out;
  auto done = for_each_from(from, [&](const record& r) {
    out.push_back(r);
    return out.size() < max;
  });
  if (!done)
    return std::unexpected(done.error());
  return out;
}

std::expected<std::vector<record>, errc>
event_log::read_stream(const events::stream_id& s) const {
  std::vector<record> out;
  std::string prefix = s.value;
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->stream_index));
  for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
    if (!view(it->key()).starts_with(prefix))
      break;
    std::string bytes;
    const auto st = impl_->db->Get(rocksdb::ReadOptions(), impl_->log,
                                   it->value(), &bytes);
    if (!st.ok())
      return std::unexpected(from_status(st, "read stream"));
    auto r = decode_record(bytes);
    if (!r)
      return std::unexpected(errc::corruption);
    out.push_back(std::move(*r));
  }
  if (!it->status().ok())
    return std::unexpected(from_status(it->status(), "read stream"));
  return out;
}

std::expected<events::stream_version, errc>
event_log::stream_version(const events::stream_id& s, read_tier tier) const {
  rocksdb::ReadOptions options;
  if (tier == read_tier::cache_only)
    options.read_tier = rocksdb::kBlockCacheTier;
  std::string value;
  const auto st =
    impl_->db->Get(options, impl_->streams, slice(s.value), &value);
  if (st.IsNotFound())
    return events::stream_version{0};
  if (st.IsIncomplete())
    return std::unexpected(errc::would_block);
  if (!st.ok())
    return std::unexpected(from_status(st, "stream version"));
  return events::stream_version{u64_of(value)};
}

std::expected<void, errc> event_log::drop_projections() {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const auto s =
    impl_->db->Put(sync, impl_->meta, slice(projected_key), u64_value(0));
  if (!s.ok())
    return std::unexpected(from_status(s, "drop projections"));
  return clear_projections();
}

std::expected<void, errc> event_log::clear_projections() {
  for (std::size_t i = 0; i < table_count; ++i) {
    if (!is_projection(static_cast<table>(i)))
      continue;
    // DeleteRange over the whole key space: every key is < "\xff" * 9 only
    // if it is short, so delete by iteration to be exact.
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->tables[i]));
    std::size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      batch.Delete(impl_->tables[i], it->key()).PermitUncheckedError();
      if (++n % 10000 == 0) {
        const auto s = impl_->db->Write(rocksdb::WriteOptions(), &batch);
        if (!s.ok())
          return std::unexpected(from_status(s, "drop projections"));
        batch.Clear();
      }
    }
    if (!it->status().ok())
      return std::unexpected(from_status(it->status(), "drop projections"));
    const auto s = impl_->db->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok())
      return std::unexpected(from_status(s, "drop projections"));
  }
  return {};
}

std::expected<void, errc>
event_log::begin_bulk_rebuild(std::size_t memory_budget) {
  auto bulk = std::make_unique<bulk_rebuild>();
  bulk->dir = impl_->data_dir + "/rebuild";
  bulk->ordered_files = !impl_->throwaway;
  bulk->budget = memory_budget / 2; // two buffer sets

  // Run and table files a killed rebuild left behind go first.
  std::error_code ec;
  std::filesystem::remove_all(bulk->dir, ec);
  std::filesystem::create_directories(bulk->dir, ec);
  if (ec) {
    observe::log(observe::level::error, "storage error",
                 {{"op", "bulk rebuild"},
                  {"path", bulk->dir},
                  {"status", ec.message()}});
    return std::unexpected(errc::io_error);
  }
  impl_->bulk = std::move(bulk);
  return {};
}

std::expected<void, errc>
event_log::finish_bulk_rebuild(events::log_position projected, bool durable) {
  if (!impl_->bulk)
    return std::unexpected(errc::invalid_argument);
  if (const auto failure = impl_->settle_bulk()) {
    abandon_bulk_rebuild();
    return std::unexpected(*failure);
  }
  // Every buffered table's files, ingested in one atomic step.
  // Tables are merged and written independently: two threads share them
  // (sorting, encoding and compressing the files is most of this step).
  std::vector<std::expected<std::vector<std::string>, errc>> built(
      table_count, std::vector<std::string>{});
  std::atomic<std::size_t> next_table{0};
  auto work = [&] {
    for (std::size_t t; (t = next_table++) < table_count;)
      if (!impl_->bulk->direct[t])
        built[t] = impl_->build_files(t);
  };
  {
    std::thread helper(work);
    work();
    helper.join();
  }
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (std::size_t t = 0; t < table_count; ++t) {
    auto& files = built[t];
    if (!files) {
      abandon_bulk_rebuild();
      return std::unexpected(files.error());
    }
    if (files->empty())
      continue;
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = impl_->tables[t];
    arg.external_files = std::move(*files);
    arg.options.move_files = true;
    arg.options.write_global_seqno = false;
    args.push_back(std::move(arg));
  }
  if (!args.empty())
    if (const auto s = impl_->db->IngestExternalFiles(args); !s.ok()) {
      abandon_bulk_rebuild();
      return std::unexpected(from_status(s, "bulk ingest"));
    }
  abandon_bulk_rebuild();
  // The rows written through batches skipped the WAL: on disk only once
  // flushed, before the marker says the read model is complete.
  if (durable)
    if (auto f = flush(); !f)
      return f;
  rocksdb::WriteOptions options;
  options.sync = durable;
  const auto s = impl_->db->Put(options, impl_->meta, slice(projected_key),
                                u64_value(projected.value));
  if (!s.ok())
    return std::unexpected(from_status(s, "bulk rebuild marker"));
  return {};
}

std::expected<std::vector<bool>, errc>
event_log::finish_bulk_compare(const event_log& live,
                               const table_diff_visitor& visit) {
  if (!impl_->bulk)
    return std::unexpected(errc::invalid_argument);
  if (const auto failure = impl_->settle_bulk()) {
    abandon_bulk_rebuild();
    return std::unexpected(*failure);
  }
  std::vector<bool> compared(table_count, false);
  for (std::size_t t = 0; t < table_count; ++t)
    compared[t] = !impl_->bulk->direct[t] && is_projection(static_cast<table>(t));
  // Each table's merge walks the live table beside it: what
  // `compare_table` does, without writing, ingesting and reading back the
  // rebuilt rows.
  std::vector<std::expected<void, errc>> done(table_count);
  auto compare = [&](std::size_t i) -> std::expected<void, errc> {
    const auto t = static_cast<table>(i);
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    options.readahead_size = 2u << 20;
    std::unique_ptr<rocksdb::Iterator> it(
        live.impl_->db->NewIterator(options, live.impl_->cf(t)));
    it->SeekToFirst();
    bool go_on = true;
    auto merged = impl_->merge_table(
        i, [&](std::string_view key,
               std::string_view value) -> std::expected<bool, errc> {
          while (go_on && it->Valid() && view(it->key()) < key) {
            go_on = visit(t, view(it->key()), view(it->value()), std::nullopt);
            it->Next();
          }
          if (!go_on)
            return false;
          if (it->Valid() && view(it->key()) == key) {
            go_on = visit(t, key, view(it->value()), value);
            it->Next();
          } else {
            go_on = visit(t, key, std::nullopt, value);
          }
          return go_on;
        });
    if (!merged)
      return merged;
    for (; go_on && it->Valid(); it->Next())
      go_on = visit(t, view(it->key()), view(it->value()), std::nullopt);
    if (!it->status().ok())
      return std::unexpected(from_status(it->status(), "compare"));
    return {};
  };
  std::atomic<std::size_t> next_table{0};
  auto work = [&] {
    for (std::size_t t; (t = next_table++) < table_count;) {
      if (compared[t])
        done[t] = compare(t);
      else if (!impl_->bulk->direct[t])
        // Not a projection: its rows (none, in a rebuild) are dropped.
        done[t] = impl_->merge_table(
            t, [](std::string_view, std::string_view)
                   -> std::expected<bool, errc> { return false; });
    }
  };
  {
    std::thread helper(work);
    work();
    helper.join();
  }
  abandon_bulk_rebuild();
  for (const auto& d : done)
    if (!d)
      return std::unexpected(d.error());
  return compared;
}

void event_log::abandon_bulk_rebuild() {
  if (!impl_->bulk)
    return;
  impl_->wait_spill();
  std::error_code ec;
  std::filesystem::remove_all(impl_->bulk->dir, ec);
  impl_->bulk.reset();
}


std::expected<void, errc> event_log::catch_up() {
  const auto s = impl_->db->TryCatchUpWithPrimary();
  if (!s.ok())
    return std::unexpected(from_status(s, "catch up with primary"));
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->log));
  it->SeekToLast();
  if (!it->status().ok())
    return std::unexpected(from_status(it->status(), "seek last"));
  if (it->Valid())
    impl_->last_position = position_from_key(view(it->key())).value;
  return {};
}

std::expected<void, errc> event_log::flush() {
  rocksdb::FlushOptions options;
  const auto s = impl_->db->Flush(options, impl_->handles);
  if (!s.ok())
    return std::unexpected(from_status(s, "flush"));
  return {};
}

const std::string& event_log::data_dir() const {
  return impl_->data_dir;
}

memory_stats event_log::memory() const {
  auto& db = *impl_->db;
  const auto summed = [&db](const std::string& property) {
    std::uint64_t v = 0;
    return db.GetAggregatedIntProperty(property, &v) ? v : 0;
  };
  memory_stats m;
  m.memtable_bytes = summed(rocksdb::DB::Properties::kCurSizeAllMemTables);
  m.table_reader_bytes =
    summed(rocksdb::DB::Properties::kEstimateTableReadersMem);
  m.pending_compaction_bytes =
    summed(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
  // One block cache serves every column family: ask one of them (summing
  // would count it once per family).
  std::uint64_t v = 0;
  if (db.GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &v))
    m.block_cache_bytes = v;
  if (impl_->row_cache)
    m.row_cache_bytes = impl_->row_cache->GetUsage();
  return m;
}

} // namespace deployd::storage
