#include "actors/idempotency.hpp"

#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/projections.hpp"
#include "events/json_fields.hpp"
#include "events/python/json_text.hpp"
#include "events/python/python_repr.hpp"

namespace deployd::actors {

namespace {

using events::json;
using events::resource_kind;
using storage::errc;

std::string key_name(const std::string& key) {
  return resource_name_key(resource_kind::idempotency_key, json{{"key", key}});
}

events::timestamp expiry(const json& doc, std::chrono::seconds retention) {
  const auto recorded = events::timestamp_field(doc, "recorded");
  return {recorded.micros + retention.count() * 1'000'000};
}

} // namespace

events::uuid time_ordered_id(events::timestamp t, events::id_source& ids) {
  auto id = ids.next();
  const auto ms = static_cast<std::uint64_t>(t.micros / 1000);
  for (int i = 0; i < 6; ++i)
    id.bytes[static_cast<std::size_t>(i)] =
      static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  id.bytes[6] = static_cast<std::uint8_t>(0x70 | (id.bytes[6] & 0x0f));
  id.bytes[8] = static_cast<std::uint8_t>(0x80 | (id.bytes[8] & 0x3f));
  return id;
}

std::expected<recalled_key, errc>
recall_key(storage::write_batch& b, const write_conditions& c,
           events::timestamp now, std::chrono::seconds retention) {
  recalled_key out;
  auto found = find_resource(b, key_name(c.idempotency_key));
  if (!found)
    return std::unexpected(found.error());
  if (!*found)
    return out;
  const auto& doc = **found;
  if (expiry(doc, retention) <= now) {
    out.expired = events::uuid_field(doc, "id");
    return out;
  }
  if (doc.at("request_hash").get<std::string>() != c.request_hash) {
    out.answer = rejected(
      {events::rejection_code::unprocessable,
       "Idempotency-Key " + events::python_repr(json(c.idempotency_key)) +
         " was already used, within its retention, with a different "
         "request (method, path, query or body); nothing was changed. "
         "Send a new key for a new request."});
    return out;
  }
  command_result r;
  r.result = command_result::outcome::ok;
  r.created = doc.at("created").get<bool>();
  r.body = doc.at("body").get<std::string>();
  r.position.value = doc.at("position").get<std::uint64_t>();
  r.replayed = true;
  r.key_expires = expiry(doc, retention).micros;
  out.answer = std::move(r);
  return out;
}

std::expected<void, errc>
remember_key(storage::write_batch& b, const write_conditions& c,
             const command_result& result,
             const std::optional<events::uuid>& expired, decision_env& env,
             const events::uuid& command_id) {
  event_list list;
  if (expired)
    list.push_back(events::resource_deleted{resource_kind::idempotency_key,
                                            *expired, env.now});
  json doc = json::object();
  doc["id"] = time_ordered_id(env.now, env.ids).str();
  doc["key"] = c.idempotency_key;
  doc["request_hash"] = c.request_hash;
  doc["recorded"] = events::format_timestamp(env.now);
  doc["created"] = result.created;
  doc["body"] = result.body;
  doc["position"] = result.position.value;
  list.push_back(
    events::resource_created{resource_kind::idempotency_key, std::move(doc)});
  auto appended = append_and_fold(b, list, command_id, env.now);
  if (!appended)
    return std::unexpected(appended.error());
  return {};
}

command_result handle(const events::expire_idempotency_keys& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid& command_id) {
  const std::chrono::seconds retention{cmd.retention_seconds};
  event_list list;
  std::optional<errc> bad;
  const std::string prefix(1, static_cast<char>(resource_kind::idempotency_key));
  auto scanned = b.scan(
    storage::table::resources, prefix,
    [&](std::string_view, std::string_view value) {
      try {
        const auto doc = events::parse_json(value);
        // Documents sort by the time they were recorded: the first one
        // still kept ends the sweep.
        if (expiry(doc, retention) > env.now)
          return false;
        list.push_back(events::resource_deleted{
          resource_kind::idempotency_key, events::uuid_field(doc, "id"),
          env.now});
      } catch (const std::exception&) {
        bad = errc::corruption;
        return false;
      }
      return static_cast<std::int64_t>(list.size()) < cmd.max;
    });
  if (!scanned)
    return failed(scanned.error());
  if (bad)
    return failed(*bad);
  return apply(std::move(list), b, env, command_id, {});
}

} // namespace deployd::actors
