// The first answers of keyed writes, kept in memory so that a retry with
// the same `Idempotency-Key` and the same request is answered before its
// body is parsed and without a trip to the writer (issue 16: an idempotent
// replay costs no more than a GET by id).
//
// Only a cache: the key's record in the log stays the truth. An entry is
// made when the writer answers a keyed write `ok` (committed, so durable)
// or replays one; a retry that finds no entry, or whose method, path, query
// or body differ, goes to the writer as before, which replays it or answers
// the 422. An entry stops answering `margin` before the key's retention
// ends by the writer's clock (the system clock; deployd builds no cache
// with a test clock), so that a follower's clock a little ahead of the
// leader's cannot replay a key the writer would call expired. Bounded in
// bytes; the oldest entries go first. Thread-safe. No Beast include.
#pragma once

#include "http/message.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace deployd::http {

class answer_cache {
public:
  /// `max_bytes`: what the kept requests and answers may hold in all;
  /// `retention`: the keys' retention (the margin is a quarter of it, at
  /// most a second).
  answer_cache(std::size_t max_bytes, std::chrono::seconds retention);

  /// The answer to give `req` again (with `Idempotent-Replayed`), if its
  /// key has an entry for this very request that has not expired at `now`
  /// (microseconds since the Unix epoch).
  [[nodiscard]] std::optional<response> find(const request& req,
                                             std::int64_t now) const;

  /// Keeps `answer` for the request `req` made with its key, until
  /// `expires` (microseconds since the epoch, the writer's clock).
  void remember(const request& req, const response& answer,
                std::int64_t expires);

  /// Entries and bytes held (tests, metrics).
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t bytes() const;
  /// Retries answered by `find` since the start.
  [[nodiscard]] std::uint64_t hits() const { return hits_.load(); }

private:
  struct entry {
    std::string method, path, query, body;
    response answer;
    std::int64_t until = 0; ///< answers while now < until
    std::size_t bytes = 0;
    std::uint64_t seq = 0; ///< which remember made it
  };

  void evict_locked();

  const std::size_t max_bytes_;
  const std::int64_t margin_micros_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const entry>> entries_;
  /// Keys and `seq` in the order they were remembered; a key remembered
  /// again also keeps its older place, which no longer matches its entry.
  std::deque<std::pair<std::string, std::uint64_t>> order_;
  std::size_t bytes_ = 0;
  std::uint64_t seq_ = 0;
  mutable std::atomic<std::uint64_t> hits_{0};
};

} // namespace deployd::http
