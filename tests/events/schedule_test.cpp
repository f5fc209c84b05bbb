#include "events/schedule.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace deployd::events;

namespace {

const std::string interval_tag =
  "function-after[validate_timezone(), IntervalSchedule]";
const std::string cron_tag =
  "function-after[validate_timezone(), CronSchedule]";
const std::string rrule_tag = "RRuleSchedule";

timestamp at(const char* iso) {
  return *parse_timestamp(iso);
}

const timestamp request_time = at("2026-03-07T12:34:56.5Z");

struct outcome {
  std::optional<schedule> value;
  field_errors errors;
};

outcome validate(const json& input) {
  validator v(json::array({"body", 0, "schedule"}));
  auto value = validate_schedule(v, input, request_time);
  return {std::move(value), v.errors()};
}

json loc(std::initializer_list<json> tail) {
  json out = json::array({"body", 0, "schedule"});
  for (const auto& element : tail)
    out.push_back(element);
  return out;
}

const json value_error_ctx = json{{"error", json::object()}};

schedule accepted(const json& input) {
  auto result = validate(input);
  INFO(input.dump());
  REQUIRE(result.errors.empty());
  REQUIRE(result.value);
  return *result.value;
}

std::vector<std::string> runs(const json& input, const char* after,
                              std::size_t n) {
  std::vector<std::string> out;
  for (const auto t : next_runs(accepted(input), at(after), n))
    out.push_back(format_timestamp(t));
  return out;
}

using strings = std::vector<std::string>;

} // namespace

// -- validation ----------------------------------------------------------------

TEST_CASE("an invalid cron string reports every union member's errors",
          "[schedule]") {
  const json input = {{"cron", "invalid cron"}};
  const auto result = validate(input);
  CHECK_FALSE(result.value);
  // related-resources.md 7.3, verbatim.
  const field_errors expected{
    {"missing", loc({interval_tag, "interval"}), "Field required", input,
     nullptr},
    {"extra_forbidden", loc({interval_tag, "cron"}),
     "Extra inputs are not permitted", "invalid cron", nullptr},
    {"value_error", loc({cron_tag, "cron"}),
     "Value error, Invalid cron string: \"invalid cron\"", "invalid cron",
     value_error_ctx},
    {"missing", loc({rrule_tag, "rrule"}), "Field required", input, nullptr},
    {"extra_forbidden", loc({rrule_tag, "cron"}),
     "Extra inputs are not permitted", "invalid cron", nullptr},
  };
  CHECK(result.errors == expected);
}

TEST_CASE("a zero interval must be positive", "[schedule]") {
  const json input = {{"interval", 0}};
  const auto result = validate(input);
  CHECK_FALSE(result.value);
  const field_errors expected{
    {"value_error", loc({interval_tag, "interval"}),
     "Value error, interval must be positive", 0, value_error_ctx},
    {"missing", loc({cron_tag, "cron"}), "Field required", input, nullptr},
    {"extra_forbidden", loc({cron_tag, "interval"}),
     "Extra inputs are not permitted", 0, nullptr},
    {"missing", loc({rrule_tag, "rrule"}), "Field required", input, nullptr},
    {"extra_forbidden", loc({rrule_tag, "interval"}),
     "Extra inputs are not permitted", 0, nullptr},
  };
  CHECK(result.errors == expected);
}

TEST_CASE("an unknown timezone is a model error of the matching member",
          "[schedule]") {
  const std::string message =
    "Value error, Invalid timezone: \"fake\" (specify in IANA tzdata format, "
    "for example, America/New_York)";
  SECTION("cron") {
    const json input = {{"cron", "0 9 * * *"}, {"timezone", "fake"}};
    const auto result = validate(input);
    REQUIRE(result.errors.size() == 6);
    CHECK(result.errors[2] == field_error{"value_error", loc({cron_tag}),
                                          message, input, value_error_ctx});
    // RRuleSchedule checks the name against the zone pattern instead.
    CHECK(result.errors[4].type == "string_pattern_mismatch");
    CHECK(result.errors[4].loc == loc({rrule_tag, "timezone"}));
    CHECK(result.errors[4].input == "fake");
    CHECK(result.errors[4].msg.starts_with(
      "String should match pattern 'Africa/Abidjan|Africa/Accra|"));
    CHECK(result.errors[4].ctx["pattern"].get<std::string>().find(
            "|America/New_York|") != std::string::npos);
  }
  SECTION("interval") {
    const json input = {{"interval", 60}, {"timezone", "fake"}};
    const auto result = validate(input);
    REQUIRE_FALSE(result.errors.empty());
    CHECK(result.errors[0] == field_error{"value_error", loc({interval_tag}),
                                          message, input, value_error_ctx});
  }
  SECTION("the timezone error waits for the fields to be valid") {
    const json input = {{"cron", "nope"}, {"timezone", "fake"}};
    const auto result = validate(input);
    for (const auto& e : result.errors)
      CHECK(e.loc != loc({cron_tag}));
  }
}

TEST_CASE("random and hashed cron fields are rejected", "[schedule]") {
  const auto random = validate({{"cron", "R 1 * * *"}});
  REQUIRE(random.errors.size() == 5);
  CHECK(random.errors[2] ==
        field_error{"value_error", loc({cron_tag, "cron"}),
                    "Value error, Random and Hashed expressions are "
                    "unsupported, received: \"R 1 * * *\"",
                    "R 1 * * *", value_error_ctx});
  // croniter itself refuses hashed fields without a hash id.
  const auto hashed = validate({{"cron", "H 1 * * *"}});
  REQUIRE(hashed.errors.size() == 5);
  CHECK(hashed.errors[2].msg ==
        "Value error, Invalid cron string: \"H 1 * * *\"");
}

TEST_CASE("the documented cron examples are accepted with a null timezone",
          "[schedule]") {
  for (const char* cron :
       {"5 4 * * *", "@yearly", "@weekly", "@daily", "@hourly", "* * * * MON",
        "30 8 * * sat-sun", "* * * * mon,wed,fri"})
  {
    const auto s = accepted({{"cron", cron}});
    CHECK(to_json(s) ==
          json{{"cron", cron}, {"timezone", nullptr}, {"day_or", true}});
  }
  const auto s = accepted(
    {{"cron", "0 9 * * 1-5"}, {"timezone", "America/New_York"}, {"day_or", 0}});
  CHECK(to_json(s) == json{{"cron", "0 9 * * 1-5"},
                           {"timezone", "America/New_York"},
                           {"day_or", false}});
}

TEST_CASE("intervals take seconds or pydantic timedelta strings",
          "[schedule]") {
  SECTION("whole seconds render as an integer, like the recorded sample") {
    const auto s = accepted({{"interval", 3600},
                             {"anchor_date", "2026-01-01T00:00:00Z"},
                             {"timezone", "UTC"}});
    CHECK(to_json(s).dump() ==
          R"({"interval":3600,"anchor_date":"2026-01-01T00:00:00Z","timezone":"UTC"})");
  }
  SECTION("anchor_date defaults to the request time and timezone to UTC") {
    CHECK(to_json(accepted({{"interval", 3600.0}})) ==
          json{{"interval", 3600},
               {"anchor_date", "2026-03-07T12:34:56.500000Z"},
               {"timezone", "UTC"}});
  }
  SECTION("fractions and durations") {
    CHECK(to_json(accepted({{"interval", 1.5}}))["interval"] == 1.5);
    CHECK(to_json(accepted({{"interval", "PT1H"}}))["interval"] == 3600);
    CHECK(to_json(accepted({{"interval", "P1DT2H"}}))["interval"] == 93600);
    CHECK(to_json(accepted({{"interval", "01:30:00"}}))["interval"] == 5400);
    CHECK(to_json(accepted({{"interval", "1 day, 00:00:01"}}))["interval"] ==
          86401);
  }
  SECTION("unparseable values use pydantic's timedelta errors") {
    const auto text = validate({{"interval", "later"}});
    REQUIRE_FALSE(text.errors.empty());
    CHECK(text.errors[0] ==
          field_error{"time_delta_parsing", loc({interval_tag, "interval"}),
                      "Input should be a valid timedelta, invalid character "
                      "in hour",
                      "later", json{{"error", "invalid character in hour"}}});
    CHECK(validate({{"interval", "soon"}}).errors[0].msg ==
          "Input should be a valid timedelta, invalid digit in duration");
    const auto bare_number = validate({{"interval", "3600"}});
    CHECK(bare_number.errors[0].msg ==
          "Input should be a valid timedelta, \"day\" identifier in duration "
          "not correctly formatted");
    const auto null = validate({{"interval", nullptr}});
    CHECK(null.errors[0] ==
          field_error{"time_delta_type", loc({interval_tag, "interval"}),
                      "Input should be a valid timedelta", nullptr, nullptr});
    const auto negative = validate({{"interval", "-PT1M"}});
    CHECK(negative.errors[0].msg == "Value error, interval must be positive");
  }
}

TEST_CASE("a non-object schedule fails every member with "
          "model_attributes_type",
          "[schedule]") {
  // Prefect's schedule models set from_attributes=True, which turns
  // pydantic's model_type into model_attributes_type.
  const auto result = validate("hourly");
  const std::string msg =
    "Input should be a valid dictionary or object to extract fields from";
  const field_errors expected{
    {"model_attributes_type", loc({interval_tag}), msg, "hourly", nullptr},
    {"model_attributes_type", loc({cron_tag}), msg, "hourly", nullptr},
    {"model_attributes_type", loc({rrule_tag}), msg, "hourly", nullptr},
  };
  CHECK(result.errors == expected);
}

TEST_CASE("rrule texts are checked as python-dateutil parses them",
          "[schedule]") {
  const auto message = [](const json& input) {
    const auto result = validate(input);
    REQUIRE(result.errors.size() == 5);
    CHECK(result.errors[4].loc == loc({rrule_tag, "rrule"}));
    return result.errors[4].msg;
  };
  CHECK(message({{"rrule", "FREQ=DAILYBAD"}}) ==
        "Value error, Invalid RRule string \"FREQ=DAILYBAD\": invalid "
        "'FREQ': DAILYBAD");
  CHECK(message({{"rrule", "FREQ=DAILY;FOO=1"}}) ==
        "Value error, Invalid RRule string \"FREQ=DAILY;FOO=1\": unknown "
        "parameter 'FOO'");
  CHECK(message({{"rrule", ""}}) ==
        "Value error, Invalid RRule string \"\": empty string");
  CHECK(message({{"rrule", "FREQ=WEEKLY;BYDAY=XX"}}) ==
        "Value error, Invalid RRule string \"FREQ=WEEKLY;BYDAY=XX\": invalid "
        "'BYDAY': XX");
  CHECK(message({{"rrule", "DTSTART:garbage\nFREQ=DAILY"}}) ==
        "Value error, Invalid RRule string \"DTSTART:garbage\nFREQ=DAILY\": "
        "Unknown string format: GARBAGE");

  SECTION("a parseable rule longer than 6500 characters") {
    std::string rrule = "FREQ=DAILY;BYSETPOS=1";
    while (rrule.size() <= max_rrule_length)
      rrule += ",1";
    CHECK(message({{"rrule", rrule}}) ==
          "Value error, Invalid RRule string \"FREQ=DAILY;BYSETPOS=1,1,1,1,1,"
          "1,1,1,1,1,...\"\nMax length is 6500, got " +
            std::to_string(rrule.size()));
  }
}

TEST_CASE("an rrule timezone only has to contain a zone name", "[schedule]") {
  CHECK(to_json(accepted({{"rrule", "FREQ=DAILY"}, {"timezone", "XXUTCXX"}}))
          ["timezone"] == "XXUTCXX");
  CHECK(to_json(accepted({{"rrule", "FREQ=DAILY"}}))["timezone"] == "UTC");
  CHECK(to_json(accepted({{"rrule", "FREQ=DAILY"}, {"timezone", nullptr}}))
          ["timezone"] == nullptr);
}

TEST_CASE("an rrule without DTSTART gets one when stored", "[schedule]") {
  CHECK(to_json(accepted({{"rrule", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"}})) ==
        json{{"rrule", "DTSTART:20200101T000000\nFREQ=WEEKLY;INTERVAL=2;BYDAY=MO"},
             {"timezone", "UTC"}});
  // Minutely rules without COUNT are anchored just before now, in phase.
  CHECK(to_json(accepted({{"rrule", "FREQ=MINUTELY;INTERVAL=7"}}))["rrule"] ==
        "DTSTART:20260307T122800\nFREQ=MINUTELY;INTERVAL=7");
  CHECK(normalize_rrule("FREQ=MINUTELY;INTERVAL=7", "America/New_York",
                        request_time) ==
        "DTSTART:20260307T073400\nFREQ=MINUTELY;INTERVAL=7");
  CHECK(normalize_rrule("FREQ=MINUTELY;COUNT=3", "UTC", request_time) ==
        "DTSTART:20200101T000000\nFREQ=MINUTELY;COUNT=3");
  const std::string anchored = "dtstart:20240101T000000\nFREQ=DAILY";
  CHECK(normalize_rrule(anchored, "UTC", request_time) == anchored);
}

TEST_CASE("known time zones are those of Python's available_timezones",
          "[schedule]") {
  for (const char* zone : {"UTC", "America/New_York", "Europe/Berlin",
                           "US/Eastern", "Etc/GMT+5", "Factory"})
    CHECK(is_known_timezone(zone));
  for (const char* zone : {"fake", "", "posixrules", "right/UTC",
                           "posix/UTC", "america/new_york", "zone.tab"})
    CHECK_FALSE(is_known_timezone(zone));
}

TEST_CASE("schedules decode from their stored form", "[schedule]") {
  for (const json& input :
       {json{{"interval", 90.25}, {"anchor_date", "2026-01-01T00:00:00Z"}},
        json{{"cron", "0 9 * * *"}, {"timezone", "Europe/Berlin"}},
        json{{"rrule", "FREQ=DAILY"}, {"timezone", "UTC"}}})
  {
    const auto s = accepted(input);
    CHECK(schedule_from_json(to_json(s)) == s);
  }
  CHECK_FALSE(schedule_from_json(json{{"nothing", 1}}));
}

// -- next runs -----------------------------------------------------------------

TEST_CASE("an hourly interval fires every real hour across DST",
          "[schedule]") {
  const json hourly = {{"interval", 3600},
                       {"anchor_date", "2026-01-01T00:00:00Z"},
                       {"timezone", "America/New_York"}};
  SECTION("spring forward: 02:00 local does not exist") {
    // 23:00 EST, 00:00, 01:00, then 03:00 and 04:00 EDT.
    CHECK(runs(hourly, "2026-03-08T03:30:00Z", 5) ==
          strings{"2026-03-08T04:00:00Z", "2026-03-08T05:00:00Z",
                  "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
                  "2026-03-08T08:00:00Z"});
  }
  SECTION("fall back: 01:00 local happens twice") {
    // 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST, 03:00 EST.
    CHECK(runs(hourly, "2026-11-01T03:30:00Z", 5) ==
          strings{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z",
                  "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z",
                  "2026-11-01T08:00:00Z"});
  }
}

TEST_CASE("a daily interval keeps its wall-clock time across DST",
          "[schedule]") {
  // 09:00 EST on the anchor day.
  const json daily = {{"interval", 86400},
                      {"anchor_date", "2026-01-05T14:00:00Z"},
                      {"timezone", "America/New_York"}};
  CHECK(runs(daily, "2026-03-06T15:00:00Z", 4) ==
        strings{"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z",
                "2026-03-09T13:00:00Z", "2026-03-10T13:00:00Z"});
  CHECK(runs(daily, "2026-10-30T14:00:00Z", 4) ==
        strings{"2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z",
                "2026-11-02T14:00:00Z", "2026-11-03T14:00:00Z"});
  SECTION("in UTC the step is plain elapsed time") {
    CHECK(runs({{"interval", 5400}, {"anchor_date", "2026-03-01T00:00:00Z"}},
               "2026-03-01T02:00:00Z", 2) ==
          strings{"2026-03-01T03:00:00Z", "2026-03-01T04:30:00Z"});
  }
}

TEST_CASE("cron schedules run on the zone's wall clock", "[schedule]") {
  SECTION("weekdays at nine in New York move in UTC with DST") {
    CHECK(runs({{"cron", "0 9 * * 1-5"}, {"timezone", "America/New_York"}},
               "2026-03-05T15:00:00Z", 4) ==
          strings{"2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z",
                  "2026-03-10T13:00:00Z", "2026-03-11T13:00:00Z"});
  }
  SECTION("02:30 is skipped on the spring-forward day") {
    CHECK(runs({{"cron", "30 2 * * *"}, {"timezone", "America/New_York"}},
               "2026-03-06T12:00:00Z", 3) ==
          strings{"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z",
                  "2026-03-10T06:30:00Z"});
  }
  SECTION("an hour that happens twice fires once, the first time") {
    CHECK(runs({{"cron", "0 * * * *"}, {"timezone", "America/New_York"}},
               "2026-11-01T03:30:00Z", 4) ==
          strings{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z",
                  "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"});
  }
  SECTION("@daily without a timezone is midnight UTC") {
    CHECK(runs({{"cron", "@daily"}}, "2026-03-06T12:00:00Z", 3) ==
          strings{"2026-03-07T00:00:00Z", "2026-03-08T00:00:00Z",
                  "2026-03-09T00:00:00Z"});
  }
}

TEST_CASE("rrule schedules iterate from their floating DTSTART in the zone",
          "[schedule]") {
  SECTION("Mondays and Wednesdays in Berlin, across the March change") {
    // Computed with python-dateutil: midnight CET is 23:00Z, CEST 22:00Z.
    CHECK(runs({{"rrule", "FREQ=WEEKLY;BYDAY=MO,WE"},
                {"timezone", "Europe/Berlin"}},
               "2026-03-20T00:00:00Z", 5) ==
          strings{"2026-03-22T23:00:00Z", "2026-03-24T23:00:00Z",
                  "2026-03-29T22:00:00Z", "2026-03-31T22:00:00Z",
                  "2026-04-05T22:00:00Z"});
  }
  SECTION("a gap time takes the offset after the change, like dateutil") {
    CHECK(runs({{"rrule", "DTSTART:20260301T023000\nFREQ=DAILY"},
                {"timezone", "America/New_York"}},
               "2026-03-07T00:00:00Z", 3) ==
          strings{"2026-03-07T07:30:00Z", "2026-03-08T06:30:00Z",
                  "2026-03-09T06:30:00Z"});
  }
  SECTION("rule sets honour COUNT, EXDATE and RDATE") {
    CHECK(runs({{"rrule", "DTSTART:20260302T090000\nRRULE:FREQ=DAILY;COUNT=4\n"
                          "EXDATE:20260303T090000\nRDATE:20260310T120000"}},
               "2026-03-01T00:00:00Z", 10) ==
          strings{"2026-03-02T09:00:00Z", "2026-03-04T09:00:00Z",
                  "2026-03-05T09:00:00Z", "2026-03-10T12:00:00Z"});
  }
}
