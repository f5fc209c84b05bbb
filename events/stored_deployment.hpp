// A stored deployment read without a JSON document, for replay.
//
// The most frequent record of the log is a `deployment_created`, whose
// payload is `stored_text(d)`. Replay reads its scalar fields straight into
// the struct and keeps its JSON members (parameters, labels, ...) as the
// text they are, which the view writes back unchanged: no document is built
// or freed (they were a third of a replay's decode). Only text in the exact
// form this binary writes is read so; anything else answers false and goes
// through `parse_json`. Knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/deployment.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace deployd::events {

/// The length of the JSON value at the start of `text` when its bytes are
/// exactly what `append_json(parse_json(value))` writes back: compact, integers
/// without a leading zero (not `-0`), strings of printable ASCII with only the
/// short escapes nlohmann writes (`\"` `\\` `\b` `\f` `\n` `\r` `\t`),
/// no duplicate key, nesting up to 64. 0 when it is not, or not provably so
/// (floats, `\u` escapes, non-ASCII): the caller parses that value instead.
/// For text that is copied where a parse and a dump would write the same
/// bytes (a replayed deployment's members). Pure; any thread.
[[nodiscard]] std::size_t canonical_json_length(std::string_view text);

/// A stored deployment (a `deployment_created` payload: `stored_text`) read
/// without a JSON document. `value` holds every field but the JSON members
/// (`concurrency_options`, `job_variables`, `parameters`, `labels`,
/// `parameter_openapi_schema`, `pull_steps`, `created_by`, `updated_by`),
/// which keep their defaults and must not be read: their text, at
/// `members` in the payload, is exactly what `append_json` writes for the
/// values `deployment_from_json` would give them.
struct stored_deployment {
  deployment value;
  /// Offset and length in the payload of each JSON member's value, in field
  /// order.
  std::array<std::pair<std::uint32_t, std::uint32_t>, 8> members{};
};

/// Reads `text` into `out` when it is in `stored_text`'s form (the 28 fields
/// in order, compact, scalar strings in printable ASCII without escapes,
/// members whose text round-trips: `canonical_json_length`); false for
/// anything else, and the caller decodes it with `parse_json` and
/// `deployment_from_json` instead. Pure; any thread.
[[nodiscard]] bool read_stored_deployment(std::string_view text,
                                          stored_deployment& out);

/// `render_deployment(d, links)` of the deployment `read_stored_deployment`
/// read from `text` into `stored`: the same bytes, its JSON members copied
/// from `text`. Pure; any thread.
[[nodiscard]] std::string render_deployment(const stored_deployment& stored,
                                            std::string_view text,
                                            const deployment_links& links);

} // namespace deployd::events
