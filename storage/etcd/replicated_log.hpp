// deployd's log of record in cluster mode: the key layout in etcd, the fenced
// append of one group-commit batch, reading entries back, and the leader key.
//
// Keys under the cluster prefix (`cluster.prefix`, default `/deployd`):
//   <prefix>/cluster_id        random id, created once; each node's RocksDB
//                              remembers it and refuses another cluster
//   <prefix>/log/head          "<next seq> <next position>", the fence
//   <prefix>/log/e/<20 digits> one entry (storage/log_entry) per batch
//   <prefix>/leader            the leader's node info, on its lease
//   <prefix>/nodes/<name>      each node's info and applied position, on
//                              its own lease (the seam for log truncation)
// Entries are never overwritten, so they survive etcd compaction and are
// read by key, never by revision (lab sheet, pitfall 5). Blocking calls with
// deadlines: the writer's thread and the cluster node's own threads only.
// No CAF, no RocksDB.
#pragma once

#include "events/ids.hpp"
#include "storage/etcd/client.hpp"

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::storage::etcd {

/// Where the log ends: the sequence number the next entry gets and the
/// log position its first record gets.
struct log_head {
  std::uint64_t next_seq = 1;
  events::log_position next_position{1};

  bool operator==(const log_head&) const = default;
};

/// `"<next seq> <next position>"`: the head's value in etcd.
[[nodiscard]] std::string head_text(const log_head& h);
[[nodiscard]] std::optional<log_head> parse_head(std::string_view text);

/// Key names under one prefix.
struct cluster_keys {
  std::string prefix;

  [[nodiscard]] std::string cluster_id() const;
  [[nodiscard]] std::string head() const;
  [[nodiscard]] std::string entries() const; ///< prefix of every entry key
  [[nodiscard]] std::string entry(std::uint64_t seq) const;
  [[nodiscard]] std::optional<std::uint64_t> seq_of(std::string_view key) const;
  [[nodiscard]] std::string leader() const;
  [[nodiscard]] std::string nodes() const; ///< prefix of every node key
  [[nodiscard]] std::string node(std::string_view name) const;
};

/// What became of one fenced append.
enum class append_outcome : std::uint8_t {
  committed = 0, ///< the entry is at its seq (this try or an earlier one)
  deposed = 1,   ///< another writer moved the head: nothing of ours is there
  refused = 2,   ///< etcd refused it (no space, too large): nothing written
  unknown = 3,   ///< no answer within the budget: it may or may not be there
};

struct append_result {
  append_outcome outcome = append_outcome::unknown;
  /// The last error seen (refused, unknown), for logs and the status code.
  std::optional<error> last_error;
};

/// One entry read back.
struct stored_entry {
  std::uint64_t seq = 0;
  std::string value;
};

struct entry_page {
  std::vector<stored_entry> entries;
  /// The etcd revision the page was read at (watch from revision + 1).
  std::int64_t revision = 0;
  bool more = false;
};

class replicated_log {
public:
  /// `c` must outlive this object.
  replicated_log(client& c, std::string prefix);

  [[nodiscard]] const cluster_keys& keys() const {
    return keys_;
  }
  [[nodiscard]] client& etcd() {
    return client_;
  }

  /// Creates the cluster id and the head if they are absent (one txn each,
  /// so racing nodes agree) and returns the cluster id.
  [[nodiscard]] std::expected<std::string, error>
  initialise(std::chrono::milliseconds deadline);

  /// The head, read linearizably.
  [[nodiscard]] std::expected<log_head, error>
  read_head(std::chrono::milliseconds deadline);

  /// Appends `value` as entry `at.next_seq` if and only if the head is still
  /// `at` and the leader key is still the one this writer's node created
  /// (its create revision `leader_revision`), moving the head to `next`.
  /// The second compare is what fences a leader whose lease ran out: a txn
  /// it sent late (its process paused between deciding and sending) finds
  /// the key gone or another node's, even before the new leader has
  /// appended anything. Retries an unanswered try with the identical txn
  /// (each try bounded by `attempt`) until `budget` has passed, and resolves
  /// a failed compare by reading the entry back: ours (the same bytes) means
  /// committed, anything else deposed.
  [[nodiscard]] append_result append(const log_head& at, const log_head& next,
                                     const std::string& value,
                                     std::int64_t leader_revision,
                                     std::chrono::milliseconds attempt,
                                     std::chrono::milliseconds budget);

  /// Up to `limit` entries from `from_seq` on, at `revision` (0: the
  /// current one; the page says which it was).
  [[nodiscard]] std::expected<entry_page, error>
  read(std::uint64_t from_seq, std::int64_t limit, std::int64_t revision,
       std::chrono::milliseconds deadline);

  /// The leader key's value, if any.
  [[nodiscard]] std::expected<std::optional<key_value>, error>
  leader(std::chrono::milliseconds deadline);
  /// Puts `info` under the leader key on `lease` if the key is absent.
  /// When this call (or an earlier one on the same lease) holds it: the
  /// key's create revision, which the appends of this lead compare.
  [[nodiscard]] std::expected<std::optional<std::int64_t>, error>
  campaign(std::int64_t lease, const std::string& info,
           std::chrono::milliseconds deadline);

private:
  client& client_;
  cluster_keys keys_;
};

} // namespace deployd::storage::etcd
