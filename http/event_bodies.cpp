#include "http/event_bodies.hpp"

#include "events/python/json_text.hpp"
#include "http/base64.hpp"
#include "http/openapi_validator.hpp"

#include <array>

namespace deployd::http {

namespace {

using events::json;

// -- resource labels
// ------------------------------------------------------------

void check_labels(events::validator& v, const json& resource, bool related) {
  const auto id = resource.find("prefect.resource.id");
  if (id == resource.end())
    v.value_error("Resources must include the prefect.resource.id label",
                  resource);
  else if (id->get<std::string>().empty())
    v.value_error("The prefect.resource.id label must be non-empty", resource);
  if (resource.size() > events::max_labels_per_resource)
    v.value_error("The maximum number of labels per resource is " +
                      std::to_string(events::max_labels_per_resource),
                  resource);
  if (!related)
    return;
  const auto role = resource.find("prefect.resource.role");
  if (role == resource.end())
    v.value_error(
        "Related Resources must include the prefect.resource.role label",
        resource);
  else if (role->get<std::string>().empty())
    v.value_error("The prefect.resource.role label must be non-empty",
                  resource);
}

// pydantic's tuple[str, str] on one element of `resources_in_roles`.
void check_pair(events::validator& v, const json& pair) {
  if (!pair.is_array()) {
    v.fail("tuple_type", "Input should be a valid tuple", pair);
    return;
  }
  if (pair.size() < 2)
    v.fail("too_short",
           "Tuple should have at least 2 items after validation, not " +
               std::to_string(pair.size()),
           pair,
           json{{"field_type", "Tuple"},
                {"min_length", 2},
                {"actual_length", pair.size()}});
  else if (pair.size() > 2)
    v.fail("too_long",
           "Tuple should have at most 2 items after validation, not " +
               std::to_string(pair.size()),
           pair,
           json{{"field_type", "Tuple"},
                {"max_length", 2},
                {"actual_length", pair.size()}});
  else
    for (std::size_t i = 0; i < 2; ++i)
      if (!pair[i].is_string())
        v.fail("string_type", "Input should be a valid string", pair[i],
               nullptr, json(i));
}

void check_related_filter(events::validator& v, const json& related) {
  const auto pairs = related.find("resources_in_roles");
  if (pairs == related.end() || !pairs->is_array())
    return;
  const auto at = v.at("resources_in_roles");
  for (std::size_t i = 0; i < pairs->size(); ++i) {
    const auto item = v.at(json(i));
    check_pair(v, (*pairs)[i]);
  }
}

std::string loc_text(const json& loc) {
  std::string out;
  for (const auto& part : loc) {
    if (!out.empty())
      out += '.';
    out += part.is_string() ? part.get<std::string>() : events::dump_json(part);
  }
  return out;
}

} // namespace

std::optional<events::prefect_event> parse_client_event(events::validator& v,
                                                        const json& input) {
  const auto before = v.count();
  auto coerced = validate_against(v, "Event", input);
  if (!coerced || v.count() != before)
    return std::nullopt;
  const json& e = *coerced;
  if (const auto name = e.at("event").get<std::string>();
      name.size() > events::max_event_name_length) {
    const auto at = v.at("event");
    v.value_error("Event name must be at most " +
                      std::to_string(events::max_event_name_length) +
                      " characters",
                  e.at("event"));
  }
  {
    const auto at = v.at("resource");
    check_labels(v, e.at("resource"), false);
  }
  const json related = e.value("related", json::array());
  {
    const auto at = v.at("related");
    if (related.size() > events::max_related_resources)
      v.value_error("The maximum number of related resources is " +
                        std::to_string(events::max_related_resources),
                    related);
    else
      for (std::size_t j = 0; j < related.size(); ++j) {
        const auto item = v.at(json(j));
        check_labels(v, related[j], true);
      }
  }
  if (v.count() != before)
    return std::nullopt;
  events::prefect_event out;
  out.occurred = *events::parse_timestamp(e.at("occurred").get<std::string>());
  out.event = e.at("event").get<std::string>();
  out.resource = e.at("resource");
  out.related = related;
  out.payload = e.value("payload", json::object());
  out.id = *events::parse_lenient_uuid(e.at("id").get<std::string>());
  if (const auto f = e.find("follows"); f != e.end() && f->is_string())
    out.follows = events::parse_lenient_uuid(f->get<std::string>());
  return out;
}

bool check_resource_pairs(events::validator& v, const json& filter) {
  const auto before = v.count();
  const auto related = filter.find("related");
  if (related == filter.end() || related->is_null())
    return true;
  const auto at = v.at("related");
  if (related->is_object()) {
    const auto tag = v.at("EventRelatedFilter");
    check_related_filter(v, *related);
  } else if (related->is_array()) {
    const auto tag = v.at("list[EventRelatedFilter]");
    for (std::size_t i = 0; i < related->size(); ++i) {
      const auto item = v.at(json(i));
      check_related_filter(v, (*related)[i]);
    }
  }
  return v.count() == before;
}

std::optional<json> validate_event_filter(events::validator& v,
                                          const json& input) {
  const auto before = v.count();
  auto coerced = validate_against(v, "EventFilter", input);
  if (!coerced || v.count() != before)
    return std::nullopt;
  if (!check_resource_pairs(v, input))
    return std::nullopt;
  return coerced;
}

std::string encode_page_token(const page_token& t) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string head;
  for (const unsigned char c : t.head) {
    head.push_back(hex[c >> 4]);
    head.push_back(hex[c & 15]);
  }
  const json j = {{"filter", t.filter},
                  {"count", t.count},
                  {"page_size", t.page_size},
                  {"offset", t.offset},
                  {"head", head}};
  return base64_encode(events::dump_json(j), base64_alphabet::url);
}

std::optional<page_token> decode_page_token(std::string_view text) {
  const auto bytes = base64_decode(text, base64_alphabet::url);
  if (!bytes || bytes->empty())
    return std::nullopt;
  json j;
  try {
    j = events::parse_json(*bytes);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!j.is_object() || j.size() != 5)
    return std::nullopt;
  const auto count = j.find("count");
  const auto size = j.find("page_size");
  const auto offset = j.find("offset");
  const auto filter = j.find("filter");
  if (count == j.end() || size == j.end() || offset == j.end() ||
      filter == j.end() || !count->is_number_integer() ||
      !size->is_number_integer() || !offset->is_number_integer() ||
      !filter->is_object())
    return std::nullopt;
  page_token t;
  t.count = count->get<std::int64_t>();
  t.page_size = size->get<std::int64_t>();
  t.offset = offset->get<std::int64_t>();
  if (t.count < 0 || t.page_size < 0 || t.page_size > 50 || t.offset < 0)
    return std::nullopt;
  const auto head = j.find("head");
  if (head == j.end() || !head->is_string() ||
      head->get<std::string>().size() != 32)
    return std::nullopt;
  for (std::size_t i = 0; i < 32; i += 2) {
    const auto pair = head->get<std::string>().substr(i, 2);
    const auto digit = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                    : -1;
    };
    const int hi = digit(pair[0]);
    const int lo = digit(pair[1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    t.head.push_back(static_cast<char>(hi * 16 + lo));
  }
  // The filter is checked as strictly as a request's: a token is input.
  events::validator v;
  auto coerced = validate_event_filter(v, *filter);
  if (!coerced)
    return std::nullopt;
  const auto occurred = coerced->find("occurred");
  if (occurred == coerced->end() || !occurred->contains("since") ||
      !occurred->contains("until"))
    return std::nullopt;
  t.filter = std::move(*coerced);
  return t;
}

std::string validation_summary(const events::field_errors& errors,
                               std::string_view model) {
  std::string out = std::to_string(errors.size()) + " validation error" +
                    (errors.size() == 1 ? "" : "s") + " for " +
                    std::string(model);
  for (const auto& e : errors) {
    json loc = e.loc;
    out += "\n" + loc_text(loc) + "\n  " + e.msg;
  }
  return out;
}

} // namespace deployd::http
