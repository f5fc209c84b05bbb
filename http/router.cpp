#include "http/router.hpp"

#include "events/ids.hpp"

namespace deployd::http {

namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

int hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view s,
                                          bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && i + 2 <= s.size() - 1 + 0) {
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query,
                                       std::string_view name) {
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos)
      end = query.size();
    const auto pair = query.substr(start, end - start);
    const auto eq = pair.find('=');
    const auto key = pair.substr(0, eq);
    if (key == name && !pair.empty())
      return percent_decode(eq == std::string_view::npos ? std::string_view{}
                                                         : pair.substr(eq + 1),
                            true);
    start = end + 1;
  }
  return std::nullopt;
}

void router::add(std::string method, std::string pattern, handler h) {
  route r;
  r.method = std::move(method);
  for (auto part : split(std::string_view(pattern).substr(1)))
    r.segments.emplace_back(part);
  r.pattern = std::move(pattern);
  r.target = std::move(h);
  routes_.push_back(std::move(r));
}

bool router::path_matches(const route& r,
                          const std::vector<std::string_view>& parts,
                          path_params* params) const {
  if (parts.size() != r.segments.size())
    return false;
  // Literals first: most routes fail on one, before any id is parsed.
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& want = r.segments[i];
    if (want != "{id}" && want != "{name}" && want != parts[i])
      return false;
  }
  path_params captured;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& want = r.segments[i];
    if (want == "{id}") {
      if (!events::uuid::parse(parts[i]))
        return false;
      if (params)
        captured.emplace_back(parts[i]);
    } else if (want == "{name}") {
      if (parts[i].empty())
        return false;
      if (params)
        captured.emplace_back(parts[i]);
    }
  }
  if (params)
    *params = std::move(captured);
  return true;
}

router::match router::resolve(std::string_view method,
                              std::string_view raw_path) const {
  // As uvicorn hands Starlette the path: percent-decoded as a whole before
  // any route is matched, so an encoded '/' (%2F) separates segments.
  const auto decoded = percent_decode(raw_path, false);
  const std::string_view path = *decoded;
  match m;
  // A path that does not start with '/' matches no route.
  const bool rooted = !path.empty() && path.front() == '/';
  const auto parts =
    rooted ? split(path.substr(1)) : std::vector<std::string_view>{};
  for (std::size_t i = 0; rooted && i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    const bool same_method =
      r.method == method || (method == "HEAD" && r.method == "GET");
    // The parameters are captured only for the route that answers.
    if (!path_matches(r, parts, same_method ? &m.params : nullptr))
      continue;
    if (same_method) {
      m.result = outcome::matched;
      m.target = &r.target;
      m.route = i;
      return m;
    }
    if (!m.allow.empty())
      m.allow += ", ";
    m.allow += r.method;
  }
  if (!m.allow.empty()) {
    m.result = outcome::method_not_allowed;
    return m;
  }
  // Starlette's redirect_slashes: try the other spelling of the path.
  std::string other(path);
  if (other.size() > 1 && other.back() == '/')
    other.pop_back();
  else
    other.push_back('/');
  if (other.front() != '/')
    return m;
  const auto other_parts = split(std::string_view(other).substr(1));
  for (const auto& r : routes_)
    if (path_matches(r, other_parts, nullptr)) {
      m.result = outcome::redirect;
      m.location = std::move(other);
      return m;
    }
  return m;
}

std::vector<route_entry> router::entries() const {
  std::vector<route_entry> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_)
    out.push_back({r.method, r.pattern});
  return out;
}

} // namespace deployd::http
