#include "events/codec.hpp"

#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"

#include <type_traits>

namespace deployd::events {

namespace {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

json limit_resized_json(const concurrency_limit_resized& e) {
  return json{{"id", e.id.str()},
              {"updated", format_timestamp(e.updated)},
              {"from", e.from},
              {"to", e.to}};
}

// Decoders of the current versions. Each throws nlohmann exceptions or our
// own on malformed input; `decode` turns that into malformed_payload.
// `work_pool_created` -> (work_pool, "_created"), for document events.
template <class Event>
std::optional<resource_kind> resource_of(std::string_view name) {
  const std::string_view suffix = Event::suffix;
  if (!name.ends_with(suffix))
    return std::nullopt;
  return kind_named(name.substr(0, name.size() - suffix.size()));
}

// The optional `quiet` flag of deployment updates and deletions (and of
// resource and limit deletions).
bool quiet_field(const json& j) {
  const auto it = j.find("quiet");
  return it != j.end() && it->get<bool>();
}

any_event decode_current(std::string_view name, const json& j) {
  if (auto k = resource_of<resource_created>(name))
    return resource_created{*k, j};
  if (auto k = resource_of<resource_updated>(name))
    return resource_updated{*k, uuid_field(j, "id"), j.at("changes")};
  if (auto k = resource_of<resource_deleted>(name))
    return resource_deleted{*k, uuid_field(j, "id"),
                            timestamp_field(j, "deleted"), quiet_field(j)};
  if (name == concurrency_limit_updated::stored_name)
    return concurrency_limit_updated{uuid_field(j, "id"), j.at("changes")};
  if (name == flow_created::stored_name)
    return flow_created{flow_from_json(j)};
  if (name == flow_updated::stored_name)
    return flow_updated{uuid_field(j, "id"), j.at("changes")};
  if (name == flow_deleted::stored_name)
    return flow_deleted{uuid_field(j, "id"), timestamp_field(j, "deleted")};
  if (name == deployment_deleted::stored_name)
    return deployment_deleted{uuid_field(j, "id"),
                              timestamp_field(j, "deleted"), quiet_field(j)};
  if (name == deployment_created::stored_name)
    return deployment_created{deployment_from_json(j)};
  if (name == deployment_updated::stored_name)
    return deployment_updated{uuid_field(j, "id"), j.at("changes"),
                              quiet_field(j)};
  if (name == concurrency_limit_created::stored_name)
    return concurrency_limit_created{concurrency_limit_from_json(j)};
  if (name == concurrency_limit_resized::stored_name)
    return concurrency_limit_resized{
        uuid_field(j, "id"), timestamp_field(j, "updated"),
        j.at("from").get<std::int64_t>(), j.at("to").get<std::int64_t>()};
  if (name == concurrency_limit_deleted::stored_name)
    return concurrency_limit_deleted{uuid_field(j, "id"),
                                     timestamp_field(j, "deleted"),
                                     quiet_field(j)};
  if (name == worker_created::stored_name)
    return worker_created{worker_from_json(j)};
  if (name == worker_heartbeat_recorded::stored_name) {
    worker_heartbeat_recorded e{uuid_field(j, "id"),
                                timestamp_field(j, "last_heartbeat_time"),
                                std::nullopt};
    if (const auto it = j.find("heartbeat_interval_seconds"); it != j.end())
      e.heartbeat_interval_seconds = interval_value(*it);
    return e;
  }
  if (name == worker_marked_offline::stored_name)
    return worker_marked_offline{uuid_field(j, "id"),
                                 timestamp_field(j, "updated")};
  if (name == worker_deleted::stored_name)
    return worker_deleted{uuid_field(j, "id"), timestamp_field(j, "deleted")};
  throw std::invalid_argument("unknown event");
}

// Deletions carry {id, deleted}; updates {id, changes}.
template <class Event>
constexpr bool is_deletion = std::is_same_v<Event, flow_deleted> ||
                             std::is_same_v<Event, deployment_deleted> ||
                             std::is_same_v<Event, resource_deleted> ||
                             std::is_same_v<Event, concurrency_limit_deleted> ||
                             std::is_same_v<Event, worker_deleted>;

// The JSON document of each event's payload (a created deployment's is
// written by `payload_text` directly).
const auto payload_document = overloaded{
    [](const flow_created& x) { return to_json(x.value); },
    [](const concurrency_limit_created& x) { return to_json(x.value); },
    [](const concurrency_limit_resized& x) { return limit_resized_json(x); },
    [](const resource_created& x) { return x.value; },
    [](const worker_created& x) { return to_json(x.value); },
    [](const worker_heartbeat_recorded& x) {
      // The interval is written only when it changed.
      json j = {{"id", x.id.str()},
                {"last_heartbeat_time", format_timestamp(x.time)}};
      if (x.heartbeat_interval_seconds)
        j["heartbeat_interval_seconds"] = *x.heartbeat_interval_seconds;
      return j;
    },
    [](const worker_marked_offline& x) {
      return json{{"id", x.id.str()}, {"updated", format_timestamp(x.updated)}};
    },
    [](const deployment_updated& x) {
      json j = {{"id", x.id.str()}, {"changes", x.changes}};
      if (x.quiet)
        j["quiet"] = true;
      return j;
    },
    [](const deployment_deleted& x) {
      json j = {{"id", x.id.str()}, {"deleted", format_timestamp(x.deleted)}};
      if (x.quiet)
        j["quiet"] = true;
      return j;
    },
    [](const concurrency_limit_deleted& x) {
      json j = {{"id", x.id.str()}, {"deleted", format_timestamp(x.deleted)}};
      if (x.quiet)
        j["quiet"] = true;
      return j;
    },
    [](const resource_deleted& x) {
      json j = {{"id", x.id.str()}, {"deleted", format_timestamp(x.deleted)}};
      if (x.quiet)
        j["quiet"] = true;
      return j;
    },
    [](const auto& x) {
      if constexpr (is_deletion<std::decay_t<decltype(x)>>)
        return json{{"id", x.id.str()},
                    {"deleted", format_timestamp(x.deleted)}};
      else
        return json{{"id", x.id.str()}, {"changes", x.changes}};
    },
};

// The stored payload text: the dump of the event's document, but a created
// deployment's state is written without building one (the same bytes).
std::string payload_text(const any_event& e) {
  return std::visit(
      overloaded{
          [](const deployment_created& x) { return stored_text(x.value); },
          [](const auto& x) { return dump_json(payload_document(x)); },
      },
      e);
}

} // namespace

encoded_event encode(const any_event& e) {
  encoded_event out;
  out.name = stored_name(e);
  std::visit(
      [&](const auto& x) {
        out.version = std::decay_t<decltype(x)>::schema_version;
      },
      e);
  out.payload = payload_text(e);
  return out;
}

std::expected<any_event, decode_errc> decode(std::string_view name, int version,
                                             std::string_view payload) {
  bool known = false;
  for (const auto& entry : catalog)
    if (entry.name == name && entry.version == version)
      known = true;
  if (!known)
    return std::unexpected(decode_errc::unknown_event);
  try {
    json j = parse_json(payload);
    // Every event is at version 1 so far: no upcasters yet. A version 2
    // decodes here as upcast_<name>_v1(j) before decode_current.
    // The most frequent event (and the largest) takes its document's values
    // instead of copying them.
    if (name == deployment_created::stored_name)
      return deployment_created{deployment_from_json(std::move(j))};
    return decode_current(name, j);
  } catch (const std::exception&) {
    return std::unexpected(decode_errc::malformed_payload);
  }
}

stream_id stream_of(const any_event& e) {
  return std::visit(
      overloaded{
          [](const flow_created& x) { return flow_stream(x.value.id); },
          [](const flow_updated& x) { return flow_stream(x.id); },
          [](const flow_deleted& x) { return flow_stream(x.id); },
          [](const deployment_deleted& x) { return deployment_stream(x.id); },
          [](const deployment_created& x) {
            return deployment_stream(x.value.id);
          },
          [](const deployment_updated& x) { return deployment_stream(x.id); },
          [](const concurrency_limit_created& x) {
            return concurrency_limit_stream(x.value.id);
          },
          [](const concurrency_limit_resized& x) {
            return concurrency_limit_stream(x.id);
          },
          [](const concurrency_limit_deleted& x) {
            return concurrency_limit_stream(x.id);
          },
          [](const concurrency_limit_updated& x) {
            return concurrency_limit_stream(x.id);
          },
          [](const resource_created& x) {
            return resource_stream(x.kind, uuid_field(x.value, "id"));
          },
          [](const resource_updated& x) {
            return resource_stream(x.kind, x.id);
          },
          [](const resource_deleted& x) {
            return resource_stream(x.kind, x.id);
          },
          [](const worker_created& x) { return worker_stream(x.value.id); },
          [](const worker_heartbeat_recorded& x) {
            return worker_stream(x.id);
          },
          [](const worker_marked_offline& x) { return worker_stream(x.id); },
          [](const worker_deleted& x) { return worker_stream(x.id); },
      },
      e);
}

std::string stored_name(const any_event& e) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (requires { T::suffix; })
          return std::string(kind_name(x.kind)) + T::suffix;
        else
          return T::stored_name;
      },
      e);
}

std::string to_string(const any_event& e) {
  return std::visit(
      overloaded{
          [](const concurrency_limit_created& x) {
            return "concurrency_limit_created{id=" + x.value.id.str() + "}";
          },
          [](const concurrency_limit_resized& x) {
            return "concurrency_limit_resized{id=" + x.id.str() + "}";
          },
          [](const concurrency_limit_deleted& x) {
            return "concurrency_limit_deleted{id=" + x.id.str() + "}";
          },
          [](const flow_updated& x) {
            return "flow_updated{id=" + x.id.str() + "}";
          },
          [](const flow_deleted& x) {
            return "flow_deleted{id=" + x.id.str() + "}";
          },
          [](const deployment_deleted& x) {
            return "deployment_deleted{id=" + x.id.str() + "}";
          },
          [](const concurrency_limit_updated& x) {
            return "concurrency_limit_updated{id=" + x.id.str() + "}";
          },
          [](const resource_created& x) {
            return std::string(kind_name(x.kind)) + "_created{" +
                   x.value.value("id", std::string()) + "}";
          },
          [](const resource_updated& x) {
            return std::string(kind_name(x.kind)) + "_updated{" + x.id.str() +
                   "}";
          },
          [](const resource_deleted& x) {
            return std::string(kind_name(x.kind)) + "_deleted{" + x.id.str() +
                   "}";
          },
          [](const auto& x) { return to_string(x); },
      },
      e);
}

} // namespace deployd::events
