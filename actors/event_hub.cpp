#include "actors/event_hub.hpp"

#include "actors/event_feed.hpp"
#include "actors/event_queries.hpp"
#include "events/python/json_text.hpp"
#include "observe/log.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace deployd::actors {

using storage::errc;
using storage::table;

struct event_hub::state {
  state(storage::event_log& l, storage::read_pool& p) : log(l), pool(p) {}

  storage::event_log& log;
  storage::read_pool& pool;
  /// Guards everything below; held by a pump and by a joining subscriber,
  /// so a subscriber's start is exactly where the pump stands.
  std::mutex mutex;
  /// Every subscriber, for counting and for dropping those that are gone.
  std::vector<std::weak_ptr<event_sink>> sinks;
  /// The subscribers whose filter names resource ids, under each of those
  /// ids (an event can match them only under its own resource's id), and
  /// the others, which every event is matched against. With 1,000 idle
  /// subscribers each waiting for one resource, an event is matched
  /// against those of its resource only.
  std::unordered_map<std::string, std::vector<std::weak_ptr<event_sink>>>
    by_resource;
  std::vector<std::weak_ptr<event_sink>> general;
  /// The last feed key the pump delivered (meaningful while sinks exist;
  /// read again from the feed when the first one joins).
  std::string cursor;
  /// A pump is queued and has not begun reading.
  std::atomic<bool> scheduled{false};
  std::atomic<std::size_t> count{0};
  bool failure_logged = false;
};

namespace {

using shared_state = std::shared_ptr<event_hub::state>;

void pump(const shared_state& st);

void schedule(const shared_state& st) {
  if (!st->scheduled.exchange(true, std::memory_order_acq_rel))
    st->pool.post([st] { pump(st); });
}

// Drops the subscribers that are gone (from the index too); true when
// some are left.
bool sweep(event_hub::state& st) {
  const auto gone = [](const std::weak_ptr<event_sink>& w) {
    return w.expired();
  };
  if (std::erase_if(st.sinks, gone) != 0) {
    std::erase_if(st.general, gone);
    for (auto it = st.by_resource.begin(); it != st.by_resource.end();) {
      std::erase_if(it->second, gone);
      it = it->second.empty() ? st.by_resource.erase(it) : std::next(it);
    }
  }
  st.count.store(st.sinks.size(), std::memory_order_release);
  return !st.sinks.empty();
}

// Files a new subscriber under the resource ids its filter names, or with
// the others when it names none.
void add_sink(event_hub::state& st, const std::weak_ptr<event_sink>& sink) {
  const auto s = sink.lock();
  if (!s)
    return;
  st.sinks.push_back(sink);
  const auto& resource = s->filter().resource;
  if (resource && resource->id && !resource->id->empty()) {
    const std::set<std::string> ids(resource->id->begin(),
                                    resource->id->end());
    for (const auto& id : ids)
      st.by_resource[id].push_back(sink);
  } else {
    st.general.push_back(sink);
  }
  st.count.store(st.sinks.size(), std::memory_order_release);
}

void log_failure(event_hub::state& st, errc e) {
  if (st.failure_logged)
    return;
  st.failure_logged = true;
  observe::log(observe::level::error, "event stream cannot read the feed",
               {{"detail", std::string_view(storage::to_string(e))}});
}

// Reads what entered the feed after the cursor (up to a batch) and hands
// each event to the subscribers it matches.
void pump(const shared_state& ptr) {
  auto& st = *ptr;
  // Cleared before reading: a commit from now on queues another pump.
  st.scheduled.store(false, std::memory_order_release);
  std::lock_guard lock(st.mutex);
  if (!sweep(st))
    return;
  const auto deliver = [](std::vector<std::weak_ptr<event_sink>>& to,
                          const events::prefect_event& parsed,
                          const std::shared_ptr<const live_event>& e) {
    for (const auto& w : to)
      if (const auto s = w.lock(); s && events::matches(s->filter(), parsed))
        s->deliver(e);
  };
  storage::log_reader r(st.log, storage::read_tier::any);
  std::size_t n = 0;
  std::string after = st.cursor;
  after.push_back('\0'); // the first key after the cursor
  std::optional<errc> failed;
  auto scanned = r.scan_range(
      table::event_feed, after, {},
      [&](std::string_view feed, std::string_view event_key) {
        auto row = r.get(table::event_rows, event_key);
        if (!row) {
          failed = row.error();
          return false;
        }
        st.cursor.assign(feed);
        if (!*row) // swept by retention since: nothing to send
          return ++n < event_hub::pump_batch;
        auto e = std::make_shared<live_event>();
        e->feed_key.assign(feed);
        e->text = std::move(**row);
        try {
          const auto parsed =
              events::prefect_event_from_json(events::parse_json(e->text));
          std::shared_ptr<const live_event> shared = std::move(e);
          deliver(st.general, parsed, shared);
          if (!st.by_resource.empty())
            if (const auto it =
                    st.by_resource.find(events::resource_id(parsed.resource));
                it != st.by_resource.end())
              deliver(it->second, parsed, shared);
        } catch (const std::exception& ex) {
          observe::log(observe::level::error,
                       "event stream skips an unreadable event",
                       {{"detail", std::string_view(ex.what())}});
        }
        return ++n < event_hub::pump_batch;
      });
  if (!scanned)
    failed = scanned.error();
  if (failed) {
    log_failure(st, *failed);
    return;
  }
  st.failure_logged = false;
  if (n >= event_hub::pump_batch)
    schedule(ptr); // more to read: after whatever else waits for the pool
}

} // namespace

event_hub::event_hub(storage::event_log& log, storage::read_pool& pool,
                     position_tracker& positions)
    : state_(std::make_shared<state>(log, pool)), positions_(positions) {
  positions_.listen(this);
}

event_hub::~event_hub() {
  positions_.listen(nullptr);
}

void event_hub::subscribe(std::weak_ptr<event_sink> sink, joined_fn joined) {
  state_->pool.post([st = state_, sink = std::move(sink),
                     joined = std::move(joined)]() mutable {
    std::expected<std::string, errc> start;
    {
      std::lock_guard lock(st->mutex);
      if (!sweep(*st)) {
        // Nobody listened: the pump has not followed the feed.
        storage::log_reader r(st->log, storage::read_tier::any);
        auto head = feed_head(r);
        if (head)
          st->cursor = *head;
        else
          start = std::unexpected(head.error());
      }
      if (start) {
        add_sink(*st, sink);
        start = st->cursor;
      }
    }
    joined(std::move(start));
    // Whatever was committed while it joined.
    schedule(st);
  });
}

std::size_t event_hub::subscribers() const {
  return state_->count.load(std::memory_order_acquire);
}

void event_hub::committed() noexcept {
  if (state_->count.load(std::memory_order_acquire) == 0)
    return;
  try {
    schedule(state_);
  } catch (...) {
    // Out of memory queueing the pump: the next commit tries again.
    state_->scheduled.store(false, std::memory_order_release);
  }
}

} // namespace deployd::actors
