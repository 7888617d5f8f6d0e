// POST /messages validation: JSON object with a string "destination"
// (1..max_destination_bytes) and a string "body" (1..max_body_bytes).
// Unknown fields are refused too, so a typo ("destnation") is reported
// instead of silently dropped. The body comes from the network, so it is
// parsed by parseJson() with its depth limit: a message is one flat object,
// and a body of 100,000 '[' must be a 400, not a stack overflow.

#include "services/relay/message_request.hpp"

#include <rapidjson/document.h>
#include <strings.h>

#include "core/json_parse.hpp"

namespace redge {
namespace {

MessageRequestError fieldError(std::string_view field, std::string message) {
  return {400, "invalid_field", std::string(field), std::move(message)};
}

bool isJsonContentType(std::string_view ct) {
  size_t semi = ct.find(';');
  std::string_view type = ct.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  if (type.size() == kJson.size() && strncasecmp(type.data(), kJson.data(), kJson.size()) == 0) {
    return true;
  }
  // application/<something>+json (RFC 6839)
  return type.size() > 5 && strncasecmp(type.data() + type.size() - 5, "+json", 5) == 0;
}

}  // namespace

MessageRequestError parseMessageRequest(std::string_view content_type, std::string_view json,
                                        const MessageRequestLimits& limits, MessageRequest& out) {
  if (!isJsonContentType(content_type)) {
    return {415, "unsupported_media_type", "",
            "Send the message as JSON with Content-Type: application/json."};
  }
  rapidjson::Document doc;
  const JsonParseResult parsed = parseJson(json, doc);
  if (parsed.status == JsonParseStatus::TooDeep) {
    return {400, "invalid_json", "",
            "The body is refused " + parsed.describe() +
                " A message is one flat object {\"destination\": ..., \"body\": ...}."};
  }
  if (!parsed.ok()) {
    return {400, "invalid_json", "", "The body is not valid JSON " + parsed.describe()};
  }
  if (!doc.IsObject()) {
    return {400, "invalid_json", "",
            "The body must be a JSON object {\"destination\": ..., \"body\": ...}."};
  }
  bool have_destination = false, have_body = false;
  // By index rather than comparing member iterators, which C++20's reversed
  // operators make ambiguous in RapidJSON.
  for (rapidjson::SizeType i = 0; i < doc.MemberCount(); ++i) {
    auto it = doc.MemberBegin() + i;
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    const auto& v = it->value;
    if (name == "destination" || name == "body") {
      size_t max = name == "destination" ? limits.max_destination_bytes : limits.max_body_bytes;
      if (!v.IsString() || v.GetStringLength() == 0 || v.GetStringLength() > max) {
        return fieldError(name, std::string(name) + " must be a string of 1 to " +
                                    std::to_string(max) + " bytes.");
      }
      std::string& target = name == "destination" ? out.destination : out.body;
      target.assign(v.GetString(), v.GetStringLength());
      (name == "destination" ? have_destination : have_body) = true;
    } else {
      return fieldError(name, "Unknown field '" + std::string(name.substr(0, 64)) +
                                  "'; a message has only destination and body.");
    }
  }
  if (!have_destination) return fieldError("destination", "destination is required.");
  if (!have_body) return fieldError("body", "body is required.");
  return {};
}

}  // namespace redge
