#include "events/worker.hpp"

#include "events/json_fields.hpp"
#include "events/json_writer.hpp"

#include <cstdint>
#include <stdexcept>

namespace deployd::events {

const char* status_name(worker_status s) {
  return s == worker_status::online ? "ONLINE" : "OFFLINE";
}

stream_id worker_stream(const uuid& id) {
  return {"worker/" + id.str()};
}

json to_json(const worker& w) {
  json j = json::object();
  j["id"] = w.id.str();
  j["created"] = format_timestamp(w.created);
  j["updated"] = format_timestamp(w.updated);
  j["name"] = w.name;
  j["work_pool_id"] = w.work_pool_id.str();
  j["last_heartbeat_time"] = format_timestamp(w.last_heartbeat_time);
  j["heartbeat_interval_seconds"] = nullable(w.heartbeat_interval_seconds);
  j["status"] = status_name(w.status);
  return j;
}

std::string render_worker(const worker& w) {
  std::string out;
  out.reserve(320);
  json_writer j(out);
  j.key("id").plain(w.id.str());
  j.key("created").plain(format_timestamp(w.created));
  j.key("updated").plain(format_timestamp(w.updated));
  j.key("name").value(std::string_view(w.name));
  j.key("work_pool_id").plain(w.work_pool_id.str());
  j.key("last_heartbeat_time").plain(format_timestamp(w.last_heartbeat_time));
  if (w.heartbeat_interval_seconds)
    j.key("heartbeat_interval_seconds").number(*w.heartbeat_interval_seconds);
  else
    j.key("heartbeat_interval_seconds").null();
  j.key("status").plain(status_name(w.status));
  j.close();
  return out;
}

worker worker_from_json(const json& j) {
  worker w;
  w.id = uuid_field(j, "id");
  w.created = timestamp_field(j, "created");
  w.updated = timestamp_field(j, "updated");
  w.name = j.at("name").get<std::string>();
  w.work_pool_id = uuid_field(j, "work_pool_id");
  w.last_heartbeat_time = timestamp_field(j, "last_heartbeat_time");
  const auto& interval = j.at("heartbeat_interval_seconds");
  if (!interval.is_null())
    w.heartbeat_interval_seconds = interval_value(interval);
  const auto status = j.at("status").get<std::string>();
  if (status == "ONLINE")
    w.status = worker_status::online;
  else if (status == "OFFLINE")
    w.status = worker_status::offline;
  else
    throw std::invalid_argument("unknown worker status " + status);
  return w;
}

std::int64_t interval_value(const json& j) {
  if (!j.is_number_integer() ||
      (j.is_number_unsigned() &&
       j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)))
    throw std::invalid_argument("heartbeat interval is not an int64");
  return j.get<std::int64_t>();
}

std::string to_string(const worker_created& e) {
  return "worker_created{id=" + e.value.id.str() + "}";
}
std::string to_string(const worker_heartbeat_recorded& e) {
  return "worker_heartbeat_recorded{id=" + e.id.str() + "}";
}
std::string to_string(const worker_marked_offline& e) {
  return "worker_marked_offline{id=" + e.id.str() + "}";
}
std::string to_string(const worker_deleted& e) {
  return "worker_deleted{id=" + e.id.str() + "}";
}

} // namespace deployd::events
