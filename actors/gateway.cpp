#include "actors/gateway.hpp"

#include "actors/cluster_node.hpp"
#include "actors/foreman.hpp"
#include "actors/scheduler.hpp"
#include "actors/type_ids.hpp"
#include "actors/writer_actor.hpp"
#include "observe/log.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

namespace deployd::actors {

namespace {

// A config that is complete before the system that reads it is built.
struct configured : caf::actor_system_config {
  configured(std::size_t threads, bool networked) {
    set("scheduler.max-threads", threads == 0 ? 1 : threads);
    // An idle worker sleeps on its condition variable (woken by the next
    // enqueue) instead of polling every 50 us for 25 ms: the polling cost a
    // cluster node ~1/3 of its CPU under load (bench/README.md, CAF's
    // scheduler), and the blocking-call latency falls from ~113 to ~14 us.
    set("work-stealing.aggressive-poll-attempts", 1);
    set("work-stealing.moderate-poll-attempts", 0);
    if (networked) {
      // Only what crosses the middleman needs to be known by name there.
      add_message_type<forward_command>("deployd::forward_command");
      add_message_type<forward_reply>("deployd::forward_reply");
      load<caf::io::middleman>();
    }
  }
};

} // namespace

struct runtime::impl {
  impl(std::size_t threads, bool networked, events::log_position applied)
      : config(threads, networked), system(config), positions(applied) {
  }
  configured config; // must outlive `system`: declared first
  caf::actor_system system;
  position_tracker positions;
  std::unique_ptr<cluster_node> node;
  caf::actor writer;
  caf::actor foreman;
  caf::actor forwarder;
  caf::actor peer;
  caf::actor retention;
  caf::actor scheduler;
  caf::actor recent_scheduler;
  caf::actor late_runs;
  caf::actor key_sweep;
};

runtime::runtime(storage::event_log& log, events::clock& clock,
                 events::id_source& ids, runtime_settings settings)
    : impl_(std::make_unique<impl>(settings.scheduler_threads,
                                   settings.cluster.has_value(),
                                   log.last_position())) {
  writer_settings ws{settings.max_batch, settings.sync, std::nullopt,
                     settings.on_commit};
  ws.idempotency_retention = settings.idempotency_retention;
  if (settings.cluster) {
    const auto& c = *settings.cluster;
    impl_->node = std::make_unique<cluster_node>(
      impl_->system, *settings.replicated, impl_->positions, c);
    impl_->forwarder =
      spawn_forwarder(impl_->system, impl_->positions, c.forward_timeout,
                      c.cluster_id);
    replication_settings rs;
    rs.log = settings.replicated;
    rs.node = c.node;
    rs.attempt = c.append_attempt;
    rs.budget = c.append_budget;
    rs.max_entry_bytes = c.max_entry_bytes;
    rs.forwarder = impl_->forwarder;
    rs.on_lost_lead = [flag = impl_->node->lost_lead_flag()] { *flag = true; };
    ws.cluster = std::move(rs);
  }
  impl_->writer = spawn_writer(impl_->system, log, clock, ids,
                               impl_->positions, std::move(ws));
  if (settings.cluster)
    impl_->peer =
      spawn_peer(impl_->system, impl_->writer, settings.cluster->cluster_id);
  if (settings.sweep_interval.count() > 0)
    impl_->foreman = spawn_foreman(
        impl_->system,
        [this](command cmd, const events::uuid& id, reply_fn reply) {
          // In a cluster only the leader sweeps (the sweep is a write; the
          // followers would only forward the same decision to it).
          if (impl_->node && !impl_->node->leading()) {
            command_result skipped;
            skipped.result = command_result::outcome::ok;
            reply(std::move(skipped));
            return;
          }
          submit(std::move(cmd), id, std::move(reply));
        },
        settings.sweep_interval, settings.sweep_rules);
  // The scheduler and late-runs services write on the leader only (a
  // follower skips its passes: the leader makes the same runs, and a
  // change of leader cannot make them twice, by idempotency key).
  // Each pass a node submits is logged at debug level (what the cluster
  // test counts to see that only the leader runs them).
  auto leader_submit = [this](const char* service) {
    return [this, service](command cmd, const events::uuid& id,
                           reply_fn reply) {
      if (impl_->node && !impl_->node->leading()) {
        command_result skipped;
        skipped.result = command_result::outcome::ok;
        reply(std::move(skipped));
        return;
      }
      observe::log(observe::level::debug, "service pass",
                   {{"service", service}});
      submit(std::move(cmd), id, std::move(reply));
    };
  };
  if (settings.scheduler_interval.count() > 0)
    impl_->scheduler = spawn_scheduler(impl_->system, leader_submit("scheduler"),
                                       settings.scheduler_interval,
                                       settings.scheduler_pass);
  if (settings.recent_scheduler_interval.count() > 0) {
    auto recent = settings.scheduler_pass;
    recent.after.reset();
    // Deployments updated within the loop's interval plus a second
    // (flow-runs.md §11.2).
    recent.recent_micros =
        (settings.recent_scheduler_interval.count() + 1000) * 1000;
    impl_->recent_scheduler = spawn_periodic(
        impl_->system, leader_submit("recent deployments scheduler"),
        settings.recent_scheduler_interval,
        std::move(recent), "recent deployments scheduler");
  }
  if (settings.late_runs_interval.count() > 0)
    impl_->late_runs =
        spawn_periodic(impl_->system, leader_submit("late runs"),
                       settings.late_runs_interval, settings.late_runs,
                       "late runs");
  if (settings.retention_interval.count() > 0 &&
      settings.retention.retention_seconds > 0)
    impl_->retention = spawn_periodic(
        impl_->system,
        [this](command cmd, const events::uuid& id, reply_fn reply) {
          submit(std::move(cmd), id, std::move(reply));
        },
        settings.retention_interval, settings.retention, "event retention");
  if (settings.idempotency_sweep_interval.count() > 0)
    impl_->key_sweep = spawn_periodic(
        impl_->system,
        [this](command cmd, const events::uuid& id, reply_fn reply) {
          submit(std::move(cmd), id, std::move(reply));
        },
        settings.idempotency_sweep_interval,
        events::expire_idempotency_keys{settings.idempotency_retention.count(),
                                        10'000},
        "idempotency key sweep");
}

runtime::~runtime() {
  caf::scoped_actor self{impl_->system};
  // The timers first: no sweep is submitted once the writer stops.
  for (auto* timer : {&impl_->foreman, &impl_->retention, &impl_->scheduler,
                      &impl_->recent_scheduler, &impl_->late_runs,
                      &impl_->key_sweep}) {
    if (!*timer)
      continue;
    self->monitor(*timer);
    caf::anon_send_exit(*timer, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
    *timer = nullptr;
  }
  // Then the node: its threads stop handing the writer entries, and its
  // lease is revoked so that another node leads at once.
  impl_->node.reset();
  // An exit message is handled after every request already queued, so
  // in-flight commands are committed and answered before the writer stops.
  self->monitor(impl_->writer);
  caf::anon_send_exit(impl_->writer, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  impl_->writer = nullptr;
  impl_->forwarder = nullptr;
  impl_->peer = nullptr;
}

std::expected<std::uint16_t, std::string>
runtime::start(const std::string& http_address) {
  if (!impl_->node)
    return std::uint16_t{0};
  return impl_->node->start(impl_->writer, impl_->forwarder, impl_->peer,
                            http_address);
}

void runtime::submit(command cmd, const events::uuid& command_id,
                     reply_fn reply, write_conditions conditions) {
  auto req = std::make_shared<const write_request>(
    std::move(cmd), command_id, std::move(reply), false, std::move(conditions));
  if (impl_->node && !impl_->node->leading())
    caf::anon_send(impl_->forwarder, std::move(req));
  else
    caf::anon_send(impl_->writer, std::move(req));
}

position_tracker& runtime::positions() {
  return impl_->positions;
}

bool runtime::ready() const {
  return !impl_->node || impl_->node->ready();
}

std::optional<cluster_status> runtime::cluster() const {
  if (!impl_->node)
    return std::nullopt;
  return impl_->node->status();
}

} // namespace deployd::actors
