#include "actors/positions.hpp"

#include <vector>

namespace deployd::actors {

using namespace std::chrono_literals;

position_tracker::position_tracker(events::log_position applied)
    : applied_(applied.value), sweeper_([this] { sweep(); }) {
}

position_tracker::~position_tracker() {
  std::multimap<std::uint64_t, entry> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    left.swap(waiters_);
  }
  wake_.notify_all();
  sweeper_.join();
  for (auto& [p, e] : left)
    e.done(false);
}

void position_tracker::advance(events::log_position p) {
  std::vector<waiter> due;
  {
    std::lock_guard lock(mutex_);
    if (p.value <= applied_.load(std::memory_order_relaxed))
      return;
    applied_.store(p.value, std::memory_order_release);
    const auto end = waiters_.upper_bound(p.value);
    for (auto it = waiters_.begin(); it != end; ++it)
      due.push_back(std::move(it->second.done));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& done : due)
    done(true);
}

void position_tracker::when_applied(
    events::log_position p, std::chrono::steady_clock::time_point deadline,
    waiter done) {
  {
    std::lock_guard lock(mutex_);
    // Checked under the lock: `advance` cannot slip in between the check
    // and the insertion and leave this waiter behind.
    if (p.value > applied_.load(std::memory_order_relaxed) && !stopping_) {
      waiters_.emplace(p.value, entry{deadline, std::move(done)});
      return;
    }
  }
  done(p.value <= applied_.load(std::memory_order_acquire));
}

void position_tracker::listen(commit_listener* l) {
  std::lock_guard lock(listener_mutex_);
  listener_ = l;
}

void position_tracker::committed() {
  std::lock_guard lock(listener_mutex_);
  if (listener_ != nullptr)
    listener_->committed();
}

std::size_t position_tracker::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

void position_tracker::sweep() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, 50ms);
    const auto now = std::chrono::steady_clock::now();
    std::vector<waiter> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    if (expired.empty())
      continue;
    lock.unlock();
    for (auto& done : expired)
      done(false);
    lock.lock();
  }
}

} // namespace deployd::actors
