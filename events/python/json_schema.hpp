// Parameter schema checks with the reference server's (Prefect 3, Python
// `jsonschema` 4.x, Draft 2020-12) rules and wording.
//
// Deployments may carry a `parameter_openapi_schema` and, with
// `enforce_parameter_schema`, every parameter set is checked against it. The
// reference reports the first meta-schema violation of a bad schema, or the
// "best match" error of bad values formatted as
// `Validation failed for field 'a.b[1]'. Failure reason: 1 is not of type
// 'string'`; these functions return the same texts. Validity is decided by
// valijson, a real JSON Schema validator; the wording, the choice of the
// reported error, `$ref` resolution failures and circular references come
// from an evaluator that follows python-jsonschema's order of evaluation.
// Pure functions: no I/O (a `$ref` is never fetched), no HTTP, storage or
// CAF; callable from any thread.
#pragma once

#include "events/json.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace deployd::events {

/// Result of `check_parameters`.
struct parameter_check {
  /// Stored nowhere, compared by callers; values are never renumbered.
  enum class outcome : std::uint8_t {
    valid = 0,           ///< the values conform; `reason` is empty
    invalid = 1,         ///< `reason` is the reference server's text
    circular_schema = 2, ///< `$ref`s recurse without end (Python's
                         ///< RecursionError); `reason` is the sentinel text
  };

  outcome result = outcome::valid;
  /// `Validation failed for field 'x'. Failure reason: ...`,
  /// `Validation failed. Failure reason: ...` (error at the root or an
  /// unresolvable `$ref`), or `Unable to validate schema with circular
  /// references.`; empty when valid.
  std::string reason;

  bool operator==(const parameter_check&) const = default;
};

/// The text the reference server puts after "Schema error: " when `schema`
/// is not a valid Draft 2020-12 schema (jsonschema's `check_schema`: the
/// first meta-schema violation, e.g. `'blork' is not valid under any of the
/// given schemas`, `5 is not of type 'object'`, `'([' is not a 'regex'`);
/// nothing when it is valid. Callers wrap it as "The provided schema is not a
/// valid json schema. Schema error: <text>".
[[nodiscard]] std::optional<std::string> schema_problem(const json& schema);

/// Checks parameter `values` against `schema` as the reference server's
/// `validate_values_conform_to_schema` does after its schema check: with
/// `ignore_required`, `strip_required` is applied first; the schema is used
/// as given otherwise (no `preprocess_schema`). `$ref` resolves only inside
/// `schema`. Call `schema_problem` on the same (stripped) schema first: the
/// reference never validates values against a schema that fails its
/// meta-schema, and the outcome for such a schema is unspecified here.
[[nodiscard]] parameter_check
check_parameters(const json& schema, const json& values, bool ignore_required);

/// Prefect's `remove_nested_keys(["required"], schema)`: a copy without any
/// `required` member in any object reachable through object members. Like
/// the reference, it does not look inside arrays, so a `required` under
/// `anyOf`/`allOf`/`prefixItems` entries stays. Non-objects are returned
/// unchanged.
[[nodiscard]] json strip_required(const json& schema);

/// Prefect's `preprocess_schema`, applied before the later checks of
/// parameters and job variables (`prefect.utilities.schema_tools.validate`):
/// for each property of the root and of each `definitions` entry, and
/// recursively for nested `properties`, a property that is not listed in its
/// object's `required`, has a `type` other than "null" and no `default`
/// (unless `allow_none_with_default`) gets `"anyOf": [{"type": <type>},
/// {"type": "null"}]` in place of its `type`; a tuple `items` array becomes
/// `prefixItems`; `definitions` entries with a `block_type_slug` also accept
/// a `{"$ref": ...}` object. The reference's quirks are kept (a nested
/// object's `required` list is used for the following sibling properties
/// too; `$defs` is not visited). Apply before `check_parameters`.
[[nodiscard]] json preprocess_schema(const json& schema,
                                     bool allow_none_with_default = false);

/// `preprocess_schema(schema)`: optional properties accept null. Kept as the
/// name the job-variable checks use.
[[nodiscard]] inline json widen_optional_to_null(const json& schema) {
  return preprocess_schema(schema);
}

} // namespace deployd::events
