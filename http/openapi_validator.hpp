// Request-body validation driven by the reference server's OpenAPI schemas.
//
// Bodies whose shape is only data (filter bodies, `FlowUpdate`, work pool,
// work queue, block and concurrency-limit bodies) are checked against a copy
// of the component schemas of the reference server's OpenAPI document
// (`openapi_schemas.cpp`, produced by tests/tools/extract_openapi_schemas.py)
// instead of hand-written checks. Errors come out as pydantic 2 reports them
// for a body FastAPI decoded with `json.loads` (lax mode, models with
// `from_attributes`, Optional fields without a union tag, one error per
// constrained scalar). Only what the schema says is checked: custom
// validators of the reference models (e.g. `non_emptyish` names) are the
// caller's job. Knows nothing of Beast, actors or response shapes; throws
// nothing. Every function may be called from any thread.
#pragma once

#include "events/json.hpp"
#include "events/validation.hpp"

#include <functional>
#include <optional>
#include <string_view>

namespace deployd::http {

/// The embedded `components.schemas` subset, keyed by schema name: the
/// closure of the filter bodies, `FlowUpdate`, and the work pool, work
/// queue, concurrency-limit v2 and block create/update bodies. Parsed on
/// first use (thread-safe static) and never modified; aborts if the embedded
/// text does not parse (a build bug).
[[nodiscard]] const events::json& openapi_components();

/// Validates `input` against component `schema_name`; appends errors to `v`
/// at its current location; returns the coerced value (defaults NOT filled
/// in, keys in input order, coerced scalars e.g. "3" -> 3, floats as
/// doubles, UUIDs as given text, date-times in the canonical UTC form of
/// `events::format_timestamp`; unknown keys dropped where the model ignores
/// them) or nothing when invalid. An unknown `schema_name` is a bug: the
/// process aborts.
[[nodiscard]] std::optional<events::json>
validate_against(events::validator& v, std::string_view schema_name,
                 const events::json& input);

/// What a reference model checks beyond its JSON schema (pydantic model
/// validators), by model `title`. Called on the validating thread while
/// `validate_against` runs; errors go to the validator at the model's
/// location (inside a union: under the member's tag, as pydantic reports).
struct model_checks {
  /// Before the fields (`mode="before"`): may rewrite the input; an error
  /// fails the model without checking its fields.
  std::function<void(events::validator&, std::string_view title,
                     events::json& input)>
      before;
  /// After every field passed (`mode="after"`): may rewrite the coerced
  /// value; an error fails the model.
  std::function<void(events::validator&, std::string_view title,
                     events::json& value)>
      after;
};

/// `validate_against` with `checks` applied to every model on the way.
[[nodiscard]] std::optional<events::json>
validate_against(events::validator& v, std::string_view schema_name,
                 const events::json& input, const model_checks& checks);

/// Like `validate_against`, for an inline `schema` whose `$ref`s name
/// embedded components (e.g. `{"type":"array","items":{"$ref":
/// "#/components/schemas/StateType"}}`). Keywords it does not implement
/// (e.g. `minItems`) are ignored; an unknown `type` or an unresolvable
/// `$ref` is a bug: the process aborts.
[[nodiscard]] std::optional<events::json>
validate_schema(events::validator& v, const events::json& schema,
                const events::json& input);

/// For multi-parameter bodies (the Body_* schemas): FastAPI embeds each
/// parameter; the top level IGNORES unknown keys, an absent/null body is
/// treated as {} and a null parameter as an absent one (FastAPI then uses
/// the default), and each property is validated with loc ["body", <param>,
/// ...]. A body that is not an object yields `missing` (input null) for every
/// parameter, as FastAPI reports it. Errors of Prefect's `LimitBody()`
/// parameter (a `limit` with no default) come first, because FastAPI
/// validates dependencies before the endpoint's own parameters. Returns the
/// given, non-null parameters coerced, in input order, or nothing when
/// invalid. An unknown `body_schema_name` is a bug: the process aborts.
[[nodiscard]] std::optional<events::json>
validate_embedded_body(events::validator& v, std::string_view body_schema_name,
                       const events::json& body);

} // namespace deployd::http
