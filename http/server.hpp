// The HTTP listener: accepts connections on several I/O threads and runs one
// session per connection (one strand each).
//
// A session reads a request (with body and header limits), hands it to the
// route table, and writes the handler's response when it arrives, which may
// be later and from another thread: the reply is posted back to the
// session's strand, and a timer answers 503 if it never comes. Beast stays
// inside server.cpp.
#pragma once

#include "config/service_config.hpp"
#include "http/router.hpp"
#include "http/services.hpp"

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

namespace deployd::http {

class server {
public:
  server(const config::http_settings& settings, services& s, router routes);
  /// Stops and joins if still running.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the I/O threads. Returns the bound port.
  [[nodiscard]] std::expected<std::uint16_t, std::string> start();

  /// Stops accepting, lets requests in flight finish (up to `drain_ms`),
  /// then stops the I/O threads. Callable once, from any non-I/O thread.
  void stop(std::uint32_t drain_ms = 5000);

  /// Answers one request without a socket (tests, tools): routing, header
  /// checks and the handler, exactly as a session would.
  void handle(const request& req, responder reply);

private:
public:
  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace deployd::http
