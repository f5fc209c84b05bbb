// Every type that crosses actors, registered in CAF's one type id block.
//
// Requests carry a callback and stay inside this process, so they travel as
// shared pointers to immutable values (allowed as unsafe message types: they
// never cross the middleman). What crosses between nodes (cluster mode) is
// `forward_command` / `forward_reply`: bytes in our own format
// (actors/command_codec), so CAF only ever serialises a string.
#pragma once

#include "actors/writer_actor.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include <string>

namespace deployd::actors {

/// A follower's command for the leader's writer (`encode_command`). The
/// cluster id (random, kept in etcd) must match the leader's: the peer port
/// alone does not let anyone write.
struct forward_command {
  std::string cluster_id;
  std::string bytes;
};

/// The leader's answer to a `forward_command` (`encode_result`).
struct forward_reply {
  std::string bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forward_command& x) {
  return f(caf::meta::type_name("forward_command"), x.cluster_id, x.bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forward_reply& x) {
  return f(caf::meta::type_name("forward_reply"), x.bytes);
}

} // namespace deployd::actors

CAF_BEGIN_TYPE_ID_BLOCK(deployd, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(deployd, (deployd::actors::write_request_ptr))
CAF_ADD_TYPE_ID(deployd, (deployd::actors::replicated_entries))
CAF_ADD_TYPE_ID(deployd, (deployd::actors::forward_command))
CAF_ADD_TYPE_ID(deployd, (deployd::actors::forward_reply))
CAF_ADD_ATOM(deployd, deployd::actors, flush_atom, "flush")
CAF_ADD_ATOM(deployd, deployd::actors, sweep_atom, "sweep")
CAF_ADD_ATOM(deployd, deployd::actors, swept_atom, "swept")
CAF_ADD_ATOM(deployd, deployd::actors, lead_atom, "lead")
CAF_ADD_ATOM(deployd, deployd::actors, step_down_atom, "stepdown")
CAF_ADD_ATOM(deployd, deployd::actors, leader_atom, "leader")
CAF_ADD_ATOM(deployd, deployd::actors, forwarded_atom, "forwarded")
CAF_ADD_ATOM(deployd, deployd::actors, tick_atom, "tick")
CAF_END_TYPE_ID_BLOCK(deployd)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deployd::actors::write_request_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deployd::actors::replicated_entries)
