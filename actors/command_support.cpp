#include "actors/command_support.hpp"

#include "actors/projections.hpp"
#include "events/codec.hpp"

namespace deployd::actors {

using storage::errc;

command_result failed(errc e) {
  command_result r;
  r.result = command_result::outcome::failed;
  r.failure = e;
  return r;
}

command_result rejected(events::rejection why) {
  command_result r;
  r.result = command_result::outcome::rejected;
  r.reason = std::move(why);
  return r;
}

// Appends `events` as records of one command and folds each into the
// projections, in order.
std::expected<events::log_position, errc>
append_and_fold(storage::write_batch& b, const event_list& list,
                const events::uuid& command_id, events::timestamp now) {
  events::log_position last;
  // The counts of runs by state type change once for the whole list (a
  // scheduler page makes hundreds of runs): one read and write of each row.
  run_counts counts;
  for (const auto& e : list) {
    storage::record r;
    r.stream = events::stream_of(e);
    auto encoded = events::encode(e);
    r.name = std::move(encoded.name);
    r.schema_version = encoded.version;
    r.payload = std::move(encoded.payload);
    r.recorded_at = now;
    r.command_id = command_id;
    auto position = b.append_at_head(r);
    if (!position)
      return std::unexpected(position.error());
    auto folded =
        fold(b, e,
             fold_context{*position, r.recorded_at, r.command_id, &counts,
                          r.version},
             r.payload);
    if (!folded)
      return std::unexpected(folded.error());
    last = *position;
  }
  if (auto written = write_run_counts(b, counts); !written)
    return std::unexpected(written.error());
  return last;
}

std::size_t entry_bytes_of(const events::any_event& e) {
  const auto encoded = events::encode(e);
  // encode_record: format 1, position 8, version 8, time 8, command id 16,
  // schema 2, name 2 + n, stream 2 + n, payload; 4 more in the entry.
  return 51 + encoded.name.size() + events::stream_of(e).value.size() +
         encoded.payload.size();
}

command_result ok_with(std::expected<std::optional<std::string>, errc> body,
                       bool created, events::log_position position) {
  if (!body)
    return failed(body.error());
  command_result r;
  r.result = command_result::outcome::ok;
  r.created = created;
  r.body = body->value_or(std::string{});
  r.position = position;
  return r;
}

std::expected<std::vector<events::uuid>, errc>
ids_under(storage::write_batch& b, storage::table t, const std::string& prefix,
          const std::optional<events::uuid>& except) {
  std::vector<events::uuid> out;
  auto scanned =
      b.scan(t, prefix, [&](std::string_view key, std::string_view value) {
        const auto id = id_from_key_suffix(
            t == storage::table::deployment_names ? value : key);
        if (id != except)
          out.push_back(id);
        return true;
      });
  if (!scanned)
    return std::unexpected(scanned.error());
  return out;
}

std::expected<void, errc>
remove_scheduled_runs(storage::write_batch& b, const events::uuid& deployment,
                      run_removal which, events::timestamp now,
                      event_list& out) {
  const auto after = order_bytes(now);
  auto scanned = b.scan(
      storage::table::run_index, run_index_prefix(deployment),
      [&](std::string_view key, std::string_view value) {
        if (value.size() < 2 || value[1] != 'd')
          return true;
        if (which != run_removal::all_scheduled && value[0] != 'a')
          return true;
        if (which == run_removal::future_auto_scheduled &&
            key.substr(run_index_time_at, 8) <= after)
          return true;
        out.push_back(events::resource_deleted{events::resource_kind::flow_run,
                                               id_from_key_suffix(key), now});
        return true;
      });
  if (!scanned)
    return std::unexpected(scanned.error());
  return {};
}

events::variable_lookup variables_in(storage::write_batch& b,
                                     std::optional<errc>& failure) {
  return
      [&b, &failure](const std::string& name) -> std::optional<events::json> {
        auto doc =
            find_resource(b, resource_name_key(events::resource_kind::variable,
                                               events::json{{"name", name}}));
        if (!doc) {
          failure = doc.error();
          return std::nullopt;
        }
        if (!*doc)
          return std::nullopt;
        return (**doc).at("value");
      };
}

command_result no_content(events::log_position position) {
  command_result r;
  r.result = command_result::outcome::ok;
  r.position = position;
  return r;
}

command_result apply(std::expected<event_list, events::rejection> decision,
                     storage::write_batch& b, decision_env& env,
                     const events::uuid& command_id, std::string body) {
  if (!decision)
    return rejected(decision.error());
  events::log_position position;
  if (!decision->empty()) {
    auto appended = append_and_fold(b, *decision, command_id, env.now);
    if (!appended)
      return failed(appended.error());
    position = *appended;
  }
  auto r = no_content(position);
  r.body = std::move(body);
  return r;
}

} // namespace deployd::actors
