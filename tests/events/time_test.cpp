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
