#include "actors/scheduler.hpp"

#include "actors/type_ids.hpp"
#include "events/python/json_text.hpp"
#include "observe/log.hpp"

#include <caf/all.hpp>
#include <memory>
#include <random>

namespace deployd::actors {

namespace {

// What the writer's reply leaves for the actor: written on the writer's
// thread before `swept` is sent, read by the actor after it arrives.
struct page_result {
  std::optional<events::uuid> next;
  std::int64_t runs = 0;
  bool failed = false;
};

struct scheduler_state {
  submit_fn submit;
  std::chrono::milliseconds interval{60'000};
  events::schedule_due_runs pass;
  std::shared_ptr<page_result> last = std::make_shared<page_result>();
  std::int64_t runs_this_pass = 0;
  std::chrono::steady_clock::time_point started;
  std::mt19937_64 engine{std::random_device{}()};
};

// The cursor and count a page answered (`{"next": id|null, "runs": n}`); an
// empty body (a follower skipped the pass) ends the pass.
void read_page(const command_result& r, page_result& out) {
  out = page_result{};
  if (r.result != command_result::outcome::ok) {
    out.failed = true;
    return;
  }
  if (r.body.empty())
    return;
  events::json body;
  try {
    body = events::parse_json(r.body);
  } catch (const std::exception&) {
    return;
  }
  if (!body.is_object())
    return;
  if (const auto next = body.find("next");
      next != body.end() && next->is_string())
    out.next = events::uuid::parse(next->get<std::string>());
  if (const auto runs = body.find("runs");
      runs != body.end() && runs->is_number_integer())
    out.runs = runs->get<std::int64_t>();
}

caf::behavior scheduler(caf::stateful_actor<scheduler_state>* self,
                        submit_fn submit, std::chrono::milliseconds interval,
                        events::schedule_due_runs pass) {
  self->state.submit = std::move(submit);
  self->state.interval = interval;
  self->state.pass = std::move(pass);
  self->send(self, sweep_atom_v);
  return {
      [=](sweep_atom) {
        auto& st = self->state;
        if (!st.pass.after) {
          st.runs_this_pass = 0;
          st.started = std::chrono::steady_clock::now();
        }
        const auto hi = st.engine();
        const auto lo = st.engine();
        auto me = caf::actor_cast<caf::actor>(self);
        st.submit(st.pass, events::uuid::v4_from(hi, lo),
                  [me, last = st.last](command_result r) {
                    read_page(r, *last);
                    if (last->failed)
                      observe::log(observe::level::error,
                                   "scheduler pass failed",
                                   {{"error", storage::to_string(r.failure)}});
                    caf::anon_send(me, swept_atom_v);
                  });
      },
      [=](swept_atom) {
        auto& st = self->state;
        st.runs_this_pass += st.last->runs;
        st.pass.after = st.last->next;
        if (st.pass.after) {
          self->send(self, sweep_atom_v);
          return;
        }
        if (st.runs_this_pass > 0)
          observe::log(
              observe::level::info, "scheduler pass",
              {{"runs", st.runs_this_pass},
               {"seconds",
                std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              st.started)
                    .count()}});
        self->delayed_send(self, st.interval, sweep_atom_v);
      },
  };
}

} // namespace

caf::actor spawn_scheduler(caf::actor_system& sys, submit_fn submit,
                           std::chrono::milliseconds interval,
                           events::schedule_due_runs pass) {
  return sys.spawn(scheduler, std::move(submit), interval, std::move(pass));
}

} // namespace deployd::actors
