#include "events/event_filter.hpp"

#include "events/python/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace deployd::events {

namespace {

constexpr std::int64_t day_micros = 86'400'000'000;

const json* member(const json& j, const char* key) {
  if (!j.is_object())
    return nullptr;
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::optional<std::vector<std::string>> strings(const json& j,
                                                const char* key) {
  const auto* v = member(j, key);
  if (!v)
    return std::nullopt;
  return v->get<std::vector<std::string>>();
}

std::optional<label_patterns> patterns(const json& j, const char* key) {
  const auto* v = member(j, key);
  if (!v)
    return std::nullopt;
  label_patterns out;
  for (const auto& [label, value] : v->items()) {
    if (value.is_string())
      out.emplace_back(label,
                       std::vector<std::string>{value.get<std::string>()});
    else
      out.emplace_back(label, value.get<std::vector<std::string>>());
  }
  return out;
}

// An object, or a list of objects (every one must match).
template <class Parse>
auto one_or_many(const json& j, const char* key, Parse parse) {
  std::vector<decltype(parse(j))> out;
  const auto* v = member(j, key);
  if (!v)
    return out;
  if (v->is_array())
    for (const auto& x : *v)
      out.push_back(parse(x));
  else
    out.push_back(parse(*v));
  return out;
}

bool starts_with_any(std::string_view value,
                     const std::vector<std::string>& prefixes) {
  return std::any_of(
      prefixes.begin(), prefixes.end(),
      [&](const std::string& p) { return value.starts_with(p); });
}

bool equals_any(std::string_view value, const std::vector<std::string>& list) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string label(const json& labels, const char* key) {
  const auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>()
                                               : std::string();
}

bool name_matches(const event_name_filter& f, std::string_view name) {
  if (f.prefix && !f.prefix->empty() && !starts_with_any(name, *f.prefix))
    return false;
  if (f.exclude_prefix && !f.exclude_prefix->empty() &&
      starts_with_any(name, *f.exclude_prefix))
    return false;
  if (f.name && !f.name->empty() && !equals_any(name, *f.name))
    return false;
  if (f.exclude_name && !f.exclude_name->empty() &&
      equals_any(name, *f.exclude_name))
    return false;
  return true;
}

bool id_criteria(const std::optional<std::vector<std::string>>& ids,
                 const std::optional<std::vector<std::string>>& prefixes,
                 const json& labels) {
  const auto id = label(labels, "prefect.resource.id");
  if (ids && !ids->empty() && !equals_any(id, *ids))
    return false;
  if (prefixes && !prefixes->empty() && !starts_with_any(id, *prefixes))
    return false;
  return true;
}

bool related_matches(const event_related_filter& f, const json& r) {
  if (!id_criteria(f.id, std::nullopt, r))
    return false;
  const auto role = label(r, "prefect.resource.role");
  if (f.role && !f.role->empty() && !equals_any(role, *f.role))
    return false;
  if (f.resources_in_roles && !f.resources_in_roles->empty()) {
    const auto id = label(r, "prefect.resource.id");
    const bool found =
        std::any_of(f.resources_in_roles->begin(), f.resources_in_roles->end(),
                    [&](const auto& pair) {
                      return pair.first == id && pair.second == role;
                    });
    if (!found)
      return false;
  }
  return !f.labels || labels_match(*f.labels, r);
}

bool empty(const event_related_filter& f) {
  return !f.id && !f.role && !f.resources_in_roles && !f.labels;
}

bool any_resource_matches(const event_any_resource_filter& f, const json& r) {
  return id_criteria(f.id, f.id_prefix, r) &&
         (!f.labels || labels_match(*f.labels, r));
}

// -- text search (events-api §3.6) -------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

struct text_terms {
  std::vector<std::string> any;
  std::vector<std::string> excluded;
  std::vector<std::string> required;
};

text_terms parse_query(std::string_view q) {
  text_terms out;
  std::size_t i = 0;
  while (i < q.size()) {
    while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i])))
      ++i;
    if (i >= q.size())
      break;
    char sign = 0;
    if (q[i] == '-' || q[i] == '!' || q[i] == '+') {
      sign = q[i];
      ++i;
    }
    std::string term;
    if (i < q.size() && q[i] == '"') {
      const auto end = q.find('"', i + 1);
      term = std::string(q.substr(i + 1, end == std::string_view::npos
                                             ? std::string_view::npos
                                             : end - i - 1));
      i = end == std::string_view::npos ? q.size() : end + 1;
    } else {
      const auto start = i;
      while (i < q.size() && !std::isspace(static_cast<unsigned char>(q[i])))
        ++i;
      term = std::string(q.substr(start, i - start));
    }
    if (term.empty())
      continue;
    term = lower(term);
    if (sign == '-' || sign == '!')
      out.excluded.push_back(std::move(term));
    else if (sign == '+')
      out.required.push_back(std::move(term));
    else
      out.any.push_back(std::move(term));
  }
  return out;
}

void append_values(std::string& out, const json& labels) {
  for (const auto& [key, value] : labels.items()) {
    out += ' ';
    out += key;
    out += ' ';
    if (value.is_string())
      out += value.get<std::string>();
  }
}

bool text_matches(std::string_view query, const prefect_event& e) {
  const auto terms = parse_query(query);
  if (terms.any.empty() && terms.excluded.empty() && terms.required.empty())
    return true;
  std::string haystack = e.event;
  append_values(haystack, e.resource);
  for (const auto& r : e.related)
    append_values(haystack, r);
  haystack += ' ';
  haystack += dump_json(e.payload);
  haystack = lower(haystack);
  const auto contains = [&](const std::string& t) {
    return haystack.find(t) != std::string::npos;
  };
  if (std::any_of(terms.excluded.begin(), terms.excluded.end(), contains))
    return false;
  if (!std::all_of(terms.required.begin(), terms.required.end(), contains))
    return false;
  return terms.any.empty() ||
         std::any_of(terms.any.begin(), terms.any.end(), contains);
}

// `*` and `?` glob, iterative with backtracking on the last star.
bool glob(std::string_view pattern, std::string_view value) {
  std::size_t p = 0, v = 0, star = std::string_view::npos, mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == value[v])) {
      ++p;
      ++v;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

} // namespace

timestamp default_since(timestamp now) {
  auto day = now.micros / day_micros;
  if (now.micros < 0 && now.micros % day_micros != 0)
    --day;
  return {(day - 180) * day_micros};
}

event_filter parse_event_filter(const json& validated, timestamp now) {
  event_filter f;
  f.since = default_since(now);
  f.until = now;
  if (validated.is_null())
    return f;
  if (!validated.is_object())
    throw std::invalid_argument("filter is not an object");
  if (const auto* occurred = member(validated, "occurred")) {
    if (const auto* since = member(*occurred, "since"))
      f.since = *parse_timestamp(since->get<std::string>());
    if (const auto* until = member(*occurred, "until"))
      f.until = *parse_timestamp(until->get<std::string>());
  }
  if (const auto* e = member(validated, "event"))
    f.event =
        event_name_filter{strings(*e, "prefix"), strings(*e, "exclude_prefix"),
                          strings(*e, "name"), strings(*e, "exclude_name")};
  if (const auto* r = member(validated, "resource")) {
    event_resource_filter rf{strings(*r, "id"), strings(*r, "id_prefix"),
                             patterns(*r, "labels"), false};
    if (const auto* d = member(*r, "distinct"))
      rf.distinct = d->get<bool>();
    f.resource = std::move(rf);
  }
  f.related = one_or_many(validated, "related", [](const json& x) {
    event_related_filter rf{strings(x, "id"), strings(x, "role"), std::nullopt,
                            patterns(x, "labels")};
    if (const auto* pairs = member(x, "resources_in_roles")) {
      rf.resources_in_roles.emplace();
      for (const auto& p : *pairs)
        rf.resources_in_roles->emplace_back(p.at(0).get<std::string>(),
                                            p.at(1).get<std::string>());
    }
    return rf;
  });
  f.any_resource = one_or_many(validated, "any_resource", [](const json& x) {
    return event_any_resource_filter{strings(x, "id"), strings(x, "id_prefix"),
                                     patterns(x, "labels")};
  });
  if (const auto* id = member(validated, "id"))
    if (const auto* list = member(*id, "id"))
      for (const auto& x : *list) {
        const auto parsed = uuid::parse(x.get<std::string>());
        if (!parsed)
          throw std::invalid_argument("event id");
        f.ids.push_back(*parsed);
      }
  if (const auto* t = member(validated, "text"))
    f.text = t->at("query").get<std::string>();
  if (const auto* order = member(validated, "order"))
    f.ascending = order->get<std::string>() == "ASC";
  return f;
}

json event_filter_json(const json& validated, const event_filter& f) {
  json out = validated.is_object() ? validated : json::object();
  out["occurred"] = json{{"since", format_timestamp(f.since)},
                         {"until", format_timestamp(f.until)}};
  out["order"] = f.ascending ? "ASC" : "DESC";
  return out;
}

bool label_pattern_matches(std::string_view pattern, std::string_view value) {
  if (pattern.starts_with('!'))
    return !glob(pattern.substr(1), value);
  return glob(pattern, value);
}

bool labels_match(const label_patterns& spec, const json& labels) {
  for (const auto& [key, list] : spec) {
    const auto it = labels.find(key);
    if (it == labels.end() || !it->is_string())
      return false;
    const auto value = it->get<std::string>();
    if (!std::any_of(list.begin(), list.end(), [&](const std::string& p) {
          return label_pattern_matches(p, value);
        }))
      return false;
  }
  return true;
}

bool matches(const event_filter& f, const prefect_event& e) {
  if (e.occurred < f.since || e.occurred > f.until)
    return false;
  if (f.event && !name_matches(*f.event, e.event))
    return false;
  if (f.resource) {
    if (!id_criteria(f.resource->id, f.resource->id_prefix, e.resource))
      return false;
    if (f.resource->labels && !labels_match(*f.resource->labels, e.resource))
      return false;
  }
  for (const auto& rf : f.related) {
    if (empty(rf))
      continue;
    if (!std::any_of(e.related.begin(), e.related.end(),
                     [&](const json& r) { return related_matches(rf, r); }))
      return false;
  }
  for (const auto& af : f.any_resource) {
    if (any_resource_matches(af, e.resource))
      continue;
    if (!std::any_of(e.related.begin(), e.related.end(), [&](const json& r) {
          return any_resource_matches(af, r);
        }))
      return false;
  }
  if (!f.ids.empty() &&
      std::find(f.ids.begin(), f.ids.end(), e.id) == f.ids.end())
    return false;
  if (f.text && !text_matches(*f.text, e))
    return false;
  return true;
}

} // namespace deployd::events
