// ETags on the GETs of single resources (issue 16 item 4): a decorator of a
// route's handler. The tag is the version of the resource's stream, strong:
// `"N"` (what `If-Match` on a write compares; root README, "Conditional and
// idempotent writes"). A GET whose `If-None-Match` names it answers 304.
#pragma once

#include "http/router.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace deployd::http::handlers {

/// Which stream holds a route's resource.
/// (Deployments are tagged from their view rows: `answer_tagged_read`.)
enum class tagged : std::uint8_t {
  flow,
  work_pool,
  work_queue,
  variable,
  flow_run,
  concurrency_limit,
  block_document,
  automation,
};

/// `h` with an ETag on its 200s. With `id_in_path` (the first path
/// parameter is the resource's id) the version is read before the
/// resource, so the tag is never newer than the body; otherwise (by name)
/// the resource is read, its id taken from the body, the version read, and
/// the resource read again: the tag is sent only when both reads agree.
[[nodiscard]] handler with_etag(tagged kind, handler h, bool id_in_path);

/// `r` with the ETag of `version` when it is a 200, or a 304 in its place
/// when `if_none_match` names that tag.
[[nodiscard]] response tag(response r,
                           const std::optional<std::string>& if_none_match,
                           std::uint64_t version);

} // namespace deployd::http::handlers
