#include "events/time.hpp"

#include <catch2/catch.hpp>

using namespace deployd::events;

TEST_CASE("timestamps render in UTC with six fraction digits or none",
          "[events][time]") {
  CHECK(format_timestamp({0}) == "1970-01-01T00:00:00Z");
  CHECK(format_timestamp({1'795'000'000'123'456}) ==
        "2026-11-18T11:06:40.123456Z");
  CHECK(format_timestamp({1'795'000'000'522'000}) ==
        "2026-11-18T11:06:40.522000Z");
  CHECK(format_timestamp({-1}) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_timestamp({-62'135'596'800'000'000}) ==
        "0001-01-01T00:00:00Z");
  CHECK(format_timestamp({253'402'300'799'999'999}) ==
        "9999-12-31T23:59:59.999999Z");
  // Outside years 0-9999 the general format takes over.
  CHECK(format_timestamp({253'402'300'800'000'000}) ==
        "10000-01-01T00:00:00Z");
}

TEST_CASE("timestamps render and parse back across the years",
          "[events][time]") {
  std::int64_t micros = -62'135'596'800'000'000;
  std::uint64_t seed = 7;
  for (int i = 0; i < 20'000; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    micros += static_cast<std::int64_t>(seed >> 20) % 31'000'000'000'000;
    if (micros > 253'402'300'799'999'999) // past 9999: from year 1 again
      micros -= 315'537'897'600'000'000;
    if (i % 3 == 0)
      micros -= micros % 1'000'000; // whole seconds: no fraction
    const auto text = format_timestamp({micros});
    INFO(text);
    REQUIRE(text.size() == (micros % 1'000'000 == 0 ? 20u : 27u));
    const auto back = parse_timestamp(text);
    REQUIRE(back);
    CHECK(back->micros == micros);
  }
}

TEST_CASE("timestamps parse the ISO forms pydantic accepts", "[events][time]") {
  CHECK(parse_timestamp("2026-01-01T00:00:00Z")->micros ==
        1'767'225'600'000'000);
  CHECK(parse_timestamp("2026-01-01T00:00:00")->micros ==
        1'767'225'600'000'000);
  CHECK(parse_timestamp("2026-01-01T05:00:00+05:00")->micros ==
        1'767'225'600'000'000);
  CHECK(parse_timestamp("2026-01-01 00:00:00.5Z")->micros ==
        1'767'225'600'500'000);
  CHECK(parse_timestamp("2026-01-01")->micros == 1'767'225'600'000'000);
  CHECK_FALSE(parse_timestamp("2026-02-30T00:00:00Z"));
  CHECK_FALSE(parse_timestamp("yesterday"));
  CHECK_FALSE(parse_timestamp("2026-01-01T25:00:00Z"));
  for (std::int64_t t : {0LL, 1'795'000'000'123'456LL, 951'782'400'000'001LL})
    CHECK(parse_timestamp(format_timestamp({t}))->micros == t);
}
