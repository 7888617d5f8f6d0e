// JsonWriter: exact output for the values the relay writes, and the reason it
// exists: RapidJSON's Writer on its own lets invalid UTF-8 through (or, asked
// to validate, stops in the middle of the string after writing the bad byte), while JsonWriter
// turns each invalid byte into U+FFFD exactly as appendJsonString does, for keys and strings alike.

#include "core/json_writer.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_escape.hpp"

namespace redge {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool parsesAsStrictJson(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.c_str(), json.size());
  return !doc.HasParseError();
}

std::string writeString(std::string_view text) {
  std::string out;
  JsonWriter(out).string(text);
  return out;
}

}  // namespace

TEST_CASE("json_writer: RapidJSON's Writer alone does not make invalid UTF-8 safe",
          "[json_writer]") {
  const std::string_view invalid = "a\xFFz";
  SECTION("by default it copies the invalid byte into the output") {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    CHECK(w.String(invalid.data(), static_cast<rapidjson::SizeType>(invalid.size())));
    const std::string out(buf.GetString(), buf.GetSize());
    CHECK(out == "\"a\xFFz\"");
    CHECK_FALSE(parsesAsStrictJson(out));
  }
  SECTION("validating, it stops at the invalid byte, already written, mid-string") {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                      rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>
        w(buf);
    CHECK_FALSE(w.String(invalid.data(), static_cast<rapidjson::SizeType>(invalid.size())));
    const std::string out(buf.GetString(), buf.GetSize());
    CHECK(out == "\"a\xFF");
    CHECK_FALSE(parsesAsStrictJson(out));
  }
}

TEST_CASE("json_writer: objects, arrays and every kind of value", "[json_writer]") {
  std::string out = "prefix:";  // appends to what is there
  JsonWriter w(out);
  w.startObject();
  w.key("id").string("m1");
  w.key("attempts").integer(3);
  w.key("min").integer(INT64_MIN);
  w.key("max").integer(INT64_MAX);
  w.key("accepting").boolean(true);
  w.key("held").boolean(false);
  w.key("last_error").null();
  w.key("gate").startObject().key("max").integer(10).endObject();
  w.key("list").startArray().integer(1).string("two").null().endArray();
  w.key("empty").startArray().endArray();
  CHECK_FALSE(w.complete());
  w.endObject();
  CHECK(w.complete());
  CHECK(out ==
        "prefix:"
        R"({"id":"m1","attempts":3,"min":-9223372036854775808,"max":9223372036854775807,)"
        R"("accepting":true,"held":false,"last_error":null,"gate":{"max":10},)"
        R"("list":[1,"two",null],"empty":[]})");
}

TEST_CASE("json_writer: raw values take their place among the others", "[json_writer]") {
  std::string part;
  JsonWriter(part).startObject().key("id").string("m1").endObject();
  std::string out;
  JsonWriter w(out);
  w.startObject().key("messages").startArray();
  w.rawValue(part).rawValue(part).integer(7);
  w.endArray().endObject();
  CHECK(w.complete());
  CHECK(out == R"({"messages":[{"id":"m1"},{"id":"m1"},7]})");
  CHECK(parsesAsStrictJson(out));
}

TEST_CASE("json_writer: escapes that JSON requires", "[json_writer]") {
  CHECK(writeString("say \"hi\" \\o/") == R"("say \"hi\" \\o/")");
  CHECK(writeString("a\nb\tc\rd") == R"("a\nb\tc\rd")");
  CHECK(writeString(std::string_view("\0\x1f", 2)) == R"("\u0000\u001F")");
  CHECK(writeString("caf\xC3\xA9 \xF0\x9F\x90\xB1") == "\"caf\xC3\xA9 \xF0\x9F\x90\xB1\"");
}

TEST_CASE("json_writer: invalid UTF-8 in strings and keys becomes U+FFFD", "[json_writer]") {
  const std::string r(kReplacement);
  CHECK(writeString("a\xFFz") == "\"a" + r + "z\"");
  CHECK(writeString("\xC3") == "\"" + r + "\"");                          // cut short
  CHECK(writeString("\xED\xA0\x80") == "\"" + r + r + r + "\"");          // a surrogate
  CHECK(writeString("\xC0\x80\"") == "\"" + r + r + "\\\"\"");            // overlong, then a quote
  CHECK(writeString("ok \xC3\xA9 \xFE") == "\"ok \xC3\xA9 " + r + "\"");  // valid text kept

  std::string out;
  JsonWriter w(out);
  w.startObject().key("kind\xFF").integer(1).endObject();
  CHECK(out == "{\"kind" + r + "\":1}");
  CHECK(parsesAsStrictJson(out));
}

TEST_CASE("json_writer: any two bytes give strict JSON that says what appendJsonString says",
          "[json_writer]") {
  // Exhaustive over two bytes with ASCII around them, as a string and as a
  // key: the output parses with encoding validation, and decodes to the same
  // text as appendJsonString's output for the same input.
  std::string in = "<..>";
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      in[1] = static_cast<char>(a);
      in[2] = static_cast<char>(b);
      std::string out;
      JsonWriter(out).startObject().key(in).string(in).endObject();
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseValidateEncodingFlag>(out.c_str(), out.size());
      if (doc.HasParseError() || !doc.IsObject() || doc.MemberCount() != 1) {
        FAIL("bytes " << a << "," << b << " give invalid JSON: " << out);
      }
      std::string reference;
      appendJsonString(reference, in);
      rapidjson::Document ref;
      ref.Parse(reference.c_str(), reference.size());
      const std::string_view expected(ref.GetString(), ref.GetStringLength());
      const auto& member = *doc.MemberBegin();
      const std::string_view key(member.name.GetString(), member.name.GetStringLength());
      const std::string_view value(member.value.GetString(), member.value.GetStringLength());
      if (key != expected || value != expected) {
        FAIL("bytes " << a << "," << b << " decode differently from appendJsonString");
      }
    }
  }
}

TEST_CASE("json_writer: isValidUtf8 and appendValidUtf8", "[json_writer]") {
  CHECK(isValidUtf8(""));
  CHECK(isValidUtf8("plain ascii"));
  CHECK(isValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF4\x8F\xBF\xBF"));
  CHECK_FALSE(isValidUtf8("\xFF"));
  CHECK_FALSE(isValidUtf8("\xC3"));
  CHECK_FALSE(isValidUtf8("\xED\xA0\x80"));
  CHECK_FALSE(isValidUtf8("\xF4\x90\x80\x80"));
  std::string out = "x";
  appendValidUtf8(out, "a\"\xFF\xC3\xA9");  // nothing escaped, only repaired
  CHECK(out == "xa\"" + std::string(kReplacement) + "\xC3\xA9");
}

}  // namespace redge
