// Plain request and response values that handlers work with.
//
// Handlers never see sockets or Beast types: the session converts a Beast
// request into `request`, and a `response` back. This keeps handlers testable
// with plain values. No Beast include.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deployd::http {

/// One HTTP request, already read in full.
struct request {
  std::string method; ///< "GET", "POST", ...
  std::string path;   ///< raw (still percent-encoded) path
  std::string query;  ///< text after '?', without it
  std::string body;
  std::optional<std::string> content_type;
  std::optional<std::string> api_version; ///< X-PREFECT-API-VERSION
  std::optional<std::string> authorization;
  std::optional<std::string> user_agent;
  std::string host; ///< Host header, for redirect locations
  /// X-Deployd-Min-Position: answer only once this node has applied it.
  std::optional<std::string> min_position;
  /// X-Request-ID as the client sent it (the log's request id, echoed).
  std::optional<std::string> request_id;
  /// CORS (http/cors.hpp): Origin, Access-Control-Request-Method and
  /// -Headers, and whether a Cookie header came.
  std::optional<std::string> origin;
  std::optional<std::string> access_control_request_method;
  std::optional<std::string> access_control_request_headers;
  bool cookie = false;
  /// A websocket upgrade (http/event_socket.hpp): the Upgrade and
  /// Connection headers, Sec-WebSocket-Key and -Version, and the offered
  /// subprotocols (every Sec-WebSocket-Protocol header, joined by ", ").
  std::optional<std::string> upgrade;
  std::optional<std::string> connection;
  std::optional<std::string> websocket_key;
  std::optional<std::string> websocket_version;
  std::string websocket_protocols;
  /// Conditional and idempotent writes (root README, "Conditional and
  /// idempotent writes"): If-Match and If-None-Match (several header lines
  /// joined with ", "), and Idempotency-Key.
  std::optional<std::string> if_match;
  std::optional<std::string> if_none_match;
  std::optional<std::string> idempotency_key;
  std::string scheme = "http"; ///< "https" on a TLS connection
};

/// Response header with the log position a response reflects.
inline constexpr std::string_view position_header = "X-Deployd-Position";

/// One HTTP response.
struct response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  /// Why a request failed, for the request log only (never sent): set
  /// where a rejection, validation failure or storage failure becomes a
  /// response; without it the log quotes the start of the body.
  std::string cause;
};

/// Delivers a handler's response. Callable once, from any thread; the
/// session takes the response back onto its own strand.
using responder = std::function<void(response)>;

/// Path parameters captured by the route, percent-decoded.
using path_params = std::vector<std::string>;

/// The value of query parameter `name`, percent-decoded, if present.
[[nodiscard]] std::optional<std::string> query_param(std::string_view query,
                                                     std::string_view name);

/// Percent-decodes a path segment or query value (`+` stays `+` in paths).
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view s,
                                                        bool plus_is_space);

} // namespace deployd::http
