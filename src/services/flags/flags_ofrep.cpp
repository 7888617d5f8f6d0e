// The OpenFeature Remote Evaluation Protocol on the admin listener, so a
// service in any language evaluates redge's flags with a stock OpenFeature
// provider. Answers as the protocol defines them:
//
//   200 {"key","value","reason","variant","metadata":{"version",...}}
//   404 {"key","errorCode":"FLAG_NOT_FOUND","errorDetails"}
//   400 {"key","errorCode":"PARSE_ERROR"|"INVALID_CONTEXT"|
//        "TARGETING_KEY_MISSING","errorDetails"}
//   bulk: 200 {"flags":[one of the above objects per flag]} with an ETag;
//         304 when If-None-Match names the current one; 400 {"errorCode",...}
//
// Every error body also carries redge's own "error" and "message" (and is
// logged and counted like any error answer); OFREP clients ignore them.
//
// The user: the flag's stickiness names an attribute of the evaluation
// context (the header or cookie name, or "clientAddress"); without it, the
// context's targetingKey. Reasons are flag_evaluation.hpp's.

#include <string>

#include "core/json_parse.hpp"
#include "core/json_writer.hpp"
#include "services/flags/flags_service.hpp"

namespace redge {
namespace {

constexpr std::string_view kOfrepJson = "application/json";

struct OfrepContext {
  const rapidjson::Value* context = nullptr;  // null: none given
  std::string error_code;                     // PARSE_ERROR / INVALID_CONTEXT
  std::string error_details;
};

// Reads {"context": {...}} from the body (an empty body: no context).
OfrepContext readContext(std::string_view body, rapidjson::Document& doc) {
  OfrepContext out;
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) return out;
  JsonParseResult parsed = parseJson(body, doc);
  if (!parsed.ok()) {
    out.error_code = "PARSE_ERROR";
    out.error_details = "The request body is not JSON (" + parsed.describe() + ").";
    return out;
  }
  if (!doc.IsObject()) {
    out.error_code = "PARSE_ERROR";
    out.error_details = "The request body must be a JSON object {\"context\": {...}}.";
    return out;
  }
  auto it = doc.FindMember("context");
  if (it == doc.MemberEnd() || it->value.IsNull()) return out;
  if (!it->value.IsObject()) {
    out.error_code = "INVALID_CONTEXT";
    out.error_details = "The evaluation context must be a JSON object.";
    return out;
  }
  auto key = it->value.FindMember("targetingKey");
  if (key != it->value.MemberEnd() && !key->value.IsString() && !key->value.IsNull()) {
    out.error_code = "INVALID_CONTEXT";
    out.error_details = "The context's targetingKey must be a string.";
    return out;
  }
  out.context = &it->value;
  return out;
}

std::optional<std::string_view> contextString(const rapidjson::Value& context,
                                              std::string_view name) {
  for (auto it = context.MemberBegin(); it != context.MemberEnd(); ++it) {
    std::string_view member(it->name.GetString(), it->name.GetStringLength());
    if (member.size() != name.size()) continue;
    bool same = true;  // header names are case-insensitive; match attributes so
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(member[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (!same || !it->value.IsString() || it->value.GetStringLength() == 0) continue;
    return std::string_view(it->value.GetString(), it->value.GetStringLength());
  }
  return std::nullopt;
}

std::optional<std::string_view> contextStickiness(const Flag& flag, const rapidjson::Value* ctx) {
  if (!ctx) return std::nullopt;
  std::optional<std::string_view> v =
      contextString(*ctx, flag.stickiness.source == StickinessSource::ClientAddress
                              ? std::string_view("clientAddress")
                              : std::string_view(flag.stickiness.name));
  if (v) return v;
  return contextString(*ctx, "targetingKey");
}

void writeSuccess(JsonWriter& w, const Flag& flag, const FlagEvaluation& e) {
  w.startObject();
  w.key("key").string(flag.name);
  w.key("value").rawValue(e.valueJson());
  w.key("reason").string(flagReasonName(e.reason));
  w.key("variant").string(e.variantName());
  w.key("metadata").startObject();
  w.key("version").integer(flag.version);
  if (!flag.description.empty()) w.key("description").string(flag.description);
  w.endObject();
  w.endObject();
}

std::string missingKeyDetails(const Flag& flag) {
  std::string attribute = flag.stickiness.source == StickinessSource::ClientAddress
                              ? "clientAddress"
                              : flag.stickiness.name;
  return "Flag \"" + flag.name + "\" splits users by " + flag.stickiness.text() +
         ": give the context a targetingKey (or a \"" + attribute + "\" attribute).";
}

}  // namespace

void FlagsService::mountOfrep(HttpServer& admin) {
  admin.route(HttpMethod::Post, "/ofrep/v1/evaluate/flags/{key}",
              [this](HttpRequest& q, const HttpResponder& r) { ofrepEvaluate(q, r); });
  admin.route(HttpMethod::Post, "/ofrep/v1/evaluate/flags",
              [this](HttpRequest& q, const HttpResponder& r) { ofrepBulk(q, r); });
  admin.route(HttpMethod::Get, "/ofrep/v1/configuration",
              [this](HttpRequest& q, const HttpResponder& r) { ofrepConfiguration(q, r); });
}

void FlagsService::ofrepEvaluate(HttpRequest& req, const HttpResponder& res) {
  std::string key(req.param(0));
  rapidjson::Document doc;
  OfrepContext ctx = readContext(req.body(), doc);
  if (!ctx.error_code.empty()) {
    res.sendError(
        400, ctx.error_code == "PARSE_ERROR" ? "ofrep_parse_error" : "ofrep_invalid_context",
        ctx.error_details, 0,
        {{"key", key}, {"errorCode", ctx.error_code}, {"errorDetails", ctx.error_details}});
    return;
  }
  const Flag* flag = store_.find(key);
  std::optional<std::string_view> user =
      flag ? contextStickiness(*flag, ctx.context) : std::nullopt;
  FlagEvaluation e = store_.evaluate(key, user);
  if (e.error == FlagErrorCode::FlagNotFound) {
    std::string details = "There is no flag \"" + key + "\" in redge's flag store.";
    res.sendError(404, "flag_not_found", details, 0,
                  {{"key", key}, {"errorCode", "FLAG_NOT_FOUND"}, {"errorDetails", details}});
    return;
  }
  if (e.error == FlagErrorCode::TargetingKeyMissing) {
    std::string details = missingKeyDetails(*flag);
    res.sendError(
        400, "ofrep_targeting_key_missing", details, 0,
        {{"key", key}, {"errorCode", "TARGETING_KEY_MISSING"}, {"errorDetails", details}});
    return;
  }
  std::string body;
  JsonWriter w(body);
  writeSuccess(w, *flag, e);
  res.send(HttpResponse(200, kOfrepJson, body));
}

void FlagsService::ofrepBulk(HttpRequest& req, const HttpResponder& res) {
  rapidjson::Document doc;
  OfrepContext ctx = readContext(req.body(), doc);
  if (!ctx.error_code.empty()) {
    res.sendError(
        400, ctx.error_code == "PARSE_ERROR" ? "ofrep_parse_error" : "ofrep_invalid_context",
        ctx.error_details, 0, {{"errorCode", ctx.error_code}, {"errorDetails", ctx.error_details}});
    return;
  }
  // The answer depends on the flags (their version) and the context (the
  // body): the ETag names both, so a client polling with If-None-Match gets
  // 304 until either changes.
  char etag[64];
  snprintf(etag, sizeof etag, "\"%lld-%016llx\"", static_cast<long long>(store_.version()),
           static_cast<unsigned long long>(flagHash("ofrep", req.body())));
  if (req.header("If-None-Match") == etag) {
    HttpResponse r(304, kOfrepJson, "");
    r.content_length = HttpResponse::kNoContentLength;
    r.header("ETag", etag);
    res.send(r);
    return;
  }
  std::string body;
  JsonWriter w(body);
  w.startObject();
  w.key("flags").startArray();
  for (const auto& [name, flag] : store_.snapshot().all()) {
    FlagEvaluation e = store_.evaluate(name, contextStickiness(flag, ctx.context));
    if (e.error == FlagErrorCode::TargetingKeyMissing) {
      w.startObject();
      w.key("key").string(name);
      w.key("errorCode").string("TARGETING_KEY_MISSING");
      w.key("errorDetails").string(missingKeyDetails(flag));
      w.endObject();
      continue;
    }
    writeSuccess(w, flag, e);
  }
  w.endArray();
  w.endObject();
  HttpResponse r(200, kOfrepJson, body);
  r.header("ETag", etag);
  res.send(r);
}

void FlagsService::ofrepConfiguration(HttpRequest&, const HttpResponder& res) {
  std::string body;
  JsonWriter w(body);
  w.startObject();
  w.key("name").string("redge");
  w.key("capabilities").startObject();
  w.key("cacheInvalidation").startObject();
  w.key("polling").startObject();
  w.key("enabled").boolean(true);
  w.key("minPollingIntervalMs").integer(1000);
  w.endObject();
  w.endObject();
  w.key("flagEvaluation").startObject();
  w.key("supportedTypes").startArray();
  for (std::string_view t : {"boolean", "string", "int", "float", "object"}) w.string(t);
  w.endArray();
  w.endObject();
  w.endObject();
  w.endObject();
  res.send(HttpResponse(200, kOfrepJson, body));
}

}  // namespace redge
