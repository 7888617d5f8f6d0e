// POST /messages body validation: every refusal names its field and status.

#include "services/relay/message_request.hpp"

#include <catch2/catch.hpp>

using namespace redge;

namespace {
MessageRequestError check(std::string_view ct, std::string_view json, MessageRequest& m) {
  return parseMessageRequest(ct, json, MessageRequestLimits{}, m);
}
}  // namespace

TEST_CASE("message request: a valid message", "[message_request]") {
  MessageRequest m;
  auto e = check("application/json; charset=utf-8", R"({"destination":"sms:+1","body":"hi"})", m);
  CHECK(e.status == 0);
  CHECK(m.destination == "sms:+1");
  CHECK(m.body == "hi");
  CHECK(check("application/vnd.x+json", R"({"body":"b","destination":"d"})", m).status == 0);
}

TEST_CASE("message request: not JSON is 415, broken JSON 400", "[message_request]") {
  MessageRequest m;
  auto e = check("text/plain", "hello", m);
  CHECK(e.status == 415);
  CHECK(e.code == "unsupported_media_type");
  CHECK(check("", "{}", m).status == 415);
  e = check("application/json", "{\"destination\":", m);
  CHECK(e.status == 400);
  CHECK(e.code == "invalid_json");
  CHECK(e.message.find("offset") != std::string::npos);
  CHECK(check("application/json", "[1,2]", m).code == "invalid_json");
  CHECK(check("application/json", "{} trailing", m).code == "invalid_json");
}

TEST_CASE("message request: each field's rules", "[message_request]") {
  MessageRequest m;
  auto e = check("application/json", R"({"body":"b"})", m);
  CHECK(e.code == "invalid_field");
  CHECK(e.field == "destination");
  e = check("application/json", R"({"destination":"d"})", m);
  CHECK(e.field == "body");
  CHECK(check("application/json", R"({"destination":"","body":"b"})", m).field == "destination");
  CHECK(check("application/json", R"({"destination":5,"body":"b"})", m).field == "destination");
  std::string long_dest(51, 'x');
  CHECK(
      check("application/json", R"({"destination":")" + long_dest + R"(","body":"b"})", m).field ==
      "destination");
  std::string ok_dest(50, 'x');
  CHECK(check("application/json", R"({"destination":")" + ok_dest + R"(","body":"b"})", m).status ==
        0);
  std::string long_body(1001, 'y');
  CHECK(
      check("application/json", R"({"destination":"d","body":")" + long_body + R"("})", m).field ==
      "body");
  e = check("application/json", R"({"destination":"d","body":"b","destnation":"x"})", m);
  CHECK(e.field == "destnation");
  CHECK(e.status == 400);
  // A member may be named "": it is unknown like any other.
  e = check("application/json", R"({"":"x","destination":"d","body":"b"})", m);
  CHECK(e.code == "invalid_field");
  CHECK(e.field.empty());
  CHECK(e.message == "Unknown field ''; a message has only destination and body.");
}

TEST_CASE("message request: nesting beyond the JSON depth limit is invalid_json",
          "[message_request]") {
  MessageRequest m;
  // 100,000 '[' once overflowed the stack of a recursive parser.
  auto e = check("application/json", std::string(100000, '['), m);
  CHECK(e.status == 400);
  CHECK(e.code == "invalid_json");
  CHECK(e.field.empty());
  CHECK(e.message ==
        "The body is refused at offset 64: Arrays and objects are nested deeper than 64 "
        "levels. A message is one flat object {\"destination\": ..., \"body\": ...}.");

  // Inside a field, up to the limit the field itself is at fault; one level
  // more and the whole body is refused before any field is looked at.
  const std::string deep63 = std::string(63, '[') + std::string(63, ']');
  e = check("application/json", R"({"body":"b","destination":)" + deep63 + "}", m);
  CHECK(e.code == "invalid_field");
  CHECK(e.field == "destination");
  const std::string deep64 = std::string(64, '[') + std::string(64, ']');
  e = check("application/json", R"({"body":"b","destination":)" + deep64 + "}", m);
  CHECK(e.code == "invalid_json");
  CHECK(e.message.find("nested deeper than 64 levels") != std::string::npos);
}

TEST_CASE("message request: a syntax error names the offset and the reason", "[message_request]") {
  MessageRequest m;
  auto e = check("application/json", R"({"destination":"d",})", m);
  CHECK(e.status == 400);
  CHECK(e.code == "invalid_json");
  CHECK(e.message == "The body is not valid JSON at offset 19: Missing a name for object member.");
  // A NUL byte does not end the body early.
  e = check("application/json", std::string("{\"destination\":\"d\",\"body\":\"b\"}\0x", 32), m);
  CHECK(e.code == "invalid_json");
}
