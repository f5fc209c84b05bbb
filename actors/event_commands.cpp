// Command handlers for client events (POST /api/events, /api/events/in) and
// their retention sweep.
#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/event_feed.hpp"
#include "actors/projections.hpp"
#include "actors/replication.hpp"

#include <vector>

namespace deployd::actors {

namespace {

using storage::errc;
using storage::table;

constexpr std::string_view client_sequence_key = "client_event_sequence";

/// Client events deleted per sweep command at most: the sweep repeats, and
/// one command stays a bounded batch.
constexpr std::size_t max_expired_per_sweep = 10'000;

std::string u64_bytes(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

std::uint64_t u64_of(std::string_view bytes) {
  std::uint64_t v = 0;
  for (const char c : bytes)
    v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

} // namespace

command_result handle(const events::record_client_events& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid&) {
  auto stored = b.meta(client_sequence_key);
  if (!stored)
    return failed(stored.error());
  std::uint64_t sequence = *stored ? u64_of(**stored) : 0;
  const std::uint64_t first = sequence;
  // Client events sit in the feed right after the log's head as this
  // command is decided: every node orders them the same way.
  const events::log_position head{b.next_position().value - 1};
  for (auto e : cmd.events) {
    // The first copy of an id wins; later ones (a client re-sending what
    // it was not sure arrived) are dropped, as the reference's storage does.
    auto known = event_id_known(b, e.id);
    if (!known)
      return failed(known.error());
    if (*known)
      continue;
    e.received = env.now;
    const auto text = events::render_event(e);
    // The reference drops oversized events silently (events-api §1.4).
    if (text.size() > events::max_event_size_bytes)
      continue;
    ++sequence;
    const auto key =
        event_key(e.occurred, feed_key(head, client_feed_index | sequence));
    if (auto kept = store_client_event(b, key, text); !kept)
      return failed(kept.error());
  }
  if (sequence != first)
    put_shared_meta(b, client_sequence_key, u64_bytes(sequence));
  return no_content({});
}

command_result handle(const events::expire_client_events& cmd,
                      storage::write_batch& b, decision_env& env,
                      const events::uuid&) {
  if (cmd.retention_seconds <= 0)
    return no_content({});
  const events::timestamp before{env.now.micros -
                                 cmd.retention_seconds * 1'000'000};
  std::vector<std::pair<std::string, std::string>> expired;
  auto scanned =
      b.scan_range(table::client_events, "", order_bytes(before),
                   [&](std::string_view key, std::string_view value) {
                     expired.emplace_back(key, value);
                     return expired.size() < max_expired_per_sweep;
                   });
  if (!scanned)
    return failed(scanned.error());
  for (const auto& [key, value] : expired)
    if (auto dropped = expire_client_event(b, key, value); !dropped)
      return failed(dropped.error());
  return no_content({});
}

} // namespace deployd::actors
