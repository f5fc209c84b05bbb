// Live fan-out of the Prefect event feed to websocket subscribers
// (`/api/events/out`, events-api §8.4).
//
// The writer only says that a commit happened (`commit_listener`); it never
// waits for, or even knows of, a subscriber. One pump on the blocking-read
// pool then reads what entered the feed since it last looked, in feed (=
// commit) order, parses each event once, and hands it to every subscriber
// whose filter matches. A subscriber queues what it is handed and returns
// (its queue is bounded: one that falls behind is closed by its session).
//
// A subscriber's start is the feed key the pump had reached when it joined:
// every event after it is delivered live, every event up to it is what a
// backfill query with that key as its head sees, so backfill plus live has
// no gap and no duplicate. No CAF include.
#pragma once

#include "actors/positions.hpp"
#include "events/event_filter.hpp"
#include "storage/event_log.hpp"
#include "storage/read_pool.hpp"

#include <cstddef>
#include <expected>
#include <functional>
#include <memory>
#include <string>

namespace deployd::actors {

/// One event of the feed as subscribers receive it.
struct live_event {
  std::string feed_key; ///< its place in commit order (16 bytes)
  std::string text;     ///< the stored ReceivedEvent JSON
};

/// A subscriber's end of the hub.
class event_sink {
public:
  virtual ~event_sink() = default;
  /// What it subscribed to; fixed once subscribed.
  [[nodiscard]] virtual const events::event_filter& filter() const = 0;
  /// A live event after the subscriber's start that matches `filter()`,
  /// in feed order. On a read-pool thread, under the hub's lock: queue it
  /// and return, never block.
  virtual void deliver(std::shared_ptr<const live_event> e) = 0;
};

class event_hub final : public commit_listener {
public:
  /// Events at most per pump before it yields the pool to other reads.
  static constexpr std::size_t pump_batch = 4096;

  /// Listens to `positions` until destroyed.
  event_hub(storage::event_log& log, storage::read_pool& pool,
            position_tracker& positions);
  ~event_hub();
  event_hub(const event_hub&) = delete;
  event_hub& operator=(const event_hub&) = delete;

  /// Called once it is registered, on a read-pool thread, with its start
  /// (a feed key), or the storage error that kept it from joining.
  using joined_fn =
      std::function<void(std::expected<std::string, storage::errc>)>;

  /// Registers `sink` (held weakly: it leaves when it is destroyed). Any
  /// thread; the work runs on the read pool.
  void subscribe(std::weak_ptr<event_sink> sink, joined_fn joined);

  /// Subscribers registered (some may be gone since the last pump).
  [[nodiscard]] std::size_t subscribers() const;

  /// Schedules a pump when anyone listens. The writer's thread.
  void committed() noexcept override;

  struct state;

private:
  std::shared_ptr<state> state_;
  position_tracker& positions_;
};

} // namespace deployd::actors
