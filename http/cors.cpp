#include "http/cors.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace deployd::http {

namespace {

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = list.find(',', start);
    out.push_back(list.substr(start, comma - start));
    if (comma == std::string::npos)
      return out;
    start = comma + 1;
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

void add_vary_origin(response& r) {
  for (auto& [name, value] : r.headers)
    if (lower(name) == "vary") {
      value += ", Origin";
      return;
    }
  r.headers.emplace_back("Vary", "Origin");
}

void set_header(response& r, const std::string& name, std::string value) {
  for (auto& [n, v] : r.headers)
    if (lower(n) == lower(name)) {
      v = std::move(value);
      return;
    }
  r.headers.emplace_back(name, std::move(value));
}

} // namespace

cors_policy::cors_policy(const std::string& origins, const std::string& methods,
                         const std::string& headers)
    : origins_(split(origins)), methods_(split(methods)) {
  all_origins_ = contains(origins_, "*");
  if (contains(methods_, "*"))
    methods_ = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"};
  const auto listed = split(headers);
  all_headers_ = contains(listed, "*");
  std::set<std::string> allowed{"Accept", "Accept-Language", "Content-Language",
                                "Content-Type"};
  allowed.insert(listed.begin(), listed.end());
  for (const auto& h : allowed) {
    allow_headers_text_ += (allow_headers_text_.empty() ? "" : ", ") + h;
    headers_.push_back(lower(h));
  }
}

bool cors_policy::is_preflight(const request& req) {
  return req.method == "OPTIONS" && req.origin &&
         req.access_control_request_method;
}

bool cors_policy::allowed_origin(const std::string& origin) const {
  return all_origins_ || contains(origins_, origin);
}

response cors_policy::preflight(const request& req) const {
  response r;
  r.content_type = "text/plain; charset=utf-8";
  // No credentials are allowed, so "*" answers every origin when all are.
  if (all_origins_)
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  else
    r.headers.emplace_back("Vary", "Origin");
  std::string methods;
  for (const auto& m : methods_)
    methods += (methods.empty() ? "" : ", ") + m;
  r.headers.emplace_back("Access-Control-Allow-Methods", methods);
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  if (!all_headers_)
    r.headers.emplace_back("Access-Control-Allow-Headers", allow_headers_text_);
  std::vector<std::string> failures;
  if (allowed_origin(*req.origin)) {
    if (!all_origins_)
      r.headers.emplace_back("Access-Control-Allow-Origin", *req.origin);
  } else {
    failures.push_back("origin");
  }
  if (!contains(methods_, *req.access_control_request_method))
    failures.push_back("method");
  if (const auto& asked = req.access_control_request_headers; asked) {
    if (all_headers_) {
      set_header(r, "Access-Control-Allow-Headers", *asked);
    } else {
      for (const auto& h : split(lower(*asked)))
        if (!contains(headers_, trim(h))) {
          failures.push_back("headers");
          break;
        }
    }
  }
  if (failures.empty()) {
    r.body = "OK";
    return r;
  }
  r.status = 400;
  r.body = "Disallowed CORS";
  for (std::size_t i = 0; i < failures.size(); ++i)
    r.body += (i == 0 ? " " : ", ") + failures[i];
  r.cause = r.body;
  return r;
}

void cors_policy::simple(const std::string& origin, bool cookie,
                         response& r) const {
  if (all_origins_)
    set_header(r, "Access-Control-Allow-Origin", "*");
  // A request with cookies, or from one of a listed set of origins, gets its
  // own origin back.
  if ((all_origins_ && cookie) || (!all_origins_ && allowed_origin(origin))) {
    set_header(r, "Access-Control-Allow-Origin", origin);
    add_vary_origin(r);
  }
}

} // namespace deployd::http
