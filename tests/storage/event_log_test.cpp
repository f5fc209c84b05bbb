#include "storage/event_log.hpp"
#include "tests/support/temp_event_log.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <mutex>

using namespace deployd;
using deployd::testing::temp_event_log;

namespace {

storage::record make_record(const std::string& stream, const std::string& name,
                            const std::string& payload) {
  storage::record r;
  r.stream = {stream};
  r.name = name;
  r.schema_version = 1;
  r.recorded_at = {1'795'000'000'000'000};
  r.command_id = events::uuid::v4_from(1, 2);
  r.payload = payload;
  return r;
}

} // namespace

TEST_CASE("records round-trip through their byte encoding",
          "[storage][record]") {
  auto r = make_record("deployment/x", "deployment_created", R"({"a":1})");
  r.position = {7};
  r.version = {3};
  const auto decoded = storage::decode_record(storage::encode_record(r));
  REQUIRE(decoded);
  CHECK(*decoded == r);
  CHECK_FALSE(storage::decode_record(""));
  CHECK_FALSE(storage::decode_record("\x02garbage"));
  CHECK_FALSE(storage::decode_record(std::string("\x01\x00", 2)));
}

TEST_CASE("appends get dense positions and per-stream versions",
          "[storage][event_log]") {
  temp_event_log t;
  auto& log = t.log();
  auto b = log.begin();
  auto a1 = make_record("s/a", "e", "{}");
  auto a2 = make_record("s/a", "e", "{}");
  auto b1 = make_record("s/b", "e", "{}");
  REQUIRE(b.append(a1, {0}) == events::log_position{1});
  REQUIRE(b.append(b1, {0}) == events::log_position{2});
  REQUIRE(b.append(a2, {1}) == events::log_position{3});
  CHECK(a2.version == events::stream_version{2});
  REQUIRE(log.commit(b, true));
  CHECK(log.last_position() == events::log_position{3});
  CHECK(log.projected_position() == events::log_position{3});

  const auto stream = log.read_stream({"s/a"});
  REQUIRE(stream);
  REQUIRE(stream->size() == 2);
  CHECK((*stream)[0].position == events::log_position{1});
  CHECK((*stream)[1].position == events::log_position{3});

  const auto from2 = log.read_from({2}, 10);
  REQUIRE(from2);
  REQUIRE(from2->size() == 2);
  CHECK((*from2)[0].stream.value == "s/b");

  SECTION("a stale expected version is refused") {
    auto next = log.begin();
    auto stale = make_record("s/a", "e", "{}");
    CHECK(next.append(stale, {1}).error() == storage::errc::version_conflict);
  }
  SECTION("positions continue after a restart") {
    t.reopen();
    auto next = t.log().begin();
    auto r = make_record("s/c", "e", "{}");
    CHECK(next.append(r, {0}) == events::log_position{4});
  }
}

TEST_CASE("a batch reads its own writes and rolls back to a save point",
          "[storage][event_log]") {
  temp_event_log t;
  auto& log = t.log();
  auto b = log.begin();
  b.put(storage::table::flows, "k1", "v1");
  CHECK(b.get(storage::table::flows, "k1").value() == "v1");
  b.set_save_point();
  b.put(storage::table::flows, "k2", "v2");
  auto r = make_record("s/a", "e", "{}");
  REQUIRE(b.append(r, {0}));
  b.rollback_to_save_point();
  CHECK(b.appended() == 0);
  CHECK(b.next_position() == events::log_position{1});
  CHECK_FALSE(b.get(storage::table::flows, "k2").value());
  REQUIRE(log.commit(b, true));
  CHECK(log.get(storage::table::flows, "k1").value() == "v1");
  CHECK_FALSE(log.get(storage::table::flows, "k2").value());
  CHECK(log.last_position() == events::log_position{0});
}

TEST_CASE("rows put unread skip the batch's reads, commit in order and roll "
          "back",
          "[storage][event_log]") {
  temp_event_log t;
  auto& log = t.log();
  auto b = log.begin();
  b.put_unread(storage::table::run_index, "k1", "v1");
  // Not in the batch's index: the batch reads the database's (no) row.
  CHECK_FALSE(b.get(storage::table::run_index, "k1").value());
  // Puts and deletes of one key apply in the order written, however written.
  b.put_unread(storage::table::run_index, "k2", "v2");
  b.del(storage::table::run_index, "k2");
  b.del(storage::table::run_index, "k3");
  b.put_unread(storage::table::run_index, "k3", "v3");
  b.put(storage::table::run_index, "k4", "v4");
  b.put_unread(storage::table::run_index, "k4", "v4b");
  b.set_save_point();
  b.put_unread(storage::table::run_index, "k5", "v5");
  auto r = make_record("s/a", "e", "{}");
  REQUIRE(b.append(r, {0}));
  b.rollback_to_save_point();
  CHECK(b.appended() == 0);
  // The record, written unindexed too, went with the save point; the stream
  // head (indexed) as well.
  auto again = make_record("s/a", "e", "{}");
  REQUIRE(b.append(again, {0}) == events::log_position{1});
  REQUIRE(log.commit(b, true));
  CHECK(log.get(storage::table::run_index, "k1").value() == "v1");
  CHECK_FALSE(log.get(storage::table::run_index, "k2").value());
  CHECK(log.get(storage::table::run_index, "k3").value() == "v3");
  CHECK(log.get(storage::table::run_index, "k4").value() == "v4b");
  CHECK_FALSE(log.get(storage::table::run_index, "k5").value());
  const auto stream = log.read_stream({"s/a"});
  REQUIRE(stream);
  REQUIRE(stream->size() == 1);
  CHECK((*stream)[0].position == events::log_position{1});
  CHECK(log.last_position() == events::log_position{1});
}

TEST_CASE("nothing of an uncommitted batch is visible or durable",
          "[storage][event_log]") {
  temp_event_log t;
  {
    auto b = t.log().begin();
    auto r = make_record("s/a", "e", "{}");
    REQUIRE(b.append(r, {0}));
    b.put(storage::table::flows, "k", "v");
    // dropped without commit
  }
  CHECK_FALSE(t.log().get(storage::table::flows, "k").value());
  t.reopen();
  CHECK(t.log().last_position() == events::log_position{0});
}

TEST_CASE("a batch begun after another starts empty, whatever the other left",
          "[storage][event_log]") {
  // event_log::begin reuses the buffers of the last finished batch.
  temp_event_log t;
  auto& log = t.log();
  {
    auto b = log.begin(true);
    auto r = make_record("s/a", "e", std::string(3u << 20, 'x'));
    REQUIRE(b.append(r, {0}));
    b.put(storage::table::flows, "k1", "v1");
    b.put_unread(storage::table::run_index, "u1", "v1");
    b.set_save_point();
    b.put(storage::table::flows, "k2", "v2");
    REQUIRE(log.commit(b, true));
  }
  {
    // Dropped without a commit, with an open save point.
    auto b = log.begin();
    b.put(storage::table::flows, "k3", "v3");
    b.set_save_point();
    auto r = make_record("s/b", "e", "{}");
    REQUIRE(b.append(r, {0}));
  }
  auto b = log.begin();
  CHECK(b.appended() == 0);
  CHECK(b.records().empty());
  CHECK(b.side_writes().empty());
  CHECK(b.next_position() == events::log_position{2});
  CHECK(b.size_bytes() < 1024);
  CHECK_FALSE(b.get(storage::table::flows, "k3").value());
  CHECK(b.get(storage::table::flows, "k1").value() == "v1");
  auto r = make_record("s/b", "e", "{}");
  REQUIRE(b.append(r, {0}) == events::log_position{2});
  // A save point of this batch only: the one the dropped batch left open is
  // gone with it.
  b.set_save_point();
  b.put(storage::table::flows, "k4", "v4");
  b.rollback_to_save_point();
  REQUIRE(log.commit(b, true));
  CHECK(log.last_position() == events::log_position{2});
  CHECK_FALSE(log.get(storage::table::flows, "k3").value());
  CHECK_FALSE(log.get(storage::table::flows, "k4").value());
  CHECK(log.get(storage::table::run_index, "u1").value() == "v1");
  const auto stream = log.read_stream({"s/b"});
  REQUIRE(stream);
  REQUIRE(stream->size() == 1);
  CHECK((*stream)[0].position == events::log_position{2});
}

TEST_CASE("a large batch lands the last write of every key, in whatever order "
          "it was written",
          "[storage][event_log]") {
  // event_log::commit applies a batch of 4,096 rows and more sorted by key.
  temp_event_log t;
  auto& log = t.log();
  const storage::table tables[] = {storage::table::run_index,
                                   storage::table::resources,
                                   storage::table::flows};
  std::map<std::string, std::string> expected[3];
  std::uint64_t seed = 7;
  const auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
  };
  {
    auto b = log.begin();
    b.put(tables[2], "before", "kept");
    REQUIRE(log.commit(b, true));
    expected[2]["before"] = "kept";
  }
  auto b = log.begin();
  for (int i = 0; i < 6000; ++i) {
    const auto which = next() % 3;
    const auto key = "k" + std::to_string(next() % 900);
    if (next() % 4 == 0) {
      b.del(tables[which], key);
      expected[which].erase(key);
    } else {
      const auto value = std::to_string(i);
      if (which == 0)
        b.put_unread(tables[which], key, value);
      else
        b.put(tables[which], key, value);
      expected[which][key] = value;
    }
  }
  auto r = make_record("s/a", "e", "{}");
  REQUIRE(b.append(r, {0}) == events::log_position{1});
  REQUIRE(b.size_bytes() > 0);
  REQUIRE(log.commit(b, true));
  for (int i = 0; i < 3; ++i) {
    std::map<std::string, std::string> rows;
    REQUIRE(log.scan(tables[i], "", [&](std::string_view k, std::string_view v) {
      rows.emplace(k, v);
      return true;
    }));
    CHECK(rows == expected[i]);
  }
  const auto stream = log.read_stream({"s/a"});
  REQUIRE(stream);
  REQUIRE(stream->size() == 1);
  CHECK(log.last_position() == events::log_position{1});
}

TEST_CASE("scans merge a batch's writes with the database in key order",
          "[storage][event_log]") {
  temp_event_log t;
  auto b = t.log().begin();
  b.put(storage::table::limit_links, "a1", "");
  b.put(storage::table::limit_links, "a3", "");
  b.put(storage::table::limit_links, "b1", "");
  REQUIRE(t.log().commit(b, false));
  auto c = t.log().begin();
  c.put(storage::table::limit_links, "a2", "");
  c.del(storage::table::limit_links, "a3");
  std::vector<std::string> keys;
  REQUIRE(c.scan(storage::table::limit_links, "a",
                 [&](std::string_view k, std::string_view) {
                   keys.emplace_back(k);
                   return true;
                 }));
  CHECK(keys == std::vector<std::string>{"a1", "a2"});
}

TEST_CASE("drop_projections clears every table and the position",
          "[storage][event_log]") {
  temp_event_log t;
  auto b = t.log().begin();
  auto r = make_record("s/a", "e", "{}");
  REQUIRE(b.append(r, {0}));
  b.put(storage::table::deployment_views, "k", "v");
  REQUIRE(t.log().commit(b, true));
  REQUIRE(t.log().drop_projections());
  CHECK_FALSE(t.log().get(storage::table::deployment_views, "k").value());
  CHECK(t.log().projected_position() == events::log_position{0});
  CHECK(t.log().last_position() == events::log_position{1});
}

TEST_CASE("the read-model format stamp is 0 until set and survives a restart",
          "[storage][event_log]") {
  temp_event_log t;
  CHECK(t.log().read_model_format() == 0u);
  REQUIRE(t.log().set_read_model_format(7));
  t.reopen();
  CHECK(t.log().read_model_format() == 7u);
  REQUIRE(t.log().drop_projections());
  CHECK(t.log().read_model_format() == 7u); // dropping rows keeps the stamp
}

namespace {

std::map<std::string, std::string> table_rows(storage::event_log& log,
                                              storage::table t) {
  std::map<std::string, std::string> rows;
  REQUIRE(log.scan(t, "", [&](std::string_view k, std::string_view v) {
    rows.emplace(k, v);
    return true;
  }));
  return rows;
}

// A log of one record and no read model, ready for a bulk rebuild whose
// buffers spill past `budget` bytes.
void begin_bulk_on_one_record(storage::event_log& log, std::size_t budget) {
  auto r = make_record("s/a", "e", "{}");
  auto first = log.begin();
  REQUIRE(first.append(r, {0}));
  REQUIRE(log.commit(first, true));
  REQUIRE(log.drop_projections());
  REQUIRE(log.begin_bulk_rebuild(budget));
}

} // namespace

TEST_CASE("a bulk rebuild lands the last write of every key, spilled or not",
          "[storage][event_log][bulk]") {
  temp_event_log t;
  auto& log = t.log();
  // A budget of 4 KiB: the buffers spill to run files many times over, so
  // the final merge reads runs and the buffer together.
  begin_bulk_on_one_record(log, 4096);
  const storage::table tables[] = {storage::table::deployment_views,
                                   storage::table::deployment_tags,
                                   storage::table::flows};
  std::map<std::string, std::string> expected[3];
  std::uint64_t seed = 42;
  auto next = [&] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  for (int round = 0; round < 8; ++round) {
    auto b = log.begin();
    for (int i = 0; i < 400; ++i) {
      const auto which = next() % 3;
      const auto key = "k" + std::to_string(next() % 700);
      if (next() % 5 == 0) {
        b.del(tables[which], key);
        expected[which].erase(key);
      } else {
        const auto value = std::string(next() % 40, 'v') + std::to_string(i);
        b.put(tables[which], key, value);
        expected[which][key] = value;
      }
    }
    if (round == 4) {
      // A read of a buffered table makes its rows visible first; from then
      // on it is written through the batch, and still reads its own writes.
      b.put(storage::table::flows, "read-me", "x");
      expected[2]["read-me"] = "x";
      const auto seen = b.get(storage::table::flows, "read-me");
      REQUIRE(seen);
      CHECK(*seen == std::optional<std::string>("x"));
      std::size_t visible = 0;
      REQUIRE(b.scan(storage::table::flows, "",
                     [&](std::string_view, std::string_view) {
                       ++visible;
                       return true;
                     }));
      CHECK(visible == expected[2].size());
    }
    b.set_projected({1});
    REQUIRE(log.commit(b, false));
    // Nothing records a position before the rebuild is finished.
    CHECK(log.projected_position() == events::log_position{0});
  }
  CHECK(std::filesystem::exists(t.dir() / "db" / "rebuild"));
  REQUIRE(log.finish_bulk_rebuild({1}, true));
  CHECK_FALSE(std::filesystem::exists(t.dir() / "db" / "rebuild"));
  CHECK(log.projected_position() == events::log_position{1});
  for (int i = 0; i < 3; ++i)
    CHECK(table_rows(log, tables[i]) == expected[i]);
  t.reopen();
  CHECK(t.log().projected_position() == events::log_position{1});
  for (int i = 0; i < 3; ++i)
    CHECK(table_rows(t.log(), tables[i]) == expected[i]);
}

TEST_CASE("a bulk rebuild writes tables in key order as files while spilling",
          "[storage][event_log][bulk]") {
  temp_event_log t;
  auto& log = t.log();
  // A budget of 4 KiB: every round spills. event_rows gets ascending keys
  // throughout (table files from the spills on); event_feed too, until
  // round 5 writes below its last key (an overwrite and a deletion of
  // rows already in a file): from then on its files are merged with the
  // runs like any run.
  begin_bulk_on_one_record(log, 4096);
  const auto in_order = storage::table::event_rows;
  const auto later_not = storage::table::event_feed;
  std::map<std::string, std::string> expected[2];
  auto key = [](int n) {
    char k[16];
    std::snprintf(k, sizeof k, "k%06d", n);
    return std::string(k);
  };
  bool saw_files = false;
  for (int round = 0; round < 8; ++round) {
    auto b = log.begin();
    for (int i = 0; i < 100; ++i) {
      const auto n = round * 100 + i;
      const auto value = std::string(20 + n % 30, 'v') + std::to_string(n);
      b.put(in_order, key(n), value);
      expected[0][key(n)] = value;
      b.put(later_not, key(n), value);
      expected[1][key(n)] = value;
    }
    if (round == 5) {
      b.put(later_not, key(7), "again");
      expected[1][key(7)] = "again";
      b.del(later_not, key(150));
      expected[1].erase(key(150));
    }
    REQUIRE(log.commit(b, false));
    for (const auto& f :
         std::filesystem::directory_iterator(t.dir() / "db" / "rebuild"))
      saw_files = saw_files ||
                  f.path().filename().string().starts_with("ordered-");
  }
  CHECK(saw_files);
  REQUIRE(log.finish_bulk_rebuild({1}, true));
  CHECK_FALSE(std::filesystem::exists(t.dir() / "db" / "rebuild"));
  CHECK(table_rows(log, in_order) == expected[0]);
  CHECK(table_rows(log, later_not) == expected[1]);
  t.reopen();
  CHECK(table_rows(t.log(), in_order) == expected[0]);
  CHECK(table_rows(t.log(), later_not) == expected[1]);
}

TEST_CASE("a bulk rebuild compared as it is merged finds every difference",
          "[storage][event_log][bulk]") {
  // verify's scratch rebuild: the merged rows of each buffered table are
  // compared with another database's, nothing is ingested.
  temp_event_log live;
  temp_event_log scratch;
  // A budget of 4 KiB: many spills, so the merge reads runs and the buffer.
  begin_bulk_on_one_record(scratch.log(), 4096);
  const storage::table tables[] = {storage::table::deployment_views,
                                   storage::table::deployment_tags};
  std::map<std::string, std::string> expected[2];
  for (int round = 0; round < 6; ++round) {
    auto b = scratch.log().begin();
    for (int i = 0; i < 300; ++i) {
      const auto which = (i * 7 + round) % 2;
      const auto key = "k" + std::to_string((i * 37 + round * 11) % 500);
      if (i % 9 == 0) {
        b.del(tables[which], key);
        expected[which].erase(key);
      } else {
        const auto value = std::string(i % 30, 'v') + std::to_string(round);
        b.put(tables[which], key, value);
        expected[which][key] = value;
      }
    }
    if (round == 2) {
      // Read through the batch: written directly from then on, left for
      // compare_table.
      b.put(storage::table::flows, "f", "x");
      REQUIRE(b.get(storage::table::flows, "f"));
    }
    REQUIRE(scratch.log().commit(b, false));
  }
  REQUIRE(expected[0].size() > 10);
  REQUIRE(expected[1].size() > 10);
  // The live side: the same rows but three, which differ.
  auto w = live.log().begin();
  for (int i = 0; i < 2; ++i)
    for (const auto& [k, v] : expected[i])
      w.put(tables[i], k, v);
  const auto changed = expected[0].begin()->first;
  w.put(tables[0], changed, "changed");
  w.put(tables[0], "k9999", "only live");
  const auto missing = std::next(expected[1].begin(), 3)->first;
  w.del(tables[1], missing);
  REQUIRE(live.log().commit(w, true));

  std::map<std::string, std::string> seen; // "table key" -> what
  std::size_t same = 0;
  std::mutex m;
  const auto compared = scratch.log().finish_bulk_compare(
      live.log(), [&](storage::table t, std::string_view key,
                      std::optional<std::string_view> mine,
                      std::optional<std::string_view> rebuilt) {
        std::lock_guard lock(m);
        const auto name =
            std::string(storage::table_name(t)) + " " + std::string(key);
        if (mine && rebuilt && *mine == *rebuilt)
          ++same;
        else if (mine && rebuilt)
          seen[name] = std::string(*mine) + " / " + std::string(*rebuilt);
        else if (mine)
          seen[name] = "only live";
        else
          seen[name] = "only rebuilt";
        return true;
      });
  REQUIRE(compared);
  CHECK((*compared)[static_cast<std::size_t>(tables[0])]);
  CHECK((*compared)[static_cast<std::size_t>(tables[1])]);
  CHECK_FALSE((*compared)[static_cast<std::size_t>(storage::table::flows)]);
  CHECK(same == expected[0].size() + expected[1].size() - 2);
  const std::map<std::string, std::string> differences{
      {"deployment_views " + changed, "changed / " + expected[0][changed]},
      {"deployment_views k9999", "only live"},
      {"deployment_tags " + missing, "only rebuilt"}};
  CHECK(seen == differences);
  // Nothing was ingested, the run files are gone, no position recorded.
  CHECK(table_rows(scratch.log(), tables[0]).empty());
  CHECK(table_rows(scratch.log(), storage::table::flows).size() == 1);
  CHECK_FALSE(std::filesystem::exists(scratch.dir() / "db" / "rebuild"));
  CHECK(scratch.log().projected_position() == events::log_position{0});
}

TEST_CASE("an unfinished bulk rebuild leaves position 0 and its files go next time",
          "[storage][event_log][bulk]") {
  temp_event_log t;
  begin_bulk_on_one_record(t.log(), 64);
  auto b = t.log().begin();
  for (int i = 0; i < 50; ++i)
    b.put(storage::table::deployment_views, "k" + std::to_string(i), "v");
  REQUIRE(t.log().get(storage::table::flows, "x")); // plain read: no effect
  REQUIRE(t.log().commit(b, false));
  const auto runs = t.dir() / "db" / "rebuild";
  CHECK_FALSE(std::filesystem::is_empty(runs));
  // A restart without finish (the process died): no read model recorded.
  t.reopen();
  CHECK(t.log().projected_position() == events::log_position{0});
  CHECK(std::filesystem::exists(runs));
  REQUIRE(t.log().begin_bulk_rebuild());
  CHECK(std::filesystem::is_empty(runs));
  t.log().abandon_bulk_rebuild();
  CHECK_FALSE(std::filesystem::exists(runs));
  CHECK(t.log().projected_position() == events::log_position{0});
}
