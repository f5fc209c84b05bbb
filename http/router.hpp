// The route table's matching engine: method + path -> handler.
//
// Patterns are slash-separated segments: literals, `{id}` (only a UUID in
// canonical form matches, so a malformed id is a 404 like the reference) and
// `{name}` (one non-empty segment of the percent-decoded path). Mirrors Starlette's
// routing: 405 with `Allow` when the path exists for other methods, and a
// 307 to the other spelling when only the trailing slash differs. No Beast
// include.
#pragma once

#include "http/message.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::http {

struct services;

/// A request handler. Must call `reply` exactly once, now or later.
using handler =
    std::function<void(services&, const request&, path_params, responder)>;

/// One route as written in the table.
struct route_entry {
  std::string method;  ///< "GET"
  std::string pattern; ///< "/api/deployments/{id}"
};

class router {
public:
  /// Adds a route; `pattern` like "/api/deployments/{id}".
  void add(std::string method, std::string pattern, handler h);

  enum class outcome { matched, method_not_allowed, redirect, not_found };

  struct match {
    outcome result = outcome::not_found;
    const handler* target = nullptr;
    /// matched: the route's index in `entries()`.
    std::size_t route = 0;
    path_params params;
    std::string allow;    ///< for method_not_allowed: "GET, POST"
    std::string location; ///< for redirect: the other path spelling
  };

  /// Resolves a method and a raw path.
  [[nodiscard]] match resolve(std::string_view method,
                              std::string_view path) const;

  /// Every route in the order added (metrics label requests by these).
  [[nodiscard]] std::vector<route_entry> entries() const;

private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    handler target;
  };

  /// Whether `r` matches the path's segments (split after the leading
  /// '/'); fills `params`, when given, with its parameters.
  bool path_matches(const route& r, const std::vector<std::string_view>& parts,
                    path_params* params) const;

  std::vector<route> routes_;
};

} // namespace deployd::http
