#include "actors/preconditions.hpp"

#include "actors/projections.hpp"

#include <algorithm>

namespace deployd::actors {

namespace {

using events::resource_kind;
using events::uuid;
using storage::errc;
using storage::table;
using target = std::expected<std::optional<write_target>, errc>;

// A resource addressed by id: its row in `t` at `key` says whether it exists.
target by_row(storage::write_batch& b, events::stream_id stream, table t,
              const std::string& key) {
  auto row = b.get(t, key);
  if (!row)
    return std::unexpected(row.error());
  return write_target{std::move(stream), row->has_value()};
}

target deployment(storage::write_batch& b, const uuid& id) {
  return by_row(b, events::deployment_stream(id), table::deployments,
                id_key(id));
}

target resource(storage::write_batch& b, resource_kind kind, const uuid& id) {
  return by_row(b, events::resource_stream(kind, id), table::resources,
                resource_key(kind, id));
}

// A document addressed by its name key (pools, variables by name).
target resource_named(storage::write_batch& b, resource_kind kind,
                      const std::string& name_key) {
  auto id = b.get(table::resource_names, name_key);
  if (!id)
    return std::unexpected(id.error());
  if (!*id) // no such resource: its stream is irrelevant (version 0)
    return write_target{{}, false};
  return write_target{events::resource_stream(kind, id_from_key_suffix(**id)),
                      true};
}

target limit(storage::write_batch& b, const std::string& id_or_name) {
  if (auto id = uuid::parse(id_or_name))
    return by_row(b, events::concurrency_limit_stream(*id), table::limits,
                  id_key(*id));
  auto id = b.get(table::limit_names, id_or_name);
  if (!id)
    return std::unexpected(id.error());
  if (!*id)
    return write_target{{}, false};
  return write_target{
    events::concurrency_limit_stream(id_from_key_suffix(**id)), true};
}

template <class Command>
target variable(storage::write_batch& b, const Command& cmd) {
  if (cmd.id)
    return resource(b, resource_kind::variable, *cmd.id);
  return resource_named(
    b, resource_kind::variable,
    resource_name_key(resource_kind::variable,
                      events::json{{"name", cmd.name.value_or("")}}));
}

struct resolver {
  storage::write_batch& b;

  target operator()(const events::create_deployment& c) const {
    auto found = find_deployment(b, c.flow_id, c.name);
    if (!found)
      return std::unexpected(found.error());
    if (!*found)
      return write_target{{}, false};
    return write_target{events::deployment_stream((*found)->id), true};
  }
  target operator()(const events::update_deployment& c) const {
    return deployment(b, c.id);
  }
  target operator()(const events::delete_deployment& c) const {
    return deployment(b, c.id);
  }
  target operator()(const events::set_deployment_paused& c) const {
    return deployment(b, c.id);
  }
  target operator()(const events::create_schedules& c) const {
    return deployment(b, c.deployment_id);
  }
  target operator()(const events::update_schedule& c) const {
    return deployment(b, c.deployment_id);
  }
  target operator()(const events::delete_schedule& c) const {
    return deployment(b, c.deployment_id);
  }
  target operator()(const events::create_flow& c) const {
    auto found = load_flow_by_name(b, c.name);
    if (!found)
      return std::unexpected(found.error());
    if (!*found)
      return write_target{{}, false};
    return write_target{events::flow_stream((*found)->id), true};
  }
  target operator()(const events::update_flow& c) const {
    return by_row(b, events::flow_stream(c.id), table::flows, id_key(c.id));
  }
  target operator()(const events::delete_flow& c) const {
    return by_row(b, events::flow_stream(c.id), table::flows, id_key(c.id));
  }
  target operator()(const events::update_work_pool& c) const {
    return resource_named(
      b, resource_kind::work_pool,
      resource_name_key(resource_kind::work_pool, events::json{{"name", c.name}}));
  }
  target operator()(const events::delete_work_pool& c) const {
    return resource_named(
      b, resource_kind::work_pool,
      resource_name_key(resource_kind::work_pool, events::json{{"name", c.name}}));
  }
  target operator()(const events::update_concurrency_limit& c) const {
    return limit(b, c.id_or_name);
  }
  target operator()(const events::delete_concurrency_limit& c) const {
    return limit(b, c.id_or_name);
  }
  target operator()(const events::update_block_type& c) const {
    return resource(b, resource_kind::block_type, c.id);
  }
  target operator()(const events::delete_block_document& c) const {
    return resource(b, resource_kind::block_document, c.id);
  }
  target operator()(const events::update_block_document& c) const {
    return resource(b, resource_kind::block_document, c.id);
  }
  target operator()(const events::delete_block_type& c) const {
    return resource(b, resource_kind::block_type, c.id);
  }
  target operator()(const events::update_variable& c) const {
    return variable(b, c);
  }
  target operator()(const events::delete_variable& c) const {
    return variable(b, c);
  }
  target operator()(const events::update_flow_run& c) const {
    return resource(b, resource_kind::flow_run, c.id);
  }
  target operator()(const events::delete_flow_run& c) const {
    return resource(b, resource_kind::flow_run, c.id);
  }
  target operator()(const events::set_flow_run_state& c) const {
    return resource(b, resource_kind::flow_run, c.id);
  }
  target operator()(const events::replace_automation& c) const {
    return resource(b, resource_kind::automation, c.id);
  }
  target operator()(const events::patch_automation& c) const {
    return resource(b, resource_kind::automation, c.id);
  }
  target operator()(const events::delete_automation& c) const {
    return resource(b, resource_kind::automation, c.id);
  }
  // Everything else changes no single resource.
  template <class Other>
  target operator()(const Other&) const {
    return std::optional<write_target>{};
  }
};

bool matches(const tag_condition& t, bool exists, std::uint64_t version) {
  if (!exists)
    return false;
  return t.any || std::find(t.versions.begin(), t.versions.end(), version) !=
                    t.versions.end();
}

events::rejection precondition_failed(std::string text) {
  return {events::rejection_code::precondition_failed, std::move(text)};
}

} // namespace

std::expected<std::optional<write_target>, errc>
target_of(const command& cmd, storage::write_batch& b) {
  return std::visit(resolver{b}, cmd);
}

std::expected<std::optional<events::rejection>, errc>
check_tags(const command& cmd, const write_conditions& c,
           storage::write_batch& b) {
  if (!c.has_tags())
    return std::optional<events::rejection>{};
  auto t = target_of(cmd, b);
  if (!t)
    return std::unexpected(t.error());
  if (!*t)
    return events::rejection{
      events::rejection_code::bad_request,
      "If-Match and If-None-Match apply to a request that changes one "
      "resource; this one changes none or several."};
  std::uint64_t version = 0;
  if ((*t)->exists) {
    auto head = b.stream_head((*t)->stream);
    if (!head)
      return std::unexpected(head.error());
    version = head->value;
  }
  const bool exists = (*t)->exists;
  const auto tag = etag_of({version});
  if (c.if_match && !matches(*c.if_match, exists, version))
    return exists ? precondition_failed(
                      "Precondition Failed: the resource is at version " +
                      std::to_string(version) + " (ETag " + tag +
                      "), which If-Match does not name; nothing was changed.")
                  : precondition_failed(
                      "Precondition Failed: If-Match names a version, but "
                      "the resource does not exist; nothing was changed.");
  if (c.if_none_match && matches(*c.if_none_match, exists, version))
    return precondition_failed(
      c.if_none_match->any
        ? "Precondition Failed: the resource already exists (ETag " + tag +
            ") and If-None-Match is *; nothing was changed."
        : "Precondition Failed: the resource is at version " +
            std::to_string(version) + " (ETag " + tag +
            "), which If-None-Match names; nothing was changed.");
  return std::optional<events::rejection>{};
}

std::string etag_of(events::stream_version v) {
  return "\"" + std::to_string(v.value) + "\"";
}

} // namespace deployd::actors
