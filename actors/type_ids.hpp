// Every type that crosses actors, registered in CAF's one type id block.
//
// Requests carry a callback and stay inside this process, so they travel as
// shared pointers to immutable values (allowed as unsafe message types: they
// never cross the middleman).
#pragma once

#include "actors/writer_actor.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/type_id.hpp>

CAF_BEGIN_TYPE_ID_BLOCK(deployd, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(deployd, (deployd::actors::write_request_ptr))
CAF_ADD_ATOM(deployd, deployd::actors, flush_atom, "flush")
CAF_ADD_ATOM(deployd, deployd::actors, sweep_atom, "sweep")
CAF_ADD_ATOM(deployd, deployd::actors, swept_atom, "swept")
CAF_END_TYPE_ID_BLOCK(deployd)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(deployd::actors::write_request_ptr)
