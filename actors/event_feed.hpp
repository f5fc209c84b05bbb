// The Prefect event feed: which Prefect events each domain event announces
// (events-api §9, deployments-api §14), and the rows that index them.
//
// Part of the fold: `fold` (actors/projections.cpp) calls `announce` for
// every record, live and in replay, and these functions are the only code
// that writes the `event_*` tables, so a replay rebuilds the feed byte for
// byte. An announced event's id, time and place in the feed come from its
// record (position, recorded-at, command id), or, for a flow-run state
// event, from the state the record carries (its id and timestamp, as the
// reference); nothing reads a clock.
//
// Keys. A feed key is 16 bytes: the log position (8, big-endian) and an
// index (8): the event's rank among those its record announced, or, for a
// client event, 2^63 + the client-event sequence (stored at the log's head
// at the time, so commit order is feed-key order on every node). An event
// key is the event's `occurred` (8, sortable) + its feed key: every index
// ends with one, so queries read in time order. No CAF include.
#pragma once

#include "actors/projections.hpp"
#include "events/prefect_event.hpp"
#include "storage/event_log.hpp"

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::actors {

/// Index bit of a client event's feed key.
inline constexpr std::uint64_t client_feed_index = std::uint64_t{1} << 63;
/// Bytes of a feed key and of an event key.
inline constexpr std::size_t feed_key_size = 16;
inline constexpr std::size_t event_key_size = 24;

/// Position (8 bytes) + index (8 bytes), big-endian.
[[nodiscard]] std::string feed_key(events::log_position position,
                                   std::uint64_t index);
/// `occurred` order bytes + feed key.
[[nodiscard]] std::string event_key(events::timestamp occurred,
                                    std::string_view feed);
/// The event key at the end of an index key (or the key itself).
[[nodiscard]] std::string_view event_key_of(std::string_view index_key);
/// The feed key inside an event key.
[[nodiscard]] std::string_view feed_key_of(std::string_view event_key);
/// The `occurred` of an event key.
[[nodiscard]] events::timestamp occurred_of(std::string_view event_key);

/// When a domain event's announcements are made: deletions describe what
/// was there (before the fold removes it), the rest what is there after.
enum class announce_stage : std::uint8_t { before_fold = 0, after_fold = 1 };

/// Writes the Prefect events `e` announces at `stage` into the feed;
/// `index` is the next rank within the record (advanced per event). Called
/// by `fold` only.
[[nodiscard]] std::expected<void, storage::errc>
announce(storage::write_batch& b, const events::any_event& e,
         const fold_context& at, announce_stage stage, std::uint64_t& index);

/// What `announce` writes after the fold of a `deployment_created` of `d`
/// (its `prefect.deployment.created` event), for `fold` of a stored
/// deployment, which has no `any_event`. Called by the folds only.
[[nodiscard]] std::expected<void, storage::errc>
announce_deployment_created(storage::write_batch& b, const fold_context& at,
                            const events::deployment& d, std::uint64_t& index);

/// Writes one event's feed rows (every table but `client_events`).
void put_event_rows(storage::write_batch& b, std::string_view key,
                    const events::prefect_event& e, std::string_view rendered);
/// Deletes them.
void erase_event_rows(storage::write_batch& b, std::string_view key,
                      const events::prefect_event& e);

/// Whether an event with this id is in the feed (as of `r`).
[[nodiscard]] std::expected<bool, storage::errc>
event_id_known(storage::reader& r, const events::uuid& id);

} // namespace deployd::actors
