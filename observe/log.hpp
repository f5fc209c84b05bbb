// The service's structured log: one line per event, logfmt or JSON (a
// setting), with a level, written to stderr by a thread of its own.
//
// A caller formats its line on its own thread (a few hundred bytes, no
// allocation once its thread's buffer has grown) and appends it to a shared
// buffer under a short mutex; the writer thread swaps the buffer out and
// writes it with one write(2) about every 50 ms, or at once for warnings
// and errors. No caller ever waits for stderr: when the buffer is full
// (a stalled reader of stderr), lines are dropped and counted
// (`dropped_lines`, exported as a metric). Before `start_logging` (the
// offline tools) and after `stop_logging`, lines are written directly.
// Knows nothing of the other folders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace deployd::observe {

enum class level : std::uint8_t { debug = 0, info = 1, warn = 2, error = 3 };
enum class log_format : std::uint8_t { logfmt = 0, json = 1 };

/// `debug`, `info`, `warn` (or `warning`), `error`, any case.
[[nodiscard]] std::optional<level> parse_level(std::string_view text);
/// `logfmt` or `json`.
[[nodiscard]] std::optional<log_format> parse_format(std::string_view text);
[[nodiscard]] std::string_view to_string(level l);

struct log_options {
  level min_level = level::info;
  log_format format = log_format::logfmt;
  /// Most bytes waiting to be written; lines beyond are dropped.
  std::size_t buffer_bytes = 4u << 20;
  /// File descriptor lines go to (stderr).
  int fd = 2;
};

/// Starts the writer thread. Call once, from the composition root, before
/// other threads log.
void start_logging(const log_options& options);
/// Writes what is buffered and stops the writer thread; later lines are
/// written directly. Call from the composition root at exit.
void stop_logging();

/// Whether a line at `l` would be written. Any thread.
[[nodiscard]] bool enabled(level l);

/// One field of a line. Strings are quoted and escaped as the format
/// needs; numbers are written as they are.
struct field {
  using value_type =
    std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;
  std::string_view key;
  value_type value;

  field(std::string_view k, std::string_view v) : key(k), value(v) {
  }
  field(std::string_view k, const std::string& v)
    : key(k), value(std::string_view(v)) {
  }
  field(std::string_view k, const char* v)
    : key(k), value(std::string_view(v)) {
  }
  field(std::string_view k, std::int64_t v) : key(k), value(v) {
  }
  field(std::string_view k, int v) : key(k), value(std::int64_t{v}) {
  }
  field(std::string_view k, unsigned v) : key(k), value(std::uint64_t{v}) {
  }
  field(std::string_view k, std::uint64_t v) : key(k), value(v) {
  }
  field(std::string_view k, double v) : key(k), value(v) {
  }
  field(std::string_view k, bool v) : key(k), value(v) {
  }
};

/// Logs `msg` with `fields` at `l` (nothing when below the minimum level):
/// `ts=... level=... msg=... key=value ...` or the same as a JSON object.
/// Any thread; never blocks on the output.
void log(level l, std::string_view msg, std::initializer_list<field> fields = {});

/// Lines dropped since start because the buffer was full.
[[nodiscard]] std::uint64_t dropped_lines();

/// Formats one line without logging it (tests): no trailing newline.
[[nodiscard]] std::string format_line(log_format f, level l,
                                      std::string_view timestamp,
                                      std::string_view msg,
                                      std::initializer_list<field> fields);

} // namespace deployd::observe
