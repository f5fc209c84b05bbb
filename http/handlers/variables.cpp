// Workspace variable endpoints (flow-runs.md §10): create, read by id or
// name, PATCH and DELETE by id or name, filter and count.
#include "actors/projections.hpp"
#include "actors/queries.hpp"
#include "events/python/json_text.hpp"
#include "events/resource.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/request_body.hpp"
#include "http/responses.hpp"

#include <algorithm>

namespace deployd::http::handlers {

namespace {

using events::json;
using events::resource_kind;

constexpr std::size_t max_name_length = 255;
constexpr std::size_t max_value_bytes = 5000;

std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

bool contains_big_integer(const json& v) {
  if (events::is_big_integer(v))
    return true;
  if (v.is_structured())
    for (const auto& child : v)
      if (contains_big_integer(child))
        return true;
  return false;
}

// `VariableName`: a string; then the reference's custom check (Python's
// `re.match("^[a-z0-9-_]*$")`, whose `$` also matches before one final
// newline); then the length, which pydantic reports generically because the
// constraint runs after that validator.
void check_name(events::validator& v, const json& value) {
  auto g = v.at("name");
  const auto name = v.string(value);
  if (!name)
    return;
  std::string_view text = *name;
  if (text.ends_with('\n'))
    text.remove_suffix(1);
  const bool allowed = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
  if (!allowed) {
    v.value_error("Variable name must only contain lowercase letters, "
                  "numbers, and dashes or underscores.",
                  value);
    return;
  }
  if (const auto n = code_points(*name); n > max_name_length)
    v.fail("too_long",
           "Value should have at most 255 items after validation, not " +
               std::to_string(n),
           value,
           json{{"field_type", "Value"},
                {"max_length", max_name_length},
                {"actual_length", n}});
}

// `StrictVariableValue`: any JSON value whose orjson encoding (compact,
// UTF-8) is at most 5000 bytes; orjson cannot encode an integer beyond 64
// bits.
void check_value(events::validator& v, const json& value) {
  auto g = v.at("value");
  if (contains_big_integer(value))
    v.value_error("Variable value must be serializable to JSON", value);
  else if (!value.is_null() &&
           events::dump_json(value).size() > max_value_bytes)
    v.value_error("Variable value must be less than 5000 characters", value);
}

// VariableCreate (create) or VariableUpdate: extra keys forbidden.
std::expected<json, response> variable_body(const request& req, bool create) {
  auto body = read_json_body(req);
  if (!body)
    return std::unexpected(std::move(body.error()));
  events::validator v;
  if (!body->present || body->value.is_null()) {
    v.fail("missing", "Field required", nullptr);
    return std::unexpected(validation_failed(v.errors(), nullptr));
  }
  const json& b = body->value;
  if (!b.is_object()) {
    v.fail("model_attributes_type",
           "Input should be a valid dictionary or object to extract fields "
           "from",
           b);
    return std::unexpected(validation_failed(v.errors(), b));
  }
  if (const auto it = b.find("name"); it == b.end()) {
    if (create)
      v.missing(b, "name");
  } else if (create || !it->is_null()) {
    check_name(v, *it);
  }
  if (const auto it = b.find("value"); it == b.end()) {
    if (create)
      v.missing(b, "value");
  } else {
    check_value(v, *it);
  }
  if (const auto it = b.find("tags");
      it != b.end() && (create || !it->is_null())) {
    auto g = v.at("tags");
    (void)v.string_list(*it);
  }
  v.forbid_extra(b, {"name", "value", "tags"});
  if (!v.ok())
    return std::unexpected(validation_failed(v.errors(), b));
  return b;
}

std::string name_key(const std::string& name) {
  return actors::resource_name_key(resource_kind::variable,
                                   json{{"name", name}});
}

// -- filter ---------------------------------------------------------------

bool present(const json& parent, const char* key) {
  const auto it = parent.find(key);
  return it != parent.end() && !it->is_null();
}

bool has_string(const json& list, const json& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// VariableFilter: id any_, name any_ / like_, tags all_ / is_null_; each
// criterion's own `operator` combines its parts, the filter's combines them.
bool matches(const json& f, const json& doc) {
  if (!f.is_object())
    return true;
  const bool use_or = f.value("operator", "and_") == "or_";
  std::vector<bool> terms;
  if (present(f, "id") && present(f.at("id"), "any_"))
    terms.push_back(has_string(f.at("id").at("any_"), doc.at("id")));
  if (present(f, "name")) {
    const auto& n = f.at("name");
    bool ok = true;
    if (present(n, "any_"))
      ok = ok && has_string(n.at("any_"), doc.at("name"));
    if (present(n, "like_"))
      ok = ok && actors::ilike_contains(doc.at("name").get<std::string>(),
                                        n.at("like_").get<std::string>());
    terms.push_back(ok);
  }
  if (present(f, "tags")) {
    const auto& t = f.at("tags");
    const auto& tags = doc.at("tags");
    std::vector<bool> sub;
    if (present(t, "all_")) {
      bool all = true;
      for (const auto& tag : t.at("all_"))
        all = all && has_string(tags, tag);
      sub.push_back(all);
    }
    if (present(t, "is_null_"))
      sub.push_back(t.at("is_null_").get<bool>() == tags.empty());
    const bool tags_or = t.value("operator", "and_") == "or_";
    terms.push_back(
        sub.empty() ||
        (tags_or ? std::find(sub.begin(), sub.end(), true) != sub.end()
                 : std::find(sub.begin(), sub.end(), false) == sub.end()));
  }
  if (terms.empty())
    return true;
  return use_or ? std::find(terms.begin(), terms.end(), true) != terms.end()
                : std::find(terms.begin(), terms.end(), false) == terms.end();
}

// Every variable matching `filter`, in `sort` order (names are unique, so
// ties only occur for equal times: then by name).
std::expected<std::vector<json>, storage::errc>
matching(storage::reader& r, const json& filter, const std::string& sort) {
  auto all = actors::resources_under(
      r, std::string(1, static_cast<char>(resource_kind::variable)));
  if (!all)
    return std::unexpected(all.error());
  std::vector<json> out;
  for (auto& doc : *all)
    if (matches(filter, doc))
      out.push_back(std::move(doc));
  auto field = [&](const json& d, const char* key) {
    return d.at(key).get<std::string>();
  };
  auto time = [&](const json& d, const char* key) {
    return events::parse_timestamp(field(d, key))
        .value_or(events::timestamp{})
        .micros;
  };
  // The scan is in name order; ties of equal times keep it.
  std::stable_sort(out.begin(), out.end(), [&](const json& a, const json& b) {
    if (sort == "NAME_DESC")
      return field(a, "name") > field(b, "name");
    if (sort == "CREATED_DESC")
      return time(a, "created") > time(b, "created");
    if (sort == "UPDATED_DESC")
      return time(a, "updated") > time(b, "updated");
    return field(a, "name") < field(b, "name");
  });
  return out;
}

} // namespace

void post_variables(services& s, const request& req, path_params,
                    responder reply) {
  auto body = variable_body(req, true);
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::create_variable{std::move(*body)}, on_success::created,
         std::move(reply));
}

void get_variable(services& s, const request&, path_params params,
                  responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  answer_read(
      s,
      [&reads = s.reads, id](auto tier) {
        return reads.resource(resource_kind::variable, id, tier);
      },
      "Variable not found.", std::move(reply));
}

void get_variable_by_name(services& s, const request&, path_params params,
                          responder reply) {
  answer_read(
      s,
      [&reads = s.reads, key = name_key(params.at(0))](auto tier) {
        return reads.resource_named(key, tier);
      },
      "Variable not found.", std::move(reply));
}

void patch_variable(services& s, const request& req, path_params params,
                    responder reply) {
  auto body = variable_body(req, false);
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req,
         events::update_variable{*events::uuid::parse(params.at(0)),
                                 std::nullopt, std::move(*body)},
         on_success::no_content, std::move(reply));
}

void patch_variable_by_name(services& s, const request& req, path_params params,
                            responder reply) {
  auto body = variable_body(req, false);
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req,
         events::update_variable{std::nullopt, std::move(params.at(0)),
                                 std::move(*body)},
         on_success::no_content, std::move(reply));
}

void delete_variable(services& s, const request& req, path_params params,
                     responder reply) {
  submit(
      s, req,
      events::delete_variable{*events::uuid::parse(params.at(0)), std::nullopt},
      on_success::no_content, std::move(reply));
}

void delete_variable_by_name(services& s, const request& req, path_params params,
                             responder reply) {
  submit(s, req, events::delete_variable{std::nullopt, std::move(params.at(0))},
         on_success::no_content, std::move(reply));
}

void post_variables_filter(services& s, const request& req, path_params,
                           responder reply) {
  auto body = query_body(req, "Body_read_variables_variables_filter_post");
  if (!body)
    return reply(std::move(body.error()));
  const auto offset_v = param(*body, "offset");
  const std::int64_t offset =
      offset_v.is_number_integer() ? offset_v.get<std::int64_t>() : 0;
  const auto limit = limit_of(*body);
  const auto sort_v = param(*body, "sort");
  run_query(
      s,
      [filter = param(*body, "variables"), offset, limit,
       sort = sort_v.is_string()
                  ? sort_v.get<std::string>()
                  : std::string("NAME_ASC")](storage::reader& r) {
        auto found = matching(r, filter, sort);
        if (!found)
          return storage_failed(found.error());
        std::string out = "[";
        std::int64_t index = 0;
        std::int64_t taken = 0;
        for (const auto& doc : *found) {
          if (index++ < offset)
            continue;
          if (taken++ >= limit)
            break;
          if (out.size() > 1)
            out.push_back(',');
          events::append_json(out, doc);
        }
        out.push_back(']');
        return json_text(200, std::move(out));
      },
      std::move(reply));
}

void post_variables_count(services& s, const request& req, path_params,
                          responder reply) {
  auto body =
      query_body(req, "Body_count_variables_variables_count_post", false);
  if (!body)
    return reply(std::move(body.error()));
  run_query(
      s,
      [filter = param(*body, "variables")](storage::reader& r) {
        auto found = matching(r, filter, "NAME_ASC");
        if (!found)
          return storage_failed(found.error());
        return json_text(200, std::to_string(found->size()));
      },
      std::move(reply));
}

} // namespace deployd::http::handlers
