#include "actors/gateway.hpp"

#include "actors/foreman.hpp"
#include "actors/type_ids.hpp"
#include "actors/writer_actor.hpp"

#include <caf/all.hpp>

namespace deployd::actors {

namespace {

// A config that is complete before the system that reads it is built.
struct configured : caf::actor_system_config {
  explicit configured(std::size_t threads) {
    set("scheduler.max-threads", threads == 0 ? 1 : threads);
  }
};

} // namespace

struct runtime::impl {
  explicit impl(std::size_t threads) : config(threads), system(config) {
  }
  configured config; // must outlive `system`: declared first
  caf::actor_system system;
  caf::actor writer;
  caf::actor foreman;
};

runtime::runtime(storage::event_log& log, events::clock& clock,
                 events::id_source& ids, runtime_settings settings)
    : impl_(std::make_unique<impl>(settings.scheduler_threads)) {
  impl_->writer =
      spawn_writer(impl_->system, log, clock, ids,
                   writer_settings{settings.max_batch, settings.sync});
  if (settings.sweep_interval.count() > 0)
    impl_->foreman = spawn_foreman(
        impl_->system,
        [this](command cmd, const events::uuid& id, reply_fn reply) {
          submit(std::move(cmd), id, std::move(reply));
        },
        settings.sweep_interval, settings.sweep_rules);
}

runtime::~runtime() {
  // An exit message is handled after every request already queued, so
  // in-flight commands are committed and answered before the writer stops.
  caf::scoped_actor self{impl_->system};
  // The foreman first: no sweep is submitted once the writer stops.
  if (impl_->foreman) {
    self->monitor(impl_->foreman);
    caf::anon_send_exit(impl_->foreman, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
    impl_->foreman = nullptr;
  }
  self->monitor(impl_->writer);
  caf::anon_send_exit(impl_->writer, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  impl_->writer = nullptr;
}

void runtime::submit(command cmd, const events::uuid& command_id,
                     reply_fn reply) {
  auto req = std::make_shared<const write_request>(std::move(cmd), command_id,
                                                   std::move(reply));
  caf::anon_send(impl_->writer, std::move(req));
}

} // namespace deployd::actors
