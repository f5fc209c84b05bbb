// The fold of a deployment's creation read without its document (replay's
// decode, events/stored_deployment.hpp): the rows `fold` writes for the
// `deployment_created`, defined beside it in projections.cpp. Apart from
// projections.hpp only so that the many files including that one do not
// see the stored form. No CAF include.
#pragma once

#include "actors/projections.hpp"
#include "events/stored_deployment.hpp"
#include "storage/event_log.hpp"

#include <expected>
#include <string_view>

namespace deployd::actors {

/// `fold` of a `deployment_created` whose payload
/// `events::read_stored_deployment` read into `created`: the same rows
/// (state, view, indexes, feed), its JSON members copied from `payload`.
/// Called by replay's fold thread, as `fold`.
[[nodiscard]] std::expected<void, storage::errc>
fold(storage::write_batch& b, const events::stored_deployment& created,
     const fold_context& at, std::string_view payload);

} // namespace deployd::actors
