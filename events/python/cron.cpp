#include "events/python/cron.hpp"

#include <date/date.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace deployd::events {

namespace {

// -- croniter's tables -------------------------------------------------------

constexpr int minute_field = 0;
constexpr int hour_field = 1;
constexpr int day_field = 2;
constexpr int month_field = 3;
constexpr int dow_field = 4;
constexpr int second_field = 5;
constexpr int year_field = 6;

struct bounds {
  int low;
  int high;
};
constexpr std::array<bounds, 7> ranges{{
  {0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}, {0, 59}, {1970, 2099}}};
constexpr std::array<std::size_t, 7> len_means_all{60, 24, 31, 12, 7, 60, 130};

// Markers for the non-numeric members of an expanded field.
constexpr int star = -2;
constexpr int last = -1;
// nth value meaning "last such weekday of the month" (croniter's 'l').
constexpr int nth_last = 6;

constexpr std::array<std::string_view, 12> month_names{
  "jan", "feb", "mar", "apr", "may", "jun",
  "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> weekday_names{
  "sun", "mon", "tue", "wed", "thu", "fri", "sat"};

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

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

// int() of an all-digit string; saturates far above every cron range.
int to_int(std::string_view digits) {
  long long v = 0;
  for (char c : digits) {
    v = v * 10 + (c - '0');
    if (v > 1'000'000'000)
      return 1'000'000'001;
  }
  return static_cast<int>(v);
}

bool is_word(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_';
  });
}

template <std::size_t N>
bool is_name(const std::array<std::string_view, N>& names,
             std::string_view s) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

// `name(-name)?` for one of the name tables.
template <std::size_t N>
bool is_name_range(const std::array<std::string_view, N>& names,
                   std::string_view s) {
  const auto dash = s.find('-');
  if (dash == std::string_view::npos)
    return is_name(names, s);
  return is_name(names, s.substr(0, dash)) &&
         is_name(names, s.substr(dash + 1));
}

// croniter._alphaconv: a month or weekday name, or `l` in day-of-month.
std::optional<int> alphaconv(int field, std::string_view key) {
  if (field == day_field && key == "l")
    return last;
  if (field == month_field)
    for (std::size_t i = 0; i < month_names.size(); ++i)
      if (month_names[i] == key)
        return static_cast<int>(i) + 1;
  if (field == dow_field)
    for (std::size_t i = 0; i < weekday_names.size(); ++i)
      if (weekday_names[i] == key)
        return static_cast<int>(i);
  return std::nullopt;
}

// croniter.value_alias: day 0 -> 1 only with 6 fields, weekday 7 -> 0 only
// with 5 fields; month 0 is never aliased.
int value_alias(int value, int field, std::size_t fields) {
  if (field == day_field && value == 0 && fields == 6)
    return 1;
  if (field == dow_field && value == 7 && fields == 5)
    return 0;
  return value;
}

struct step_match {
  std::string low;
  std::string high;
  std::string step;
};

// step_search_re: ^([^-]+)-([^-/]+)(/(\d+))?$
std::optional<step_match> step_search(std::string_view t) {
  const auto dash = t.find('-');
  if (dash == std::string_view::npos || dash == 0)
    return std::nullopt;
  const auto rest = t.substr(dash + 1);
  if (rest.find('-') != std::string_view::npos)
    return std::nullopt;
  const auto slash = rest.find('/');
  step_match m{std::string(t.substr(0, dash)),
               std::string(rest.substr(0, slash)), "1"};
  if (m.high.empty())
    return std::nullopt;
  if (slash != std::string_view::npos) {
    m.step = std::string(rest.substr(slash + 1));
    if (!all_digits(m.step))
      return std::nullopt;
  }
  return m;
}

// HashExpander with hash_id=None: `h` forms are rejected, `r` forms take the
// lowest value of their range where croniter draws a random one.
std::optional<std::string> expand_random(int field, const std::string& expr) {
  if (expr.empty() || (expr[0] != 'h' && expr[0] != 'r'))
    return expr;
  std::string_view rest = std::string_view(expr).substr(1);
  std::string begin;
  std::string end;
  std::string divisor;
  if (!rest.empty() && rest[0] == '(') {
    const auto close = rest.find(')');
    if (close == std::string_view::npos)
      return expr;
    const auto inner = rest.substr(1, close - 1);
    const auto dash = inner.find('-');
    if (dash == std::string_view::npos || !all_digits(inner.substr(0, dash)) ||
        !all_digits(inner.substr(dash + 1)))
      return expr;
    begin = std::string(inner.substr(0, dash));
    end = std::string(inner.substr(dash + 1));
    rest = rest.substr(close + 1);
  }
  if (!rest.empty()) {
    if (rest[0] != '/' || !all_digits(rest.substr(1)))
      return expr;
    divisor = std::string(rest.substr(1));
  }
  if (expr[0] == 'h')
    return std::nullopt;  // "Hashed definitions must include hash_id"
  if (!begin.empty() && to_int(begin) >= to_int(end))
    return std::nullopt;
  if (!divisor.empty() && to_int(divisor) == 0)
    return std::nullopt;
  const auto& r = ranges[static_cast<std::size_t>(field)];
  if (!begin.empty() && !divisor.empty())
    return std::to_string(to_int(begin)) + "-" + std::to_string(to_int(end)) +
           "/" + std::to_string(to_int(divisor));
  if (!begin.empty())
    return std::to_string(to_int(begin));
  if (!divisor.empty())
    return std::to_string(r.low) + "-" + std::to_string(r.high) + "/" +
           std::to_string(to_int(divisor));
  return std::to_string(r.low);
}

struct expanded_field {
  std::set<int> values;  // may hold `star` and `last`
  bool any = false;       // croniter's list holds "*"
  bool collapsed = false; // croniter replaced the whole list by ["*"]
};

// One field of croniter._expand. `nth` collects weekday -> {1..5, nth_last}.
std::optional<expanded_field>
expand_field(int field, std::string expr,
             const std::vector<std::string>& expressions,
             std::map<int, std::set<int>>& nth_map) {
  const auto fields = expressions.size();
  const auto& r = ranges[static_cast<std::size_t>(field)];
  auto random = expand_random(field, expr);
  if (!random)
    return std::nullopt;
  expr = *random;
  if (expr.find('?') != std::string::npos) {
    if (expr != "?" || (field != day_field && field != dow_field))
      return std::nullopt;
    expr = "*";
  }

  auto e_list = split(expr, ',');
  std::set<int> res;
  while (!e_list.empty()) {
    std::string e = std::move(e_list.back());
    e_list.pop_back();
    std::optional<int> nth;

    if (field == dow_field) {
      // special_dow_re: `<weekday-range|month-range|word>#<n>` or `l<n>`.
      if (const auto hash = e.find('#'); hash != std::string::npos) {
        const std::string he = e.substr(0, hash);
        const std::string digits = e.substr(hash + 1);
        if (all_digits(digits) &&
            (is_name_range(weekday_names, he) ||
             is_name_range(month_names, he) || is_word(he))) {
          const int n = to_int(digits);
          if (n < 1 || n > 5)
            return std::nullopt;
          nth = n;
          e = he;
        }
      } else if (e.size() >= 2 && e[0] == 'l' && all_digits(e.substr(1))) {
        nth = nth_last;
        e = e.substr(1);
      }
    }

    std::string t = e;
    if (t.size() >= 3 && t[0] == '*' && t[1] == '/')
      t = std::to_string(r.low) + "-" + std::to_string(r.high) + t.substr(1);
    auto m = step_search(t);
    if (!m) {
      // ^(.+)\/(.+)$ is greedy: the last '/' with text on both sides.
      t = e;
      for (auto slash = e.size() >= 2 ? e.size() - 2 : 0; slash >= 1;
           --slash)
        if (e[slash] == '/') {
          t = e.substr(0, slash) + "-" + std::to_string(r.high) +
              e.substr(slash);
          break;
        }
      m = step_search(t);
    }

    if (m) {
      std::string low = m->low;
      std::string high = m->high;
      if (field == day_field && high == "l")
        high = "31";
      for (auto* band : {&low, &high})
        if (!all_digits(*band)) {
          const auto a = alphaconv(field, *band);
          if (!a)
            return std::nullopt;
          *band = *a == last ? "l" : std::to_string(*a);
        }
      if (!all_digits(low) || !all_digits(high))
        return std::nullopt;
      const int lo = value_alias(to_int(low), field, fields);
      const int hi = value_alias(to_int(high), field, fields);
      const int step = to_int(m->step);
      if (std::max(lo, hi) > r.high || step == 0)
        return std::nullopt;

      std::vector<int> rng;
      if (lo > hi) {
        for (int i = lo; i <= r.high; i += step)
          rng.push_back(i);
        int to_skip = 0;
        const int whole = r.high - r.low + 1;
        const int already_skipped = r.high - rng.back();
        const int curpos = rng.back() - r.low;
        if (curpos + step > whole && already_skipped < step)
          to_skip = step - already_skipped;
        for (int i = r.low + to_skip; i <= hi; i += step)
          rng.push_back(i);
      } else if (lo == hi) {
        for (int i = r.low; i <= r.high; i += step)
          rng.push_back(i);
      } else {
        for (int i = lo; i <= hi; i += step)
          rng.push_back(i);
      }
      for (int item : rng) {
        std::string text = std::to_string(item);
        if (field == dow_field && nth && *nth != nth_last)
          text += "#" + std::to_string(*nth);
        if (std::find(e_list.begin(), e_list.end(), text) == e_list.end())
          e_list.push_back(std::move(text));
      }
      continue;
    }

    if (!t.empty() && t[0] == '-')
      return std::nullopt;
    int value = 0;
    if (t == "*") {
      value = star;
    } else if (all_digits(t)) {
      value = value_alias(to_int(t), field, fields);
    } else {
      const auto a = alphaconv(field, t);
      if (!a)
        return std::nullopt;
      value = *a == last ? last : value_alias(*a, field, fields);
    }
    if (value != star && value != last && (value < r.low || value > r.high))
      return std::nullopt;
    res.insert(value);
    if (field == dow_field && nth)
      nth_map[value].insert(*nth);
  }

  expanded_field out;
  out.any = res.contains(star);
  out.collapsed = res.size() == 1 && out.any;
  if (res.size() == len_means_all[static_cast<std::size_t>(field)]) {
    const bool keep_list =
      (field == day_field &&
       expressions[dow_field].find('*') == std::string::npos) ||
      (field == dow_field &&
       expressions[day_field].find('*') == std::string::npos);
    if (!keep_list)
      out.any = out.collapsed = true;
  }
  out.values = std::move(res);
  return out;
}

template <std::size_t N>
void fill(std::bitset<N>& bits, const expanded_field& f, int offset = 0) {
  if (f.any) {
    bits.set();
    return;
  }
  for (int v : f.values)
    if (v >= offset && static_cast<std::size_t>(v - offset) < N)
      bits.set(static_cast<std::size_t>(v - offset));
}

constexpr std::int64_t seconds_per_day = 86'400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

// Earliest time of day >= `from` (seconds) whose hour, minute and second
// are all allowed.
std::optional<std::int64_t> first_time_of_day(const cron_expression& e,
                                              std::int64_t from) {
  const auto from_h = static_cast<int>(from / 3600);
  const auto from_m = static_cast<int>(from / 60 % 60);
  const auto from_s = static_cast<int>(from % 60);
  for (int h = from_h; h < 24; ++h) {
    if (!e.hours[static_cast<std::size_t>(h)])
      continue;
    for (int m = h == from_h ? from_m : 0; m < 60; ++m) {
      if (!e.minutes[static_cast<std::size_t>(m)])
        continue;
      const int s0 = h == from_h && m == from_m ? from_s : 0;
      for (int s = s0; s < 60; ++s)
        if (e.seconds[static_cast<std::size_t>(s)])
          return std::int64_t{h} * 3600 + m * 60 + s;
    }
  }
  return std::nullopt;
}

// Which day-of-month / day-of-week test one croniter search applies.
struct day_rule {
  bool any_day;
  bool any_weekday;
};

bool day_matches(const cron_expression& e, const date::year_month_day& ymd,
                 day_rule rule) {
  const auto day = static_cast<unsigned>(ymd.day());
  const auto dim = static_cast<unsigned>(
    date::year_month_day_last{ymd.year(), date::month_day_last{ymd.month()}}
      .day());
  if (!rule.any_day && !e.days[day] && !(e.last_day && day == dim))
    return false;
  const auto wd = date::weekday{date::sys_days{ymd}}.c_encoding();
  // With nth weekdays croniter tests only those, even when it treats the
  // field as "*" for day_or.
  if (e.has_nth) {
    const auto bits = e.nth_weekdays[wd];
    const unsigned index = (day - 1) / 7;  // 0-based occurrence in the month
    return (bits >> index & 1U) != 0 || ((bits >> 5 & 1U) != 0 && day + 7 > dim);
  }
  return rule.any_weekday || e.weekdays[wd];
}

// croniter._calc: the first matching wall time >= start within 50 years.
std::optional<std::int64_t> search(const cron_expression& e, std::int64_t start,
                                   day_rule rule) {
  const std::int64_t first_day = floor_div(start, seconds_per_day);
  const std::int64_t first_tod = start - first_day * seconds_per_day;
  const auto first_year = static_cast<int>(
    date::year_month_day{date::sys_days{date::days{first_day}}}.year());
  for (std::int64_t d = first_day;; ++d) {
    const date::year_month_day ymd{date::sys_days{date::days{d}}};
    const int year = static_cast<int>(ymd.year());
    if (year > first_year + 50)
      return std::nullopt;
    if (!e.any_year) {
      if (year > ranges[year_field].high)
        return std::nullopt;
      if (year < ranges[year_field].low ||
          !e.years[static_cast<std::size_t>(year - ranges[year_field].low)])
        continue;
    }
    if (!e.months[static_cast<unsigned>(ymd.month())] ||
        !day_matches(e, ymd, rule))
      continue;
    if (const auto tod = first_time_of_day(e, d == first_day ? first_tod : 0))
      return d * seconds_per_day + *tod;
  }
}

} // namespace

std::optional<cron_expression> parse_cron(std::string_view text) {
  std::string lowered(text);
  for (auto& c : lowered)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  static const std::map<std::string, std::string, std::less<>> aliases{
    {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},  {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"}};
  if (const auto it = aliases.find(lowered); it != aliases.end())
    lowered = it->second;

  const auto expressions = split_whitespace(lowered);
  if (expressions.size() < 5 || expressions.size() > 7)
    return std::nullopt;

  std::map<int, std::set<int>> nth_map;
  std::vector<expanded_field> fields;
  for (std::size_t i = 0; i < expressions.size(); ++i) {
    auto f =
      expand_field(static_cast<int>(i), expressions[i], expressions, nth_map);
    if (!f)
      return std::nullopt;
    fields.push_back(std::move(*f));
  }

  // Mixing plain weekdays with nth weekdays is CroniterUnsupportedSyntaxError
  // unless the plain ones cover the whole week.
  if (!nth_map.empty()) {
    const auto& dow = fields[dow_field];
    std::set<int> listed = dow.collapsed ? std::set<int>{star} : dow.values;
    const auto distinct = listed.size();
    for (const auto& [weekday, unused] : nth_map)
      listed.erase(weekday);
    listed.erase(star);
    if (!listed.empty() && distinct != len_means_all[dow_field])
      return std::nullopt;
  }

  cron_expression e;
  fill(e.minutes, fields[minute_field]);
  fill(e.hours, fields[hour_field]);
  e.any_day = fields[day_field].any;
  fill(e.days, fields[day_field]);
  e.last_day = fields[day_field].values.contains(last);
  fill(e.months, fields[month_field]);
  e.any_weekday = fields[dow_field].any;
  fill(e.weekdays, fields[dow_field]);
  for (const auto& [weekday, nths] : nth_map)
    for (int n : nths)
      if (weekday >= 0 && weekday < 7)
        e.nth_weekdays[static_cast<std::size_t>(weekday)] |=
          static_cast<std::uint8_t>(1U << (n - 1));
  e.has_nth = !nth_map.empty();
  e.has_seconds = fields.size() > 5;
  if (e.has_seconds)
    fill(e.seconds, fields[second_field]);
  else
    e.seconds.set(0);
  if (fields.size() == 7) {
    e.any_year = fields[year_field].any;
    fill(e.years, fields[year_field], ranges[year_field].low);
  }
  return e;
}

std::optional<std::int64_t> cron_next(const cron_expression& e,
                                      std::int64_t after_wall_seconds,
                                      bool day_or) {
  std::int64_t start = after_wall_seconds + (e.has_seconds ? 1 : 60);
  if (!e.has_seconds)
    start = floor_div(start, 60) * 60;
  if (!day_or || e.any_day || e.any_weekday)
    return search(e, start, day_rule{e.any_day, e.any_weekday});
  // croniter's day_or: the earlier of a day-of-month-only and a
  // day-of-week-only search; it fails when either finds nothing.
  const auto by_day = search(e, start, day_rule{false, true});
  const auto by_weekday = search(e, start, day_rule{true, false});
  if (!by_day || !by_weekday)
    return std::nullopt;
  return std::min(*by_day, *by_weekday);
}

} // namespace deployd::events
