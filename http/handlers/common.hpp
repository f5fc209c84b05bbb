// Helpers shared by the handlers: reads that try the cache first and move
// to the blocking pool only when RocksDB would touch the disk, and the
// translation of a writer result into a response.
#pragma once

#include "actors/commands.hpp"
#include "actors/projections.hpp"
#include "http/message.hpp"
#include "http/services.hpp"

#include <functional>
#include <string_view>

namespace deployd::http::handlers {

/// A read against the projections at a given tier.
using read_fn = std::function<actors::read_model::text(storage::read_tier)>;

/// Runs `read` from the cache on the calling thread; if that would block,
/// runs it again on the blocking-read pool. Replies 200 with the row, or
/// 404 `not_found_detail` when there is none.
void answer_read(services& s, read_fn read, std::string_view not_found_detail,
                 responder reply);

/// 201/200 with the body, or the rejection / failure response.
[[nodiscard]] response write_response(const actors::command_result& r);

/// A command id for a request: fresh and random (commands from HTTP are not
/// retried by id yet).
[[nodiscard]] events::uuid new_command_id();

} // namespace deployd::http::handlers
