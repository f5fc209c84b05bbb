// Field-level validation with the reference server's (pydantic 2) rules and
// wording.
//
// Every request body is checked here before it becomes a command. A failed
// check appends a `field_error` (type, loc, msg, input, ctx) and the caller
// keeps going, so all errors of a body are reported together, in field order,
// as the reference does. The coercions are pydantic's "lax" mode for inputs
// decoded from JSON by Python (`"3"` is an int, `1` is a bool). `http/`
// renders the errors; this file knows nothing of HTTP, storage or CAF.
#pragma once

#include "events/ids.hpp"
#include "events/json.hpp"
#include "events/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::events {

/// One validation failure, shaped as a pydantic error item.
struct field_error {
  std::string type; ///< e.g. `missing`, `string_type`, `value_error`
  json loc;         ///< array such as ["body", "tags", 0]
  std::string msg;  ///< e.g. `Field required`
  json input;       ///< the offending value
  json ctx;         ///< null when the error carries no context

  bool operator==(const field_error&) const = default;
};

using field_errors = std::vector<field_error>;

/// Collects errors while walking a document; `loc` grows and shrinks with the
/// walk. Not thread-safe; one per request.
class validator {
public:
  explicit validator(json root_loc = json::array({"body"}))
      : loc_(std::move(root_loc)) {
  }

  /// Appends an error at the current location plus `last` (when not null).
  void fail(std::string type, std::string msg, const json& input,
            json ctx = nullptr, const json& last = nullptr);

  /// Appends a `value_error` ("Value error, <message>", ctx {"error": {}}).
  void value_error(const std::string& message, const json& input,
                   const json& last = nullptr);

  /// RAII helper: pushes one path element for the scope's lifetime.
  class scope {
  public:
    scope(validator& v, json element) : v_(v) {
      v_.loc_.push_back(std::move(element));
    }
    ~scope() {
      v_.loc_.erase(v_.loc_.end() - 1);
    }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

  private:
    validator& v_;
  };

  [[nodiscard]] scope at(json element) {
    return scope(*this, std::move(element));
  }

  [[nodiscard]] const json& loc() const {
    return loc_;
  }
  [[nodiscard]] bool ok() const {
    return errors_.empty();
  }
  [[nodiscard]] std::size_t count() const {
    return errors_.size();
  }
  [[nodiscard]] field_errors& errors() {
    return errors_;
  }

  // -- scalar checks: each returns the coerced value, or nothing after
  //    appending an error at loc + key ---------------------------------------

  std::optional<std::string> string(const json& v);
  std::optional<bool> boolean(const json& v);
  std::optional<std::int64_t> integer(const json& v);
  std::optional<double> number(const json& v);
  std::optional<uuid> uuid_value(const json& v);
  std::optional<timestamp> datetime(const json& v);
  /// A JSON object (`dict_type` otherwise).
  bool object(const json& v);
  /// A JSON array (`list_type` otherwise).
  bool list(const json& v);

  /// `greater_than` check for ints.
  bool greater_than(std::int64_t value, std::int64_t bound, const json& input);
  bool greater_equal(std::int64_t value, std::int64_t bound, const json& input);
  bool less_equal(std::int64_t value, std::int64_t bound, const json& input);

  /// `missing` at loc + key with the parent object as input.
  void missing(const json& parent, const std::string& key);
  /// `extra_forbidden` for every key of `object` not in `allowed`.
  void forbid_extra(const json& object,
                    std::initializer_list<std::string_view> allowed);

  /// list[str]: `list_type`, then `string_type` per item. Returns the strings
  /// when all are valid.
  std::optional<std::vector<std::string>> string_list(const json& v);

  /// dict[str, bool|int|float|str]: one error per union member for a bad
  /// value, as pydantic reports a smart union.
  bool label_map(const json& v);

private:
  json loc_;
  field_errors errors_;
};

/// Python's truthiness of a JSON value (`0`, `""`, `[]`, `{}`, null and false
/// are falsy).
[[nodiscard]] bool python_truthy(const json& v);

/// The message of the Rust `uuid` crate for a malformed UUID string, as
/// pydantic reports it (e.g. "invalid character: found `n` at 1").
[[nodiscard]] std::string uuid_parse_error(std::string_view text);

/// Parses every spelling pydantic accepts for a UUID: hyphenated, 32 hex
/// digits, `{braced}` and `urn:uuid:` prefixed, either case.
[[nodiscard]] std::optional<uuid> parse_lenient_uuid(std::string_view text);

/// Formats an integer with thousands separators ("1,000,011").
[[nodiscard]] std::string with_thousands(std::uint64_t n);

} // namespace deployd::events
