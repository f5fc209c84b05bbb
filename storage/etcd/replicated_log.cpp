#include "storage/etcd/replicated_log.hpp"

#include <charconv>
#include <cstdio>
#include <random>
#include <thread>

namespace deployd::storage::etcd {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t v = 0;
  const auto [ptr, ec] =
    std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
    return std::nullopt;
  return v;
}

std::string random_id() {
  std::random_device rd;
  char out[33];
  std::snprintf(out, sizeof out, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return out;
}

} // namespace

std::string head_text(const log_head& h) {
  return std::to_string(h.next_seq) + " " +
         std::to_string(h.next_position.value);
}

std::optional<log_head> parse_head(std::string_view text) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  const auto seq = number(text.substr(0, space));
  const auto position = number(text.substr(space + 1));
  if (!seq || !position || *seq == 0 || *position == 0)
    return std::nullopt;
  return log_head{*seq, {*position}};
}

std::string cluster_keys::cluster_id() const {
  return prefix + "/cluster_id";
}
std::string cluster_keys::head() const {
  return prefix + "/log/head";
}
std::string cluster_keys::entries() const {
  return prefix + "/log/e/";
}
std::string cluster_keys::entry(std::uint64_t seq) const {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu",
                static_cast<unsigned long long>(seq));
  return entries() + digits;
}
std::optional<std::uint64_t>
cluster_keys::seq_of(std::string_view key) const {
  const auto base = entries();
  if (!key.starts_with(base) || key.size() != base.size() + 20)
    return std::nullopt;
  return number(key.substr(base.size()));
}
std::string cluster_keys::leader() const {
  return prefix + "/leader";
}
std::string cluster_keys::nodes() const {
  return prefix + "/nodes/";
}
std::string cluster_keys::node(std::string_view name) const {
  return nodes() + std::string(name);
}

replicated_log::replicated_log(client& c, std::string prefix)
    : client_(c), keys_{std::move(prefix)} {
}

std::expected<std::string, error>
replicated_log::initialise(std::chrono::milliseconds deadline) {
  // create_revision == 0 is "absent" (a value compare on a missing key is
  // always false: lab sheet, pitfall 1).
  auto create = [&](const std::string& key,
                    const std::string& value) -> std::expected<std::string, error> {
    txn_request t;
    t.compares.push_back(
      {key, compare::target::create_revision, {}, 0});
    t.success.push_back(put_op{key, value, 0});
    t.failure.push_back(range_op{key, {}, 0});
    auto r = client_.txn(t, deadline);
    if (!r)
      return std::unexpected(r.error());
    if (r->succeeded)
      return value;
    if (r->ranges.empty() || r->ranges[0].empty())
      return std::unexpected(error{errc::other, "no value for " + key});
    return r->ranges[0][0].value;
  };
  auto id = create(keys_.cluster_id(), random_id());
  if (!id)
    return id;
  if (auto head = create(keys_.head(), head_text({})); !head)
    return std::unexpected(head.error());
  return id;
}

std::expected<log_head, error>
replicated_log::read_head(std::chrono::milliseconds deadline) {
  range_request req;
  req.key = keys_.head();
  auto r = client_.range(req, deadline);
  if (!r)
    return std::unexpected(r.error());
  if (r->kvs.empty())
    return log_head{};
  auto head = parse_head(r->kvs[0].value);
  if (!head)
    return std::unexpected(
      error{errc::other, "malformed head '" + r->kvs[0].value + "'"});
  return *head;
}

append_result replicated_log::append(const log_head& at, const log_head& next,
                                     const std::string& value,
                                     std::int64_t leader_revision,
                                     std::chrono::milliseconds attempt,
                                     std::chrono::milliseconds budget) {
  const auto key = keys_.entry(at.next_seq);
  txn_request t;
  t.compares.push_back({keys_.head(), compare::target::value, head_text(at), 0});
  t.compares.push_back(
    {keys_.leader(), compare::target::create_revision, {}, leader_revision});
  t.success.push_back(put_op{key, value, 0});
  t.success.push_back(put_op{keys_.head(), head_text(next), 0});
  t.failure.push_back(range_op{key, {}, 0});
  const auto give_up = clock::now() + budget;
  append_result result;
  while (true) {
    auto r = client_.txn(t, attempt);
    if (r) {
      if (r->succeeded) {
        result.outcome = append_outcome::committed;
        return result;
      }
      // The compare failed: either an earlier try of this very txn was
      // applied (the entry holds our bytes), or another writer moved on.
      const bool ours = !r->ranges.empty() && !r->ranges[0].empty() &&
                        r->ranges[0][0].value == value;
      result.outcome = ours ? append_outcome::committed : append_outcome::deposed;
      return result;
    }
    result.last_error = r.error();
    if (r.error().code == errc::no_space) {
      // etcd applies a write that crosses the quota and then answers
      // NOSPACE, and refuses every later one before its compare: a resend
      // cannot settle it, a read of the entry (reads go on) does.
      range_request look;
      look.key = key;
      auto seen = client_.range(look, attempt);
      if (!seen)
        result.outcome = append_outcome::unknown;
      else if (seen->kvs.empty())
        result.outcome = append_outcome::refused;
      else
        result.outcome = seen->kvs[0].value == value ? append_outcome::committed
                                                     : append_outcome::deposed;
      return result;
    }
    if (!outcome_unknown(r.error())) {
      // etcd answered and refused (NOSPACE refuses any txn with a put, even
      // one whose compare fails): nothing was written.
      result.outcome = append_outcome::refused;
      return result;
    }
    if (clock::now() + 50ms >= give_up) {
      // Out of time (or paused past it): one last look at the entry's key
      // before saying "unknown".
      range_request look;
      look.key = key;
      auto seen = client_.range(look, attempt);
      if (seen && !seen->kvs.empty())
        result.outcome = seen->kvs[0].value == value ? append_outcome::committed
                                                     : append_outcome::deposed;
      else
        result.outcome = append_outcome::unknown;
      return result;
    }
    std::this_thread::sleep_for(50ms);
  }
}

std::expected<entry_page, error>
replicated_log::read(std::uint64_t from_seq, std::int64_t limit,
                     std::int64_t revision,
                     std::chrono::milliseconds deadline) {
  range_request req;
  req.key = keys_.entry(from_seq);
  req.range_end = prefix_end(keys_.entries());
  req.limit = limit;
  req.revision = revision;
  auto r = client_.range(req, deadline);
  if (!r)
    return std::unexpected(r.error());
  entry_page page;
  page.revision = r->revision;
  page.more = r->more;
  page.entries.reserve(r->kvs.size());
  for (auto& kv : r->kvs) {
    auto seq = keys_.seq_of(kv.key);
    if (!seq)
      return std::unexpected(error{errc::other, "unexpected key " + kv.key});
    page.entries.push_back({*seq, std::move(kv.value)});
  }
  return page;
}

std::expected<std::optional<key_value>, error>
replicated_log::leader(std::chrono::milliseconds deadline) {
  range_request req;
  req.key = keys_.leader();
  auto r = client_.range(req, deadline);
  if (!r)
    return std::unexpected(r.error());
  if (r->kvs.empty())
    return std::optional<key_value>{};
  return std::optional<key_value>{std::move(r->kvs[0])};
}

std::expected<std::optional<std::int64_t>, error>
replicated_log::campaign(std::int64_t lease, const std::string& info,
                         std::chrono::milliseconds deadline) {
  txn_request t;
  t.compares.push_back({keys_.leader(), compare::target::create_revision, {}, 0});
  t.success.push_back(put_op{keys_.leader(), info, lease});
  t.failure.push_back(range_op{keys_.leader(), {}, 0});
  auto r = client_.txn(t, deadline);
  if (!r)
    return std::unexpected(r.error());
  if (r->succeeded) // the put's revision is the key's create revision
    return std::optional<std::int64_t>{r->revision};
  if (!r->ranges.empty() && !r->ranges[0].empty() &&
      r->ranges[0][0].lease == lease)
    return std::optional<std::int64_t>{r->ranges[0][0].create_revision};
  return std::optional<std::int64_t>{};
}

} // namespace deployd::storage::etcd
