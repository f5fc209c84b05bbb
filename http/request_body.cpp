#include "http/request_body.hpp"

#include "events/python/json_schema.hpp"
#include "events/python/json_text.hpp"
#include "events/schedule.hpp"
#include "events/validation.hpp"
#include "events/python/json_body.hpp"
#include "http/responses.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <unordered_map>

namespace deployd::http {

namespace {

using events::json;
using events::body_problem;
using events::json_decode_error;
using events::validator;

bool is_json_content_type(const std::string& value) {
  // application/json or application/<anything>+json, parameters ignored.
  std::string media = value.substr(0, value.find(';'));
  media.erase(std::remove_if(media.begin(), media.end(),
                             [](unsigned char c) { return std::isspace(c); }),
              media.end());
  std::transform(media.begin(), media.end(), media.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (!media.starts_with("application/"))
    return false;
  const auto subtype = std::string_view(media).substr(12);
  return subtype == "json" || subtype.ends_with("+json");
}

// Character offset -> the decoded text the reference echoes.
response json_invalid(const std::string& body, const json_decode_error& error) {
  events::field_errors errors{events::field_error{
      "json_invalid", json::array({"body", error.position}),
      "JSON decode error", json::object(), json{{"error", error.message}}}};
  return validation_failed(errors, json(body));
}

// `name` rules: the reference's Name pattern for flows and the pattern we
// apply to deployment names (where the reference answers 500).
bool matches_name_pattern(validator& v, const std::string& name,
                          bool allow_empty) {
  const bool bad_char = name.find_first_of("/%&><") != std::string::npos;
  if (!bad_char && (allow_empty || !name.empty()))
    return true;
  const std::string pattern = allow_empty ? "^[^/%&><]*$" : "^[^/%&><]+$";
  v.fail("string_pattern_mismatch",
         "String should match pattern '" + pattern + "'", json(name),
         json{{"pattern", pattern}});
  return false;
}

bool model_object(validator& v, const json& value) {
  if (value.is_object())
    return true;
  v.fail("model_attributes_type",
         "Input should be a valid dictionary or object to extract fields from",
         value);
  return false;
}

// A field that may be absent, null, or a value: `check` validates the value
// (with the validator positioned at the field) and returns it, or nothing
// after recording errors.
template <class T, class Check>
events::nullable_input<T> nullable(validator& v, const json& body,
                                   const char* key, Check check) {
  events::nullable_input<T> out;
  const auto it = body.find(key);
  if (it == body.end())
    return out;
  out.present = true;
  if (it->is_null())
    return out;
  auto g = v.at(key);
  out.value = check(*it);
  return out;
}

events::nullable_input<std::string>
nullable_string(validator& v, const json& body, const char* key) {
  return nullable<std::string>(v, body, key,
                               [&](const json& x) { return v.string(x); });
}

events::nullable_input<events::uuid>
nullable_uuid(validator& v, const json& body, const char* key) {
  return nullable<events::uuid>(v, body, key,
                                [&](const json& x) { return v.uuid_value(x); });
}

std::optional<bool> optional_bool(validator& v, const json& body,
                                  const char* key) {
  const auto it = body.find(key);
  if (it == body.end())
    return std::nullopt;
  auto g = v.at(key);
  return v.boolean(*it);
}

std::optional<events::schedule_input>
schedule_item(validator& v, const json& item, events::timestamp now,
              bool keep_max_runs = false) {
  if (!model_object(v, item))
    return std::nullopt;
  const auto before = v.count();
  events::schedule_input out;
  if (auto it = item.find("active"); it != item.end()) {
    auto g = v.at("active");
    if (auto b = v.boolean(*it))
      out.active = *b;
  }
  if (auto it = item.find("schedule"); it == item.end()) {
    v.missing(item, "schedule");
  } else {
    auto g = v.at("schedule");
    if (auto s = events::validate_schedule(v, *it, now))
      out.schedule = events::to_json(*s);
  }
  if (auto it = item.find("max_scheduled_runs");
      it != item.end() && !it->is_null()) {
    auto g = v.at("max_scheduled_runs");
    if (auto n = v.integer(*it); n && v.greater_than(*n, 0, *it)) {
      if (*n > 50)
        v.value_error("`max_scheduled_runs` must be less than or equal to 50.",
                      *it);
      else if (keep_max_runs)
        out.max_scheduled_runs = *n;
    }
  }
  if (auto it = item.find("parameters"); it != item.end()) {
    auto g = v.at("parameters");
    if (v.object(*it))
      out.parameters = *it;
  }
  out.slug = nullable_string(v, item, "slug").value;
  (void)nullable_string(v, item, "replaces");
  v.forbid_extra(item, {"active", "schedule", "max_scheduled_runs",
                        "parameters", "slug", "replaces"});
  if (v.count() != before)
    return std::nullopt;
  return out;
}

std::optional<events::schedule_update_input>
schedule_update_item(validator& v, const json& item, events::timestamp now) {
  if (!model_object(v, item))
    return std::nullopt;
  const auto before = v.count();
  events::schedule_update_input out;
  if (auto it = item.find("active"); it != item.end() && !it->is_null()) {
    auto g = v.at("active");
    out.active = v.boolean(*it);
  }
  if (auto it = item.find("schedule"); it != item.end() && !it->is_null()) {
    auto g = v.at("schedule");
    if (auto s = events::validate_schedule(v, *it, now))
      out.schedule = events::to_json(*s);
  }
  if (auto it = item.find("max_scheduled_runs");
      it != item.end() && !it->is_null()) {
    auto g = v.at("max_scheduled_runs");
    if (auto n = v.integer(*it); n && v.greater_than(*n, 0, *it)) {
      if (*n > 50)
        v.value_error("`max_scheduled_runs` must be less than or equal to 50.",
                      *it);
      else
        out.max_scheduled_runs = *n;
    }
  }
  if (auto it = item.find("parameters"); it != item.end()) {
    auto g = v.at("parameters");
    if (v.object(*it))
      out.parameters = *it;
  }
  out.slug = nullable_string(v, item, "slug").value;
  out.replaces = nullable_string(v, item, "replaces").value;
  v.forbid_extra(item, {"active", "schedule", "max_scheduled_runs",
                        "parameters", "slug", "replaces"});
  if (v.count() != before)
    return std::nullopt;
  return out;
}

json concurrency_options(validator& v, const json& value) {
  if (!model_object(v, value))
    return nullptr;
  json out = json::object();
  const auto before = v.count();
  if (auto it = value.find("collision_strategy"); it == value.end()) {
    v.missing(value, "collision_strategy");
  } else if (!it->is_string() || (*it != "ENQUEUE" && *it != "CANCEL_NEW")) {
    auto g = v.at("collision_strategy");
    v.fail("enum", "Input should be 'ENQUEUE' or 'CANCEL_NEW'", *it,
           json{{"expected", "'ENQUEUE' or 'CANCEL_NEW'"}});
  } else {
    out["collision_strategy"] = *it;
  }
  out["grace_period_seconds"] = nullptr;
  if (auto it = value.find("grace_period_seconds");
      it != value.end() && !it->is_null()) {
    auto g = v.at("grace_period_seconds");
    if (auto n = v.integer(*it);
        n && v.greater_equal(*n, 60, *it) && v.less_equal(*n, 86400, *it))
      out["grace_period_seconds"] = *n;
  }
  // Unknown keys inside are dropped, as the reference does.
  return v.count() == before ? out : json(nullptr);
}

void version_info(validator& v, const json& value) {
  if (value.is_null() || !model_object(v, value))
    return;
  for (const char* key : {"type", "version"}) {
    const auto it = value.find(key);
    if (it == value.end()) {
      v.missing(value, key);
      continue;
    }
    auto g = v.at(key);
    (void)v.string(*it);
  }
}

// The parameter-size rule: compact JSON with non-ASCII escaped.
void parameter_size(validator& v, const json& parameters,
                    std::size_t max_size) {
  if (max_size == 0 || parameters.empty())
    return;
  const auto size =
      events::dump_json(parameters, events::json_dialect::python_ascii).size();
  if (size > max_size)
    v.value_error("Flow run parameters must be less than " +
                      events::with_thousands(max_size) +
                      " bytes when serialized (got " +
                      events::with_thousands(size) + " bytes).",
                  parameters);
}

// Verdicts of the meta-schema checks, by schema text. Clients send the same
// parameter schema for every deployment of a flow, and checking a schema
// against the Draft 2020-12 meta-schema costs far more than looking it up.
// Thread-safe; bounded (cleared when full).
struct schema_verdict {
  std::optional<std::string> without_required; // schema_problem(stripped)
  std::optional<std::string> full;             // schema_problem(schema)
};

schema_verdict cached_schema_verdict(const json& schema) {
  static std::mutex mutex;
  static std::unordered_map<std::string, schema_verdict> cache;
  constexpr std::size_t max_entries = 1024;
  auto key = schema.dump();
  {
    std::lock_guard guard{mutex};
    if (const auto it = cache.find(key); it != cache.end())
      return it->second;
  }
  schema_verdict verdict{events::schema_problem(events::strip_required(schema)),
                         events::schema_problem(schema)};
  std::lock_guard guard{mutex};
  if (cache.size() >= max_entries)
    cache.clear();
  cache.emplace(std::move(key), verdict);
  return verdict;
}

// The reference's first model check (its last-defined "before" validator,
// so pydantic runs it first): both limits at once. Reported alone.
bool both_limits(validator& v, const json& input) {
  const auto limit = input.find("concurrency_limit");
  const auto global = input.find("global_concurrency_limit_id");
  if (limit == input.end() || global == input.end() ||
      !events::python_truthy(*limit) || !events::python_truthy(*global))
    return false;
  v.value_error("A deployment cannot have both a concurrency limit and a "
                "global concurrency limit.",
                input);
  return true;
}

// Model-level checks that run before the fields and are reported alone
// (deployments-api §3.2 steps 1-2).
bool model_checks(validator& v, const json& input) {
  const auto enforce = input.find("enforce_parameter_schema");
  const auto schema = input.find("parameter_openapi_schema");
  if (enforce == input.end() || !events::python_truthy(*enforce) ||
      schema == input.end() || !schema->is_object())
    return true;
  // The reference's order: the schema without `required` must be valid,
  // then the parameters (absent = {}) are checked, then the full schema.
  auto schema_error = [&](const std::string& problem) {
    v.value_error("The provided schema is not a valid json schema. Schema "
                  "error: " +
                      problem,
                  input);
    return false;
  };
  const auto verdict = cached_schema_verdict(*schema);
  if (verdict.without_required)
    return schema_error(*verdict.without_required);
  const auto parameters = input.find("parameters");
  const json values = parameters != input.end() && parameters->is_object()
                          ? *parameters
                          : json::object();
  const auto check = events::check_parameters(*schema, values, true);
  if (check.result != events::parameter_check::outcome::valid) {
    v.value_error(check.reason, input);
    return false;
  }
  if (verdict.full)
    return schema_error(*verdict.full);
  return true;
}

const std::initializer_list<std::string_view> deployment_create_keys = {
    "name",
    "flow_id",
    "paused",
    "schedules",
    "concurrency_limit",
    "concurrency_options",
    "global_concurrency_limit_id",
    "enforce_parameter_schema",
    "parameter_openapi_schema",
    "parameters",
    "tags",
    "labels",
    "pull_steps",
    "work_queue_name",
    "work_pool_name",
    "storage_document_id",
    "infrastructure_document_id",
    "description",
    "path",
    "version",
    "entrypoint",
    "job_variables",
    "version_info"};

const std::initializer_list<std::string_view> deployment_update_keys = {
    "version",
    "description",
    "paused",
    "schedules",
    "concurrency_limit",
    "concurrency_options",
    "global_concurrency_limit_id",
    "parameters",
    "parameter_openapi_schema",
    "tags",
    "work_queue_name",
    "work_pool_name",
    "path",
    "job_variables",
    "pull_steps",
    "entrypoint",
    "storage_document_id",
    "infrastructure_document_id",
    "enforce_parameter_schema",
    "version_info"};

constexpr const char* legacy_deployment_keys[] = {
    "worker_pool_queue_id", "worker_pool_name", "worker_pool_queue_name",
    "work_pool_queue_name"};

// A nullable object field (null kept as present-null).
events::nullable_input<json> nullable_object(validator& v, const json& body,
                                             const char* key) {
  return nullable<json>(v, body, key,
                        [&](const json& x) -> std::optional<json> {
                          if (v.object(x))
                            return x;
                          return std::nullopt;
                        });
}

// `pull_steps`: null, or a list of objects.
events::nullable_input<json> pull_steps(validator& v, const json& body) {
  return nullable<json>(v, body, "pull_steps",
                        [&](const json& x) -> std::optional<json> {
                          if (!v.list(x))
                            return std::nullopt;
                          const auto before = v.count();
                          for (std::size_t i = 0; i < x.size(); ++i) {
                            auto gi = v.at(static_cast<std::int64_t>(i));
                            (void)v.object(x[i]);
                          }
                          if (v.count() != before)
                            return std::nullopt;
                          return x;
                        });
}

events::nullable_input<std::int64_t> concurrency_limit(validator& v,
                                                       const json& body) {
  return nullable<std::int64_t>(
      v, body, "concurrency_limit",
      [&](const json& x) -> std::optional<std::int64_t> {
        if (auto n = v.integer(x); n && v.greater_than(*n, 0, x))
          return n;
        return std::nullopt;
      });
}

events::nullable_input<json> nullable_options(validator& v, const json& body) {
  return nullable<json>(v, body, "concurrency_options",
                        [&](const json& x) -> std::optional<json> {
                          auto options = concurrency_options(v, x);
                          if (options.is_null())
                            return std::nullopt;
                          return options;
                        });
}

} // namespace

std::expected<events::create_schedules, response>
parse_create_schedules(const events::uuid& deployment_id, json_body body,
                       events::timestamp now) {
  validator v;
  if (!body.present || body.value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  events::create_schedules cmd;
  cmd.deployment_id = deployment_id;
  if (v.list(body.value))
    for (std::size_t i = 0; i < body.value.size(); ++i) {
      auto g = v.at(static_cast<std::int64_t>(i));
      if (auto s = schedule_item(v, body.value[i], now, true))
        cmd.schedules.push_back(std::move(*s));
    }
  if (!v.ok())
    return std::unexpected(validation_failed(v.errors(), body.value));
  return cmd;
}

std::expected<events::update_schedule, response>
parse_update_schedule(const events::uuid& deployment_id,
                      const events::uuid& schedule_id, json_body body,
                      events::timestamp now) {
  validator v;
  if (!body.present || body.value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  auto changes = schedule_update_item(v, body.value, now);
  if (!changes)
    return std::unexpected(validation_failed(v.errors(), body.value));
  return events::update_schedule{deployment_id, schedule_id,
                                 std::move(*changes)};
}

std::expected<json, response> read_optional_json_body(const request& req) {
  auto body = read_json_body(req);
  if (!body)
    return std::unexpected(std::move(body.error()));
  if (!body->present || body->value.is_null())
    return json::object();
  return std::move(body->value);
}

std::expected<events::update_deployment, response>
parse_update_deployment(const events::uuid& id, json_body body,
                        const config::api_settings& api,
                        events::timestamp now) {
  validator v;
  if (!body.present || body.value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  const json& echoed = body.value;
  if (!model_object(v, echoed))
    return std::unexpected(validation_failed(v.errors(), echoed));
  json b = echoed;
  for (const char* key : legacy_deployment_keys)
    b.erase(key);
  // Only the both-limits rule applies to updates (no create-time
  // parameter check).
  if (both_limits(v, echoed))
    return std::unexpected(validation_failed(v.errors(), echoed));
  events::update_deployment cmd;
  cmd.id = id;
  cmd.version = nullable_string(v, b, "version");
  cmd.description = nullable_string(v, b, "description");
  cmd.paused = optional_bool(v, b, "paused");
  if (auto it = b.find("schedules"); it != b.end()) {
    auto g = v.at("schedules");
    if (v.list(*it)) {
      std::vector<events::schedule_update_input> items;
      for (std::size_t i = 0; i < it->size(); ++i) {
        auto gi = v.at(static_cast<std::int64_t>(i));
        if (auto s = schedule_update_item(v, (*it)[i], now))
          items.push_back(std::move(*s));
      }
      cmd.schedules = std::move(items);
    }
  }
  cmd.concurrency_limit = concurrency_limit(v, b);
  cmd.concurrency_options = nullable_options(v, b);
  cmd.global_concurrency_limit_id =
      nullable_uuid(v, b, "global_concurrency_limit_id");
  cmd.parameters = nullable_object(v, b, "parameters");
  if (cmd.parameters.value) {
    auto g = v.at("parameters");
    // The writer hydrates (it reads workspace variables).
    parameter_size(v, *cmd.parameters.value, api.max_parameter_size);
  }
  cmd.parameter_openapi_schema =
      nullable_object(v, b, "parameter_openapi_schema");
  if (auto it = b.find("tags"); it != b.end()) {
    auto g = v.at("tags");
    cmd.tags = v.string_list(*it);
  }
  cmd.work_queue_name = nullable_string(v, b, "work_queue_name");
  cmd.work_pool_name = nullable_string(v, b, "work_pool_name");
  cmd.path = nullable_string(v, b, "path");
  cmd.job_variables = nullable_object(v, b, "job_variables");
  cmd.pull_steps = pull_steps(v, b);
  cmd.entrypoint = nullable_string(v, b, "entrypoint");
  cmd.storage_document_id = nullable_uuid(v, b, "storage_document_id");
  cmd.infrastructure_document_id =
      nullable_uuid(v, b, "infrastructure_document_id");
  if (auto it = b.find("enforce_parameter_schema"); it != b.end()) {
    cmd.enforce_parameter_schema.present = true;
    if (!it->is_null()) {
      auto g = v.at("enforce_parameter_schema");
      cmd.enforce_parameter_schema.value = v.boolean(*it);
    }
  }
  if (auto it = b.find("version_info"); it != b.end()) {
    auto g = v.at("version_info");
    version_info(v, *it);
  }
  v.forbid_extra(b, deployment_update_keys);
  if (!v.ok())
    return std::unexpected(validation_failed(v.errors(), echoed));
  return cmd;
}

std::expected<json_body, response> read_json_body(const request& req) {
  json_body out;
  if (req.body.empty())
    return out;
  out.present = true;
  if (req.content_type && !is_json_content_type(*req.content_type)) {
    out.value = req.body;
    return out;
  }
  if (events::precheck_json_body(req.body) != body_problem::none)
    return std::unexpected(detail(400, "There was an error parsing the body"));
  try {
    out.value = events::parse_json(req.body);
  } catch (const events::integer_too_long&) {
    // Python's int() refuses more than 4300 digits with a ValueError, which
    // FastAPI answers as it answers any other body it cannot read.
    return std::unexpected(detail(400, "There was an error parsing the body"));
  } catch (const json::exception&) {
    const auto error = events::python_json_error(req.body);
    return std::unexpected(json_invalid(
        req.body, error.value_or(json_decode_error{0, "Expecting value"})));
  }
  return out;
}

std::expected<events::create_flow, response>
parse_create_flow(const json_body& body) {
  validator v;
  if (!body.present || body.value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  const json& b = body.value;
  if (!model_object(v, b))
    return std::unexpected(validation_failed(v.errors(), b));
  events::create_flow cmd;
  if (auto it = b.find("name"); it == b.end()) {
    v.missing(b, "name");
  } else {
    auto g = v.at("name");
    if (auto name = v.string(*it);
        name && matches_name_pattern(v, *name, false))
      cmd.name = *name;
  }
  if (auto it = b.find("tags"); it != b.end()) {
    auto g = v.at("tags");
    if (auto tags = v.string_list(*it))
      cmd.tags = std::move(*tags);
  }
  if (auto it = b.find("labels"); it != b.end() && !it->is_null()) {
    auto g = v.at("labels");
    if (v.label_map(*it))
      cmd.labels = *it;
  }
  v.forbid_extra(b, {"name", "tags", "labels"});
  if (!v.ok())
    return std::unexpected(validation_failed(v.errors(), b));
  return cmd;
}

std::expected<events::create_deployment, response>
parse_create_deployment(json_body body, const config::api_settings& api,
                        events::timestamp now) {
  validator v;
  if (!body.present || body.value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  json& echoed = body.value;
  if (!model_object(v, echoed))
    return std::unexpected(validation_failed(v.errors(), echoed));
  // Before anything touches the body: the check pydantic runs first sees
  // (and echoes) it as sent.
  if (both_limits(v, echoed))
    return std::unexpected(validation_failed(v.errors(), echoed));
  // The reference adds `parameters: {}` to the body itself before
  // validating (it shows in `input` and `request_body`), and drops legacy
  // keys from the validated copy only.
  if (!echoed.contains("parameters"))
    echoed["parameters"] = json::object();
  // A copy only when there is a legacy key to drop: a client of today sends
  // none, and the copy of its ~1 KB document was a DOM built per create.
  json stripped;
  const bool legacy =
      std::any_of(std::begin(legacy_deployment_keys),
                  std::end(legacy_deployment_keys),
                  [&](const char* key) { return echoed.contains(key); });
  if (legacy) {
    stripped = echoed;
    for (const char* key : legacy_deployment_keys)
      stripped.erase(key);
  }
  const json& b = legacy ? stripped : echoed;

  if (!model_checks(v, b))
    return std::unexpected(validation_failed(v.errors(), echoed));

  events::create_deployment cmd;
  if (auto it = b.find("name"); it == b.end()) {
    v.missing(b, "name");
  } else {
    auto g = v.at("name");
    if (auto name = v.string(*it); name && matches_name_pattern(v, *name, true))
      cmd.name = *name;
  }
  if (auto it = b.find("flow_id"); it == b.end()) {
    v.missing(b, "flow_id");
  } else {
    auto g = v.at("flow_id");
    if (auto id = v.uuid_value(*it))
      cmd.flow_id = *id;
  }
  cmd.paused = optional_bool(v, b, "paused");
  if (auto it = b.find("schedules"); it != b.end()) {
    auto g = v.at("schedules");
    if (v.list(*it))
      for (std::size_t i = 0; i < it->size(); ++i) {
        auto gi = v.at(static_cast<std::int64_t>(i));
        if (auto s = schedule_item(v, (*it)[i], now))
          cmd.schedules.push_back(std::move(*s));
      }
  }
  cmd.concurrency_limit = concurrency_limit(v, b);
  cmd.concurrency_options = nullable_options(v, b);
  cmd.global_concurrency_limit_id =
      nullable_uuid(v, b, "global_concurrency_limit_id");
  cmd.enforce_parameter_schema =
      optional_bool(v, b, "enforce_parameter_schema");
  cmd.parameter_openapi_schema =
      nullable_object(v, b, "parameter_openapi_schema");
  {
    auto g = v.at("parameters");
    const auto& parameters = b.at("parameters");
    if (v.object(parameters)) {
      parameter_size(v, parameters, api.max_parameter_size);
      cmd.parameters = parameters;
    }
  }
  if (auto it = b.find("tags"); it != b.end()) {
    auto g = v.at("tags");
    cmd.tags = v.string_list(*it);
  }
  if (auto it = b.find("labels"); it != b.end() && !it->is_null()) {
    auto g = v.at("labels");
    if (v.label_map(*it))
      cmd.labels = *it;
  }
  cmd.pull_steps = pull_steps(v, b);
  cmd.work_queue_name = nullable_string(v, b, "work_queue_name");
  cmd.work_pool_name = nullable_string(v, b, "work_pool_name");
  cmd.storage_document_id = nullable_uuid(v, b, "storage_document_id");
  cmd.infrastructure_document_id =
      nullable_uuid(v, b, "infrastructure_document_id");
  cmd.description = nullable_string(v, b, "description");
  cmd.path = nullable_string(v, b, "path");
  cmd.version = nullable_string(v, b, "version");
  cmd.entrypoint = nullable_string(v, b, "entrypoint");
  if (auto it = b.find("job_variables"); it != b.end()) {
    auto g = v.at("job_variables");
    if (v.object(*it))
      cmd.job_variables = *it;
  }
  if (auto it = b.find("version_info"); it != b.end()) {
    auto g = v.at("version_info");
    version_info(v, *it);
  }
  v.forbid_extra(b, deployment_create_keys);
  if (!v.ok())
    return std::unexpected(validation_failed(v.errors(), echoed));
  return cmd;
}

} // namespace deployd::http
