#include "actors/writer_actor.hpp"

#include "actors/command_handlers.hpp"
#include "actors/command_support.hpp"
#include "actors/type_ids.hpp"

#include <caf/all.hpp>
#include <cstdio>
#include <deque>

namespace deployd::actors {

namespace {

using storage::errc;

struct writer_state {
  storage::event_log* log = nullptr;
  events::clock* clock = nullptr;
  events::id_source* ids = nullptr;
  writer_settings settings;
  std::deque<write_request_ptr> pending;
  bool flush_scheduled = false;
};

// Decides, writes and commits every pending command (up to max_batch), then
// replies to each.
void flush(writer_state& st) {
  const auto n = std::min(st.pending.size(), st.settings.max_batch);
  std::vector<write_request_ptr> requests(
      st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(n));
  st.pending.erase(st.pending.begin(),
                   st.pending.begin() + static_cast<std::ptrdiff_t>(n));

  auto batch = st.log->begin();
  std::vector<command_result> results;
  results.reserve(n);
  for (const auto& req : requests) {
    decision_env env{st.clock->now(), *st.ids};
    batch.set_save_point();
    command_result result;
    try {
      result = std::visit(
          [&](const auto& cmd) {
            return handle(cmd, batch, env, req->command_id());
          },
          req->cmd());
    } catch (const std::exception& e) {
      // A bug in a decision or fold: this command fails alone (its writes
      // are rolled back below) and the writer keeps serving.
      std::fprintf(stderr, "deployd: command failed: %s\n", e.what());
      result = failed(errc::corruption);
    }
    if (result.result == command_result::outcome::ok)
      batch.pop_save_point();
    else
      batch.rollback_to_save_point();
    results.push_back(std::move(result));
  }
  if (batch.appended() > 0) {
    if (auto committed = st.log->commit(batch, st.settings.sync); !committed) {
      for (auto& r : results)
        if (r.result == command_result::outcome::ok)
          r = failed(committed.error());
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    requests[i]->reply(std::move(results[i]));
}

caf::behavior writer(caf::stateful_actor<writer_state>* self,
                     storage::event_log* log, events::clock* clock,
                     events::id_source* ids, writer_settings settings) {
  self->state.log = log;
  self->state.clock = clock;
  self->state.ids = ids;
  self->state.settings = settings;
  // On shutdown, answer everything already accepted before exiting.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    while (!self->state.pending.empty())
      flush(self->state);
    self->quit(msg.reason);
  });
  return {
      [=](const write_request_ptr& req) {
        auto& st = self->state;
        st.pending.push_back(req);
        if (!st.flush_scheduled) {
          // The flush message queues behind every request already in the
          // mailbox, so one flush serves all of them: that is group commit.
          st.flush_scheduled = true;
          self->send(self, flush_atom_v);
        }
      },
      [=](flush_atom) {
        auto& st = self->state;
        st.flush_scheduled = false;
        flush(st);
        if (!st.pending.empty()) {
          st.flush_scheduled = true;
          self->send(self, flush_atom_v);
        }
      },
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
                        writer_settings settings) {
  return sys.spawn<caf::detached>(writer, &log, &clock, &ids, settings);
}

} // namespace deployd::actors
