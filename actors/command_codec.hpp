// Commands and their results as bytes, for the trip from a follower to the
// leader's writer (cluster mode, over CAF's middleman).
//
// The form is ours (JSON text with a command name, every field of the
// command struct), not CAF's serializer output, so nodes of different builds
// agree on it and a command added to `command` does not compile until it is
// listed here. Never persisted. No CAF include.
#pragma once

#include "actors/commands.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace deployd::actors {

/// `cmd` and the id of the request that caused it.
[[nodiscard]] std::string encode_command(const command& cmd,
                                         const events::uuid& command_id);
/// Nothing when the bytes are not an encoded command (a bug or a peer of an
/// incompatible build).
[[nodiscard]] std::optional<std::pair<command, events::uuid>>
decode_command(std::string_view bytes);

/// A command on its way to the leader: the command, its id, and the
/// conditions its request carried (If-Match, If-None-Match,
/// Idempotency-Key), which the leader's writer checks.
struct decoded_write {
  command cmd;
  events::uuid command_id;
  write_conditions conditions;
};
[[nodiscard]] std::string encode_write(const command& cmd,
                                       const events::uuid& command_id,
                                       const write_conditions& conditions);
/// Nothing when the bytes are not an encoded write; a message without
/// conditions (an older peer) decodes with none.
[[nodiscard]] std::optional<decoded_write> decode_write(std::string_view bytes);

[[nodiscard]] std::string encode_result(const command_result& r);
[[nodiscard]] std::optional<command_result> decode_result(std::string_view bytes);

} // namespace deployd::actors
