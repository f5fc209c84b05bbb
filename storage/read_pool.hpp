// A small pool of threads owned by storage for reads that may block on disk.
//
// HTTP I/O threads first try a cache-only read; when it would block they hand
// the read to this pool and get the result posted back. Knows nothing of CAF
// or HTTP.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace deployd::storage {

class read_pool {
public:
  /// Starts `threads` workers (at least one).
  explicit read_pool(std::size_t threads);
  /// Finishes queued work, then joins the workers.
  ~read_pool();
  read_pool(const read_pool&) = delete;
  read_pool& operator=(const read_pool&) = delete;

  /// Queues `work` to run on a pool thread. Callable from any thread.
  void post(std::function<void()> work);

private:
  void run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace deployd::storage
