#include "actors/replication.hpp"

#include "actors/projections.hpp"
#include "events/codec.hpp"
#include "storage/record.hpp"

#include <charconv>
#include <cstdio>

namespace deployd::actors {

using storage::errc;

namespace {

void ship(storage::write_batch& batch, side_kind kind, std::string_view key,
          std::string_view value = {}) {
  batch.add_side_write(static_cast<std::uint8_t>(kind), key, value);
}

std::expected<void, errc> apply_side_write(storage::write_batch& batch,
                                           const storage::side_write_view& w) {
  switch (static_cast<side_kind>(w.kind)) {
    case side_kind::client_event:
      batch.put(storage::table::client_events, w.key, w.value);
      return fold_client_event(batch, w.key, w.value);
    case side_kind::client_event_expired: {
      auto stored = batch.get(storage::table::client_events, w.key);
      if (!stored)
        return std::unexpected(stored.error());
      if (!*stored) // already gone (an entry applied twice cannot happen)
        return {};
      return drop_client_event(batch, w.key, **stored);
    }
    case side_kind::meta:
      batch.put_meta(w.key, w.value);
      return {};
  }
  return std::unexpected(errc::corruption);
}

} // namespace

std::expected<void, errc> store_client_event(storage::write_batch& batch,
                                             std::string_view key,
                                             std::string_view json) {
  batch.put(storage::table::client_events, key, json);
  ship(batch, side_kind::client_event, key, json);
  return fold_client_event(batch, key, json);
}

std::expected<void, errc> expire_client_event(storage::write_batch& batch,
                                              std::string_view key,
                                              std::string_view json) {
  ship(batch, side_kind::client_event_expired, key);
  return drop_client_event(batch, key, json);
}

void put_shared_meta(storage::write_batch& batch, std::string_view key,
                     std::string_view value) {
  batch.put_meta(key, value);
  ship(batch, side_kind::meta, key, value);
}

std::expected<storage::etcd::log_head, errc>
replica_head(const storage::event_log& log) {
  auto seq_text = log.meta(cluster_seq_key);
  if (!seq_text)
    return std::unexpected(seq_text.error());
  std::uint64_t seq = 0;
  if (*seq_text) {
    const auto& t = **seq_text;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), seq);
    if (ec != std::errc() || ptr != t.data() + t.size())
      return std::unexpected(errc::corruption);
  }
  return storage::etcd::log_head{seq + 1, {log.last_position().value + 1}};
}

std::expected<void, errc> apply_entry(storage::write_batch& batch,
                                      std::uint64_t seq,
                                      const storage::log_entry_view& entry) {
  if (entry.first_position != batch.next_position()) {
    std::fprintf(stderr,
                 "deployd: cluster: entry %llu starts at position %llu, the "
                 "replica's next is %llu\n",
                 static_cast<unsigned long long>(seq),
                 static_cast<unsigned long long>(entry.first_position.value),
                 static_cast<unsigned long long>(batch.next_position().value));
    return std::unexpected(errc::corruption);
  }
  for (const auto bytes : entry.records) {
    auto r = storage::decode_record(bytes);
    if (!r)
      return std::unexpected(errc::corruption);
    auto event = events::decode(r->name, r->schema_version, r->payload);
    if (!event) {
      std::fprintf(stderr, "deployd: cluster: entry %llu: record %llu (%s v%d) "
                           "cannot be decoded\n",
                   static_cast<unsigned long long>(seq),
                   static_cast<unsigned long long>(r->position.value),
                   r->name.c_str(), r->schema_version);
      return std::unexpected(errc::corruption);
    }
    if (auto appended = batch.append_replicated(*r, bytes); !appended)
      return appended;
    if (auto folded = fold(batch, *event,
                           fold_context{r->position, r->recorded_at,
                                        r->command_id, nullptr, r->version},
                           r->payload); !folded)
      return folded;
  }
  for (const auto& w : entry.side_writes)
    if (auto applied = apply_side_write(batch, w); !applied) {
      std::fprintf(stderr, "deployd: cluster: entry %llu: side write '%c' "
                           "cannot be applied\n",
                   static_cast<unsigned long long>(seq),
                   static_cast<char>(w.kind));
      return applied;
    }
  record_applied(batch, seq);
  return {};
}

void record_applied(storage::write_batch& batch, std::uint64_t seq) {
  batch.put_meta(cluster_seq_key, std::to_string(seq));
}

} // namespace deployd::actors
