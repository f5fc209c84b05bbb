#include "http/openapi.hpp"

#include "http/openapi_validator.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace deployd::http {

namespace {

using json = nlohmann::ordered_json;

std::vector<std::string> split_path(std::string_view pattern) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= pattern.size()) {
    auto slash = pattern.find('/', start);
    if (slash == std::string_view::npos)
      slash = pattern.size();
    out.emplace_back(pattern.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool deployd_own(std::string_view pattern) {
  return !pattern.starts_with("/api/") || pattern.starts_with("/api/deployd/") ||
         pattern == "/api/openapi.json";
}

// `flows` for /api/flows/..., `v2/concurrency_limits` stays
// `concurrency_limits`; deployd's own routes are `deployd`.
std::string tag_of(std::string_view pattern) {
  if (deployd_own(pattern))
    return "deployd";
  for (const auto& s : split_path(pattern.substr(4)))
    if (!s.empty() && s != "v2" && !s.starts_with("{"))
      return s;
  return "root";
}

std::string operation_id(const route_entry& r) {
  std::string out;
  for (char c : r.method)
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (char c : r.pattern) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0)
      out.push_back(c);
    else if (out.back() != '_')
      out.push_back('_');
  }
  while (out.back() == '_')
    out.pop_back();
  return out;
}

} // namespace

std::string openapi_path(std::string_view pattern) {
  std::string out;
  std::vector<std::string> seen;
  for (const auto& segment : split_path(pattern)) {
    out += '/';
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      const auto name = segment.substr(1, segment.size() - 2);
      const auto n = std::count(seen.begin(), seen.end(), name);
      seen.push_back(name);
      out += n == 0 ? segment : "{" + name + "_" + std::to_string(n + 1) + "}";
    } else {
      out += segment;
    }
  }
  return out;
}

std::string openapi_json(const std::vector<route_entry>& routes,
                         std::string_view api_version) {
  json paths = json::object();
  std::set<std::string> ids;
  std::set<std::string> tags;
  for (const auto& r : routes) {
    json op = json::object();
    auto id = operation_id(r);
    for (int n = 2; !ids.insert(id).second; ++n)
      id = operation_id(r) + "_" + std::to_string(n);
    op["operationId"] = id;
    const auto tag = tag_of(r.pattern);
    tags.insert(tag);
    op["tags"] = json::array({tag});
    const auto path = openapi_path(r.pattern);
    json parameters = json::array();
    for (const auto& segment : split_path(path))
      if (segment.size() > 2 && segment.front() == '{' &&
          segment.back() == '}') {
        const auto name = segment.substr(1, segment.size() - 2);
        json schema = {{"type", "string"}};
        if (name == "id" || name.starts_with("id_"))
          schema["format"] = "uuid";
        parameters.push_back({{"name", name},
                              {"in", "path"},
                              {"required", true},
                              {"schema", schema}});
      }
    if (!parameters.empty())
      op["parameters"] = parameters;
    if (r.method == "POST" || r.method == "PATCH" || r.method == "PUT")
      op["requestBody"] = {
        {"required", false},
        {"content", {{"application/json", {{"schema", json::object()}}}}}};
    op["responses"] = {
      {"default",
       {{"description",
         deployd_own(r.pattern)
           ? "deployd's own route: see deployd's README"
           : "as the Prefect 3 REST API answers (README: compatibility notes)"}}}};
    std::string method = r.method;
    for (auto& c : method)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[path][method] = std::move(op);
  }
  json tag_list = json::array();
  for (const auto& t : tags)
    tag_list.push_back({{"name", t}});
  const json doc = {
    {"openapi", "3.1.0"},
    {"info",
     {{"title", "deployd: a Prefect 3 compatible REST API"},
      {"version", std::string(api_version)},
      {"description", "Generated from deployd's route table: every path and "
                      "method deployd serves."}}},
    {"tags", tag_list},
    {"paths", paths},
    // The reference's component schemas deployd validates bodies with.
    {"components",
     {{"schemas", json::parse(openapi_components().dump())}}},
  };
  return doc.dump();
}

} // namespace deployd::http
