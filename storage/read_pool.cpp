#include "storage/read_pool.hpp"

#include <pthread.h>

namespace deployd::storage {

read_pool::read_pool(std::size_t threads) {
  if (threads == 0)
    threads = 1;
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "deployd.read");
      run();
    });
}

read_pool::~read_pool() {
  {
    std::lock_guard guard{mutex_};
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void read_pool::post(std::function<void()> work) {
  {
    std::lock_guard guard{mutex_};
    queue_.push_back(std::move(work));
  }
  ready_.notify_one();
}

void read_pool::run() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock{mutex_};
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

} // namespace deployd::storage
