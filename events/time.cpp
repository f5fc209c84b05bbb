#include "events/time.hpp"

#include <cstdio>

namespace deployd::events {

namespace {

struct civil {
  std::int64_t y;
  unsigned m;
  unsigned d;
};

// Howard Hinnant's civil_from_days.
civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size())
    return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned table[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : table[m - 1];
}

} // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string format_timestamp(timestamp t) {
  constexpr std::int64_t per_day = 86'400'000'000;
  std::int64_t days = t.micros / per_day;
  std::int64_t rem = t.micros % per_day;
  if (rem < 0) {
    rem += per_day;
    --days;
  }
  const civil c = civil_from_days(days);
  const auto secs = rem / 1'000'000;
  const auto frac = rem % 1'000'000;
  if (c.y >= 0 && c.y <= 9999) {
    // The common case without snprintf (a tenth of the cost of rendering a
    // deployment's rows): the same digits as the format below.
    char buf[27];
    auto put = [&](std::size_t at, std::int64_t v, int width) {
      for (int i = width; i-- > 0; v /= 10)
        buf[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
    };
    put(0, c.y, 4);
    buf[4] = '-';
    put(5, c.m, 2);
    buf[7] = '-';
    put(8, c.d, 2);
    buf[10] = 'T';
    put(11, secs / 3600, 2);
    buf[13] = ':';
    put(14, secs / 60 % 60, 2);
    buf[16] = ':';
    put(17, secs % 60, 2);
    if (frac == 0) {
      buf[19] = 'Z';
      return std::string(buf, 20);
    }
    buf[19] = '.';
    put(20, frac, 6);
    buf[26] = 'Z';
    return std::string(buf, 27);
  }
  char buf[48];
  int n = 0;
  if (frac == 0)
    n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                      static_cast<long long>(c.y), c.m, c.d,
                      static_cast<long long>(secs / 3600),
                      static_cast<long long>(secs / 60 % 60),
                      static_cast<long long>(secs % 60));
  else
    n = std::snprintf(
        buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
        static_cast<long long>(c.y), c.m, c.d,
        static_cast<long long>(secs / 3600),
        static_cast<long long>(secs / 60 % 60),
        static_cast<long long>(secs % 60), static_cast<long long>(frac));
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<timestamp> parse_timestamp(std::string_view s) {
  int y = 0, mo = 0, d = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' ||
      !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 ||
      static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo)))
    return std::nullopt;
  std::int64_t micros =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) *
      86'400'000'000;
  if (s.size() == 10)
    return timestamp{micros};
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
    return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  if (!digits(s, 11, 2, h) || s.size() < 16 || s[13] != ':' ||
      !digits(s, 14, 2, mi))
    return std::nullopt;
  std::size_t pos = 16;
  std::int64_t frac = 0;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, sec))
      return std::nullopt;
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      int n = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (n < 6) {
          frac = frac * 10 + (s[pos] - '0');
          ++n;
        }
        ++pos;
      }
      if (n == 0)
        return std::nullopt;
      for (; n < 6; ++n)
        frac *= 10;
    }
  }
  if (h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  micros +=
      (static_cast<std::int64_t>(h) * 3600 + mi * 60 + sec) * 1'000'000 + frac;
  if (pos == s.size())
    return timestamp{micros};
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size())
    return timestamp{micros};
  if (s[pos] != '+' && s[pos] != '-')
    return std::nullopt;
  const int sign = s[pos] == '-' ? -1 : 1;
  int oh = 0, om = 0;
  if (!digits(s, pos + 1, 2, oh))
    return std::nullopt;
  std::size_t after = pos + 3;
  if (after < s.size() && s[after] == ':')
    ++after;
  if (!digits(s, after, 2, om) || after + 2 != s.size() || oh > 23 || om > 59)
    return std::nullopt;
  micros -= sign * (static_cast<std::int64_t>(oh) * 3600 + om * 60) * 1'000'000;
  return timestamp{micros};
}

} // namespace deployd::events
