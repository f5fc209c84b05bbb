#include "http/answer_cache.hpp"

#include <algorithm>

namespace deployd::http {

namespace {

std::size_t size_of(const request& req, const response& answer) {
  std::size_t n = req.idempotency_key->size() * 2 + req.method.size() +
                  req.path.size() + req.query.size() + req.body.size() +
                  answer.body.size() + answer.content_type.size() + 256;
  for (const auto& [name, value] : answer.headers)
    n += name.size() + value.size() + 64;
  return n;
}

} // namespace

answer_cache::answer_cache(std::size_t max_bytes,
                           std::chrono::seconds retention)
    : max_bytes_(max_bytes),
      margin_micros_(std::min<std::int64_t>(
        1'000'000,
        std::chrono::duration_cast<std::chrono::microseconds>(retention)
            .count() /
          4)) {}

std::optional<response> answer_cache::find(const request& req,
                                           std::int64_t now) const {
  if (!req.idempotency_key)
    return std::nullopt;
  std::shared_ptr<const entry> e;
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(*req.idempotency_key);
    if (it == entries_.end())
      return std::nullopt;
    e = it->second;
  }
  // The same request as the one the key was first used with, byte for
  // byte (what the writer's request hash stands for).
  if (now >= e->until || e->method != req.method || e->path != req.path ||
      e->query != req.query || e->body != req.body)
    return std::nullopt;
  hits_.fetch_add(1, std::memory_order_relaxed);
  return e->answer;
}

void answer_cache::remember(const request& req, const response& answer,
                            std::int64_t expires) {
  if (!req.idempotency_key)
    return;
  auto e = std::make_shared<entry>();
  e->method = req.method;
  e->path = req.path;
  e->query = req.query;
  e->body = req.body;
  e->answer = answer;
  e->answer.cause.clear();
  if (std::none_of(e->answer.headers.begin(), e->answer.headers.end(),
                   [](const auto& h) { return h.first == "Idempotent-Replayed"; }))
    e->answer.headers.emplace_back("Idempotent-Replayed", "true");
  e->until = expires - margin_micros_;
  e->bytes = size_of(req, answer);
  if (e->bytes > max_bytes_)
    return;
  std::lock_guard lock(mutex_);
  e->seq = ++seq_;
  auto& slot = entries_[*req.idempotency_key];
  if (slot)
    bytes_ -= slot->bytes;
  bytes_ += e->bytes;
  order_.emplace_back(*req.idempotency_key, e->seq);
  slot = std::move(e);
  evict_locked();
}

void answer_cache::evict_locked() {
  const auto live = [this](const std::pair<std::string, std::uint64_t>& o) {
    const auto it = entries_.find(o.first);
    return it != entries_.end() && it->second->seq == o.second;
  };
  // A key remembered again has an older place in the order that no longer
  // stands for its entry: drop those when they pile up.
  if (order_.size() > 2 * entries_.size() + 64)
    std::erase_if(order_, [&](const auto& o) { return !live(o); });
  while (bytes_ > max_bytes_ && !order_.empty()) {
    if (live(order_.front())) {
      const auto it = entries_.find(order_.front().first);
      bytes_ -= it->second->bytes;
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

std::size_t answer_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t answer_cache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

} // namespace deployd::http
