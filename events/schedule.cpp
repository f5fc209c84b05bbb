#include "events/schedule.hpp"

#include "events/python/cron.hpp"
#include "events/python/json_text.hpp"
#include "events/time.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <libical/ical.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <expected>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace deployd::events {

namespace {

constexpr std::string_view interval_tag =
  "function-after[validate_timezone(), IntervalSchedule]";
constexpr std::string_view cron_tag =
  "function-after[validate_timezone(), CronSchedule]";
constexpr std::string_view rrule_tag = "RRuleSchedule";

constexpr std::int64_t micros_per_second = 1'000'000;
constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

// Prefect's MAX_ITERATIONS: candidates examined per get_dates call.
constexpr std::size_t max_iterations = 1000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// Python's len() of a UTF-8 string: code points.
std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Python's s[:n] of a UTF-8 string.
std::string_view first_code_points(std::string_view s, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == n)
      return s.substr(0, i);
  return s;
}

bool is_python_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f' || (c >= '\x1c' && c <= '\x1f');
}

// str.split() with no separator, for ASCII whitespace.
std::vector<std::string> split_whitespace(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_python_space(s[i]))
      ++i;
    const auto begin = i;
    while (i < s.size() && !is_python_space(s[i]))
      ++i;
    if (i > begin)
      out.emplace_back(s.substr(begin, i - begin));
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (;;) {
    const auto at = s.find(sep, begin);
    out.emplace_back(s.substr(begin, at - begin));
    if (at == std::string_view::npos)
      return out;
    begin = at + 1;
  }
}

// -- time zones ---------------------------------------------------------------

// Python's zoneinfo.available_timezones() over /usr/share/zoneinfo: every
// TZif file except those under right/ and posix/, and not "posixrules".
struct zone_names {
  std::set<std::string, std::less<>> all;
  std::vector<std::string> pattern_names;  // sorted, without "localtime"
  std::string pattern;                     // pattern_names joined by '|'
};

const zone_names& zones() {
  static const zone_names names = [] {
    zone_names out;
    namespace fs = std::filesystem;
    const fs::path root = "/usr/share/zoneinfo";
    std::error_code ec;
    fs::recursive_directory_iterator it(root, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto& entry = *it;
      const auto rel = entry.path().lexically_relative(root).generic_string();
      if (it.depth() == 0 && entry.is_directory(ec) &&
          (rel == "right" || rel == "posix")) {
        it.disable_recursion_pending();
        continue;
      }
      if (!entry.is_regular_file(ec))
        continue;
      std::ifstream file(entry.path(), std::ios::binary);
      char magic[4] = {};
      if (file.read(magic, 4) && std::string_view(magic, 4) == "TZif")
        out.all.insert(rel);
    }
    out.all.erase("posixrules");
    for (const auto& name : out.all)
      if (name.find("localtime") == std::string::npos)
        out.pattern_names.push_back(name);
    for (const auto& name : out.pattern_names) {
      if (!out.pattern.empty())
        out.pattern += '|';
      out.pattern += name;
    }
    return out;
  }();
  return names;
}

// Prefect's TimeZone type: an unanchored regex search with all zone names
// joined by '|'. Zone names hold no regex syntax except '+' after "GMT" in
// Etc/GMT+N, and any such match also contains the name "GMT", so the search
// is a substring test.
bool matches_zone_pattern(std::string_view s) {
  const auto& names = zones().pattern_names;
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return s.find(n) != std::string_view::npos;
  });
}

const date::time_zone* find_zone(const std::optional<std::string>& name) {
  if (!name || name->empty() || !is_known_timezone(*name))
    return nullptr;
  try {
    return date::locate_zone(*name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// UTC microseconds -> wall-clock microseconds in `zone` (UTC when null).
std::int64_t to_wall(const date::time_zone* zone, timestamp t) {
  if (zone == nullptr)
    return t.micros;
  using namespace std::chrono;
  const date::sys_seconds at{seconds{floor_div(t.micros, micros_per_second)}};
  const auto info = zone->get_info(at);
  return t.micros + info.offset.count() * micros_per_second;
}

// How a wall time is placed when the zone skips or repeats it.
enum class wall_policy : std::uint8_t {
  skip_gap = 1,       // cron: a skipped time does not fire
  shift_forward = 2,  // interval ("compatible"): 02:30 in a gap -> 03:30
  dateutil = 3,       // rrule: a gap time takes the offset after the shift
};

// Wall-clock microseconds in `zone` -> UTC; a repeated time takes its first
// occurrence.
std::optional<timestamp> from_wall(const date::time_zone* zone,
                                   std::int64_t wall, wall_policy policy) {
  if (zone == nullptr)
    return timestamp{wall};
  using namespace std::chrono;
  const date::local_seconds at{seconds{floor_div(wall, micros_per_second)}};
  const auto info = zone->get_info(at);
  auto offset = info.first.offset;
  if (info.result == date::local_info::nonexistent) {
    if (policy == wall_policy::skip_gap)
      return std::nullopt;
    if (policy == wall_policy::dateutil)
      offset = info.second.offset;
  }
  return timestamp{wall - offset.count() * micros_per_second};
}

std::string invalid_timezone_message(const std::string& tz) {
  return "Invalid timezone: \"" + tz +
         "\" (specify in IANA tzdata format, for example, America/New_York)";
}

// -- timedelta (pydantic-core / speedate) ------------------------------------

struct duration {
  bool positive = true;
  std::uint64_t day = 0;
  std::uint64_t second = 0;
  std::uint64_t microsecond = 0;
};

using duration_result = std::expected<duration, std::string_view>;

constexpr std::string_view too_short = "input is too short";
constexpr std::string_view extra_characters =
  "unexpected extra characters at the end of the input";
constexpr std::string_view invalid_char_hour = "invalid character in hour";
constexpr std::string_view invalid_char_minute = "invalid character in minute";
constexpr std::string_view invalid_char_second = "invalid character in second";
constexpr std::string_view out_of_range_minute =
  "minute value is outside expected range of 0-59";
constexpr std::string_view out_of_range_second =
  "second value is outside expected range of 0-59";
constexpr std::string_view second_fraction_missing =
  "second fraction digits missing after `.`";
constexpr std::string_view duration_invalid_number =
  "invalid digit in duration";
constexpr std::string_view duration_t_repeated =
  "`t` character repeated in duration";
constexpr std::string_view duration_invalid_fraction =
  "quantity fraction invalid in duration";
constexpr std::string_view duration_invalid_time_unit =
  "quantity invalid in time part of duration";
constexpr std::string_view duration_invalid_date_unit =
  "quantity invalid in date part of duration";
constexpr std::string_view duration_invalid_days =
  "\"day\" identifier in duration not correctly formatted";
constexpr std::string_view duration_value_too_large =
  "a numeric value in the duration is too large";
constexpr std::string_view duration_hour_value_too_large =
  "durations may not exceed 999,999,999 hours";
constexpr std::string_view duration_days_too_large =
  "durations may not exceed 999,999,999 days";

constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// speedate's parse_number: digits into a u32.
std::expected<std::pair<std::uint64_t, std::size_t>, std::string_view>
duration_number(std::string_view s) {
  if (s.empty() || !is_digit(s[0]))
    return std::unexpected(duration_invalid_number);
  std::uint64_t value = 0;
  std::size_t pos = 0;
  while (pos < s.size() && is_digit(s[pos])) {
    value = value * 10 + static_cast<std::uint64_t>(s[pos] - '0');
    if (value > u32_max)
      return std::unexpected(duration_value_too_large);
    ++pos;
  }
  return std::pair{value, pos};
}

duration_result normalize_duration(duration d) {
  d.second += d.microsecond / 1'000'000;
  d.microsecond %= 1'000'000;
  if (d.second > u32_max)
    return std::unexpected(duration_value_too_large);
  d.day += d.second / 86'400;
  d.second %= 86'400;
  if (d.day > 999'999'999)
    return std::unexpected(duration_days_too_large);
  return d;
}

duration_result parse_iso_duration(std::string_view b) {
  bool got_t = false;
  bool last_had_fraction = false;
  std::size_t pos = 0;
  duration d;
  while (pos < b.size()) {
    if (b[pos] == 'T') {
      if (got_t)
        return std::unexpected(duration_t_repeated);
      got_t = true;
      ++pos;
      continue;
    }
    const auto number = duration_number(b.substr(pos));
    if (!number)
      return std::unexpected(number.error());
    auto [value, used] = *number;
    pos += used;
    std::optional<double> fraction;
    if (pos < b.size() && (b[pos] == '.' || b[pos] == ',')) {
      double decimal = 0;
      double denominator = 1;
      ++pos;
      while (pos < b.size() && is_digit(b[pos])) {
        decimal = decimal * 10 + (b[pos] - '0');
        denominator *= 10;
        ++pos;
      }
      fraction = decimal / denominator;
    }
    if (last_had_fraction)
      return std::unexpected(duration_invalid_fraction);
    if (fraction)
      last_had_fraction = true;
    const char unit = pos < b.size() ? b[pos] : '\0';
    if (got_t) {
      const std::uint64_t mult = unit == 'H' ? 3600 : unit == 'M' ? 60
                                 : unit == 'S'  ? 1
                                                : 0;
      if (mult == 0)
        return std::unexpected(duration_invalid_time_unit);
      d.second += mult * value;
      if (d.second > u32_max)
        return std::unexpected(duration_value_too_large);
      if (fraction) {
        const double extra = *fraction * static_cast<double>(mult);
        const double whole = std::trunc(extra);
        d.second += static_cast<std::uint64_t>(whole);
        d.microsecond +=
          static_cast<std::uint64_t>(std::round((extra - whole) * 1e6));
      }
    } else {
      const std::uint64_t mult = unit == 'Y' ? 365 : unit == 'M' ? 30
                                 : unit == 'W'  ? 7
                                 : unit == 'D'  ? 1
                                                : 0;
      if (mult == 0)
        return std::unexpected(duration_invalid_date_unit);
      d.day += value * mult;
      if (d.day > u32_max)
        return std::unexpected(duration_value_too_large);
      if (fraction) {
        const double extra_days = *fraction * static_cast<double>(mult);
        const double whole_days = std::trunc(extra_days);
        d.day += static_cast<std::uint64_t>(whole_days);
        const double extra_seconds = (extra_days - whole_days) * 86'400.0;
        const double whole_seconds = std::trunc(extra_seconds);
        d.second += static_cast<std::uint64_t>(whole_seconds);
        d.microsecond += static_cast<std::uint64_t>(
          std::round((extra_seconds - whole_seconds) * 1e6));
      }
    }
    ++pos;
  }
  if (pos < 2)
    return std::unexpected(too_short);
  return d;
}

// speedate's Duration::parse_time: `H+:MM[:SS[.ffffff]]`, hours unbounded.
duration_result parse_duration_time(std::string_view b) {
  if (b.size() < 5)
    return std::unexpected(too_short);
  const auto colon = b.find(':');
  if (colon == std::string_view::npos)
    return std::unexpected(invalid_char_hour);
  const auto hour_part = b.substr(0, colon);
  auto rest = b.substr(colon + 1);
  if (hour_part.size() > 10)
    return std::unexpected(duration_hour_value_too_large);
  std::uint64_t hour = 0;
  for (char c : hour_part) {
    if (!is_digit(c))
      return std::unexpected(invalid_char_hour);
    hour = hour * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (hour > 2'400'000'000ULL)
    return std::unexpected(duration_hour_value_too_large);
  if (rest.size() > 12)
    rest = rest.substr(0, 12);  // microseconds_precision = truncate
  // PureTime::parse on "00:" + rest
  if (3 + rest.size() < 5)
    return std::unexpected(too_short);
  if (!is_digit(rest[0]) || !is_digit(rest[1]))
    return std::unexpected(invalid_char_minute);
  const auto minute = static_cast<std::uint64_t>((rest[0] - '0') * 10 +
                                                 (rest[1] - '0'));
  if (minute > 59)
    return std::unexpected(out_of_range_minute);
  std::uint64_t second = 0;
  std::uint64_t micro = 0;
  std::size_t pos = 2;
  if (pos < rest.size() && rest[pos] == ':') {
    if (pos + 1 >= rest.size() || !is_digit(rest[pos + 1]))
      return std::unexpected(invalid_char_second);
    if (pos + 2 >= rest.size() || !is_digit(rest[pos + 2]))
      return std::unexpected(invalid_char_second);
    second = static_cast<std::uint64_t>((rest[pos + 1] - '0') * 10 +
                                        (rest[pos + 2] - '0'));
    if (second > 59)
      return std::unexpected(out_of_range_second);
    pos += 3;
    if (pos < rest.size() && (rest[pos] == '.' || rest[pos] == ',')) {
      ++pos;
      std::size_t digits = 0;
      while (pos < rest.size() && is_digit(rest[pos])) {
        if (digits < 6)
          micro = micro * 10 + static_cast<std::uint64_t>(rest[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0)
        return std::unexpected(second_fraction_missing);
      for (; digits < 6; ++digits)
        micro *= 10;
    }
  }
  if (pos < rest.size())
    return std::unexpected(extra_characters);
  duration d;
  d.day = hour / 24;
  d.second = minute * 60 + second + (hour % 24) * 3600;
  d.microsecond = micro;
  return d;
}

duration_result parse_days_time(std::string_view b) {
  const auto number = duration_number(b);
  if (!number)
    return std::unexpected(number.error());
  auto [day, pos] = *number;
  auto rest = b.substr(pos);
  if (rest.size() >= 2 && rest[0] == ' ' && (rest[1] == 'd' || rest[1] == 'D'))
    rest = rest.substr(2);
  else if (!rest.empty() && (rest[0] == 'd' || rest[0] == 'D'))
    rest = rest.substr(1);
  else
    return std::unexpected(duration_invalid_days);
  if (rest.starts_with("ays") || rest.starts_with("AYS"))
    rest = rest.substr(3);
  else if (rest.starts_with("ay") || rest.starts_with("AY"))
    rest = rest.substr(2);
  else if (!rest.empty() && (rest[0] == 'a' || rest[0] == 'A'))
    return std::unexpected(duration_invalid_days);
  if (rest.starts_with(", "))
    rest = rest.substr(2);
  else if (rest.starts_with(",") || rest.starts_with(" "))
    rest = rest.substr(1);
  duration d;
  d.day = day;
  if (rest.empty())
    return d;
  const auto t = parse_duration_time(rest);
  if (!t)
    return t;
  if (t->day > 0)
    return std::unexpected(duration_hour_value_too_large);
  d.second = t->second;
  d.microsecond = t->microsecond;
  return d;
}

duration_result parse_duration(std::string_view b) {
  bool positive = true;
  if (!b.empty() && (b[0] == '-' || b[0] == '+')) {
    positive = b[0] == '+';
    b.remove_prefix(1);
  }
  duration_result d = std::unexpected(too_short);
  if (b.empty())
    return d;
  if (b[0] == 'P')
    d = parse_iso_duration(b.substr(1));
  else if (b.find_first_of("dD") != std::string_view::npos || b.size() < 5)
    d = parse_days_time(b);
  else
    d = parse_duration_time(b);
  if (!d)
    return d;
  d->positive = positive;
  return normalize_duration(*d);
}

std::int64_t signed_micros(const duration& d) {
  const auto total = static_cast<std::int64_t>(d.day) * micros_per_day +
                     static_cast<std::int64_t>(d.second) * micros_per_second +
                     static_cast<std::int64_t>(d.microsecond);
  return d.positive ? total : -total;
}

// pydantic's lax timedelta from a Python value decoded from JSON: str (ISO
// 8601 duration or [-]D days, HH:MM:SS), int or float (seconds; bool is an
// int). Appends at the current location.
std::optional<std::int64_t> timedelta_micros(validator& v, const json& value) {
  const auto parsing_error = [&](std::string_view reason) {
    v.fail("time_delta_parsing",
           "Input should be a valid timedelta, " + std::string(reason), value,
           json{{"error", reason}});
    return std::nullopt;
  };
  if (value.is_string()) {
    const auto d = parse_duration(value.get_ref<const std::string&>());
    if (!d)
      return parsing_error(d.error());
    return signed_micros(*d);
  }
  if (value.is_boolean())
    return value.get<bool>() ? micros_per_second : 0;
  if (value.is_number_integer() &&
      !(value.is_number_unsigned() &&
        value.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
    const auto total = value.get<std::int64_t>();
    duration d;
    d.positive = total >= 0;
    const std::uint64_t magnitude = total >= 0
                                      ? static_cast<std::uint64_t>(total)
                                      : 0 - static_cast<std::uint64_t>(total);
    d.day = magnitude / 86'400;
    d.second = magnitude % 86'400;
    const auto n = normalize_duration(d);
    if (!n)
      return parsing_error(n.error());
    return signed_micros(*n);
  }
  if (is_numeric(value)) {
    const double total = to_double(value);
    duration d;
    d.positive = total >= 0;
    const double magnitude = std::fabs(total);
    if (magnitude / 86'400.0 >= 4294967296.0)
      return parsing_error(duration_days_too_large);
    d.day = static_cast<std::uint64_t>(magnitude / 86'400.0);
    d.second = static_cast<std::uint64_t>(magnitude) % 86'400;
    d.microsecond = static_cast<std::uint64_t>(
      std::round((magnitude - std::trunc(magnitude)) * 1e6));
    const auto n = normalize_duration(d);
    if (!n)
      return parsing_error(n.error());
    return signed_micros(*n);
  }
  v.fail("time_delta_type", "Input should be a valid timedelta", value);
  return std::nullopt;
}

// -- rrulestr (python-dateutil) ----------------------------------------------

// A date-time as dateutil.parser.parse read it; Prefect later relabels every
// such value with the schedule's zone, so only the wall clock matters.
struct wall_time {
  std::int64_t seconds = 0;  // wall-clock seconds since 1970-01-01T00:00:00
  bool aware = false;        // had `Z`, an offset or a known TZID
};

enum class freq : std::uint8_t {
  yearly = 0,
  monthly = 1,
  weekly = 2,
  daily = 3,
  hourly = 4,
  minutely = 5,
  secondly = 6,
};

constexpr std::array<std::string_view, 7> freq_names{
  "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"};
constexpr std::array<std::string_view, 7> weekday_names{
  "MO", "TU", "WE", "TH", "FR", "SA", "SU"};

struct rule {
  std::optional<freq> frequency;
  std::int64_t interval = 1;
  std::optional<std::int64_t> count;
  std::optional<wall_time> until;
  std::optional<int> wkst;
  struct weekday {
    std::optional<std::int64_t> n;
    int day = 0;  // 0 = Monday
  };
  std::vector<weekday> byweekday;
  bool has_byweekday = false;
  // BYSETPOS, BYMONTH, BYMONTHDAY, BYYEARDAY, BYEASTER, BYWEEKNO, BYHOUR,
  // BYMINUTE, BYSECOND in that order.
  std::array<std::optional<std::vector<std::int64_t>>, 9> lists;
};

constexpr std::array<std::string_view, 9> list_names{
  "BYSETPOS",   "BYMONTH",  "BYMONTHDAY", "BYYEARDAY", "BYEASTER",
  "BYWEEKNO",   "BYHOUR",   "BYMINUTE",   "BYSECOND"};
constexpr std::size_t bysetpos_index = 0;
constexpr std::size_t byeaster_index = 4;

struct rule_set {
  std::vector<rule> rrules;
  std::vector<rule> exrules;
  std::vector<wall_time> rdates;
  std::vector<wall_time> exdates;
  std::optional<wall_time> dtstart;
  bool is_set = false;  // dateutil returned an rruleset
};

using parse_error = std::string;

// Python int(): optional sign, digits with single underscores between them.
std::optional<std::int64_t> python_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !is_digit(s.front()) || !is_digit(s.back()))
    return std::nullopt;
  std::int64_t v = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (!is_digit(s[i + 1]))
        return std::nullopt;
      continue;
    }
    if (!is_digit(s[i]))
      return std::nullopt;
    if (v < std::numeric_limits<std::int64_t>::max() / 10 - 10)
      v = v * 10 + (s[i] - '0');
  }
  return negative ? -v : v;
}

bool two_digits(std::string_view s, std::size_t at, int& out) {
  if (at + 2 > s.size() || !is_digit(s[at]) || !is_digit(s[at + 1]))
    return false;
  out = (s[at] - '0') * 10 + (s[at + 1] - '0');
  return true;
}

// The forms of dateutil.parser.parse that rrule texts use: 20200101,
// 20200101T090000[Z], 20200101T0900, 2020-01-01[T09:00[:00[.f]]][Z|+hh:mm].
std::expected<wall_time, parse_error> parse_date(std::string_view s) {
  const auto unknown = [&] {
    return std::unexpected("Unknown string format: " + std::string(s));
  };
  if (s.empty())
    return std::unexpected(std::string("String does not contain a date: "));
  int y1 = 0, y2 = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  std::size_t pos = 0;
  const bool dashed = s.size() >= 10 && s[4] == '-';
  if (!two_digits(s, 0, y1) || !two_digits(s, 2, y2))
    return unknown();
  if (dashed) {
    if (!two_digits(s, 5, mo) || s[7] != '-' || !two_digits(s, 8, d))
      return unknown();
    pos = 10;
  } else {
    if (!two_digits(s, 4, mo) || !two_digits(s, 6, d))
      return unknown();
    pos = 8;
  }
  bool aware = false;
  if (pos < s.size() && (s[pos] == 'T' || (dashed && s[pos] == ' '))) {
    ++pos;
    if (!two_digits(s, pos, h))
      return unknown();
    pos += 2;
    if (dashed && pos < s.size() && s[pos] == ':')
      ++pos;
    if (!two_digits(s, pos, mi))
      return unknown();
    pos += 2;
    if (dashed && pos < s.size() && s[pos] == ':')
      ++pos;
    if (two_digits(s, pos, sec)) {
      pos += 2;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        while (pos < s.size() && is_digit(s[pos]))
          ++pos;
      }
    }
  }
  if (pos < s.size()) {
    if (s.substr(pos) == "Z") {
      aware = true;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh = 0, om = 0;
      const auto rest = s.substr(pos + 1);
      if (!(rest.size() == 4 || (rest.size() == 5 && rest[2] == ':')) ||
          !two_digits(rest, 0, oh) || !two_digits(rest, rest.size() - 2, om))
        return unknown();
      aware = true;
    } else {
      return unknown();
    }
  }
  if (mo < 1 || mo > 12)
    return std::unexpected("month must be in 1..12: " + std::string(s));
  const date::year_month_day ymd{date::year{y1 * 100 + y2},
                                 date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return std::unexpected("day is out of range for month: " + std::string(s));
  if (h > 23)
    return std::unexpected("hour must be in 0..23: " + std::string(s));
  if (mi > 59)
    return std::unexpected("minute must be in 0..59: " + std::string(s));
  if (sec > 59)
    return std::unexpected("second must be in 0..59: " + std::string(s));
  const auto days = date::sys_days{ymd}.time_since_epoch().count();
  return wall_time{static_cast<std::int64_t>(days) * 86'400 + h * 3600 +
                     mi * 60 + sec,
                   aware};
}

template <std::size_t N>
std::optional<int> index_of(const std::array<std::string_view, N>& names,
                            std::string_view s) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s)
      return static_cast<int>(i);
  return std::nullopt;
}

// _rrulestr._handle_BYWEEKDAY: "+1MO" or "MO(+1)" items.
bool parse_byweekday(std::string_view value, rule& r) {
  for (const auto& item : split(value, ',')) {
    std::string_view wday = item;
    std::optional<std::int64_t> n;
    std::string_view w;
    if (wday.find('(') != std::string_view::npos) {
      const auto parts = split(wday, '(');
      w = std::string_view(wday).substr(0, wday.find('('));
      std::string_view inner = parts[1];
      if (!inner.empty())
        inner.remove_suffix(1);
      n = python_int(inner);
      if (!n)
        return false;
    } else if (!wday.empty()) {
      std::size_t i = 0;
      while (i < wday.size() &&
             std::string_view("+-0123456789").find(wday[i]) !=
               std::string_view::npos)
        ++i;
      if (i == wday.size())
        --i;  // Python's loop variable stops at the last index
      const auto prefix = wday.substr(0, i);
      w = wday.substr(i);
      if (!prefix.empty()) {
        n = python_int(prefix);
        if (!n)
          return false;
      }
    } else {
      return false;  // "Invalid (empty) BYDAY specification."
    }
    const auto day = index_of(weekday_names, w);
    if (!day || (n && *n == 0))
      return false;
    r.byweekday.push_back(rule::weekday{n, *day});
  }
  r.has_byweekday = true;
  return true;
}

// _rrulestr._parse_rfc_rrule followed by rrule.__init__'s checks.
std::expected<rule, parse_error>
parse_rule_line(std::string_view line, const std::optional<wall_time>& dtstart) {
  std::string_view value = line;
  if (line.find(':') != std::string_view::npos) {
    const auto parts = split(line, ':');
    if (parts.size() != 2)
      return std::unexpected(
        std::string("too many values to unpack (expected 2)"));
    if (parts[0] != "RRULE")
      return std::unexpected(std::string("unknown parameter name"));
    value = line.substr(line.find(':') + 1);
  }
  rule r;
  for (const auto& pair : split(value, ';')) {
    const auto kv = split(pair, '=');
    if (kv.size() < 2)
      return std::unexpected(
        std::string("not enough values to unpack (expected 2, got 1)"));
    if (kv.size() > 2)
      return std::unexpected(
        std::string("too many values to unpack (expected 2)"));
    const std::string name = upper(kv[0]);
    const std::string val = upper(kv[1]);
    const auto invalid = [&] {
      return std::unexpected("invalid '" + name + "': " + val);
    };
    if (name == "FREQ") {
      const auto f = index_of(freq_names, val);
      if (!f)
        return invalid();
      r.frequency = static_cast<freq>(*f);
    } else if (name == "INTERVAL" || name == "COUNT") {
      const auto n = python_int(val);
      if (!n)
        return invalid();
      if (name == "COUNT")
        r.count = *n;
      else
        r.interval = *n;
    } else if (name == "UNTIL") {
      const auto until = parse_date(val);
      if (!until)
        return invalid();
      r.until = *until;
    } else if (name == "WKST") {
      const auto w = index_of(weekday_names, val);
      if (!w)
        return invalid();
      r.wkst = *w;
    } else if (name == "BYDAY" || name == "BYWEEKDAY") {
      r.byweekday.clear();
      if (!parse_byweekday(val, r))
        return invalid();
    } else if (const auto index = index_of(list_names, name)) {
      std::vector<std::int64_t> values;
      for (const auto& item : split(val, ',')) {
        const auto n = python_int(item);
        if (!n)
          return invalid();
        values.push_back(*n);
      }
      r.lists[static_cast<std::size_t>(*index)] = std::move(values);
    } else {
      return std::unexpected("unknown parameter '" + name + "'");
    }
  }
  if (!r.frequency)
    return std::unexpected(std::string(
      "rrule.__init__() missing 1 required positional argument: 'freq'"));
  if (dtstart && r.until && dtstart->aware != r.until->aware)
    return std::unexpected(std::string("RRULE UNTIL values must be specified "
                                       "in UTC when DTSTART is timezone-aware"));
  if (const auto& setpos = r.lists[bysetpos_index])
    for (const auto pos : *setpos)
      if (pos == 0 || pos < -366 || pos > 366)
        return std::unexpected(std::string(
          "bysetpos must be between 1 and 366, or between -366 and -1"));
  return r;
}

// _rrulestr._parse_date_value for DTSTART and EXDATE.
std::expected<std::vector<wall_time>, parse_error>
parse_date_values(std::string_view value, const std::vector<std::string>& parms,
                  const std::vector<std::string>& tzid_names) {
  bool value_found = false;
  bool zoned = false;
  for (const auto& parm : parms) {
    if (parm.starts_with("TZID=")) {
      const auto key = parm.substr(parm.rfind("TZID=") + 5);
      for (const auto& name : tzid_names)
        if (upper(name) == key && is_known_timezone(name))
          zoned = true;
      continue;
    }
    if (parm != "VALUE=DATE-TIME" && parm != "VALUE=DATE")
      return std::unexpected("unsupported parm: " + parm);
    if (value_found)
      return std::unexpected("Duplicate value parameter found in: " + parm);
    value_found = true;
  }
  std::vector<wall_time> out;
  for (const auto& text : split(value, ',')) {
    auto parsed = parse_date(text);
    if (!parsed)
      return std::unexpected(parsed.error());
    if (zoned) {
      if (parsed->aware)
        return std::unexpected(
          std::string("DTSTART/EXDATE specifies multiple timezone"));
      parsed->aware = true;
    }
    out.push_back(*parsed);
  }
  return out;
}

// dateutil.rrule.rrulestr(text, dtstart=default_dtstart) with unfold=False
// and forceset=False; the error is the message of the ValueError (or other
// exception) dateutil raises.
std::expected<rule_set, parse_error>
parse_rrulestr(std::string_view text,
               const std::optional<wall_time>& default_dtstart) {
  std::vector<std::string> tzid_names;
  for (auto at = text.find("TZID="); at != std::string_view::npos;
       at = text.find("TZID=", at + 1)) {
    const auto begin = at + 5;
    const auto colon = text.find(':', begin);
    if (colon != std::string_view::npos && colon > begin)
      tzid_names.emplace_back(text.substr(begin, colon - begin));
  }
  const std::string s = upper(text);
  const auto lines = split_whitespace(s);
  if (lines.empty())
    return std::unexpected(std::string("empty string"));

  rule_set out;
  out.dtstart = default_dtstart;
  if (lines.size() == 1 &&
      (s.find(':') == std::string::npos || s.starts_with("RRULE:"))) {
    auto r = parse_rule_line(lines[0], out.dtstart);
    if (!r)
      return std::unexpected(r.error());
    out.rrules.push_back(std::move(*r));
    return out;
  }

  std::vector<std::string> rrule_values;
  std::vector<std::string> rdate_values;
  std::vector<std::string> exrule_values;
  for (const auto& line : lines) {
    std::string name = "RRULE";
    std::string value = line;
    if (const auto colon = line.find(':'); colon != std::string::npos) {
      name = line.substr(0, colon);
      value = line.substr(colon + 1);
    }
    auto parms = split(name, ';');
    name = parms[0];
    parms.erase(parms.begin());
    if (name == "RRULE") {
      if (!parms.empty())
        return std::unexpected("unsupported RRULE parm: " + parms[0]);
      rrule_values.push_back(value);
    } else if (name == "RDATE") {
      for (const auto& parm : parms)
        if (parm != "VALUE=DATE-TIME")
          return std::unexpected("unsupported RDATE parm: " + parm);
      rdate_values.push_back(value);
    } else if (name == "EXRULE") {
      if (!parms.empty())
        return std::unexpected("unsupported EXRULE parm: " + parms[0]);
      exrule_values.push_back(value);
    } else if (name == "EXDATE") {
      auto dates = parse_date_values(value, parms, tzid_names);
      if (!dates)
        return std::unexpected(dates.error());
      out.exdates.insert(out.exdates.end(), dates->begin(), dates->end());
    } else if (name == "DTSTART") {
      auto dates = parse_date_values(value, parms, tzid_names);
      if (!dates)
        return std::unexpected(dates.error());
      if (dates->size() != 1)
        return std::unexpected("Multiple DTSTART values specified:" + value);
      out.dtstart = dates->front();
    } else {
      return std::unexpected("unsupported property: " + name);
    }
  }
  out.is_set = rrule_values.size() > 1 || !rdate_values.empty() ||
               !exrule_values.empty() || !out.exdates.empty();
  if (!out.is_set && rrule_values.empty())
    return std::unexpected(std::string("list index out of range"));
  for (const auto& value : rrule_values) {
    auto r = parse_rule_line(value, out.dtstart);
    if (!r)
      return std::unexpected(r.error());
    out.rrules.push_back(std::move(*r));
  }
  for (const auto& value : rdate_values)
    for (const auto& text_date : split(value, ',')) {
      const auto d = parse_date(text_date);
      if (!d)
        return std::unexpected(d.error());
      out.rdates.push_back(*d);
    }
  for (const auto& value : exrule_values) {
    auto r = parse_rule_line(value, out.dtstart);
    if (!r)
      return std::unexpected(r.error());
    out.exrules.push_back(std::move(*r));
  }
  return out;
}

// -- rrule occurrences (libical) ---------------------------------------------

constexpr std::int64_t default_anchor_wall = 1'577'836'800;  // 2020-01-01

std::string two(std::int64_t v) {
  return (v < 10 ? "0" : "") + std::to_string(v);
}

// YYYYMMDDTHHMMSS of a wall time.
std::string compact_wall(std::int64_t wall_seconds) {
  const auto day = floor_div(wall_seconds, 86'400);
  const auto tod = wall_seconds - day * 86'400;
  const date::year_month_day ymd{date::sys_days{date::days{day}}};
  std::string year = std::to_string(static_cast<int>(ymd.year()));
  while (year.size() < 4)
    year.insert(year.begin(), '0');
  return year + two(static_cast<unsigned>(ymd.month())) +
         two(static_cast<unsigned>(ymd.day())) + "T" + two(tod / 3600) +
         two(tod / 60 % 60) + two(tod % 60);
}

icaltimetype to_ical(std::int64_t wall_seconds) {
  const auto day = floor_div(wall_seconds, 86'400);
  const auto tod = wall_seconds - day * 86'400;
  const date::year_month_day ymd{date::sys_days{date::days{day}}};
  icaltimetype t = icaltime_null_time();
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<int>(tod / 3600);
  t.minute = static_cast<int>(tod / 60 % 60);
  t.second = static_cast<int>(tod % 60);
  t.is_date = 0;
  t.zone = nullptr;
  return t;
}

std::int64_t from_ical(const icaltimetype& t) {
  return days_from_civil(t.year, static_cast<unsigned>(t.month),
                         static_cast<unsigned>(t.day)) *
           86'400 +
         t.hour * 3600 + t.minute * 60 + t.second;
}

std::string join(const std::vector<std::int64_t>& values) {
  std::string out;
  for (const auto v : values) {
    if (!out.empty())
      out += ',';
    out += std::to_string(v);
  }
  return out;
}

// The RFC 5545 text libical reads for a parsed rule; nothing for rules
// libical cannot express (BYEASTER, a non-positive INTERVAL).
std::optional<std::string> ical_rule_text(const rule& r) {
  if (r.lists[byeaster_index] || r.interval < 1)
    return std::nullopt;
  std::string out =
    "FREQ=" + std::string(freq_names[static_cast<std::size_t>(*r.frequency)]);
  out += ";INTERVAL=" + std::to_string(r.interval);
  if (r.count)
    out += ";COUNT=" + std::to_string(*r.count);
  else if (r.until)
    out += ";UNTIL=" + compact_wall(r.until->seconds);
  if (r.wkst)
    out += ";WKST=" + std::string(weekday_names[static_cast<std::size_t>(*r.wkst)]);
  if (r.has_byweekday) {
    out += ";BYDAY=";
    for (std::size_t i = 0; i < r.byweekday.size(); ++i) {
      if (i != 0)
        out += ',';
      if (r.byweekday[i].n)
        out += std::to_string(*r.byweekday[i].n);
      out += weekday_names[static_cast<std::size_t>(r.byweekday[i].day)];
    }
  }
  for (std::size_t i = 0; i < list_names.size(); ++i)
    if (r.lists[i] && i != byeaster_index)
      out += ";" + std::string(list_names[i]) + "=" + join(*r.lists[i]);
  return out;
}

// Occurrences (wall seconds) of `r` from `dtstart` that are > `after`, at most
// `limit` of them.
std::vector<std::int64_t> rule_occurrences(const rule& r, std::int64_t dtstart,
                                           std::int64_t after,
                                           std::size_t limit) {
  std::vector<std::int64_t> out;
  const auto text = ical_rule_text(r);
  if (!text)
    return out;
  const icalrecurrencetype recur = icalrecurrencetype_from_string(text->c_str());
  if (recur.freq == ICAL_NO_RECURRENCE)
    return out;
  icalrecur_iterator* it = icalrecur_iterator_new(recur, to_ical(dtstart));
  if (it == nullptr)
    return out;
  // Jumping ahead is only allowed without COUNT and before UNTIL.
  if (!r.count && after > dtstart &&
      icalrecur_iterator_set_start(it, to_ical(after)) == 0) {
    icalrecur_iterator_free(it);
    if (r.until && after >= r.until->seconds)
      return out;
    it = icalrecur_iterator_new(recur, to_ical(dtstart));
    if (it == nullptr)
      return out;
  }
  // Bounded so that a COUNT rule walked from an old DTSTART cannot spin.
  for (std::size_t steps = 0; steps < 2'000'000 && out.size() < limit;
       ++steps) {
    const icaltimetype t = icalrecur_iterator_next(it);
    if (icaltime_is_null_time(t))
      break;
    if (const auto wall = from_ical(t); wall > after)
      out.push_back(wall);
  }
  icalrecur_iterator_free(it);
  return out;
}

std::vector<timestamp> rrule_runs(const rrule_schedule& s, timestamp after,
                                  std::size_t n) {
  const auto parsed =
    parse_rrulestr(s.rrule, wall_time{default_anchor_wall, false});
  if (!parsed)
    return {};
  const auto* zone = find_zone(s.timezone);
  const std::int64_t dtstart =
    parsed->dtstart ? parsed->dtstart->seconds : default_anchor_wall;
  // Two days of margin: wall time and instants differ by the zone offset.
  const std::int64_t from =
    floor_div(to_wall(zone, after), micros_per_second) - 2 * 86'400;
  const std::size_t limit = n + max_iterations;

  std::set<std::int64_t> walls;
  for (const auto& r : parsed->rrules)
    for (const auto w : rule_occurrences(r, dtstart, from, limit))
      walls.insert(w);
  for (const auto& d : parsed->rdates)
    if (d.seconds > from)
      walls.insert(d.seconds);
  for (const auto& d : parsed->exdates)
    walls.erase(d.seconds);
  if (!walls.empty())
    for (const auto& r : parsed->exrules)
      for (const auto w :
           rule_occurrences(r, dtstart, from, walls.size() + limit)) {
        if (w > *walls.rbegin())
          break;
        walls.erase(w);
      }

  std::set<timestamp> runs;
  for (const auto w : walls) {
    const auto t = from_wall(zone, w * micros_per_second, wall_policy::dateutil);
    if (t && *t > after)
      runs.insert(*t);
  }
  std::vector<timestamp> out(runs.begin(), runs.end());
  if (out.size() > n)
    out.resize(n);
  return out;
}

// -- interval and cron occurrences -------------------------------------------

std::vector<timestamp> interval_runs(const interval_schedule& s,
                                     timestamp after, std::size_t n) {
  std::vector<timestamp> out;
  const std::int64_t step = s.interval_micros;
  if (step <= 0 || n == 0)
    return out;
  const auto* zone = find_zone(s.timezone);
  const std::int64_t days = step / micros_per_day;
  const std::int64_t rest = step - days * micros_per_day;
  const std::int64_t anchor_wall = to_wall(zone, s.anchor_date);
  const auto occurrence = [&](std::int64_t k) {
    if (days == 0 || k == 0)
      return timestamp{s.anchor_date.micros + k * step};
    const auto base = from_wall(zone, anchor_wall + k * days * micros_per_day,
                                wall_policy::shift_forward);
    return timestamp{base->micros + k * rest};
  };
  // A DST shift moves an occurrence by hours only, so the estimate is within
  // a step or two.
  std::int64_t k = floor_div(after.micros - s.anchor_date.micros, step);
  while (occurrence(k) > after)
    --k;
  while (occurrence(k) <= after)
    ++k;
  for (std::size_t guard = 0; out.size() < n && guard < n + max_iterations;
       ++guard, ++k) {
    const auto t = occurrence(k);
    if (out.empty() || t > out.back())
      out.push_back(t);
  }
  return out;
}

std::vector<timestamp> cron_runs(const cron_schedule& s, timestamp after,
                                 std::size_t n) {
  std::vector<timestamp> out;
  const auto expr = parse_cron(s.cron);
  if (!expr)
    return out;
  const auto* zone = find_zone(s.timezone);
  std::int64_t wall = floor_div(to_wall(zone, after), micros_per_second);
  for (std::size_t guard = 0; out.size() < n && guard < n + max_iterations;
       ++guard) {
    const auto next = cron_next(*expr, wall, s.day_or);
    if (!next)
      break;
    wall = *next;
    const auto t =
      from_wall(zone, wall * micros_per_second, wall_policy::skip_gap);
    if (t && *t > after && (out.empty() || *t > out.back()))
      out.push_back(*t);
  }
  return out;
}

// -- validation of the three models ------------------------------------------

// Prefect's validate_cron_string.
std::optional<std::string> cron_error(const std::string& cron) {
  if (!parse_cron(cron))
    return "Invalid cron string: \"" + cron + "\"";
  for (const auto& field : split_whitespace(cron))
    if (field == "R" || field == "H" || field == "r" || field == "h")
      return "Random and Hashed expressions are unsupported, received: \"" +
             cron + "\"";
  return std::nullopt;
}

// Prefect's validate_rrule_string.
std::optional<std::string> rrule_error(const std::string& rrule) {
  if (const auto parsed = parse_rrulestr(rrule, std::nullopt); !parsed)
    return "Invalid RRule string \"" + rrule + "\": " + parsed.error();
  if (const auto length = code_points(rrule); length > max_rrule_length)
    return "Invalid RRule string \"" +
           std::string(first_code_points(rrule, 40)) +
           "...\"\nMax length is " + std::to_string(max_rrule_length) +
           ", got " + std::to_string(length);
  return std::nullopt;
}

// An `Optional[str]` field: absent or null gives nothing.
std::optional<std::string> optional_string(validator& v, const json& input,
                                           const char* key) {
  const auto it = input.find(key);
  if (it == input.end() || it->is_null())
    return std::nullopt;
  auto guard = v.at(key);
  return v.string(*it);
}

std::optional<schedule> validate_interval(validator& v, const json& input,
                                          timestamp now) {
  auto tag = v.at(interval_tag);
  const auto before = v.count();
  std::optional<std::int64_t> micros;
  if (const auto it = input.find("interval"); it == input.end()) {
    v.missing(input, "interval");
  } else {
    auto guard = v.at("interval");
    micros = timedelta_micros(v, *it);
    if (micros && *micros <= 0)
      v.value_error("interval must be positive", *it);
  }
  timestamp anchor = now;
  if (const auto it = input.find("anchor_date"); it != input.end()) {
    auto guard = v.at("anchor_date");
    // The reference's anchor_date is a pendulum DateTime: a string that
    // pydantic cannot read goes to pendulum's parser, whose ParserError
    // pydantic reports as a value_error.
    if (it->is_string() && !parse_timestamp(it->get_ref<const std::string&>()))
      v.value_error("Unable to parse string [" +
                        it->get_ref<const std::string&>() + "]",
                    *it);
    else if (const auto t = v.datetime(*it))
      anchor = *t;
  }
  auto tz = optional_string(v, input, "timezone");
  v.forbid_extra(input, {"interval", "anchor_date", "timezone"});
  if (v.count() != before)
    return std::nullopt;
  if (tz && !tz->empty() && !is_known_timezone(*tz)) {
    v.value_error(invalid_timezone_message(*tz), input);
    return std::nullopt;
  }
  // Inferred from the anchor date, which JSON only gives as an offset: UTC.
  if (!tz)
    tz = "UTC";
  return interval_schedule{*micros, anchor, std::move(tz)};
}

std::optional<schedule> validate_cron(validator& v, const json& input) {
  auto tag = v.at(cron_tag);
  const auto before = v.count();
  std::optional<std::string> cron;
  if (const auto it = input.find("cron"); it == input.end()) {
    v.missing(input, "cron");
  } else {
    auto guard = v.at("cron");
    cron = v.string(*it);
    if (cron)
      if (const auto error = cron_error(*cron))
        v.value_error(*error, *it);
  }
  auto tz = optional_string(v, input, "timezone");
  bool day_or = true;
  if (const auto it = input.find("day_or"); it != input.end()) {
    auto guard = v.at("day_or");
    if (const auto b = v.boolean(*it))
      day_or = *b;
  }
  v.forbid_extra(input, {"cron", "timezone", "day_or"});
  if (v.count() != before)
    return std::nullopt;
  if (tz && !tz->empty() && !is_known_timezone(*tz)) {
    v.value_error(invalid_timezone_message(*tz), input);
    return std::nullopt;
  }
  return cron_schedule{std::move(*cron), std::move(tz), day_or};
}

std::optional<schedule> validate_rrule(validator& v, const json& input) {
  auto tag = v.at(rrule_tag);
  const auto before = v.count();
  std::optional<std::string> rrule;
  if (const auto it = input.find("rrule"); it == input.end()) {
    v.missing(input, "rrule");
  } else {
    auto guard = v.at("rrule");
    rrule = v.string(*it);
    if (rrule)
      if (const auto error = rrule_error(*rrule))
        v.value_error(*error, *it);
  }
  std::optional<std::string> tz = "UTC";
  if (const auto it = input.find("timezone"); it != input.end()) {
    auto guard = v.at("timezone");
    if (it->is_null())
      tz.reset();
    else if ((tz = v.string(*it)) && !matches_zone_pattern(*tz)) {
      const auto& pattern = zones().pattern;
      v.fail("string_pattern_mismatch",
             "String should match pattern '" + pattern + "'", *it,
             json{{"pattern", pattern}});
    }
  }
  v.forbid_extra(input, {"rrule", "timezone"});
  if (v.count() != before)
    return std::nullopt;
  return rrule_schedule{std::move(*rrule), std::move(tz)};
}

json interval_seconds_json(std::int64_t micros) {
  if (micros % micros_per_second == 0)
    return micros / micros_per_second;
  return static_cast<double>(micros) / 1e6;
}

} // namespace

bool is_known_timezone(std::string_view name) {
  return zones().all.contains(name);
}

std::string python_datetime_str(const schedule& s, timestamp t) {
  const auto& tz = std::visit(
      [](const auto& x) -> const std::optional<std::string>& {
        return x.timezone;
      },
      s);
  const std::int64_t wall = to_wall(find_zone(tz), t);
  std::string out = format_timestamp(timestamp{wall});
  out[10] = ' ';
  out.pop_back(); // the `Z`
  const std::int64_t offset_minutes = (wall - t.micros) / (60 * micros_per_second);
  const std::int64_t magnitude = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%c%02lld:%02lld", offset_minutes < 0 ? '-' : '+',
                static_cast<long long>(magnitude / 60),
                static_cast<long long>(magnitude % 60));
  return out + buf;
}

std::string_view schedule_type_name(const schedule& s) {
  switch (s.index()) {
    case 0:
      return "IntervalSchedule";
    case 1:
      return "CronSchedule";
    default:
      return "RRuleSchedule";
  }
}

std::optional<schedule> validate_schedule(validator& v, const json& input,
                                          timestamp now) {
  if (!input.is_object()) {
    // The members are PrefectBaseModels (from_attributes=True), so pydantic
    // reports model_attributes_type rather than model_type.
    for (const auto tag : {interval_tag, cron_tag, rrule_tag})
      v.fail("model_attributes_type",
             "Input should be a valid dictionary or object to extract fields "
             "from",
             input, nullptr, json(tag));
    return std::nullopt;
  }
  // The members' required keys and extra="forbid" make the shapes disjoint,
  // so pydantic's smart union accepts at most one; the others' errors are
  // dropped when one matches.
  const auto before = v.count();
  const auto keep_only = [&](std::optional<schedule> s) {
    v.errors().resize(before);
    return s;
  };
  if (auto s = validate_interval(v, input, now))
    return keep_only(std::move(s));
  if (auto s = validate_cron(v, input))
    return keep_only(std::move(s));
  auto s = validate_rrule(v, input);
  if (!s)
    return std::nullopt;
  s = keep_only(std::move(s));
  auto& rrule = std::get<rrule_schedule>(*s);
  auto normalized = normalize_rrule(rrule.rrule, rrule.timezone, now);
  if (normalized != rrule.rrule) {
    // Prefect rebuilds the model, which checks the length again.
    if (const auto length = code_points(normalized); length > max_rrule_length) {
      v.value_error("Invalid RRule string \"" +
                      std::string(first_code_points(normalized, 40)) +
                      "...\"\nMax length is " +
                      std::to_string(max_rrule_length) + ", got " +
                      std::to_string(length),
                    input);
      return std::nullopt;
    }
    rrule.rrule = std::move(normalized);
  }
  return s;
}

std::string normalize_rrule(std::string_view rrule,
                            const std::optional<std::string>& timezone,
                            timestamp now) {
  if (upper(rrule).find("DTSTART") != std::string::npos)
    return std::string(rrule);
  const auto parsed =
    parse_rrulestr(rrule, wall_time{default_anchor_wall, false});
  if (!parsed)
    return std::string(rrule);
  std::int64_t anchor = default_anchor_wall;
  if (!parsed->is_set && parsed->rrules.size() == 1) {
    const auto& r = parsed->rrules.front();
    if (!r.count && (r.frequency == freq::secondly ||
                     r.frequency == freq::minutely)) {
      const std::int64_t period =
        (r.frequency == freq::secondly ? 1 : 60) * r.interval;
      const std::int64_t now_wall = to_wall(find_zone(timezone), now);
      const std::int64_t delta =
        now_wall - default_anchor_wall * micros_per_second;
      if (delta > 0 && period > 0)
        anchor += floor_div(delta, period * micros_per_second) * period;
    }
  }
  return "DTSTART:" + compact_wall(anchor) + "\n" + std::string(rrule);
}

json to_json(const schedule& s) {
  return std::visit(
    [](const auto& value) -> json {
      using type = std::decay_t<decltype(value)>;
      const auto tz = [](const std::optional<std::string>& name) -> json {
        return name ? json(*name) : json(nullptr);
      };
      if constexpr (std::is_same_v<type, interval_schedule>)
        return json{{"interval", interval_seconds_json(value.interval_micros)},
                    {"anchor_date", format_timestamp(value.anchor_date)},
                    {"timezone", tz(value.timezone)}};
      else if constexpr (std::is_same_v<type, cron_schedule>)
        return json{{"cron", value.cron},
                    {"timezone", tz(value.timezone)},
                    {"day_or", value.day_or}};
      else
        return json{{"rrule", value.rrule}, {"timezone", tz(value.timezone)}};
    },
    s);
}

json schedule_response(const json& stored) {
  json out = stored;
  if (out.is_object())
    if (const auto it = out.find("interval");
        it != out.end() && it->is_number())
      *it = it->get<double>();
  return out;
}

std::optional<schedule> schedule_from_json(const json& value) {
  if (!value.is_object())
    return std::nullopt;
  const auto tz = [&]() -> std::optional<std::string> {
    const auto it = value.find("timezone");
    if (it == value.end() || !it->is_string())
      return std::nullopt;
    return it->get<std::string>();
  };
  if (const auto it = value.find("interval");
      it != value.end() && it->is_number()) {
    const auto anchor = value.find("anchor_date");
    if (anchor == value.end() || !anchor->is_string())
      return std::nullopt;
    const auto t = parse_timestamp(anchor->get<std::string>());
    if (!t)
      return std::nullopt;
    const std::int64_t micros =
      it->is_number_integer()
        ? it->get<std::int64_t>() * micros_per_second
        : static_cast<std::int64_t>(std::llround(it->get<double>() * 1e6));
    return interval_schedule{micros, *t, tz()};
  }
  if (const auto it = value.find("cron"); it != value.end() && it->is_string()) {
    const auto day_or = value.find("day_or");
    return cron_schedule{it->get<std::string>(), tz(),
                         day_or == value.end() || !day_or->is_boolean() ||
                           day_or->get<bool>()};
  }
  if (const auto it = value.find("rrule"); it != value.end() && it->is_string())
    return rrule_schedule{it->get<std::string>(), tz()};
  return std::nullopt;
}

std::vector<timestamp> next_runs(const schedule& s, timestamp after,
                                 std::size_t n) {
  return std::visit(
    [&](const auto& value) {
      using type = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<type, interval_schedule>)
        return interval_runs(value, after, n);
      else if constexpr (std::is_same_v<type, cron_schedule>)
        return cron_runs(value, after, n);
      else
        return rrule_runs(value, after, n);
    },
    s);
}

} // namespace deployd::events
