#include "http/conditions.hpp"

#include "events/checksum.hpp"
#include "http/responses.hpp"

#include <algorithm>
#include <charconv>

namespace deployd::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// RFC 9110 §8.8.3: etagc is any visible character but DQUOTE.
bool is_etagc(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7f);
}

} // namespace

std::optional<actors::tag_condition> parse_tag_list(std::string_view header) {
  actors::tag_condition out;
  const auto all = trim(header);
  if (all == "*") {
    out.any = true;
    return out;
  }
  std::string_view rest = all;
  bool any_tag = false;
  while (true) {
    const auto comma = rest.find(',');
    auto item = trim(rest.substr(0, comma));
    if (!item.empty()) {
      bool weak = false;
      if (item.starts_with("W/")) {
        weak = true;
        item.remove_prefix(2);
      }
      if (item.size() < 2 || item.front() != '"' || item.back() != '"')
        return std::nullopt;
      const auto opaque = item.substr(1, item.size() - 2);
      if (!std::all_of(opaque.begin(), opaque.end(), is_etagc))
        return std::nullopt;
      std::uint64_t v = 0;
      const auto [p, ec] =
        std::from_chars(opaque.data(), opaque.data() + opaque.size(), v);
      // A weak tag never matches a write's condition (strong comparison,
      // RFC 9110 §13.1.1); nor does a tag that is not one of ours.
      if (!weak && ec == std::errc() && p == opaque.data() + opaque.size() &&
          !opaque.empty())
        out.versions.push_back(v);
      else
        out.others = true;
      any_tag = true;
    }
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  if (!any_tag)
    return std::nullopt;
  return out;
}

std::expected<actors::write_conditions, response>
write_conditions_of(const request& req) {
  actors::write_conditions c;
  if (req.if_match) {
    c.if_match = parse_tag_list(*req.if_match);
    if (!c.if_match)
      return std::unexpected(detail(
        400, "If-Match must be * or a list of entity tags such as \"3\" (the "
             "ETag a GET of the resource answered)."));
  }
  if (req.if_none_match) {
    c.if_none_match = parse_tag_list(*req.if_none_match);
    if (!c.if_none_match)
      return std::unexpected(detail(
        400, "If-None-Match must be * or a list of entity tags such as "
             "\"3\"."));
  }
  if (req.idempotency_key) {
    const auto& key = *req.idempotency_key;
    const bool visible = std::all_of(key.begin(), key.end(), [](char ch) {
      const auto u = static_cast<unsigned char>(ch);
      return u >= 0x20 && u < 0x7f;
    });
    if (key.empty() || key.size() > max_idempotency_key_bytes || !visible)
      return std::unexpected(detail(
        400, "Idempotency-Key must be 1 to 255 printable ASCII characters."));
    c.idempotency_key = key;
    // The request the key stands for: the same key with another method,
    // path, query or body is refused (422).
    std::string what;
    what.reserve(req.method.size() + req.path.size() + req.query.size() +
                 req.body.size() + 3);
    what.append(req.method).append(1, '\n').append(req.path);
    what.append(1, '\n').append(req.query).append(1, '\n').append(req.body);
    c.request_hash = events::sha256_hex(what);
  }
  return c;
}

std::string etag(std::uint64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

bool not_modified(const request& req, std::uint64_t version) {
  return not_modified(req.if_none_match, version);
}

bool not_modified(const std::optional<std::string>& if_none_match,
                  std::uint64_t version) {
  if (!if_none_match)
    return false;
  const auto tags = parse_tag_list(*if_none_match);
  if (!tags)
    return false;
  // GET uses the weak comparison (RFC 9110 §13.1.2): W/"3" matches too.
  if (tags->any)
    return true;
  if (std::find(tags->versions.begin(), tags->versions.end(), version) !=
      tags->versions.end())
    return true;
  return if_none_match->find("W/" + etag(version)) != std::string::npos;
}

} // namespace deployd::http
