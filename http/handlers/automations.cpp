// Automation endpoints (workers-automations.md §3): create, read, PUT,
// PATCH (`enabled` only), delete, filter, count, related-to and owned-by.
// Automations are stored and listed; nothing evaluates their triggers.
//
// Bodies are checked against the reference's AutomationCreate /
// AutomationUpdate schemas (its trigger and action unions report every
// member's errors, as pydantic does), plus the model validators the schema
// cannot express (`model_checks` below); then made canonical: every trigger
// and action re-serialised from its model with defaults filled in, unknown
// keys dropped, sets deduplicated, durations as float seconds. Action
// templates and parameter placeholders are stored as given (never run).
#include "actors/projections.hpp"
#include "events/automation.hpp"
#include "events/python/json_text.hpp"
#include "events/resource.hpp"
#include "events/validation.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/openapi_validator.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>

namespace deployd::http::handlers {

namespace {

using events::json;
using events::resource_kind;

constexpr const char* not_found_text = "Automation not found";

// -- durations ------------------------------------------------------------------

// An ISO-8601 duration (`PT2M`, `P1DT0.5S`, `-PT10S`) or a numeric string,
// in seconds; pydantic's timedelta accepts both spellings from JSON.
std::optional<double> duration_seconds(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  std::size_t at = 0;
  double sign = 1;
  if (text[0] == '-' || text[0] == '+') {
    sign = text[0] == '-' ? -1 : 1;
    at = 1;
  }
  if (at < text.size() && text[at] != 'P') {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size() && std::isfinite(v))
      return v;
    return std::nullopt;
  }
  ++at;
  bool in_time = false;
  bool any = false;
  double total = 0;
  while (at < text.size()) {
    if (text[at] == 'T') {
      if (in_time)
        return std::nullopt;
      in_time = true;
      ++at;
      continue;
    }
    const std::size_t start = at;
    while (at < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[at])) ||
            text[at] == '.'))
      ++at;
    if (at == start || at >= text.size())
      return std::nullopt;
    const double n = std::strtod(text.substr(start, at - start).c_str(), nullptr);
    const char unit = text[at++];
    double scale = 0;
    if (!in_time && unit == 'Y')
      scale = 365 * 86400.0;
    else if (!in_time && unit == 'M')
      scale = 30 * 86400.0;
    else if (!in_time && unit == 'W')
      scale = 7 * 86400.0;
    else if (!in_time && unit == 'D')
      scale = 86400.0;
    else if (in_time && unit == 'H')
      scale = 3600.0;
    else if (in_time && unit == 'M')
      scale = 60.0;
    else if (in_time && unit == 'S')
      scale = 1.0;
    else
      return std::nullopt;
    total += n * scale;
    any = true;
  }
  if (!any)
    return std::nullopt;
  return sign * total;
}

// A duration given as text becomes its seconds before the (number) schema
// sees it.
void seconds_in_place(json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return;
  if (const auto s = duration_seconds(it->get<std::string>()))
    *it = *s;
}

// -- model validators the schema cannot express ---------------------------------

// The `*_id` field each "selected or inferred" action names.
const std::map<std::string, std::string, std::less<>>& source_ids() {
  static const std::map<std::string, std::string, std::less<>> ids = {
      {"RunDeployment", "deployment_id"},
      {"PauseDeployment", "deployment_id"},
      {"ResumeDeployment", "deployment_id"},
      {"PauseWorkQueue", "work_queue_id"},
      {"ResumeWorkQueue", "work_queue_id"},
      {"PauseAutomation", "automation_id"},
      {"ResumeAutomation", "automation_id"},
      {"PauseWorkPool", "work_pool_id"},
      {"ResumeWorkPool", "work_pool_id"},
  };
  return ids;
}

void before_model(events::validator& v, std::string_view title, json& input) {
  if (title == "EventTrigger") {
    // EventTrigger.enforce_minimum_within_for_proactive_triggers.
    if (const auto it = input.find("within");
        it != input.end() && it->is_null()) {
      v.value_error("`within` should be a valid timedelta", input);
      return;
    }
    seconds_in_place(input, "within");
    if (input.value("posture", json()) == "Proactive") {
      const auto it = input.find("within");
      const bool unset = it == input.end() || (it->is_number() &&
                                               it->get<double>() == 0.0);
      if (unset)
        input["within"] = 10.0;
      else if (it->is_number() && it->get<double>() < 10.0)
        v.value_error("`within` for Proactive triggers must be greater than "
                      "or equal to 10 seconds",
                      input);
    }
  } else if (title == "CompoundTrigger" || title == "SequenceTrigger") {
    seconds_in_place(input, "within");
  } else if (title == "RunDeployment") {
    seconds_in_place(input, "schedule_after");
  } else if (title == "CallWebhook") {
    // An object payload is stored as its indented JSON text.
    if (const auto it = input.find("payload");
        it != input.end() && it->is_object())
      *it = it->dump(2);
  }
}

void greater_equal_zero(events::validator& v, const json& value,
                        const char* key) {
  const auto it = value.find(key);
  if (it != value.end() && it->is_number() && it->get<double>() < 0)
    v.fail("greater_than_equal",
           "Input should be greater than or equal to 0 seconds", *it,
           json{{"ge", "0 seconds"}}, key);
}

void after_model(events::validator& v, std::string_view title, json& value) {
  if (title == "EventTrigger") {
    greater_equal_zero(v, value, "within");
    return;
  }
  if (title == "CompoundTrigger") {
    const auto require = value.find("require");
    const auto triggers = value.find("triggers");
    if (require != value.end() && require->is_number_integer() &&
        triggers != value.end()) {
      const auto n = require->get<std::int64_t>();
      if (n < 1)
        v.value_error("require must be at least 1", value);
      else if (n > static_cast<std::int64_t>(triggers->size()))
        v.value_error(
            "require must be less than or equal to the number of triggers",
            value);
    }
    return;
  }
  if (title == "RunDeployment")
    greater_equal_zero(v, value, "schedule_after");
  const auto& ids = source_ids();
  const auto field = ids.find(title);
  if (field == ids.end())
    return;
  // DeploymentAction.selected_deployment_requires_id and its siblings.
  const bool selected = value.value("source", "selected") == "selected";
  const auto id = value.find(field->second);
  const bool has_id = id != value.end() && !id->is_null();
  if (selected != has_id)
    v.value_error(field->second + " is " +
                      (has_id ? "not allowed" : "required"),
                  value);
}

const http::model_checks& automation_checks() {
  static const http::model_checks checks{before_model, after_model};
  return checks;
}

// -- canonical form ---------------------------------------------------------------

const json& component_schema(const std::string& name) {
  return openapi_components().at(name);
}

// The union member of an anyOf list whose `type` literal is `type`.
const json* member_of(const json& any_of, const std::string& type) {
  for (const auto& member : any_of) {
    const auto& ref = member.at("$ref").get_ref<const std::string&>();
    const auto& schema = component_schema(ref.substr(ref.rfind('/') + 1));
    const auto& props = schema.at("properties");
    if (props.contains("type") && props.at("type").value("const", "") == type)
      return &schema;
  }
  return nullptr;
}

bool nullable(const json& property) {
  const auto any_of = property.find("anyOf");
  if (any_of == property.end())
    return false;
  return std::any_of(any_of->begin(), any_of->end(), [](const json& m) {
    return m.value("type", "") == "null";
  });
}

std::string type_of(const json& property) {
  return property.value("type", std::string());
}

// A UUID field (or an optional one): pydantic writes UUIDs back in their
// canonical form, whatever spelling came in.
bool uuid_typed(const json& property) {
  if (property.value("format", "") == "uuid")
    return true;
  const auto any_of = property.find("anyOf");
  return any_of != property.end() &&
         std::any_of(any_of->begin(), any_of->end(), [](const json& m) {
           return m.value("format", "") == "uuid";
         });
}

json unique(const json& list) {
  json out = json::array();
  for (const auto& item : list)
    if (std::find(out.begin(), out.end(), item) == out.end())
      out.push_back(item);
  return out;
}

json canonical_trigger(const json& trigger);

// Re-serialises a validated model: every property in schema order, with
// its default when absent; numbers where the model has floats.
json canonical_model(const json& schema, const json& value) {
  json out = json::object();
  for (const auto& [key, property] : schema.at("properties").items()) {
    const auto it = value.find(key);
    if (it == value.end()) {
      if (key == "id")
        continue; // trigger ids: the writer assigns them
      if (property.contains("default"))
        out[key] = property.at("default");
      else if (key == "match" || key == "match_related")
        out[key] = json::object();
      else if (type_of(property) == "array")
        out[key] = json::array();
      else if (type_of(property) == "number")
        out[key] = 0.0;
      else if (nullable(property))
        out[key] = nullptr;
      continue;
    }
    json v = *it;
    if (key == "triggers" && v.is_array()) {
      json children = json::array();
      for (const auto& child : v)
        children.push_back(canonical_trigger(child));
      v = std::move(children);
    } else if (property.value("uniqueItems", false) && v.is_array()) {
      v = unique(v);
    } else if (v.is_string() && uuid_typed(property)) {
      if (const auto id = events::parse_lenient_uuid(v.get<std::string>()))
        v = id->str();
    } else if (v.is_number() && !events::is_big_integer(v) &&
               (type_of(property) == "number" ||
                (key == "within" && nullable(property)))) {
      v = v.get<double>();
    }
    out[key] = std::move(v);
  }
  return out;
}

json canonical_trigger(const json& trigger) {
  const auto type = trigger.value("type", std::string("event"));
  const auto& any_of =
      component_schema("AutomationCreate").at("properties").at("trigger").at(
          "anyOf");
  const json* schema = nullptr;
  for (const auto& member : any_of) {
    const auto& ref = member.at("$ref").get_ref<const std::string&>();
    const auto& s = component_schema(ref.substr(ref.rfind('/') + 1));
    if (s.at("properties").at("type").value("default", "") == type)
      schema = &s;
  }
  return schema ? canonical_model(*schema, trigger) : trigger;
}

json canonical_actions(const json& actions) {
  const auto& any_of = component_schema("AutomationCreate")
                           .at("properties")
                           .at("actions")
                           .at("items")
                           .at("anyOf");
  json out = json::array();
  for (const auto& action : actions) {
    const auto type = action.value("type", std::string("do-nothing"));
    const json* schema = member_of(any_of, type);
    out.push_back(schema ? canonical_model(*schema, action) : action);
  }
  return out;
}

// The canonical top-level fields present in `body` (all of them, defaults
// included, with `with_defaults`).
json canonical_automation(const json& body, bool with_defaults) {
  json out = json::object();
  auto take = [&](const char* key, const json& fallback) {
    if (const auto it = body.find(key); it != body.end())
      out[key] = *it;
    else if (with_defaults)
      out[key] = fallback;
  };
  take("name", "");
  take("description", "");
  take("enabled", true);
  take("tags", json::array());
  out["trigger"] = canonical_trigger(body.at("trigger"));
  out["actions"] = canonical_actions(body.at("actions"));
  for (const char* key : {"actions_on_trigger", "actions_on_resolve"}) {
    if (const auto it = body.find(key); it != body.end())
      out[key] = canonical_actions(*it);
    else if (with_defaults)
      out[key] = json::array();
  }
  return out;
}

// An AutomationCreate (create) or AutomationUpdate body, validated and
// canonical; the 422 response otherwise.
std::expected<json, response> automation_body(const request& req,
                                              bool create) {
  auto body = read_json_body(req);
  if (!body)
    return std::unexpected(std::move(body.error()));
  events::validator v;
  if (!body->present || body->value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  const json& raw = body->value;
  auto coerced =
      validate_against(v, create ? "AutomationCreate" : "AutomationUpdate",
                       raw, automation_checks());
  if (!coerced)
    return std::unexpected(validation_failed(v.errors(), raw));
  json canonical = canonical_automation(*coerced, create);
  // AutomationCore.prevent_run_deployment_loops, on the model as given
  // (an absent `enabled` is the default, true).
  json checked = canonical;
  if (!checked.contains("enabled"))
    checked["enabled"] = true;
  if (auto loop = events::run_deployment_loop(checked)) {
    v.value_error(*loop, raw);
    return std::unexpected(validation_failed(v.errors(), raw));
  }
  if (create)
    if (const auto owner = coerced->find("owner_resource");
        owner != coerced->end() && owner->is_string())
      canonical["owner_resource"] = *owner;
  return canonical;
}

// -- reads ---------------------------------------------------------------------

// Every automation, in id order.
std::expected<std::vector<json>, storage::errc>
all_automations(storage::reader& r) {
  return actors::resources_under(
      r, std::string(1, static_cast<char>(resource_kind::automation)));
}

std::int64_t micros_of(const json& doc, const char* key) {
  return events::parse_timestamp(doc.value(key, std::string()))
      .value_or(events::timestamp{})
      .micros;
}

bool present(const json& parent, const char* key) {
  const auto it = parent.find(key);
  return it != parent.end() && !it->is_null();
}

bool has(const json& list, const json& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// AutomationFilter: name any_, created before_, tags all_ / any_ /
// is_null_; each criterion's `operator` combines its parts, the filter's
// combines the criteria.
bool combine(const std::vector<bool>& terms, const json& f) {
  if (terms.empty())
    return true;
  const bool use_or = f.value("operator", "and_") == "or_";
  return use_or ? has(json(terms), true) : !has(json(terms), false);
}

bool matches(const json& f, const json& doc) {
  if (!f.is_object())
    return true;
  std::vector<bool> terms;
  if (present(f, "name") && present(f.at("name"), "any_"))
    terms.push_back(has(f.at("name").at("any_"), doc.at("name")));
  if (present(f, "created") && present(f.at("created"), "before_")) {
    const auto before = events::parse_timestamp(
        f.at("created").at("before_").get<std::string>());
    terms.push_back(before && micros_of(doc, "created") <= before->micros);
  }
  if (present(f, "tags")) {
    const auto& t = f.at("tags");
    const auto& tags = doc.at("tags");
    std::vector<bool> sub;
    if (present(t, "all_"))
      sub.push_back(std::all_of(t.at("all_").begin(), t.at("all_").end(),
                                [&](const json& tag) { return has(tags, tag); }));
    if (present(t, "any_"))
      sub.push_back(std::any_of(t.at("any_").begin(), t.at("any_").end(),
                                [&](const json& tag) { return has(tags, tag); }));
    if (present(t, "is_null_"))
      sub.push_back(t.at("is_null_").get<bool>() == tags.empty());
    terms.push_back(combine(sub, t));
  }
  return combine(terms, f);
}

// Sorts by `sort` (AutomationSort); ties by creation, then id.
void sort_automations(std::vector<json>& docs, const std::string& sort) {
  std::stable_sort(docs.begin(), docs.end(), [&](const json& a, const json& b) {
    const auto name_a = a.at("name").get<std::string>();
    const auto name_b = b.at("name").get<std::string>();
    if (sort == "NAME_DESC" && name_a != name_b)
      return name_a > name_b;
    if (sort == "CREATED_DESC" &&
        micros_of(a, "created") != micros_of(b, "created"))
      return micros_of(a, "created") > micros_of(b, "created");
    if (sort == "UPDATED_DESC" &&
        micros_of(a, "updated") != micros_of(b, "updated"))
      return micros_of(a, "updated") > micros_of(b, "updated");
    if ((sort == "NAME_ASC" || sort.empty()) && name_a != name_b)
      return name_a < name_b;
    return micros_of(a, "created") < micros_of(b, "created");
  });
}

std::string json_list(const std::vector<json>& docs, std::int64_t offset,
                      std::int64_t limit) {
  std::string out = "[";
  std::int64_t index = 0;
  std::int64_t taken = 0;
  for (const auto& doc : docs) {
    if (index++ < offset)
      continue;
    if (taken++ >= limit)
      break;
    if (out.size() > 1)
      out.push_back(',');
    events::append_json(out, doc);
  }
  out.push_back(']');
  return out;
}

response from_row(const actors::read_model::text& row) {
  if (!row)
    return storage_failed(row.error());
  if (!*row)
    return exception_message(404, not_found_text);
  return json_text(200, **row);
}

} // namespace

void post_automations(services& s, const request& req, path_params,
                      responder reply) {
  auto body = automation_body(req, true);
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::create_automation{std::move(*body)}, on_success::created,
         std::move(reply));
}

void get_automation(services& s, const request&, path_params params,
                    responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  auto row = s.reads.resource(resource_kind::automation, id,
                              storage::read_tier::cache_only);
  if (row || row.error() != storage::errc::would_block)
    return reply(from_row(row));
  s.blocking_reads.post([&reads = s.reads, id, reply = std::move(reply)] {
    reply(from_row(
        reads.resource(resource_kind::automation, id, storage::read_tier::any)));
  });
}

void put_automation(services& s, const request& req, path_params params,
                    responder reply) {
  auto body = automation_body(req, false);
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req,
         events::replace_automation{*events::uuid::parse(params.at(0)),
                                    std::move(*body)},
         on_success::no_content, std::move(reply));
}

void patch_automation(services& s, const request& req, path_params params,
                      responder reply) {
  auto body = model_body(req, "AutomationPartialUpdate");
  if (!body)
    return reply(std::move(body.error()));
  // The loop check's 422 echoes the request body.
  json echo = *body;
  submit_with(
      s, req,
      events::patch_automation{*events::uuid::parse(params.at(0)),
                               std::move(*body)},
      [echo = std::move(echo)](const actors::command_result& r) {
        if (r.result == actors::command_result::outcome::rejected &&
            r.reason.code == events::rejection_code::invalid_model)
          return model_rejected(r.reason, echo);
        return write_response(r, on_success::no_content);
      },
      std::move(reply));
}

void delete_automation(services& s, const request& req, path_params params,
                       responder reply) {
  submit(s, req, events::delete_automation{*events::uuid::parse(params.at(0))},
         on_success::no_content, std::move(reply));
}

void delete_automations_owned_by(services& s, const request& req,
                                 path_params params, responder reply) {
  submit_with(
      s, req, events::delete_automations_owned_by{std::move(params.at(0))},
      [](const actors::command_result& r) {
        if (r.result == actors::command_result::outcome::ok)
          return json_text(202, "null");
        return write_response(r);
      },
      std::move(reply));
}

void post_automations_filter(services& s, const request& req, path_params,
                             responder reply) {
  auto body = query_body(req, "Body_read_automations_automations_filter_post");
  if (!body)
    return reply(std::move(body.error()));
  const auto offset_v = param(*body, "offset");
  const std::int64_t offset =
      offset_v.is_number_integer() ? offset_v.get<std::int64_t>() : 0;
  const auto sort_v = param(*body, "sort");
  run_query(
      s,
      [filter = param(*body, "automations"), offset, limit = limit_of(*body),
       sort = sort_v.is_string() ? sort_v.get<std::string>()
                                 : std::string("NAME_ASC")](
          storage::reader& r) {
        auto all = all_automations(r);
        if (!all)
          return storage_failed(all.error());
        std::vector<json> found;
        for (auto& doc : *all)
          if (matches(filter, doc))
            found.push_back(std::move(doc));
        sort_automations(found, sort);
        return json_text(200, json_list(found, offset, limit));
      },
      std::move(reply));
}

void post_automations_count(services& s, const request&, path_params,
                            responder reply) {
  // The reference reads no body here: every automation counts.
  run_query(
      s,
      [](storage::reader& r) {
        std::size_t n = 0;
        auto scanned = r.scan(
            storage::table::resource_names,
            std::string(1, static_cast<char>(resource_kind::automation)),
            [&](std::string_view, std::string_view) {
              ++n;
              return true;
            });
        if (!scanned)
          return storage_failed(scanned.error());
        return json_text(200, std::to_string(n));
      },
      std::move(reply));
}

void get_automations_related_to(services& s, const request&,
                                path_params params, responder reply) {
  run_query(
      s,
      [resource = std::move(params.at(0))](storage::reader& r) {
        auto ids = actors::automations_related_to(r, resource, false);
        if (!ids)
          return storage_failed(ids.error());
        std::vector<json> docs;
        for (const auto& id : *ids) {
          auto doc = actors::load_resource(r, resource_kind::automation, id);
          if (!doc)
            return storage_failed(doc.error());
          if (*doc)
            docs.push_back(std::move(**doc));
        }
        // Creation order, as the reference's rows come back.
        std::stable_sort(docs.begin(), docs.end(),
                         [](const json& a, const json& b) {
                           return micros_of(a, "created") <
                                  micros_of(b, "created");
                         });
        return json_text(200, json_list(docs, 0, std::numeric_limits<std::int64_t>::max()));
      },
      std::move(reply));
}

} // namespace deployd::http::handlers
