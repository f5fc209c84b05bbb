#include "actors/writer_actor.hpp"

#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/idempotency.hpp"
#include "actors/preconditions.hpp"
#include "actors/replication.hpp"
#include "actors/type_ids.hpp"
#include "observe/log.hpp"
#include "storage/log_entry.hpp"

#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>

namespace deployd::actors {

namespace {

using storage::errc;
using storage::etcd::append_outcome;
using storage::etcd::log_head;

enum class role : std::uint8_t { single, follower, leader };

struct writer_state {
  storage::event_log* log = nullptr;
  events::clock* clock = nullptr;
  events::id_source* ids = nullptr;
  position_tracker* positions = nullptr;
  writer_settings settings;
  std::deque<write_request_ptr> pending;
  bool flush_scheduled = false;
  // -- cluster mode ----------------------------------------------------------
  role mode = role::single;
  /// Leading and caught up with the head confirmed when the lead began.
  bool ready = false;
  /// This replica's head (what it has applied).
  log_head applied;
  /// The head to reach before deciding (read when the lead began).
  log_head target;
  /// Create revision of this lead's leader key: every append compares it.
  std::int64_t leader_revision = 0;
  /// Commit ids: `<node>/<lease hex>/<batch number>`.
  std::string commit_prefix;
  std::uint64_t batches = 0;

  [[nodiscard]] bool deciding() const {
    return mode == role::single || (mode == role::leader && ready);
  }
  [[nodiscard]] const replication_settings& cluster() const {
    return *settings.cluster;
  }
};

void advance(writer_state& st, const log_head& next) {
  st.applied = next;
  st.positions->set_applied_seq(next.next_seq - 1);
  st.positions->advance({next.next_position.value - 1});
}

// The writer cannot decide until the node has confirmed (or lost) the lead.
void lose_ready(writer_state& st) {
  st.ready = false;
  if (st.cluster().on_lost_lead)
    st.cluster().on_lost_lead();
}

// What one command adds to an entry: where the batch's records and side
// writes stood before it.
struct entry_mark {
  std::size_t records = 0;
  std::size_t side_writes = 0;
};

entry_mark mark(const storage::write_batch& b) {
  return {b.records().size(), b.side_writes().size()};
}

// Sizes of the records and side writes made since `from` (their share of
// an entry).
std::size_t entry_bytes_since(const storage::write_batch& b, entry_mark from) {
  std::size_t n = 0;
  const auto& records = b.records();
  for (auto i = from.records; i < records.size(); ++i)
    n += storage::entry_size(records[i]);
  const auto& writes = b.side_writes();
  for (auto i = from.side_writes; i < writes.size(); ++i)
    n += storage::entry_size(writes[i]);
  return n;
}

// Appends the decided batch to etcd and, once etcd has it, commits it
// locally. Returns the failure every ok result must become, if any.
std::optional<errc> replicate(writer_state& st, storage::write_batch& batch) {
  const auto& c = st.cluster();
  const log_head at = st.applied;
  const log_head next{at.next_seq + 1, batch.next_position()};
  record_applied(batch, at.next_seq);
  const auto entry = storage::encode_log_entry(
    st.commit_prefix + std::to_string(++st.batches), at.next_position,
    batch.records(), batch.side_writes());
  const auto appended = c.log->append(at, next, entry, st.leader_revision,
                                      c.attempt, c.budget);
  switch (appended.outcome) {
    case append_outcome::committed:
      break;
    case append_outcome::deposed:
      std::fprintf(stderr,
                   "deployd: cluster: another writer appended entry %llu: "
                   "this node no longer leads\n",
                   static_cast<unsigned long long>(at.next_seq));
      lose_ready(st);
      return errc::unavailable;
    case append_outcome::refused: {
      const auto code = appended.last_error->code;
      std::fprintf(stderr, "deployd: cluster: etcd refused entry %llu: %s\n",
                   static_cast<unsigned long long>(at.next_seq),
                   appended.last_error->message.c_str());
      if (code == storage::etcd::errc::no_space)
        return errc::no_space;
      if (code == storage::etcd::errc::too_large)
        return errc::too_large;
      return errc::unavailable;
    }
    case append_outcome::unknown:
      std::fprintf(stderr,
                   "deployd: cluster: no answer from etcd for entry %llu "
                   "(%s): its requests get 503, the head is read again\n",
                   static_cast<unsigned long long>(at.next_seq),
                   appended.last_error ? appended.last_error->message.c_str()
                                       : "timeout");
      lose_ready(st);
      return errc::unavailable;
  }
  // etcd's quorum has it: that is the durability a 2xx promises. The local
  // commit skips fsync; if this process or machine dies first, the tailer
  // brings the entry back from etcd.
  if (auto committed = st.log->commit(batch, false); !committed) {
    // In the cluster but not here: the tailer delivers it again.
    lose_ready(st);
    return committed.error();
  }
  advance(st, next);
  return std::nullopt;
}

// One command: its conditions (If-Match / If-None-Match), then its handler,
// all against the state as the commands before it in the batch left it.
// With an Idempotency-Key: an earlier answer to the same key comes first
// (given again, nothing decided), and an ok answer is recorded with the key
// in the same batch as the write.
command_result decide(const writer_state& st, const write_request_ptr& req,
                      storage::write_batch& b, decision_env& env) {
  const auto& c = req->conditions();
  std::optional<events::uuid> expired;
  if (!c.idempotency_key.empty()) {
    auto recalled =
      recall_key(b, c, env.now, st.settings.idempotency_retention);
    if (!recalled)
      return failed(recalled.error());
    if (recalled->answer)
      return std::move(*recalled->answer);
    expired = recalled->expired;
  }
  if (c.has_tags()) {
    auto refused = check_tags(req->cmd(), c, b);
    if (!refused)
      return failed(refused.error());
    if (*refused)
      return rejected(std::move(**refused));
  }
  auto result = std::visit(
    [&](const auto& cmd) { return handle(cmd, b, env, req->command_id()); },
    req->cmd());
  if (!c.idempotency_key.empty() &&
      result.result == command_result::outcome::ok) {
    if (auto kept = remember_key(b, c, result, expired, env, req->command_id());
        !kept)
      return failed(kept.error());
    result.key_expires =
      env.now.micros + std::chrono::duration_cast<std::chrono::microseconds>(
                         st.settings.idempotency_retention)
                         .count();
  }
  return result;
}

// Decides, writes and commits pending commands (up to max_batch; in cluster
// mode also up to an entry's size), then replies to each.
void flush(writer_state& st) {
  const bool clustered = st.mode != role::single;
  const auto n = std::min(st.pending.size(), st.settings.max_batch);
  auto batch = st.log->begin(clustered);
  std::vector<command_result> results;
  results.reserve(n);
  std::size_t entry_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& req = st.pending[i];
    decision_env env{st.clock->now(), *st.ids};
    if (clustered)
      env.entry_bytes = st.cluster().max_entry_bytes;
    batch.set_save_point();
    const auto before = mark(batch);
    command_result result;
    try {
      result = decide(st, req, batch, env);
    } catch (const std::exception& e) {
      // A bug in a decision or fold: this command fails alone (its writes
      // are rolled back below) and the writer keeps serving.
      observe::log(observe::level::error, "command failed",
                   {{"detail", e.what()}});
      result = failed(errc::corruption);
    }
    if (result.result == command_result::outcome::ok && clustered) {
      const auto bytes = entry_bytes_since(batch, before);
      if (entry_bytes + bytes > st.cluster().max_entry_bytes) {
        batch.rollback_to_save_point();
        if (entry_bytes > 0)
          break; // the next flush starts with this command
        results.push_back(failed(errc::too_large));
        continue;
      }
      entry_bytes += bytes;
    }
    if (result.result == command_result::outcome::ok)
      batch.pop_save_point();
    else
      batch.rollback_to_save_point();
    results.push_back(std::move(result));
  }
  const auto decided = results.size();
  std::vector<write_request_ptr> requests(
    st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(decided));
  st.pending.erase(st.pending.begin(),
                   st.pending.begin() + static_cast<std::ptrdiff_t>(decided));

  if (batch.has_writes()) {
    // In cluster mode every batch is an entry, even one of client events
    // alone (no record, side writes only): every node stores them.
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<errc> failure;
    if (clustered) {
      failure = replicate(st, batch);
    } else if (auto committed = st.log->commit(batch, st.settings.sync);
               !committed) {
      failure = committed.error();
    } else {
      st.positions->advance(st.log->last_position());
    }
    if (failure) {
      for (auto& r : results)
        if (r.result == command_result::outcome::ok)
          r = failed(*failure);
    } else {
      st.positions->committed();
    }
    if (!failure && st.settings.on_commit)
      st.settings.on_commit(
          {decided, batch.appended(),
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
               .count()});
  }
  for (std::size_t i = 0; i < decided; ++i)
    requests[i]->reply(std::move(results[i]));
}

void schedule_flush(caf::stateful_actor<writer_state>* self) {
  auto& st = self->state;
  if (!st.flush_scheduled && !st.pending.empty() && st.deciding()) {
    // The flush message queues behind every request already in the
    // mailbox, so one flush serves all of them: that is group commit.
    st.flush_scheduled = true;
    self->send(self, flush_atom_v);
  }
}

// A command that reached a writer which does not lead: to the leader
// through the forwarder, unless it came from a peer (one hop only).
void redirect(writer_state& st, const write_request_ptr& req) {
  if (req->from_peer() || !st.cluster().forwarder || req->hop() > 4)
    req->reply(failed(errc::unavailable));
  else
    caf::anon_send(st.cluster().forwarder, req);
}

void step_down(writer_state& st) {
  st.mode = role::follower;
  st.ready = false;
  auto waiting = std::move(st.pending);
  st.pending.clear();
  for (auto& req : waiting)
    redirect(st, req);
}

void apply_replicated(caf::stateful_actor<writer_state>* self,
                      const std::vector<storage::etcd::stored_entry>& entries) {
  auto& st = self->state;
  auto batch = st.log->begin();
  log_head next = st.applied;
  for (const auto& e : entries) {
    if (e.seq < next.next_seq)
      continue; // ours, or delivered twice
    if (e.seq > next.next_seq) {
      std::fprintf(stderr, "deployd: cluster: entry %llu arrived before %llu\n",
                   static_cast<unsigned long long>(e.seq),
                   static_cast<unsigned long long>(next.next_seq));
      st.positions->request_resync();
      break;
    }
    const auto entry = storage::decode_log_entry(e.value);
    if (!entry) {
      std::fprintf(stderr, "deployd: cluster: entry %llu cannot be decoded\n",
                   static_cast<unsigned long long>(e.seq));
      std::abort();
    }
    if (st.mode == role::leader && st.ready) {
      // Someone else appended while this node thought it led.
      std::fprintf(stderr, "deployd: cluster: entry %llu was appended by %.*s: "
                           "this node no longer leads\n",
                   static_cast<unsigned long long>(e.seq),
                   static_cast<int>(entry->commit_id.size()),
                   entry->commit_id.data());
      lose_ready(st);
    }
    if (auto applied = apply_entry(batch, e.seq, *entry); !applied) {
      // The replica does not continue the log of record: a bug, or a data
      // dir from another cluster that slipped past the id check.
      std::fprintf(stderr, "deployd: cluster: cannot apply entry %llu: %s\n",
                   static_cast<unsigned long long>(e.seq),
                   storage::to_string(applied.error()));
      std::abort();
    }
    next = {e.seq + 1, batch.next_position()};
  }
  if (next.next_seq == st.applied.next_seq)
    return;
  if (auto committed = st.log->commit(batch, false); !committed) {
    // A full disk: the same entries come again once the tailer re-reads.
    st.positions->request_resync();
    return;
  }
  advance(st, next);
  st.positions->committed();
  if (st.mode == role::leader && !st.ready &&
      st.applied.next_seq >= st.target.next_seq) {
    st.ready = true;
    schedule_flush(self);
  }
}

caf::behavior writer(caf::stateful_actor<writer_state>* self,
                     storage::event_log* log, events::clock* clock,
                     events::id_source* ids, position_tracker* positions,
                     writer_settings settings) {
  auto& st = self->state;
  st.log = log;
  st.clock = clock;
  st.ids = ids;
  st.positions = positions;
  st.settings = std::move(settings);
  if (st.settings.cluster) {
    st.mode = role::follower;
    auto head = replica_head(*log);
    if (!head) {
      std::fprintf(stderr, "deployd: cluster: cannot read the replica's head\n");
      std::abort();
    }
    st.applied = *head;
    positions->set_applied_seq(head->next_seq - 1);
  }
  positions->advance(log->last_position());
  // On shutdown, answer everything already accepted before exiting.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& s = self->state;
    while (!s.pending.empty() && s.deciding())
      flush(s);
    s.pending.clear(); // the rest answer 503 as they are destroyed
    self->quit(msg.reason);
  });
  return {
    [=](const write_request_ptr& req) {
      auto& s = self->state;
      if (s.mode == role::follower)
        return redirect(s, req);
      s.pending.push_back(req);
      schedule_flush(self);
    },
    [=](flush_atom) {
      auto& s = self->state;
      s.flush_scheduled = false;
      if (s.deciding())
        flush(s);
      schedule_flush(self);
    },
    [=](const replicated_entries& entries) {
      apply_replicated(self, *entries);
    },
    [=](lead_atom, std::int64_t lease, std::int64_t leader_revision,
        std::uint64_t next_seq, std::uint64_t next_position) {
      auto& s = self->state;
      if (s.mode != role::leader || leader_revision != s.leader_revision) {
        char prefix[96];
        std::snprintf(prefix, sizeof prefix, "/%llx/",
                      static_cast<unsigned long long>(lease));
        s.commit_prefix = s.cluster().node + prefix;
        s.batches = 0;
      }
      s.mode = role::leader;
      s.leader_revision = leader_revision;
      s.target = log_head{next_seq, {next_position}};
      s.ready = s.applied.next_seq >= next_seq;
      schedule_flush(self);
    },
    [=](step_down_atom) { step_down(self->state); },
  };
}

} // namespace

write_request::~write_request() {
  command_result r;
  r.result = command_result::outcome::failed;
  r.failure = storage::errc::io_error;
  reply(std::move(r));
}

void write_request::reply(command_result result) const {
  if (!replied_.exchange(true) && reply_)
    reply_(std::move(result));
}

caf::actor spawn_writer(caf::actor_system& sys, storage::event_log& log,
                        events::clock& clock, events::id_source& ids,
                        position_tracker& positions, writer_settings settings) {
  return sys.spawn<caf::detached>(writer, &log, &clock, &ids, &positions,
                                  std::move(settings));
}

} // namespace deployd::actors
