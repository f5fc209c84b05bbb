#include "storage/log_entry.hpp"

#include "storage/event_log.hpp"
#include "storage/record.hpp"
#include "tests/support/temp_event_log.hpp"

#include <catch2/catch.hpp>

using namespace deployd;
using deployd::testing::temp_event_log;

namespace {

storage::record make_record(const std::string& stream, std::uint64_t position,
                            std::uint64_t version) {
  storage::record r;
  r.position = {position};
  r.stream = {stream};
  r.version = {version};
  r.name = "flow_deleted";
  r.schema_version = 1;
  r.recorded_at = {1'795'000'000'000'000};
  r.command_id = events::uuid::v4_from(position, version);
  r.payload = R"({"x":1})";
  return r;
}

} // namespace

TEST_CASE("log entries round-trip and reject malformed bytes",
          "[storage][log_entry]") {
  const std::vector<std::string> records = {
    storage::encode_record(make_record("flow/a", 5, 1)),
    storage::encode_record(make_record("flow/a", 6, 2))};
  const auto bytes = storage::encode_log_entry("n1/1f/3", {5}, records);
  const auto entry = storage::decode_log_entry(bytes);
  REQUIRE(entry);
  CHECK(entry->commit_id == "n1/1f/3");
  CHECK(entry->first_position.value == 5);
  REQUIRE(entry->records.size() == 2);
  CHECK(entry->records[0] == records[0]);
  CHECK(entry->records[1] == records[1]);

  CHECK_FALSE(storage::decode_log_entry(""));
  CHECK_FALSE(storage::decode_log_entry("\x02"));
  // Every truncation of a valid entry is refused, and so is trailing data.
  for (std::size_t n = 0; n < bytes.size(); ++n)
    CHECK_FALSE(storage::decode_log_entry(bytes.substr(0, n)));
  CHECK_FALSE(storage::decode_log_entry(bytes + "x"));
  // Position 0 does not exist.
  CHECK_FALSE(storage::decode_log_entry(
    storage::encode_log_entry("c", {0}, records)));
}

TEST_CASE("log entries carry side writes after the records, an entry "
          "without any keeps the first format's bytes",
          "[storage][log_entry]") {
  const std::vector<std::string> records = {
    storage::encode_record(make_record("flow/a", 5, 1))};
  const auto plain = storage::encode_log_entry("n1/1f/3", {5}, records);
  CHECK(plain == storage::encode_log_entry("n1/1f/3", {5}, records, {}));
  CHECK(static_cast<std::uint8_t>(plain[0]) == storage::log_entry_format);

  const std::vector<storage::side_write> writes = {
    {'c', "key-1", R"({"event":"a"})"}, {'x', "key-0", ""}, {'m', "seq", "7"}};
  const auto bytes =
    storage::encode_log_entry("n1/1f/4", {5}, records, writes);
  CHECK(static_cast<std::uint8_t>(bytes[0]) ==
        storage::log_entry_format_side_writes);
  const auto entry = storage::decode_log_entry(bytes);
  REQUIRE(entry);
  REQUIRE(entry->records.size() == 1);
  CHECK(entry->records[0] == records[0]);
  REQUIRE(entry->side_writes.size() == 3);
  for (std::size_t i = 0; i < writes.size(); ++i) {
    CHECK(entry->side_writes[i].kind == writes[i].kind);
    CHECK(entry->side_writes[i].key == writes[i].key);
    CHECK(entry->side_writes[i].value == writes[i].value);
  }
  // Side writes alone: a batch of client events appends no record.
  const auto alone = storage::encode_log_entry("n1/1f/5", {6}, {}, writes);
  const auto alone_entry = storage::decode_log_entry(alone);
  REQUIRE(alone_entry);
  CHECK(alone_entry->records.empty());
  CHECK(alone_entry->side_writes.size() == 3);

  for (std::size_t n = 0; n < bytes.size(); ++n)
    CHECK_FALSE(storage::decode_log_entry(bytes.substr(0, n)));
  CHECK_FALSE(storage::decode_log_entry(bytes + "x"));
  // The second format with an empty section is not written, nor accepted.
  auto empty_section = plain;
  empty_section[0] = static_cast<char>(storage::log_entry_format_side_writes);
  CHECK_FALSE(storage::decode_log_entry(empty_section + std::string(4, '\0')));
}

TEST_CASE("replicated records land only at the log's head, after their "
          "stream's head",
          "[storage][log_entry]") {
  temp_event_log t;
  auto& log = t.log();
  const auto r1 = make_record("flow/a", 1, 1);
  const auto r2 = make_record("flow/a", 2, 2);
  {
    auto b = log.begin();
    REQUIRE(b.append_replicated(r1, storage::encode_record(r1)));
    // Not the next position, or not the stream's next version: refused.
    auto wrong_position = make_record("flow/a", 3, 2);
    CHECK(b.append_replicated(wrong_position,
                              storage::encode_record(wrong_position))
            .error() == storage::errc::corruption);
    auto wrong_version = make_record("flow/a", 2, 3);
    CHECK(b.append_replicated(wrong_version,
                              storage::encode_record(wrong_version))
            .error() == storage::errc::corruption);
    REQUIRE(b.append_replicated(r2, storage::encode_record(r2)));
    b.put_meta("cluster_seq", "7");
    REQUIRE(log.commit(b, true));
  }
  CHECK(log.last_position().value == 2);
  auto read = log.read_stream({"flow/a"});
  REQUIRE(read);
  REQUIRE(read->size() == 2);
  CHECK((*read)[0] == r1);
  CHECK((*read)[1] == r2);
  auto seq = log.meta("cluster_seq");
  REQUIRE(seq);
  CHECK(*seq == std::optional<std::string>("7"));
  CHECK(*log.meta("absent") == std::nullopt);
  t.reopen();
  CHECK(*t.log().meta("cluster_seq") == std::optional<std::string>("7"));
}

TEST_CASE("a batch begun with keep_records keeps the bytes it appended, "
          "savepoints included",
          "[storage][log_entry]") {
  temp_event_log t;
  auto b = t.log().begin(true);
  auto r1 = make_record("flow/a", 0, 0);
  REQUIRE(b.append_at_head(r1));
  b.set_save_point();
  auto r2 = make_record("flow/b", 0, 0);
  REQUIRE(b.append_at_head(r2));
  CHECK(b.records().size() == 2);
  b.rollback_to_save_point();
  REQUIRE(b.records().size() == 1);
  CHECK(b.records()[0] == storage::encode_record(r1));
  CHECK(t.log().begin().records().empty());
}
