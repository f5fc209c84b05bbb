// Deployment schedule values: interval, cron and RRule schedules, their
// validation with the reference server's (pydantic 2, Prefect 3) rules and
// wording, their wire form, and their fire times.
//
// A `schedule` is what the `schedule` field of a deployment schedule holds.
// `validate_schedule` reports errors as pydantic reports a failed smart union
// of the three models; `next_runs` computes fire times in the schedule's
// IANA time zone from the system tz database. Knows nothing of HTTP, storage
// or CAF; the tz and iCalendar libraries stay inside schedule.cpp.
#pragma once

#include "events/json.hpp"
#include "events/time.hpp"
#include "events/validation.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace deployd::events {

/// `anchor_date + k * interval` for every integer k (Prefect's
/// IntervalSchedule).
struct interval_schedule {
  std::int64_t interval_micros = 0;  ///< > 0; a Python timedelta, exactly
  timestamp anchor_date;             ///< defaults to the request time
  /// IANA name; "UTC" when the request omitted it. An empty string is kept
  /// (as Prefect does) and means UTC.
  std::optional<std::string> timezone = "UTC";

  bool operator==(const interval_schedule&) const = default;
};

/// A croniter expression evaluated on the wall clock of `timezone`
/// (Prefect's CronSchedule).
struct cron_schedule {
  std::string cron;
  std::optional<std::string> timezone;  ///< null stays null (means UTC)
  bool day_or = true;  ///< day-of-month OR day-of-week when both are set

  bool operator==(const cron_schedule&) const = default;
};

/// An RFC 5545 recurrence in python-dateutil's `rrulestr` dialect, its
/// DTSTART a floating time in `timezone` (Prefect's RRuleSchedule).
struct rrule_schedule {
  std::string rrule;
  std::optional<std::string> timezone = "UTC";

  bool operator==(const rrule_schedule&) const = default;
};

using schedule = std::variant<interval_schedule, cron_schedule, rrule_schedule>;

/// Maximum length of an `rrule` text, in characters.
constexpr std::size_t max_rrule_length = 6500;

/// Validates a `schedule` value (the union of the three schedule models) at
/// `v`'s current location, then injects a DTSTART into an RRule without one
/// (`normalize_rrule`), as the deployment schedule action models do.
///
/// On failure appends, for each of Interval, Cron and RRule in that order,
/// that model's errors under its union tag
/// (`function-after[validate_timezone(), IntervalSchedule]`,
/// `function-after[validate_timezone(), CronSchedule]`, `RRuleSchedule`) and
/// returns nothing; on success appends nothing. `now` is the request time
/// (default `anchor_date`, RRule DTSTART anchoring). Call from the request's
/// thread; `v` is not shared.
[[nodiscard]] std::optional<schedule>
validate_schedule(validator& v, const json& input, timestamp now);

/// The stored form: `{"interval": <seconds>, "anchor_date", "timezone"}`
/// (seconds as an integer when whole, else a float), `{"cron", "timezone",
/// "day_or"}` or `{"rrule", "timezone"}`.
[[nodiscard]] json to_json(const schedule& s);

/// A stored schedule object as the reference answers it: the same, but the
/// interval is a float (`3600.0`), as pydantic serialises a timedelta.
/// Anything else is returned unchanged.
[[nodiscard]] json schedule_response(const json& stored);

/// Decodes a value written by `to_json` (stored data: no error report).
/// Returns nothing when `value` is not such a value.
[[nodiscard]] std::optional<schedule> schedule_from_json(const json& value);

/// The first `n` fire times strictly after `after`, ascending, computed in
/// the schedule's time zone (UTC when null, empty or unknown):
/// - interval: occurrence k is the anchor's wall-clock time plus k times the
///   interval's whole days as calendar days (a wall time in a DST gap moves
///   forward, a repeated one takes its first occurrence), plus k times the
///   remainder as elapsed time;
/// - cron: croniter on the zone's wall clock; a wall time that does not exist
///   (spring forward) is skipped, one that occurs twice (fall back) fires once,
///   at its first occurrence;
/// - rrule: occurrences as python-dateutil generates them from the floating
///   DTSTART (2020-01-01T00:00:00 when absent), placed in the zone as
///   dateutil does (a wall time in a DST gap uses the offset after the
///   transition, a repeated one its first occurrence).
/// Fewer than `n` when the schedule ends or about 1000 candidates did not
/// yield them (Prefect's MAX_ITERATIONS). Pure; callable from any thread.
[[nodiscard]] std::vector<timestamp> next_runs(const schedule& s,
                                               timestamp after, std::size_t n);

/// Prefect's `normalize_rrule_string`: returns `rrule` unchanged when it
/// contains `DTSTART` (any case) or does not parse; otherwise prepends
/// `DTSTART:<YYYYMMDDTHHMMSS>\n`, the anchor being 2020-01-01T00:00:00 or,
/// for a single FREQ=SECONDLY/MINUTELY rule without COUNT, the latest
/// 2020-01-01T00:00:00 + k * INTERVAL units not after `now` on the wall clock
/// of `timezone` (UTC when null or unknown).
[[nodiscard]] std::string normalize_rrule(std::string_view rrule,
                                          const std::optional<std::string>& timezone,
                                          timestamp now);

/// Whether `name` is a zone of the system tz database as Python's
/// `zoneinfo.available_timezones()` lists it (what Prefect accepts for
/// interval and cron schedules).
[[nodiscard]] bool is_known_timezone(std::string_view name);

/// Python's `str()` of the fire time `t` in the schedule's time zone
/// (UTC when null, empty or unknown): `2026-08-22 09:00:00-04:00`, with
/// `.ffffff` when the microseconds are not zero. The `<date>` of a
/// scheduled run's idempotency key (flow-runs.md §11.4). Pure.
[[nodiscard]] std::string python_datetime_str(const schedule& s, timestamp t);

/// "IntervalSchedule", "CronSchedule" or "RRuleSchedule" (Prefect's class
/// names, e.g. for a run's `created_by.display_value`).
[[nodiscard]] std::string_view schedule_type_name(const schedule& s);

} // namespace deployd::events
