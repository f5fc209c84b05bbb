// Block type, block schema and block document endpoints: the minimal set a
// client uses to create a document that deployments reference.
#include "actors/projections.hpp"
#include "events/python/json_text.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/responses.hpp"

#include <algorithm>

namespace deployd::http::handlers {

namespace {

using events::json;
using events::resource_kind;

bool slug_like(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Replaces the values at `path` (dot-separated, `*` for any key) with the
// reference's mask.
void mask(json& data, const std::string& path) {
  const auto dot = path.find('.');
  const auto head = path.substr(0, dot);
  if (!data.is_object())
    return;
  for (auto& [key, value] : data.items()) {
    if (head != "*" && key != head)
      continue;
    if (dot == std::string::npos)
      value = "********";
    else
      mask(value, path.substr(dot + 1));
  }
}

response document_response(const actors::read_model::text& row,
                           bool include_secrets) {
  if (!row)
    return storage_failed(row.error());
  if (!*row)
    return detail(404, "Block document not found");
  json doc = events::parse_json(**row);
  if (!include_secrets) {
    const auto& fields = doc.at("block_schema").at("fields");
    if (const auto secrets = fields.find("secret_fields");
        secrets != fields.end() && secrets->is_array())
      for (const auto& path : *secrets)
        if (path.is_string())
          mask(doc["data"], path.get<std::string>());
  }
  return json_text(200, dump(doc));
}

} // namespace

void post_block_types(services& s, const request& req, path_params,
                      responder reply) {
  auto body = model_body(req, "BlockTypeCreate");
  if (!body)
    return reply(std::move(body.error()));
  if (!slug_like(body->at("slug").get<std::string>())) {
    events::validator v;
    auto g = v.at("slug");
    v.value_error("Block type slug must only contain lowercase letters, "
                  "numbers, and dashes.",
                  body->at("slug"));
    return reply(validation_failed(v.errors(), *body));
  }
  submit(s, req, events::create_block_type{std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

void get_block_type_by_slug(services& s, const request&, path_params params,
                            responder reply) {
  answer_read(
      s,
      [&reads = s.reads,
       key = actors::resource_name_key(resource_kind::block_type,
                                       {{"slug", params.at(0)}})](auto tier) {
        return reads.resource_named(key, tier);
      },
      "Block type not found", std::move(reply));
}

void patch_block_type(services& s, const request& req, path_params params,
                      responder reply) {
  auto body = model_body(req, "BlockTypeUpdate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req,
         events::update_block_type{*events::uuid::parse(params.at(0)),
                                   std::move(*body)},
         on_success::no_content, std::move(reply));
}

void post_block_schemas(services& s, const request& req, path_params,
                        responder reply) {
  auto body = model_body(req, "BlockSchemaCreate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req, events::create_block_schema{std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

void get_block_schema_by_checksum(services& s, const request& req,
                                  path_params params, responder reply) {
  run_query(
      s,
      [checksum = params.at(0),
       version = query_param(req.query, "version")](storage::reader& r) {
        std::string prefix(1, static_cast<char>(resource_kind::block_schema));
        prefix += checksum;
        prefix.push_back('\0');
        if (version)
          prefix += *version;
        auto schemas = actors::resources_under(r, prefix);
        if (!schemas)
          return storage_failed(schemas.error());
        for (const auto& schema : *schemas)
          if (!version || schema.at("version") == *version)
            return json_text(200, dump(schema));
        return detail(404, "Block schema not found");
      },
      std::move(reply));
}

void post_block_documents(services& s, const request& req, path_params,
                          responder reply) {
  auto body = model_body(req, "BlockDocumentCreate");
  if (!body)
    return reply(std::move(body.error()));
  events::validator v;
  const bool anonymous = body->value("is_anonymous", false);
  const auto name = body->find("name");
  const bool named = name != body->end() && name->is_string();
  if (named && !slug_like(name->get<std::string>())) {
    auto g = v.at("name");
    v.value_error("Block document name must only contain lowercase letters, "
                  "numbers, and dashes.",
                  *name);
  } else if (!named && !anonymous) {
    v.value_error("Names must be provided for block documents.", *body);
  }
  if (!v.ok())
    return reply(validation_failed(v.errors(), *body));
  submit(s, req, events::create_block_document{std::move(*body)},
         on_success::created_or_ok, std::move(reply));
}

void get_block_document(services& s, const request& req, path_params params,
                        responder reply) {
  const auto id = *events::uuid::parse(params.at(0));
  const auto secrets = query_param(req.query, "include_secrets");
  const bool include = secrets && (*secrets == "true" || *secrets == "1");
  run_query(
      s,
      [&reads = s.reads, id, include](storage::reader&) {
        return document_response(reads.resource(resource_kind::block_document,
                                                id, storage::read_tier::any),
                                 include);
      },
      std::move(reply));
}

void patch_block_document(services& s, const request& req, path_params params,
                          responder reply) {
  auto body = model_body(req, "BlockDocumentUpdate");
  if (!body)
    return reply(std::move(body.error()));
  submit(s, req,
         events::update_block_document{*events::uuid::parse(params.at(0)),
                                       std::move(*body)},
         on_success::no_content, std::move(reply));
}

void delete_block_type(services& s, const request& req, path_params params,
                       responder reply) {
  submit(s, req, events::delete_block_type{*events::uuid::parse(params.at(0))},
         on_success::no_content, std::move(reply));
}

void delete_block_document(services& s, const request& req, path_params params,
                           responder reply) {
  submit(s, req, events::delete_block_document{*events::uuid::parse(params.at(0))},
         on_success::no_content, std::move(reply));
}

} // namespace deployd::http::handlers
