#include "events/python/cron.hpp"

#include "events/time.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace deployd::events;

namespace {

// Wall times are handled as if they were UTC timestamps, so the test can
// write them in ISO form.
std::int64_t wall(const char* iso) {
  return parse_timestamp(iso)->micros / 1'000'000;
}

// The next `n` matches after `start`, as croniter's get_next returns them;
// expectations below were produced by Prefect's vendored croniter.
std::vector<std::string> next(const char* expression, const char* start,
                              bool day_or = true, int n = 4) {
  const auto expr = parse_cron(expression);
  REQUIRE(expr);
  std::vector<std::string> out;
  std::int64_t at = wall(start);
  for (int i = 0; i < n; ++i) {
    const auto match = cron_next(*expr, at, day_or);
    if (!match)
      break;
    at = *match;
    out.push_back(format_timestamp(timestamp{at * 1'000'000}));
  }
  return out;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("parse_cron accepts the expressions Prefect documents", "[cron]") {
  for (const char* text :
       {"5 4 * * *", "@yearly", "@weekly", "@daily", "@hourly", "@monthly",
        "@midnight", "@annually", "@DAILY", "* * * * MON", "30 8 * * sat-sun",
        "* * * * mon,wed,fri", "0 9 * * 1-5", "*/15 * * * *", "5/15 * * * *",
        "50-10/7 * * * *", "0 0 L * *", "0 0 * * L5", "0 0 * * mon#2",
        "0 0 ? * mon", "0 0 15 * ?", "0 0 * * 7", "0 0 * nov-feb *",
        "* * * * * */15", "0 12 * * * 0 2030-2031", "0 0 * * *,1#2",
        "0 0 5-L * *", "r 1 * * *", "0 0 * JAN MON"})
  {
    INFO(text);
    CHECK(parse_cron(text));
  }
}

TEST_CASE("parse_cron rejects what croniter rejects", "[cron]") {
  for (const char* text :
       {"invalid cron", "* * * *", "* * * * * * * *", "", "@often",
        "H 1 * * *", "60 * * * *", "* 24 * * *", "0 0 32 * *", "0 0 0 * *",
        "0 0 * 0 *", "-1 * * * *", "1,,2 * * * *", "a * * * *",
        "*/0 * * * *", "1-5/0 * * * *", "0 ? * * *", "0 0 * * 1#6",
        "0 0 * * 1#0", "0 0 * * 1#2,3", "0 0 * * jan#2", "0 0 1w * *",
        "0 0 * * L", "0 0 L-5 * *", "0 0 * * 7 0", "0 0 1 1 * 0 1969",
        "1/2/3 * * * *", "r(5-1) * * * *",
        "JAN * * * *"})
  {
    INFO(text);
    CHECK_FALSE(parse_cron(text));
  }
}

TEST_CASE("cron_next matches croniter on naive wall time", "[cron]") {
  const char* start = "2026-03-07T12:34:56";
  SECTION("weekdays at nine") {
    CHECK(next("0 9 * * 1-5", start) ==
          strings{"2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z",
                  "2026-03-11T09:00:00Z", "2026-03-12T09:00:00Z"});
  }
  SECTION("aliases") {
    CHECK(next("@yearly", start) ==
          strings{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z",
                  "2029-01-01T00:00:00Z", "2030-01-01T00:00:00Z"});
    CHECK(next("@daily", start, true, 2) ==
          strings{"2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"});
  }
  SECTION("last day of the month and nth weekdays") {
    CHECK(next("0 0 L * *", start) ==
          strings{"2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z",
                  "2026-05-31T00:00:00Z", "2026-06-30T00:00:00Z"});
    CHECK(next("0 0 * * mon#2", start) ==
          strings{"2026-03-09T00:00:00Z", "2026-04-13T00:00:00Z",
                  "2026-05-11T00:00:00Z", "2026-06-08T00:00:00Z"});
    CHECK(next("0 0 * * L5", start) ==
          strings{"2026-03-27T00:00:00Z", "2026-04-24T00:00:00Z",
                  "2026-05-29T00:00:00Z", "2026-06-26T00:00:00Z"});
  }
  SECTION("day_or joins day of month and day of week with OR, else AND") {
    CHECK(next("0 0 15 * mon", start) ==
          strings{"2026-03-09T00:00:00Z", "2026-03-15T00:00:00Z",
                  "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z"});
    CHECK(next("0 0 15 * mon", start, false) ==
          strings{"2026-06-15T00:00:00Z", "2027-02-15T00:00:00Z",
                  "2027-03-15T00:00:00Z", "2027-11-15T00:00:00Z"});
  }
  SECTION("croniter finds nothing when one day_or search cannot match") {
    CHECK(next("0 0 15 * mon#2", start).empty());
  }
  SECTION("wrap-around ranges with steps") {
    CHECK(next("0 0 * * fri-mon/2", start) ==
          strings{"2026-03-08T00:00:00Z", "2026-03-13T00:00:00Z",
                  "2026-03-15T00:00:00Z", "2026-03-20T00:00:00Z"});
  }
  SECTION("seconds and years") {
    CHECK(next("*/20 * * * * */30", start) ==
          strings{"2026-03-07T12:40:00Z", "2026-03-07T12:40:30Z",
                  "2026-03-07T13:00:00Z", "2026-03-07T13:00:30Z"});
    CHECK(next("0 12 * * * 0 2030-2031", start, true, 2) ==
          strings{"2030-01-01T12:00:00Z", "2030-01-02T12:00:00Z"});
  }
  SECTION("leap days") {
    CHECK(next("0 0 29 2 *", start, true, 2) ==
          strings{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"});
  }
  SECTION("a match is strictly after the start") {
    CHECK(next("0 9 * * *", "2026-03-09T09:00:00", true, 1) ==
          strings{"2026-03-10T09:00:00Z"});
    CHECK(next("0 9 * * *", "2026-03-09T08:59:59", true, 1) ==
          strings{"2026-03-09T09:00:00Z"});
  }
}
