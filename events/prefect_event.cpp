#include "events/prefect_event.hpp"

#include "events/checksum.hpp"
#include "events/json_fields.hpp"
#include "events/json_writer.hpp"
#include "events/python/json_text.hpp"

#include <algorithm>
#include <stdexcept>

namespace deployd::events {

json to_json(const prefect_event& e) {
  json j = json::object();
  j["occurred"] = format_timestamp(e.occurred);
  j["event"] = e.event;
  j["resource"] = e.resource;
  j["related"] = e.related;
  j["payload"] = e.payload;
  j["id"] = e.id.str();
  j["follows"] = e.follows ? json(e.follows->str()) : json(nullptr);
  j["received"] = format_timestamp(e.received);
  return j;
}

std::string render_event(const prefect_event& e) {
  // The bytes of dump_json(to_json(e)), without copying the labels and the
  // payload into a new document first.
  std::string out;
  out.reserve(512);
  json_writer w(out);
  w.key("occurred").plain(format_timestamp(e.occurred));
  w.key("event").value(std::string_view(e.event));
  w.key("resource").value(e.resource);
  w.key("related").value(e.related);
  w.key("payload").value(e.payload);
  w.key("id").plain(e.id.str());
  w.key("follows").optional(e.follows);
  w.key("received").plain(format_timestamp(e.received));
  w.close();
  return out;
}

prefect_event prefect_event_from_json(const json& j) {
  prefect_event e;
  e.occurred = timestamp_field(j, "occurred");
  e.event = j.at("event").get<std::string>();
  e.resource = j.at("resource");
  e.related = j.at("related");
  e.payload = j.at("payload");
  e.id = uuid_field(j, "id");
  e.follows = optional_uuid_field(j, "follows");
  e.received = timestamp_field(j, "received");
  if (!e.resource.is_object() || !e.related.is_array() ||
      !e.payload.is_object())
    throw std::invalid_argument("malformed event");
  return e;
}

std::string resource_id(const json& labels) {
  const auto it = labels.find("prefect.resource.id");
  return it != labels.end() && it->is_string() ? it->get<std::string>()
                                               : std::string();
}

uuid announced_event_id(const uuid& command_id, log_position position,
                        unsigned index, timestamp recorded_at) {
  std::string seed = "deployd-event:";
  seed += command_id.str();
  seed += ':';
  seed += std::to_string(position.value);
  seed += ':';
  seed += std::to_string(index);
  const auto digest = sha256(seed);
  uuid id;
  std::copy_n(digest.begin(), id.bytes.size(), id.bytes.begin());
  // 48 bits of Unix milliseconds, version 7, variant 10 (RFC 9562).
  const auto ms = static_cast<std::uint64_t>(
      recorded_at.micros < 0 ? 0 : recorded_at.micros / 1000);
  for (int i = 0; i < 6; ++i)
    id.bytes[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  id.bytes[6] = static_cast<std::uint8_t>(0x70 | (id.bytes[6] & 0x0f));
  id.bytes[8] = static_cast<std::uint8_t>(0x80 | (id.bytes[8] & 0x3f));
  return id;
}

} // namespace deployd::events
