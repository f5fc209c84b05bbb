#include "actors/cluster.hpp"

#include "actors/cluster_node.hpp"
#include "actors/command_codec.hpp"
#include "actors/command_support.hpp"
#include "actors/replication.hpp"
#include "actors/type_ids.hpp"
#include "events/json.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <cstdio>
#include <deque>
#include <pthread.h>
#include <unordered_map>

namespace deployd::actors {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using storage::errc;
namespace etcd = storage::etcd;

// Deadline of each call the control loop and the tailer make.
constexpr auto call_deadline = 1500ms;
// How far the tailer may run ahead of what the writer has applied.
constexpr std::uint64_t max_entries_ahead = 2048;
// Entries per range read while catching up.
constexpr std::int64_t page_entries = 128;

std::string format_error(const etcd::error& e) {
  return std::string(etcd::to_string(e.code)) + ": " + e.message;
}

} // namespace

// -- joining ---------------------------------------------------------------------

std::expected<std::string, std::string>
join_cluster(storage::event_log& log, etcd::replicated_log& rlog,
             std::chrono::milliseconds deadline) {
  auto id = rlog.initialise(deadline);
  if (!id)
    return std::unexpected("cannot initialise the cluster's keys in etcd (" +
                           format_error(id.error()) + ")");
  auto local = log.meta(cluster_id_key);
  if (!local)
    return std::unexpected(std::string("cannot read the data dir: ") +
                           storage::to_string(local.error()));
  if (*local) {
    if (**local != *id)
      return std::unexpected("the data dir " + log.data_dir() +
                             " is a replica of cluster " + **local +
                             ", but etcd under " + rlog.keys().prefix +
                             " holds cluster " + *id);
    return *id;
  }
  if (log.last_position().value != 0)
    return std::unexpected(
      "the data dir " + log.data_dir() +
      " holds a log that was not written in a cluster (a single node's?); "
      "start a cluster node with an empty data dir");
  auto batch = log.begin();
  batch.put_meta(cluster_id_key, *id);
  if (auto committed = log.commit(batch, true); !committed)
    return std::unexpected(std::string("cannot write the data dir: ") +
                           storage::to_string(committed.error()));
  return *id;
}

// -- forwarder -------------------------------------------------------------------

namespace {

struct forwarder_state {
  position_tracker* positions = nullptr;
  std::string cluster_id;
  std::chrono::milliseconds timeout{10'000};
  /// The leader's peer actor, or this node's writer while it leads.
  caf::actor leader;
  bool leader_is_local = false;
  struct waiting_request {
    write_request_ptr req;
    steady::time_point deadline;
  };
  /// Commands that arrived while no leader was known.
  std::deque<waiting_request> waiting;
  /// Commands sent to the leader and not answered yet: answered 503 at
  /// once if the leader's node goes down (a request to a dead remote actor
  /// would otherwise only time out).
  std::unordered_map<std::uint64_t, write_request_ptr> in_flight;
  std::uint64_t next_id = 0;
};

constexpr std::size_t max_waiting = 65536;

void forward(caf::stateful_actor<forwarder_state>* self,
             const write_request_ptr& req) {
  auto& st = self->state;
  if (req->hop() > 4) {
    req->reply(failed(errc::unavailable));
    return;
  }
  if (st.leader_is_local) {
    caf::anon_send(st.leader, req);
    return;
  }
  auto* positions = st.positions;
  const auto timeout = st.timeout;
  const auto id = ++st.next_id;
  st.in_flight.emplace(id, req);
  self->request(st.leader, timeout,
                forward_command{st.cluster_id,
                                encode_write(req->cmd(), req->command_id(),
                                             req->conditions())})
    .then(
      [self, id, req, positions, timeout](forward_reply& reply) {
        self->state.in_flight.erase(id);
        auto result = decode_result(reply.bytes);
        if (!result) {
          req->reply(failed(errc::corruption));
          return;
        }
        if (result->position.value == 0) {
          req->reply(std::move(*result));
          return;
        }
        // Answer once this replica holds the write, so the client reads it
        // here at once.
        auto shared = std::make_shared<command_result>(std::move(*result));
        positions->when_applied(shared->position, steady::now() + timeout,
                                [req, shared](bool applied) {
                                  if (applied)
                                    req->reply(std::move(*shared));
                                  else
                                    req->reply(failed(errc::unavailable));
                                });
      },
      [self, id, req](caf::error&) {
        self->state.in_flight.erase(id);
        req->reply(failed(errc::unavailable));
      });
}

caf::behavior forwarder(caf::stateful_actor<forwarder_state>* self,
                        position_tracker* positions,
                        std::chrono::milliseconds timeout,
                        std::string cluster_id) {
  self->state.positions = positions;
  self->state.cluster_id = std::move(cluster_id);
  self->state.timeout = timeout;
  self->delayed_send(self, 100ms, tick_atom_v);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (!st.leader || down.source != st.leader.address())
      return;
    // The leader's node is gone: what it did not answer may or may not be
    // committed (503), and new commands wait for the next leader.
    st.leader = nullptr;
    st.leader_is_local = false;
    auto lost = std::move(st.in_flight);
    st.in_flight.clear();
    for (auto& [id, req] : lost)
      req->reply(failed(errc::unavailable));
  });
  return {
    [=](const write_request_ptr& req) {
      auto& st = self->state;
      if (st.leader) {
        forward(self, req);
      } else if (st.waiting.size() < max_waiting) {
        st.waiting.push_back({req, steady::now() + st.timeout});
      } else {
        req->reply(failed(errc::unavailable));
      }
    },
    [=](leader_atom, caf::actor target, bool local) {
      auto& st = self->state;
      if (st.leader && !st.leader_is_local)
        self->demonitor(st.leader);
      st.leader = std::move(target);
      st.leader_is_local = local && st.leader;
      if (st.leader && !st.leader_is_local)
        self->monitor(st.leader);
      if (!st.leader)
        return;
      auto waiting = std::move(st.waiting);
      st.waiting.clear();
      for (auto& w : waiting)
        forward(self, w.req);
    },
    [=](tick_atom) {
      auto& st = self->state;
      const auto now = steady::now();
      while (!st.waiting.empty() && st.waiting.front().deadline <= now) {
        st.waiting.front().req->reply(failed(errc::unavailable));
        st.waiting.pop_front();
      }
      self->delayed_send(self, 100ms, tick_atom_v);
    },
  };
}

// -- peer ------------------------------------------------------------------------

struct peer_state {
  caf::actor writer;
  std::string cluster_id;
  std::uint64_t next = 0;
  std::unordered_map<std::uint64_t, caf::response_promise> waiting;
};

caf::behavior peer(caf::stateful_actor<peer_state>* self, caf::actor writer,
                   std::string cluster_id) {
  self->state.writer = std::move(writer);
  self->state.cluster_id = std::move(cluster_id);
  return {
    [=](forward_command& cmd) {
      auto rp = self->make_response_promise();
      if (cmd.cluster_id != self->state.cluster_id) {
        std::fprintf(stderr, "deployd: cluster: refused a forwarded command "
                             "of another cluster\n");
        rp.deliver(forward_reply{encode_result(failed(errc::invalid_argument))});
        return;
      }
      auto decoded = decode_write(cmd.bytes);
      if (!decoded) {
        rp.deliver(forward_reply{encode_result(failed(errc::invalid_argument))});
        return;
      }
      auto& st = self->state;
      const auto id = ++st.next;
      st.waiting.emplace(id, std::move(rp));
      // The writer replies on its own thread: the result comes back here as
      // a message, and the promise is delivered from this actor.
      auto me = caf::actor_cast<caf::actor>(self);
      auto req = std::make_shared<const write_request>(
        std::move(decoded->cmd), decoded->command_id,
        [me, id](command_result r) {
          caf::anon_send(me, forwarded_atom_v, id, encode_result(r));
        },
        true, std::move(decoded->conditions));
      caf::anon_send(st.writer, std::move(req));
    },
    [=](forwarded_atom, std::uint64_t id, std::string& bytes) {
      auto& st = self->state;
      auto it = st.waiting.find(id);
      if (it == st.waiting.end())
        return;
      it->second.deliver(forward_reply{std::move(bytes)});
      st.waiting.erase(it);
    },
  };
}

} // namespace

caf::actor spawn_forwarder(caf::actor_system& sys, position_tracker& positions,
                           std::chrono::milliseconds timeout,
                           std::string cluster_id) {
  return sys.spawn(forwarder, &positions, timeout, std::move(cluster_id));
}

caf::actor spawn_peer(caf::actor_system& sys, caf::actor writer,
                      std::string cluster_id) {
  return sys.spawn(peer, std::move(writer), std::move(cluster_id));
}

// -- cluster_node ----------------------------------------------------------------

cluster_node::cluster_node(caf::actor_system& sys, etcd::replicated_log& rlog,
                           position_tracker& positions,
                           cluster_settings settings)
    : sys_(sys), rlog_(rlog), positions_(positions),
      settings_(std::move(settings)) {
  status_.node = settings_.node;
  status_.role = "follower";
}

cluster_node::~cluster_node() {
  stopping_ = true;
  if (control_.joinable())
    control_.join();
  if (tailer_.joinable())
    tailer_.join();
  if (lease_ != 0) {
    // Revoking deletes the leader key at once: the next leader campaigns
    // now instead of after a TTL.
    if (auto r = rlog_.etcd().lease_revoke(lease_, call_deadline); !r)
      std::fprintf(stderr, "deployd: cluster: lease revoke: %s\n",
                   format_error(r.error()).c_str());
  }
  if (peer_)
    caf::anon_send_exit(peer_, caf::exit_reason::user_shutdown);
  if (forwarder_)
    caf::anon_send_exit(forwarder_, caf::exit_reason::user_shutdown);
}

std::expected<std::uint16_t, std::string>
cluster_node::start(caf::actor writer, caf::actor forwarder, caf::actor peer,
                    const std::string& http_address) {
  settings_.http_address = http_address;
  writer_ = std::move(writer);
  forwarder_ = std::move(forwarder);
  peer_ = std::move(peer);
  auto port = sys_.middleman().publish(peer_, settings_.peer_port,
                                       settings_.peer_host.c_str(), true);
  if (!port)
    return std::unexpected("cannot listen for peers on " +
                           settings_.peer_host + ":" +
                           std::to_string(settings_.peer_port) + ": " +
                           sys_.render(port.error()));
  peer_port_ = *port;
  events::json info = events::json::object();
  info["node"] = settings_.node;
  info["peer_host"] = settings_.peer_host;
  info["peer_port"] = peer_port_;
  info["http"] = settings_.http_address;
  info_ = info.dump();
  control_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "deployd.control");
    control_loop();
  });
  tailer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "deployd.tailer");
    tail_loop();
  });
  return peer_port_;
}

cluster_status cluster_node::status() const {
  std::lock_guard lock(status_mutex_);
  auto s = status_;
  s.applied = positions_.applied().value;
  s.ready = ready();
  s.role = leading() ? "leader" : "follower";
  return s;
}

void cluster_node::become_leader(std::int64_t leader_revision) {
  auto head = rlog_.read_head(call_deadline);
  if (!head)
    return; // the next round tries again
  leading_ = true;
  *lost_lead_ = false;
  caf::anon_send(writer_, lead_atom_v, lease_, leader_revision,
                 head->next_seq, head->next_position.value);
  caf::anon_send(forwarder_, leader_atom_v, writer_, true);
  followed_.clear();
  std::fprintf(stderr, "deployd: cluster: %s leads (log head: entry %llu)\n",
               settings_.node.c_str(),
               static_cast<unsigned long long>(head->next_seq));
}

void cluster_node::step_down() {
  if (!leading_.exchange(false))
    return;
  caf::anon_send(writer_, step_down_atom_v);
  caf::anon_send(forwarder_, leader_atom_v, caf::actor{}, false);
  followed_.clear();
  std::fprintf(stderr, "deployd: cluster: %s no longer leads\n",
               settings_.node.c_str());
}

void cluster_node::follow(const std::string& info) {
  // Told again every second: the forwarder drops a leader whose node went
  // down, and a proxy for a live one comes back from the middleman's cache.
  if (info == followed_ && steady::now() < followed_at_ + 1s)
    return;
  followed_at_ = steady::now();
  std::string host;
  std::uint16_t port = 0;
  try {
    const auto j = events::json::parse(info);
    host = j.at("peer_host").get<std::string>();
    port = j.at("peer_port").get<std::uint16_t>();
  } catch (const std::exception&) {
    std::fprintf(stderr, "deployd: cluster: malformed leader key '%s'\n",
                 info.c_str());
    return;
  }
  // Blocking connect, on this node's own thread.
  auto remote = sys_.middleman().remote_actor(host, port);
  if (!remote) {
    std::fprintf(stderr, "deployd: cluster: cannot reach the leader at %s:%u: "
                         "%s\n",
                 host.c_str(), static_cast<unsigned>(port),
                 sys_.render(remote.error()).c_str());
    return;
  }
  caf::anon_send(forwarder_, leader_atom_v, std::move(*remote), false);
  followed_ = info;
}

void cluster_node::control_loop() {
  const auto ttl = settings_.lease_ttl;
  const auto ttl_seconds = std::max<std::int64_t>(
    2, std::chrono::duration_cast<std::chrono::seconds>(ttl).count());
  steady::time_point last_keepalive_sent{};
  steady::time_point lease_valid_until{};
  steady::time_point next_publish{};
  std::optional<std::uint64_t> start_head; // entry to reach before ready
  auto& etcd = rlog_.etcd();
  const auto& keys = rlog_.keys();

  while (!stopping_) {
    const auto now = steady::now();
    bool reachable = true;
    // -- the lease: granted, kept alive, or given up --------------------------
    if (lease_ == 0) {
      if (auto granted = etcd.lease_grant(ttl_seconds, call_deadline)) {
        lease_ = granted->id;
        lease_valid_until = now + std::chrono::seconds(granted->ttl_seconds);
        last_keepalive_sent = now;
      } else {
        reachable = false;
      }
    } else if (now - last_keepalive_sent >= ttl / 3) {
      last_keepalive_sent = now;
      auto kept = etcd.lease_keep_alive(lease_, call_deadline);
      if (kept && *kept > 0)
        lease_valid_until = now + std::chrono::seconds(*kept);
      else if (kept) // TTL 0: the lease is gone
        lease_valid_until = {};
      else
        reachable = false;
    }
    // Leadership ends a margin before the lease could expire in etcd (its
    // clock started when the keepalive was sent, ours as well).
    if (lease_ != 0 && steady::now() + 300ms >= lease_valid_until) {
      step_down();
      lease_ = 0;
    }
    // -- one read of the leader key, the head and the members -----------------
    etcd::txn_request look;
    look.success.push_back(etcd::range_op{keys.leader(), {}, 0});
    look.success.push_back(etcd::range_op{keys.head(), {}, 0});
    look.success.push_back(
      etcd::range_op{keys.nodes(), etcd::prefix_end(keys.nodes()), 0});
    auto seen = etcd.txn(look, call_deadline);
    if (!seen || seen->ranges.size() != 3) {
      reachable = false;
    } else {
      const auto& leader_kvs = seen->ranges[0];
      std::optional<etcd::log_head> head;
      if (!seen->ranges[1].empty())
        head = etcd::parse_head(seen->ranges[1][0].value);
      if (!start_head && head)
        start_head = head->next_seq - 1;
      if (leader_kvs.empty()) {
        if (lease_ != 0) {
          auto won = rlog_.campaign(lease_, info_, call_deadline);
          if (won && *won)
            become_leader(**won);
        }
      } else if (lease_ != 0 && leader_kvs[0].lease == lease_) {
        if (!leading_ || lost_lead_->exchange(false)) {
          leading_ = false;
          become_leader(leader_kvs[0].create_revision);
        }
      } else {
        step_down();
        follow(leader_kvs[0].value);
      }
      // Cache what the status route answers.
      std::lock_guard lock(status_mutex_);
      status_.leader.reset();
      if (!leader_kvs.empty()) {
        try {
          status_.leader = events::json::parse(leader_kvs[0].value)
                             .at("node")
                             .get<std::string>();
        } catch (const std::exception&) {
        }
      }
      if (head)
        status_.log_head = head->next_position.value - 1;
      status_.members.clear();
      for (const auto& kv : seen->ranges[2]) {
        try {
          const auto j = events::json::parse(kv.value);
          cluster_member m;
          m.node = j.at("node").get<std::string>();
          m.role = j.value("role", "follower");
          m.peer = j.value("peer_host", "") + ":" +
                   std::to_string(j.value("peer_port", 0));
          m.http = j.value("http", "");
          m.applied = j.value("applied", std::uint64_t{0});
          status_.members.push_back(std::move(m));
        } catch (const std::exception&) {
        }
      }
    }
    {
      std::lock_guard lock(status_mutex_);
      status_.etcd_reachable = reachable;
    }
    if (start_head && !ready_ && positions_.applied_seq() >= *start_head) {
      ready_ = true;
      std::fprintf(stderr, "deployd: cluster: %s caught up (entry %llu)\n",
                   settings_.node.c_str(),
                   static_cast<unsigned long long>(*start_head));
    }
    // -- this node's key: who it is and how far it has applied ----------------
    if (lease_ != 0 && steady::now() >= next_publish) {
      next_publish = steady::now() + 1s;
      auto node = events::json::parse(info_);
      node["role"] = leading_ ? "leader" : "follower";
      node["applied"] = positions_.applied().value;
      node["applied_seq"] = positions_.applied_seq();
      if (auto put = etcd.put({keys.node(settings_.node), node.dump(), lease_},
                              call_deadline);
          !put && put.error().code == etcd::errc::lease_not_found) {
        step_down();
        lease_ = 0;
      }
    }
    std::this_thread::sleep_for(leading_ ? 100ms : 50ms);
  }
}

bool cluster_node::deliver(std::vector<etcd::stored_entry>&& entries) {
  if (entries.empty())
    return true;
  // Back-pressure: the writer folds what it is given in order; the tailer
  // never runs more than a bounded number of entries ahead of it.
  const auto last = entries.back().seq;
  while (!stopping_ && last > positions_.applied_seq() + max_entries_ahead)
    std::this_thread::sleep_for(2ms);
  caf::anon_send(writer_, replicated_entries(
                            std::make_shared<const std::vector<etcd::stored_entry>>(
                              std::move(entries))));
  return !stopping_;
}

void cluster_node::tail_loop() {
  auto& etcd = rlog_.etcd();
  const auto& keys = rlog_.keys();
  while (!stopping_) {
    (void)positions_.take_resync();
    // -- catch up by range reads at one revision (a watch from an old
    // revision is slow: lab sheet, pitfall 4) ----------------------------------
    std::uint64_t next = positions_.applied_seq() + 1;
    std::int64_t revision = 0;
    bool failed = false;
    while (!stopping_) {
      auto page = rlog_.read(next, page_entries, revision, call_deadline);
      if (!page) {
        failed = true;
        break;
      }
      revision = page->revision;
      if (!page->entries.empty())
        next = page->entries.back().seq + 1;
      const bool more = page->more;
      if (!deliver(std::move(page->entries)))
        return;
      if (!more)
        break;
    }
    if (failed || stopping_) {
      std::this_thread::sleep_for(200ms);
      continue;
    }
    // -- then follow live, from the revision after the last page --------------
    auto watch = etcd.watch_range(keys.entries(), etcd::prefix_end(keys.entries()),
                                  revision + 1);
    if (!watch) {
      std::this_thread::sleep_for(200ms);
      continue;
    }
    while (!stopping_) {
      if (positions_.take_resync())
        break;
      auto batch = (*watch)->next(200ms);
      if (!batch || batch->canceled || batch->compact_revision != 0)
        break;
      std::vector<etcd::stored_entry> entries;
      bool gap = false;
      for (auto& ev : batch->events) {
        if (ev.type != etcd::watch::event::kind::put)
          continue;
        auto seq = keys.seq_of(ev.kv.key);
        if (!seq)
          continue;
        if (*seq != next) {
          gap = true;
          break;
        }
        entries.push_back({*seq, std::move(ev.kv.value)});
        ++next;
      }
      if (!deliver(std::move(entries)))
        return;
      if (gap)
        break;
    }
    (*watch)->cancel();
  }
}

} // namespace deployd::actors
