#include "events/json_fields.hpp"

#include <cmath>
#include <stdexcept>

namespace deployd::events {

namespace {

[[noreturn]] void corrupt(std::string_view key) {
  throw std::invalid_argument("malformed field '" + std::string(key) + "'");
}

} // namespace

uuid uuid_field(const json& j, std::string_view key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    corrupt(key);
  const auto id = uuid::parse(it->get_ref<const std::string&>());
  if (!id)
    corrupt(key);
  return *id;
}

std::optional<uuid> optional_uuid_field(const json& j, std::string_view key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return std::nullopt;
  return uuid_field(j, key);
}

timestamp timestamp_field(const json& j, std::string_view key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    corrupt(key);
  const auto t = parse_timestamp(it->get_ref<const std::string&>());
  if (!t)
    corrupt(key);
  return *t;
}

std::optional<timestamp> optional_timestamp_field(const json& j,
                                                  std::string_view key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return std::nullopt;
  return timestamp_field(j, key);
}

std::optional<std::string> optional_string_field(const json& j,
                                                 std::string_view key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return std::nullopt;
  if (!it->is_string())
    corrupt(key);
  return it->get<std::string>();
}

json nullable(const std::optional<uuid>& v) {
  return v ? json(v->str()) : json(nullptr);
}

json nullable(const std::optional<timestamp>& v) {
  return v ? json(format_timestamp(*v)) : json(nullptr);
}

json compact_number(double v) {
  if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) < 9e15)
    return json(static_cast<std::int64_t>(v));
  return json(v);
}

} // namespace deployd::events
