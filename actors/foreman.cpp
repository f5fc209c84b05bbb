#include "actors/foreman.hpp"

#include "actors/type_ids.hpp"

#include <caf/all.hpp>
#include <cstdio>
#include <random>

namespace deployd::actors {

namespace {

struct foreman_state {
  submit_fn submit;
  std::chrono::milliseconds interval{15'000};
  command rules;
  const char* what = "worker sweep";
  // Command ids of sweeps: fresh and random, like those of HTTP requests.
  std::mt19937_64 engine{std::random_device{}()};
};

caf::behavior foreman(caf::stateful_actor<foreman_state>* self,
                      submit_fn submit, std::chrono::milliseconds interval,
                      command rules, const char* what) {
  self->state.submit = std::move(submit);
  self->state.interval = interval;
  self->state.rules = std::move(rules);
  self->state.what = what;
  self->delayed_send(self, interval, sweep_atom_v);
  return {
      [=](sweep_atom) {
        auto& st = self->state;
        const auto hi = st.engine();
        const auto lo = st.engine();
        // The next sweep is scheduled only once this one is answered, so a
        // slow writer never gets a queue of sweeps.
        auto me = caf::actor_cast<caf::actor>(self);
        st.submit(st.rules, events::uuid::v4_from(hi, lo),
                  [me, what = st.what](command_result r) {
                    if (r.result == command_result::outcome::failed)
                      std::fprintf(stderr, "deployd: %s failed: %s\n", what,
                                   storage::to_string(r.failure));
                    caf::anon_send(me, swept_atom_v);
                  });
      },
      [=](swept_atom) {
        self->delayed_send(self, self->state.interval, sweep_atom_v);
      },
  };
}

} // namespace

caf::actor spawn_foreman(caf::actor_system& sys, submit_fn submit,
                         std::chrono::milliseconds interval,
                         events::sweep_workers rules) {
  return sys.spawn(foreman, std::move(submit), interval, command{rules},
                   "worker sweep");
}

caf::actor spawn_periodic(caf::actor_system& sys, submit_fn submit,
                          std::chrono::milliseconds interval, command cmd,
                          const char* what) {
  return sys.spawn(foreman, std::move(submit), interval, std::move(cmd), what);
}

} // namespace deployd::actors
