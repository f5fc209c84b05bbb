// libFuzzer target: request bodies as the handlers read them. The first byte
// picks a Content-Type; the rest is the body, read by read_json_body and then
// validated into every command this file's parsers build (flow, deployment
// create and update, schedules). Only crashes and sanitizer reports count:
// any response is a fine answer to garbage.
#include "http/request_body.hpp"

#include "config/service_config.hpp"
#include "events/ids.hpp"
#include "events/time.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace deployd;
  if (size == 0)
    return 0;
  static const char* const content_types[] = {
    nullptr, "application/json", "text/plain", "application/json; charset=utf-8",
    "application/x-www-form-urlencoded"};
  http::request req;
  req.method = "POST";
  req.path = "/api/deployments/";
  const auto pick = data[0] % (sizeof content_types / sizeof *content_types);
  if (content_types[pick] != nullptr)
    req.content_type = content_types[pick];
  req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);

  static const config::api_settings api;
  const events::timestamp now{};
  const auto id = *events::uuid::parse("5f1c1b7e-1111-4a2b-9c3d-0123456789ab");

  auto body = http::read_json_body(req);
  if (!body)
    return 0;
  (void)http::parse_create_flow(*body);
  (void)http::parse_create_deployment(*body, api, now);
  (void)http::parse_update_deployment(id, *body, api, now);
  (void)http::parse_create_schedules(id, *body, now);
  (void)http::parse_update_schedule(id, id, *body, now);
  (void)http::read_optional_json_body(req);
  return 0;
}
