// Cron expressions with croniter's syntax and next-time semantics.
//
// The reference server validates `CronSchedule.cron` with croniter's
// `is_valid` (the copy vendored in Prefect) and computes fire times with
// croniter on naive wall-clock times, so this file reproduces both: 5 fields
// (minute hour day-of-month month day-of-week), 6 (plus seconds) or 7 (plus
// year); names `jan`-`dec` and `sun`-`sat` in any case; `*`, ranges, steps,
// lists, wrap-around ranges (`fri-mon`), `L` in day-of-month, `nth` weekdays
// (`mon#2`, `L5`), `?` in the day fields, the aliases `@yearly`,
// `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, and
// croniter's `R` random forms (`W` and hashed `H` are not croniter syntax).
// Time zones are not known here: callers convert to and from wall time.
// Knows nothing of schedules' JSON, HTTP, storage or CAF.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string_view>

namespace deployd::events {

/// A cron expression expanded into the sets of values each field accepts.
///
/// `any_day` / `any_weekday` record whether croniter expanded the field to
/// `*`; that, not the set, decides between day-of-month OR day-of-week and
/// AND.
struct cron_expression {
  std::bitset<60> seconds;  ///< only second 0 for a 5-field expression
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     ///< days of month 1..31
  bool last_day = false;    ///< `L`: the last day of the month
  bool any_day = false;
  std::bitset<13> months;   ///< 1..12
  std::bitset<7> weekdays;  ///< 0 = Sunday
  bool any_weekday = false;
  /// Per weekday (0 = Sunday): bit n-1 for "n-th in the month" (n = 1..5),
  /// bit 5 for "last in the month". When any is set, croniter uses only these
  /// for the day-of-week test.
  std::array<std::uint8_t, 7> nth_weekdays{};
  bool has_nth = false;
  bool has_seconds = false;  ///< 6 or 7 fields: one-second resolution
  bool any_year = true;
  std::bitset<130> years;    ///< 1970..2099 when `any_year` is false

  bool operator==(const cron_expression&) const = default;
};

/// Parses `text` as croniter's `croniter.is_valid` would accept it. Returns
/// nothing for an expression croniter rejects (including hashed `H` fields,
/// which need a hash id Prefect never passes). A random `R` field is expanded
/// to the lowest value of its range instead of a random one. Pure; callable
/// from any thread.
[[nodiscard]] std::optional<cron_expression> parse_cron(std::string_view text);

/// The first wall-clock time strictly after `after_wall_seconds` (seconds
/// since 1970-01-01T00:00:00 on a zone-less clock) that matches `expr`, as
/// croniter's `get_next` computes it on naive datetimes; `day_or` is
/// `CronSchedule.day_or`. Returns nothing when no match exists within 50
/// years (croniter raises there). Pure; callable from any thread.
[[nodiscard]] std::optional<std::int64_t>
cron_next(const cron_expression& expr, std::int64_t after_wall_seconds,
          bool day_or);

} // namespace deployd::events
