#include "observe/log.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace deployd::observe {

namespace {

using namespace std::chrono_literals;

// How often the writer thread writes what is buffered (warnings and errors
// are written at once).
constexpr auto flush_interval = 50ms;

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return; // nowhere to report it
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// The buffer and its writer thread. Never destroyed (a thread may log
// while the process exits); `running` says whether the thread takes lines.
struct sink {
  std::mutex mutex;
  std::condition_variable wake;
  std::string pending;
  bool running = false;
  bool urgent = false;
  bool stopping = false;
  std::size_t limit = 4u << 20;
  int fd = 2;
  std::thread writer;

  void run() {
    std::string out;
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait_for(lock, flush_interval, [this] { return urgent || stopping; });
      out.swap(pending);
      urgent = false;
      const bool stop = stopping;
      lock.unlock();
      write_all(fd, out);
      out.clear();
      lock.lock();
      if (stop && pending.empty())
        return;
    }
  }
};

sink& the_sink() {
  static auto* s = new sink; // intentionally never destroyed
  return *s;
}

std::atomic<std::uint8_t> min_level{static_cast<std::uint8_t>(level::info)};
std::atomic<std::uint8_t> format{static_cast<std::uint8_t>(log_format::logfmt)};
std::atomic<std::uint64_t> dropped{0};

// -- formatting ----------------------------------------------------------------

// "2026-12-06T14:44:04.123Z", UTC, the seconds part cached per thread.
void append_timestamp(std::string& out) {
  using namespace std::chrono;
  thread_local std::time_t cached_second = -1;
  thread_local char cached[32];
  const auto now = system_clock::now();
  const auto since = now.time_since_epoch();
  const auto second = duration_cast<seconds>(since);
  const auto t = static_cast<std::time_t>(second.count());
  if (t != cached_second) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = t;
  }
  out += cached;
  const auto ms = duration_cast<milliseconds>(since - second).count();
  char frac[6] = {'.', static_cast<char>('0' + ms / 100),
                  static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10), 'Z', 0};
  out += frac;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool logfmt_plain(std::string_view s) {
  if (s.empty())
    return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '=' || c == '"' || c == '\\' || u == 0x7f)
      return false;
  }
  return true;
}

void append_logfmt_string(std::string& out, std::string_view s) {
  if (logfmt_plain(s))
    out += s;
  else
    append_json_string(out, s); // logfmt quotes with the same escapes
}

void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v,
                               std::chars_format::fixed, 3);
  out.append(buf, r.ptr);
}

template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_value(std::string& out, log_format f, const field::value_type& v) {
  std::visit(
    [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, std::string_view>) {
        if (f == log_format::json)
          append_json_string(out, x);
        else
          append_logfmt_string(out, x);
      } else if constexpr (std::is_same_v<T, bool>) {
        out += x ? "true" : "false";
      } else if constexpr (std::is_same_v<T, double>) {
        append_number(out, x);
      } else {
        append_int(out, x);
      }
    },
    v);
}

void append_line(std::string& out, log_format f, level l,
                 std::string_view timestamp, std::string_view msg,
                 std::initializer_list<field> fields) {
  if (f == log_format::json) {
    out += "{\"ts\":\"";
    out += timestamp;
    out += "\",\"level\":\"";
    out += to_string(l);
    out += "\",\"msg\":";
    append_json_string(out, msg);
    for (const auto& fl : fields) {
      out += ',';
      append_json_string(out, fl.key);
      out += ':';
      append_value(out, f, fl.value);
    }
    out += '}';
    return;
  }
  out += "ts=";
  out += timestamp;
  out += " level=";
  out += to_string(l);
  out += " msg=";
  append_logfmt_string(out, msg);
  for (const auto& fl : fields) {
    out += ' ';
    out += fl.key;
    out += '=';
    append_value(out, f, fl.value);
  }
}

} // namespace

std::optional<level> parse_level(std::string_view text) {
  std::string lower(text);
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "debug")
    return level::debug;
  if (lower == "info")
    return level::info;
  if (lower == "warn" || lower == "warning")
    return level::warn;
  if (lower == "error")
    return level::error;
  return std::nullopt;
}

std::optional<log_format> parse_format(std::string_view text) {
  if (text == "logfmt")
    return log_format::logfmt;
  if (text == "json")
    return log_format::json;
  return std::nullopt;
}

std::string_view to_string(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "error";
}

void start_logging(const log_options& options) {
  min_level = static_cast<std::uint8_t>(options.min_level);
  format = static_cast<std::uint8_t>(options.format);
  auto& s = the_sink();
  std::lock_guard lock(s.mutex);
  if (s.running)
    return;
  s.limit = options.buffer_bytes;
  s.fd = options.fd;
  s.stopping = false;
  s.running = true;
  s.writer = std::thread([&s] { s.run(); });
}

void stop_logging() {
  auto& s = the_sink();
  {
    std::lock_guard lock(s.mutex);
    if (!s.running)
      return;
    s.running = false;
    s.stopping = true;
  }
  s.wake.notify_one();
  s.writer.join();
}

bool enabled(level l) {
  return static_cast<std::uint8_t>(l) >= min_level.load(std::memory_order_relaxed);
}

void log(level l, std::string_view msg, std::initializer_list<field> fields) {
  if (!enabled(l))
    return;
  thread_local std::string line;
  thread_local std::string timestamp;
  line.clear();
  timestamp.clear();
  append_timestamp(timestamp);
  append_line(line,
              static_cast<log_format>(format.load(std::memory_order_relaxed)),
              l, timestamp, msg, fields);
  line += '\n';
  auto& s = the_sink();
  bool notify = false;
  {
    std::lock_guard lock(s.mutex);
    if (!s.running) {
      // Not started (tools) or stopped: written in order, under the lock.
      write_all(s.fd, line);
      return;
    }
    if (s.pending.size() + line.size() > s.limit) {
      dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s.pending += line;
    if (l >= level::warn && !s.urgent) {
      s.urgent = true;
      notify = true;
    }
  }
  if (notify)
    s.wake.notify_one();
}

std::uint64_t dropped_lines() {
  return dropped.load(std::memory_order_relaxed);
}

std::string format_line(log_format f, level l, std::string_view timestamp,
                        std::string_view msg,
                        std::initializer_list<field> fields) {
  std::string out;
  append_line(out, f, l, timestamp, msg, fields);
  return out;
}

} // namespace deployd::observe
