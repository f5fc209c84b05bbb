#include "http/handlers/etag.hpp"

#include "events/python/json_text.hpp"
#include "events/resource.hpp"
#include "http/conditions.hpp"
#include "http/services.hpp"

#include <memory>

namespace deployd::http::handlers {

namespace {

using events::resource_kind;

events::stream_id stream_of(tagged kind, const events::uuid& id) {
  switch (kind) {
  case tagged::flow:
    return events::flow_stream(id);
  case tagged::work_pool:
    return events::resource_stream(resource_kind::work_pool, id);
  case tagged::work_queue:
    return events::resource_stream(resource_kind::work_queue, id);
  case tagged::variable:
    return events::resource_stream(resource_kind::variable, id);
  case tagged::flow_run:
    return events::resource_stream(resource_kind::flow_run, id);
  case tagged::concurrency_limit:
    return events::concurrency_limit_stream(id);
  case tagged::block_document:
    return events::resource_stream(resource_kind::block_document, id);
  case tagged::automation:
    return events::resource_stream(resource_kind::automation, id);
  }
  return {};
}

// The resource's id in a rendered body: `{"id":"<uuid>"` starts most views;
// otherwise the document is parsed.
std::optional<events::uuid> id_in_body(const std::string& body) {
  constexpr std::string_view head = "{\"id\":\"";
  if (body.starts_with(head) && body.size() >= head.size() + 36)
    return events::uuid::parse(std::string_view(body).substr(head.size(), 36));
  try {
    const auto doc = events::parse_json(body);
    const auto it = doc.find("id");
    if (it == doc.end() || !it->is_string())
      return std::nullopt;
    return events::uuid::parse(it->get<std::string>());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The stream's version, from the cache on this thread, else on the pool;
// `then` gets it (nothing on a storage failure).
void read_version(services& s, events::stream_id stream,
                  std::function<void(std::optional<std::uint64_t>)> then) {
  auto v = s.reads.log().stream_version(stream, storage::read_tier::cache_only);
  if (v || v.error() != storage::errc::would_block) {
    then(v ? std::optional<std::uint64_t>(v->value) : std::nullopt);
    return;
  }
  s.blocking_reads.post([&s, stream = std::move(stream),
                         then = std::move(then)] {
    auto any = s.reads.log().stream_version(stream, storage::read_tier::any);
    then(any ? std::optional<std::uint64_t>(any->value) : std::nullopt);
  });
}

} // namespace

response tag(response r, const std::optional<std::string>& if_none_match,
             std::uint64_t version) {
  if (r.status != 200)
    return r;
  if (not_modified(if_none_match, version)) {
    response unchanged;
    unchanged.status = 304;
    unchanged.content_type.clear();
    unchanged.headers = std::move(r.headers);
    r = std::move(unchanged);
  }
  r.headers.emplace_back("ETag", etag(version));
  return r;
}

handler with_etag(tagged kind, handler h, bool id_in_path) {
  auto inner = std::make_shared<const handler>(std::move(h));
  if (id_in_path)
    return [kind, inner](services& s, const request& req, path_params params,
                         responder reply) {
      const auto id = events::uuid::parse(params.at(0));
      if (!id)
        return (*inner)(s, req, std::move(params), std::move(reply));
      auto stream = stream_of(kind, *id);
      // The version from the cache on this thread: the handler runs here
      // with the request as it is (no copy), and the tag needs only the
      // request's If-None-Match.
      const auto cached = s.reads.log().stream_version(
        stream, storage::read_tier::cache_only);
      if (cached || cached.error() != storage::errc::would_block) {
        const auto v = cached ? std::optional<std::uint64_t>(cached->value)
                              : std::nullopt;
        return (*inner)(
          s, req, std::move(params),
          [inm = req.if_none_match, v, reply = std::move(reply)](response r) {
            reply(v ? tag(std::move(r), inm, *v) : std::move(r));
          });
      }
      auto shared = std::make_shared<const request>(req);
      read_version(
        s, std::move(stream),
        [&s, inner, shared, params = std::move(params),
         reply = std::move(reply)](std::optional<std::uint64_t> v) mutable {
          (*inner)(s, *shared, std::move(params),
                   [shared, v, reply = std::move(reply)](response r) {
                     reply(v ? tag(std::move(r), shared->if_none_match, *v)
                             : std::move(r));
                   });
        });
    };
  return [kind, inner](services& s, const request& req, path_params params,
                       responder reply) {
    auto shared = std::make_shared<const request>(req);
    auto again = params;
    (*inner)(
      s, req, std::move(params),
      [&s, kind, inner, shared, again = std::move(again),
       reply = std::move(reply)](response first) mutable {
        if (first.status != 200)
          return reply(std::move(first));
        const auto id = id_in_body(first.body);
        if (!id)
          return reply(std::move(first));
        auto kept = std::make_shared<response>(std::move(first));
        read_version(
          s, stream_of(kind, *id),
          [&s, inner, shared, kept, again = std::move(again),
           reply = std::move(reply)](std::optional<std::uint64_t> v) mutable {
            if (!v)
              return reply(std::move(*kept));
            auto body = std::make_shared<const std::string>(kept->body);
            (*inner)(s, *shared, std::move(again),
                     [shared, body, v, reply = std::move(reply)](response r) {
                       // Only when the resource did not change between
                       // the reads is the version its own.
                       if (r.status == 200 && r.body == *body)
                         return reply(
                           tag(std::move(r), shared->if_none_match, *v));
                       reply(std::move(r));
                     });
          });
      });
  };
}

} // namespace deployd::http::handlers
