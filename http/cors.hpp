// CORS as Prefect's API answers it: Starlette's CORSMiddleware with the
// settings PREFECT_SERVER_CORS_ALLOWED_ORIGINS / _METHODS / _HEADERS (each a
// comma-separated list, "*" by default). A preflight (OPTIONS with Origin and
// Access-Control-Request-Method) is answered here, before auth and routing;
// any other request with an Origin gets the simple headers on its response.
// No Beast include.
#pragma once

#include "http/message.hpp"

#include <string>
#include <vector>

namespace deployd::http {

class cors_policy {
public:
  /// From the settings' comma-separated lists (split on ',' as Prefect does,
  /// without trimming).
  cors_policy(const std::string& origins, const std::string& methods,
              const std::string& headers);

  /// Whether `req` is a preflight: OPTIONS with Origin and
  /// Access-Control-Request-Method.
  [[nodiscard]] static bool is_preflight(const request& req);
  /// The answer to a preflight: 200 "OK", or 400 "Disallowed CORS ..." with
  /// what was refused (text/plain either way).
  [[nodiscard]] response preflight(const request& req) const;
  /// Adds the simple-response headers to `r` for a request from `origin`
  /// (`cookie`: the request carried a Cookie header).
  void simple(const std::string& origin, bool cookie, response& r) const;

private:
  [[nodiscard]] bool allowed_origin(const std::string& origin) const;

  std::vector<std::string> origins_;
  std::vector<std::string> methods_;
  std::vector<std::string> headers_; ///< lower-case, with the safelisted ones
  std::string allow_headers_text_;   ///< as listed (sorted), for the header
  bool all_origins_ = false;
  bool all_headers_ = false;
};

} // namespace deployd::http
