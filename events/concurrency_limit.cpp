#include "events/concurrency_limit.hpp"

#include "events/json_fields.hpp"

namespace deployd::events {

json to_json(const concurrency_limit& l) {
  json j = json::object();
  j["id"] = l.id.str();
  j["created"] = format_timestamp(l.created);
  j["updated"] = format_timestamp(l.updated);
  j["active"] = l.active;
  j["name"] = l.name;
  j["limit"] = l.limit;
  j["active_slots"] = l.active_slots;
  j["denied_slots"] = l.denied_slots;
  j["slot_decay_per_second"] = compact_number(l.slot_decay_per_second);
  j["avg_slot_occupancy_seconds"] =
      compact_number(l.avg_slot_occupancy_seconds);
  return j;
}

concurrency_limit concurrency_limit_from_json(const json& j) {
  concurrency_limit l;
  l.id = uuid_field(j, "id");
  l.created = timestamp_field(j, "created");
  l.updated = timestamp_field(j, "updated");
  l.active = j.at("active").get<bool>();
  l.name = j.at("name").get<std::string>();
  l.limit = j.at("limit").get<std::int64_t>();
  l.active_slots = j.at("active_slots").get<std::int64_t>();
  l.denied_slots = j.at("denied_slots").get<std::int64_t>();
  l.slot_decay_per_second = j.at("slot_decay_per_second").get<double>();
  l.avg_slot_occupancy_seconds =
      j.at("avg_slot_occupancy_seconds").get<double>();
  return l;
}

json limit_response(const concurrency_limit& l) {
  json j = to_json(l);
  j["slot_decay_per_second"] = l.slot_decay_per_second;
  j["avg_slot_occupancy_seconds"] = l.avg_slot_occupancy_seconds;
  return j;
}

json deployment_view_of(const concurrency_limit& l) {
  json j = json::object();
  j["id"] = l.id.str();
  j["created"] = format_timestamp(l.created);
  j["updated"] = format_timestamp(l.updated);
  j["active"] = l.active;
  j["name"] = l.name;
  j["limit"] = l.limit;
  j["active_slots"] = l.active_slots;
  j["slot_decay_per_second"] = l.slot_decay_per_second;
  return j;
}

std::string deployment_limit_name(const uuid& deployment_id) {
  return "deployment:" + deployment_id.str();
}

} // namespace deployd::events
