// appendJsonString: the escapes RFC 8259 section 7 requires, UTF-8 passed
// through, invalid UTF-8 replaced by U+FFFD. Every output is also parsed back
// with RapidJSON, validating the encoding, and must give the expected string.

#include "core/json_escape.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

namespace redge {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string escape(std::string_view text) {
  std::string out;
  appendJsonString(out, text);
  return out;
}

// Parses `json` as one JSON value that must be a string, and returns it.
std::string parseString(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.c_str(), json.size());
  INFO("json: " << json);
  INFO("error: " << (doc.HasParseError() ? rapidjson::GetParseError_En(doc.GetParseError()) : ""));
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsString());
  return std::string(doc.GetString(), doc.GetStringLength());
}

// Escapes `text`, checks the exact output and that it parses back to `decoded`.
void expectEscape(std::string_view text, std::string_view json, std::string_view decoded) {
  const std::string out = escape(text);
  CHECK(out == json);
  CHECK(parseString(out) == decoded);
}

// For valid UTF-8 the round trip is the identity.
void expectRoundTrip(std::string_view text, std::string_view json) {
  expectEscape(text, json, text);
}

}  // namespace

TEST_CASE("json_escape: plain text is only quoted", "[json_escape]") {
  expectRoundTrip("", "\"\"");
  expectRoundTrip("hello world", "\"hello world\"");
  expectRoundTrip("/path?a=1&b=2#f", "\"/path?a=1&b=2#f\"");
  // '/' need not be escaped, and DEL is not a control character for JSON.
  expectRoundTrip("</script>\x7f", "\"</script>\x7f\"");
}

TEST_CASE("json_escape: appends to what is already there", "[json_escape]") {
  std::string out = "{\"k\":";
  appendJsonString(out, "v");
  out.push_back('}');
  CHECK(out == "{\"k\":\"v\"}");
}

TEST_CASE("json_escape: quote and backslash", "[json_escape]") {
  expectRoundTrip("\"", R"("\"")");
  expectRoundTrip("\\", R"("\\")");
  expectRoundTrip("say \"hi\" \\o/", R"("say \"hi\" \\o/")");
  expectRoundTrip("\\\"", R"("\\\"")");
}

TEST_CASE("json_escape: newline, carriage return and tab have short escapes", "[json_escape]") {
  expectRoundTrip("a\nb", R"("a\nb")");
  expectRoundTrip("a\rb", R"("a\rb")");
  expectRoundTrip("a\tb", R"("a\tb")");
  expectRoundTrip("\r\n\t", R"("\r\n\t")");
}

TEST_CASE("json_escape: other control characters become u00XX escapes", "[json_escape]") {
  expectRoundTrip(std::string_view("\0", 1), R"("\u0000")");
  expectRoundTrip("\x01", R"("\u0001")");
  expectRoundTrip("\x08", R"("\u0008")");
  expectRoundTrip("\x0b", R"("\u000b")");
  expectRoundTrip("\x0c", R"("\u000c")");
  expectRoundTrip("\x1b[0m", R"("\u001b[0m")");
  expectRoundTrip("\x1f", R"("\u001f")");
  expectRoundTrip(std::string_view("a\0b", 3), R"("a\u0000b")");

  SECTION("every byte below 0x20 is escaped and round-trips") {
    for (int c = 0; c < 0x20; ++c) {
      const std::string in(1, static_cast<char>(c));
      const std::string out = escape(in);
      INFO("byte " << c);
      CHECK(out.size() >= 4);
      CHECK(out[1] == '\\');
      CHECK(parseString(out) == in);
    }
  }
}

TEST_CASE("json_escape: valid multi-byte UTF-8 passes through", "[json_escape]") {
  expectRoundTrip("caf\xC3\xA9", "\"caf\xC3\xA9\"");            // 2 bytes
  expectRoundTrip("\xE2\x82\xAC", "\"\xE2\x82\xAC\"");          // 3 bytes: euro
  expectRoundTrip("\xF0\x9F\x90\xB1", "\"\xF0\x9F\x90\xB1\"");  // 4 bytes: cat face
  expectRoundTrip("\xC2\x80", "\"\xC2\x80\"");                  // U+0080, lowest 2-byte
  expectRoundTrip("\xDF\xBF", "\"\xDF\xBF\"");                  // U+07FF
  expectRoundTrip("\xE0\xA0\x80", "\"\xE0\xA0\x80\"");          // U+0800, lowest 3-byte
  expectRoundTrip("\xED\x9F\xBF", "\"\xED\x9F\xBF\"");          // U+D7FF, below surrogates
  expectRoundTrip("\xEE\x80\x80", "\"\xEE\x80\x80\"");          // U+E000, above them
  expectRoundTrip("\xEF\xBF\xBF", "\"\xEF\xBF\xBF\"");          // U+FFFF
  expectRoundTrip("\xF0\x90\x80\x80", "\"\xF0\x90\x80\x80\"");  // U+10000
  expectRoundTrip("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\"");  // U+10FFFF, the last
  expectRoundTrip("\xEF\xBF\xBD", "\"\xEF\xBF\xBD\"");          // U+FFFD itself
  expectRoundTrip("a\"\xC3\xA9\n", "\"a\\\"\xC3\xA9\\n\"");
}

TEST_CASE("json_escape: invalid UTF-8 bytes become U+FFFD", "[json_escape]") {
  const std::string r(kReplacement);
  SECTION("a lone continuation byte") {
    expectEscape("\x80", "\"" + r + "\"", r);
    expectEscape("a\xBFz", "\"a" + r + "z\"", "a" + r + "z");
  }
  SECTION("bytes that never start a sequence") {
    expectEscape("\xC0\x80", "\"" + r + r + "\"", r + r);  // overlong NUL
    expectEscape("\xC1\xBF", "\"" + r + r + "\"", r + r);
    expectEscape("\xF5\x80\x80\x80", "\"" + r + r + r + r + "\"", r + r + r + r);
    expectEscape("\xFF", "\"" + r + "\"", r);
    expectEscape("\xFE", "\"" + r + "\"", r);
  }
  SECTION("a sequence cut short by the end") {
    expectEscape("\xC3", "\"" + r + "\"", r);
    expectEscape("ab\xF0", "\"ab" + r + "\"", "ab" + r);
  }
  SECTION("a sequence cut short by an ASCII byte keeps the ASCII byte") {
    expectEscape(
        "\xC3"
        "A",
        "\"" + r + "A\"", r + "A");
    expectEscape("\xE2\x82\"", "\"" + r + r + "\\\"\"", r + r + "\"");
    expectEscape("\xE2\n", "\"" + r + "\\n\"", r + "\n");
  }
  SECTION("overlong three- and four-byte forms") {
    expectEscape("\xE0\x80\xAF", "\"" + r + r + r + "\"", r + r + r);
    expectEscape("\xF0\x8F\xBF\xBF", "\"" + r + r + r + r + "\"", r + r + r + r);
  }
  SECTION("UTF-16 surrogates encoded in UTF-8") {
    expectEscape("\xED\xA0\x80", "\"" + r + r + r + "\"", r + r + r);  // U+D800
    expectEscape("\xED\xBF\xBF", "\"" + r + r + r + "\"", r + r + r);  // U+DFFF
  }
  SECTION("beyond U+10FFFF") {
    expectEscape("\xF4\x90\x80\x80", "\"" + r + r + r + r + "\"", r + r + r + r);
  }
  SECTION("valid text around invalid bytes is kept") {
    expectEscape("\xC3\xA9\xFF\xC3\xA9", "\"\xC3\xA9" + r + "\xC3\xA9\"",
                 "\xC3\xA9" + r + "\xC3\xA9");
  }
}

TEST_CASE("json_escape: every byte pair parses as valid JSON", "[json_escape]") {
  // Exhaustive over two bytes (with ASCII around them): whatever the input,
  // the output is a valid JSON string in valid UTF-8, and ASCII survives.
  std::string in = "<..>";
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      in[1] = static_cast<char>(a);
      in[2] = static_cast<char>(b);
      const std::string out = escape(in);
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseValidateEncodingFlag>(out.c_str(), out.size());
      if (doc.HasParseError() || !doc.IsString()) {
        FAIL("bytes " << a << "," << b << " give invalid JSON: " << out);
      }
      const std::string_view s(doc.GetString(), doc.GetStringLength());
      if (s.front() != '<' || s.back() != '>') FAIL("bytes " << a << "," << b << " lost ASCII");
      if (a < 0x80 && b < 0x80 && s != in) FAIL("ASCII " << a << "," << b << " changed");
    }
  }
}

}  // namespace redge
