#include "actors/replication.hpp"

#include "actors/projections.hpp"
#include "events/codec.hpp"
#include "storage/record.hpp"

#include <charconv>
#include <cstdio>

namespace deployd::actors {

using storage::errc;

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
                                        r->command_id},
                           r->payload); !folded)
      return folded;
  }
  record_applied(batch, seq);
  return {};
}

void record_applied(storage::write_batch& batch, std::uint64_t seq) {
  batch.put_meta(cluster_seq_key, std::to_string(seq));
}

} // namespace deployd::actors
