// The OpenAPI document is the route table: every route appears once with its
// method, its path parameters typed, and nothing else appears.
#include "http/openapi.hpp"
#include "http/routes.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

using deployd::http::make_routes;
using deployd::http::openapi_json;
using deployd::http::openapi_path;

TEST_CASE("the OpenAPI document lists exactly the routes of the table",
          "[http][openapi]") {
  const auto routes = make_routes().entries();
  const auto doc = nlohmann::json::parse(openapi_json(routes, "0.8.4"));
  CHECK(doc["openapi"] == "3.1.0");
  CHECK(doc["info"]["version"] == "0.8.4");
  std::size_t operations = 0;
  std::set<std::string> ids;
  for (const auto& [path, methods] : doc["paths"].items())
    for (const auto& [method, op] : methods.items()) {
      ++operations;
      CHECK(ids.insert(op["operationId"].get<std::string>()).second);
    }
  CHECK(operations == routes.size());
  for (const auto& r : routes) {
    std::string method = r.method;
    for (auto& c : method)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    INFO(r.method << ' ' << r.pattern);
    const auto path = openapi_path(r.pattern);
    REQUIRE(doc["paths"].contains(path));
    CHECK(doc["paths"][path].contains(method));
  }
  // Parameter names are unique within a path.
  CHECK(openapi_path("/api/deployments/{id}/schedules/{id}") ==
        "/api/deployments/{id}/schedules/{id_2}");
  CHECK(openapi_path("/api/work_pools/{name}/workers/{name}") ==
        "/api/work_pools/{name}/workers/{name_2}");
  const auto& schedule =
    doc["paths"]["/api/deployments/{id}/schedules/{id_2}"]["patch"];
  REQUIRE(schedule["parameters"].size() == 2);
  CHECK(schedule["parameters"][1]["name"] == "id_2");
  CHECK(schedule["parameters"][1]["schema"]["format"] == "uuid");
  // The route serving the document is in it, and so are deployd's own.
  CHECK(doc["paths"]["/api/openapi.json"].contains("get"));
  CHECK(doc["paths"]["/metrics"]["get"]["tags"][0] == "deployd");
  const auto& get_flow = doc["paths"]["/api/flows/{id}"]["get"];
  CHECK(get_flow["tags"][0] == "flows");
  REQUIRE(get_flow["parameters"].size() == 1);
  CHECK(get_flow["parameters"][0]["name"] == "id");
  CHECK(get_flow["parameters"][0]["in"] == "path");
  CHECK(get_flow["parameters"][0]["required"] == true);
  CHECK(get_flow["parameters"][0]["schema"]["format"] == "uuid");
  CHECK(doc["paths"]["/api/flows/"]["post"].contains("requestBody"));
  CHECK(doc["components"]["schemas"].contains("FlowUpdate"));
}
