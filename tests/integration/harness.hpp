// Runs the real deployd binary for end-to-end tests: a temporary data
// directory, port 0 (the bound port is read from --port-file), a real HTTP
// client over loopback, and SIGTERM/SIGKILL of the process we started.
#pragma once

#include "events/json.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace deployd::testing {

using events::json;

/// A directory removed (with its contents) when the object dies.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const {
    return path_;
  }

private:
  std::filesystem::path path_;
};

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers; ///< lower-case names

  /// The body parsed as JSON (null if empty); fails the test if malformed.
  [[nodiscard]] json json_body() const;
};

struct process_options {
  /// Data directory; a fresh temporary one when empty.
  std::string data_dir;
  std::vector<std::string> extra_args;
  std::map<std::string, std::string> extra_env;
  /// Deterministic clock and ids unless cleared.
  std::string clock = "step:2026-11-28T12:00:00Z:1000";
  std::uint64_t id_seed = 42;
  /// When set, the server's stderr (its log) goes to this file.
  std::string stderr_file;
  /// Run the scheduler and late-runs services (off unless set, or unless
  /// `extra_env` names their ENABLED variables).
  bool background_services = false;
};

/// One running `deployd serve`. Stops it (SIGTERM) when destroyed.
class deployd_process {
public:
  explicit deployd_process(process_options options = {});
  ~deployd_process();
  deployd_process(const deployd_process&) = delete;
  deployd_process& operator=(const deployd_process&) = delete;

  [[nodiscard]] std::uint16_t port() const {
    return port_;
  }
  [[nodiscard]] const std::string& data_dir() const {
    return data_dir_;
  }
  /// The process's PID (for signals other than stop and kill).
  [[nodiscard]] pid_t pid() const {
    return pid_;
  }

  /// Sends one request on a fresh connection and reads the reply.
  http_reply
  request(const std::string& method, const std::string& target,
          const std::optional<std::string>& body = std::nullopt,
          const std::map<std::string, std::string>& headers = {}) const;
  http_reply get(const std::string& target) const;
  http_reply post(const std::string& target, const json& body) const;

  /// SIGTERM and wait; returns the exit status.
  int stop();
  /// SIGKILL and wait.
  void kill();

private:
  std::optional<temp_dir> owned_dir_;
  std::string data_dir_;
  std::string port_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

/// Runs `deployd <args>` to completion; returns exit status and stdout.
struct tool_result {
  int status = -1;
  std::string out;
};
tool_result run_tool(const std::vector<std::string>& args);
/// The same, returning what it wrote to stderr in `out`; `env` is added to
/// its environment.
tool_result run_tool_stderr(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {});
/// Runs `deployd verify` on `data_dir` and checks that it found the read
/// model equal to a fold of the log (exit 0 and "0 differences").
void check_verified(const std::string& data_dir);
/// `check_verified`, then `deployd replay` (required to succeed): what a
/// test does before it starts again on the rebuilt read model.
void verify_then_replay(const std::string& data_dir);
/// Runs `deployd <args>` and SIGKILLs it after `after`, unless it ended
/// first; true when it was killed.
bool run_tool_killed(const std::vector<std::string>& args,
                     std::chrono::milliseconds after);

/// `deployd <args>` running in the background with its stdout on a pipe,
/// read a line at a time; SIGTERM (then wait) when destroyed.
class tool_process {
public:
  explicit tool_process(const std::vector<std::string>& args);
  ~tool_process();
  tool_process(const tool_process&) = delete;
  tool_process& operator=(const tool_process&) = delete;
  /// The next line of its stdout (without the newline), or nothing when
  /// none came within `timeout` or the output ended.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// SIGTERM and wait; returns the exit status.
  int stop();

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string pending_;
};

/// The events of the feed (`POST /api/events/filter`) whose name starts
/// with `prefix`, oldest first, at most 50, over every time (the filter's
/// default window ends now and starts 180 days back; a test clock can be
/// anywhere). REQUIREs a 200.
json feed_events(const deployd_process& s, const std::string& prefix);

/// Loads a recorded sample from tests/data/samples.
json load_sample(const std::string& name);

/// Options that start deployd with `ini` as its INI file (written into
/// `dir`, passed with --config).
process_options with_config(const temp_dir& dir, const std::string& ini);

/// The one child process of this test process (the deployd under test).
pid_t deployd_pid();
/// Peak resident memory (VmHWM) of `pid`, in KiB; -1 if unknown.
long peak_rss_kib(pid_t pid);
/// Current resident memory (VmRSS) of `pid`, in KiB; -1 if unknown.
long rss_kib(pid_t pid);

/// Raises this process's open-file limit to at least `wanted`.
void raise_own_descriptor_limit(std::uint64_t wanted);

/// The value of the Prometheus sample whose name and labels are exactly
/// `series` (`name{a="b",...}` as the text writes it) in `text`; -1 when
/// absent.
double metric_value(const std::string& text, const std::string& series);

/// Standard base64 with padding (for basic-auth headers).
std::string base64(std::string_view in);

/// Whether this build runs under AddressSanitizer (memory ceilings grow).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

} // namespace deployd::testing
