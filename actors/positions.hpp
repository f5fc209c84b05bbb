// How far this node's replica has applied the log, and callbacks waiting for
// a position.
//
// The writer advances it after every local commit (its own batches, or
// batches replicated from the leader in cluster mode). HTTP uses it for
// `X-Deployd-Position` and `X-Deployd-Min-Position`; a follower uses it to
// answer a forwarded write only once its own replica holds the result, so a
// client always reads its own writes on the node it talks to. Waiters past
// their deadline are answered `false` by a small sweeper thread. No CAF
// include.
#pragma once

#include "events/ids.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace deployd::actors {

/// Told after each local commit: the event feed may have grown (live
/// subscribers, actors/event_hub.hpp).
class commit_listener {
public:
  /// On the writer's thread; must not block.
  virtual void committed() noexcept = 0;

protected:
  ~commit_listener() = default;
};

class position_tracker {
public:
  /// Runs once: `true` when the position was applied, `false` when the
  /// deadline passed (or the tracker stopped) first. Must not block: it
  /// runs on the writer's thread or the sweeper's.
  using waiter = std::function<void(bool applied)>;

  explicit position_tracker(events::log_position applied = {});
  /// Answers every waiter left with `false`.
  ~position_tracker();
  position_tracker(const position_tracker&) = delete;
  position_tracker& operator=(const position_tracker&) = delete;

  /// The last position this node's read model includes. Any thread.
  [[nodiscard]] events::log_position applied() const {
    return {applied_.load(std::memory_order_acquire)};
  }

  /// Records that everything up to `p` is applied and answers the waiters
  /// it satisfies. The writer's thread only.
  void advance(events::log_position p);

  /// Calls `done(true)` once `p` is applied (at once, inline, if it is),
  /// or `done(false)` at `deadline`. Any thread.
  void when_applied(events::log_position p,
                    std::chrono::steady_clock::time_point deadline,
                    waiter done);

  /// Cluster mode: the sequence number of the last replicated-log entry
  /// applied (the writer sets it; the tailer reads where to go on from).
  [[nodiscard]] std::uint64_t applied_seq() const {
    return seq_.load(std::memory_order_acquire);
  }
  void set_applied_seq(std::uint64_t seq) {
    seq_.store(seq, std::memory_order_release);
  }
  /// The writer could not apply what it was given (a gap, a failed
  /// commit): the tailer must read again from `applied_seq() + 1`.
  void request_resync() {
    resync_.store(true, std::memory_order_release);
  }
  /// True once after each `request_resync`.
  [[nodiscard]] bool take_resync() {
    return resync_.exchange(false, std::memory_order_acq_rel);
  }

  /// Sets the one commit listener (null: none). Any thread; once it
  /// returns, the previous listener is not being called and will not be.
  void listen(commit_listener* l);
  /// Tells the listener that a commit happened (a batch of this node's or
  /// one replicated from the leader, with or without new log records).
  /// The writer's thread only.
  void committed();

  /// Waiters registered and not answered yet (tests, metrics).
  [[nodiscard]] std::size_t waiting() const;

private:
  struct entry {
    std::chrono::steady_clock::time_point deadline;
    waiter done;
  };
  void sweep();

  std::atomic<std::uint64_t> applied_;
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<bool> resync_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<std::uint64_t, entry> waiters_;
  std::mutex listener_mutex_;
  commit_listener* listener_ = nullptr;
  bool stopping_ = false;
  std::thread sweeper_;
};

} // namespace deployd::actors
