// The HTTP listener: accepts connections on several I/O threads and runs one
// session per connection (on its thread's single-threaded context: an
// implicit strand), in plain HTTP or, when a
// certificate and key are configured, HTTPS only.
//
// A session reads a request in steps, each with its own limit and deadline:
// idle (no byte yet), header (size 431, target 414, time), body (size 413,
// time). Basic auth, when configured, is checked before routing. The session
// hands the request to the route table and writes the handler's response
// when it arrives, which may be later and from another thread: the reply is
// posted back to the session's context, and a timer answers 503 if it never
// comes. Connections beyond `max_connections` are answered 503 and closed.
// Beast stays inside server.cpp (and the websockets it hands connections
// to, http/event_socket.hpp).
#pragma once

#include "config/service_config.hpp"
#include "http/router.hpp"
#include "http/services.hpp"

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace deployd::http {

class server {
public:
  server(const config::http_settings& settings, services& s, router routes);
  /// Stops (without draining) and joins if still running.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Loads the TLS certificate if configured, raises the open-file limit
  /// for `max_connections`, binds, listens and starts the I/O threads.
  /// Returns the bound port, or why it could not.
  [[nodiscard]] std::expected<std::uint16_t, std::string> start();

  /// Graceful stop: closes the listener and idle connections, lets requests
  /// in flight finish and their responses go out (up to
  /// `shutdown_drain_ms`), then stops the I/O threads. Callable once, from
  /// any non-I/O thread; later calls do nothing.
  void stop();
  /// The same with an explicit drain time in ms (0: stop at once).
  void stop(std::uint32_t drain_ms);

  /// Answers one request without a socket (tests, tools): auth, routing,
  /// header checks and the handler, exactly as a session would.
  void handle(const request& req, responder reply);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// Whether `authorization` (the raw header value, if any) carries HTTP basic
/// credentials equal to `auth_string` (`user:password`), read as Prefect
/// reads it: exactly two whitespace-separated words, the first `Basic`, the
/// second lenient base64. The comparison takes the same time wherever the
/// first difference is. Pure; any thread.
[[nodiscard]] bool basic_auth_matches(
  const std::optional<std::string>& authorization, std::string_view auth_string);

/// Whether `given` equals `secret`, in a time that says nothing about
/// where they first differ. Pure; any thread.
[[nodiscard]] bool constant_time_equal(std::string_view given,
                                       std::string_view secret);

/// Whether a request must carry credentials when auth is on: everything but
/// exactly `GET /api/health` and `GET /api/ready`.
[[nodiscard]] bool auth_required(std::string_view method, std::string_view path);

} // namespace deployd::http
