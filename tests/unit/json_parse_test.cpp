// parseJson: the one JSON entry point for network input. What it accepts,
// where its depth limit sits (at, below and above it, for arrays, objects
// and both mixed), that its errors say what and where, and that input of any
// depth costs no stack.

#include "core/json_parse.hpp"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace redge;

namespace {

// `depth` arrays, one inside the other: "[[[]]]" for 3.
std::string nestedArrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// `depth` objects: {"a":{"a":{}}} for 3.
std::string nestedObjects(size_t depth) {
  std::string out;
  for (size_t i = 1; i < depth; ++i) out += "{\"a\":";
  if (depth > 0) out += "{}";
  out += std::string(depth > 0 ? depth - 1 : 0, '}');
  return out;
}

// Arrays and objects in turn, a number at the bottom: [{"k":[{"k":7}]}] for 4.
std::string nestedMixed(size_t depth) {
  std::string open, close;
  for (size_t i = 0; i < depth; ++i) {
    if (i % 2 == 0) {
      open += "[";
      close = "]" + close;
    } else {
      open += "{\"k\":";
      close = "}" + close;
    }
  }
  return open + "7" + close;
}

// The depth of a parsed value, by walking it (bounded: only called on
// documents the limit let through).
size_t depthOf(const rapidjson::Value& v) {
  size_t deepest = 0;
  if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      deepest = std::max(deepest, depthOf(v[i]));
    }
    return deepest + 1;
  }
  if (v.IsObject()) {
    for (rapidjson::SizeType i = 0; i < v.MemberCount(); ++i) {
      deepest = std::max(deepest, depthOf((v.MemberBegin() + i)->value));
    }
    return deepest + 1;
  }
  return 0;
}

}  // namespace

TEST_CASE("json parse: valid documents of every kind", "[json_parse]") {
  rapidjson::Document doc;
  JsonParseResult r =
      parseJson(R"({"s":"caf\u00e9","n":-12,"f":1.5,"b":true,"z":null,"a":[1,2]})", doc);
  REQUIRE(r.ok());
  CHECK(r.status == JsonParseStatus::Ok);
  CHECK(r.describe().empty());
  REQUIRE(doc.IsObject());
  CHECK(std::string(doc["s"].GetString()) == "caf\xC3\xA9");
  CHECK(doc["n"].GetInt() == -12);
  CHECK(doc["f"].GetDouble() == 1.5);
  CHECK(doc["b"].GetBool());
  CHECK(doc["z"].IsNull());
  CHECK(doc["a"].Size() == 2);

  // A bare scalar is a document too, of depth 0, and leading and trailing
  // whitespace is allowed.
  REQUIRE(parseJson(" \t\r\n\"x\" \n", doc).ok());
  CHECK(doc.IsString());
  REQUIRE(parseJson("18446744073709551615", doc).ok());
  CHECK(doc.GetUint64() == UINT64_MAX);

  // An embedded NUL inside a string, written as an escape, is kept.
  REQUIRE(parseJson(R"(["a\u0000b"])", doc).ok());
  CHECK(doc[0].GetStringLength() == 3);
}

TEST_CASE("json parse: the text ends where the view ends", "[json_parse]") {
  rapidjson::Document doc;
  // Bytes after the view are not read: the same buffer, cut short, parses.
  const std::string buffer = "[1,2]garbage";
  REQUIRE(parseJson(std::string_view(buffer).substr(0, 5), doc).ok());
  CHECK(doc.Size() == 2);

  // A NUL byte is not the end of the text: what follows it is refused, as
  // trailing text is.
  const std::string with_nul("{}\0{}", 5);
  JsonParseResult r = parseJson(with_nul, doc);
  CHECK(r.status == JsonParseStatus::Syntax);
  CHECK(r.syntax_error == rapidjson::kParseErrorDocumentRootNotSingular);
  CHECK(r.offset == 2);
  CHECK(doc.IsNull());
  r = parseJson(std::string("[1]\0", 4), doc);
  CHECK(r.status == JsonParseStatus::Syntax);
  CHECK(r.offset == 3);
  r = parseJson("{} {}", doc);
  CHECK(r.syntax_error == rapidjson::kParseErrorDocumentRootNotSingular);
  CHECK(r.offset == 3);
}

TEST_CASE("json parse: a byte order mark is skipped, and only a whole one", "[json_parse]") {
  rapidjson::Document doc;
  REQUIRE(parseJson("\xEF\xBB\xBF[1]", doc).ok());
  CHECK(doc.Size() == 1);
  // Offsets still count the mark's three bytes.
  JsonParseResult r = parseJson("\xEF\xBB\xBF[1,]", doc);
  CHECK(r.status == JsonParseStatus::Syntax);
  CHECK(r.offset == 6);
  // A stray byte of one is not JSON.
  for (const char* text : {"\xBF[1]", "\xEF\xBB[1]", "\xBB\xBF[1]"}) {
    INFO(text);
    r = parseJson(text, doc);
    CHECK(r.status == JsonParseStatus::Syntax);
    CHECK(r.offset == 0);
  }
}

TEST_CASE("json parse: syntax errors say what and where", "[json_parse]") {
  rapidjson::Document doc;
  struct Case {
    std::string text;
    rapidjson::ParseErrorCode code;
    size_t offset;
  };
  const Case cases[] = {
      {"", rapidjson::kParseErrorDocumentEmpty, 0},
      {"   ", rapidjson::kParseErrorDocumentEmpty, 3},
      {"[1 2]", rapidjson::kParseErrorArrayMissCommaOrSquareBracket, 3},
      {R"({"a" 1})", rapidjson::kParseErrorObjectMissColon, 5},
      {R"({"a":1,})", rapidjson::kParseErrorObjectMissName, 7},
      {R"({"a":1)", rapidjson::kParseErrorObjectMissCommaOrCurlyBracket, 6},
      {R"(["abc)", rapidjson::kParseErrorStringMissQuotationMark, 5},
      {R"(["\x"])", rapidjson::kParseErrorStringEscapeInvalid, 2},
      {"[tru]", rapidjson::kParseErrorValueInvalid, 4},
      // Not an empty document: a bad first byte is an invalid value.
      {"]", rapidjson::kParseErrorValueInvalid, 0},
      {" \n x", rapidjson::kParseErrorValueInvalid, 3},
      {std::string("\0", 1), rapidjson::kParseErrorValueInvalid, 0},
      {"[1] x", rapidjson::kParseErrorDocumentRootNotSingular, 4},
  };
  for (const Case& c : cases) {
    INFO("text " << c.text);
    doc.SetArray();
    JsonParseResult r = parseJson(c.text, doc);
    CHECK(r.status == JsonParseStatus::Syntax);
    CHECK(r.syntax_error == c.code);
    CHECK(r.offset == c.offset);
    CHECK(doc.IsNull());
    CHECK(r.reason() == rapidjson::GetParseError_En(c.code));
    CHECK(r.describe() == "at offset " + std::to_string(c.offset) + ": " + r.reason());
  }
  JsonParseResult r = parseJson("[1 2]", doc);
  CHECK(r.describe() == "at offset 3: Missing a comma or ']' after an array element.");
}

TEST_CASE("json parse: nesting up to the limit is accepted, one more level refused",
          "[json_parse]") {
  rapidjson::Document doc;
  CHECK(kJsonDefaultMaxDepth == 64);
  for (auto* make : {&nestedArrays, &nestedObjects, &nestedMixed}) {
    for (size_t depth : {size_t{1}, size_t{2}, size_t{63}, size_t{64}}) {
      const std::string text = make(depth);
      INFO(text);
      JsonParseResult r = parseJson(text, doc);
      REQUIRE(r.ok());
      CHECK(depthOf(doc) == depth);
    }
    for (size_t depth : {size_t{65}, size_t{66}, size_t{1000}}) {
      const std::string text = make(depth);
      INFO(text.substr(0, 80));
      JsonParseResult r = parseJson(text, doc);
      CHECK(r.status == JsonParseStatus::TooDeep);
      CHECK(r.max_depth == 64);
      CHECK(doc.IsNull());
      // It stops at the 65th opening bracket, whatever follows it.
      size_t opened = 0, at = 0;
      for (; at < text.size(); ++at) {
        opened += text[at] == '[' || text[at] == '{';
        if (opened == 65) break;
      }
      CHECK(r.offset == at);
      CHECK(r.describe() == "at offset " + std::to_string(at) +
                                ": Arrays and objects are nested deeper than 64 levels.");
    }
  }
  // Wide is not deep: many siblings at depth 2.
  std::string wide = "[";
  for (int i = 0; i < 10000; ++i) wide += i == 0 ? "[]" : ",{}";
  wide += "]";
  REQUIRE(parseJson(wide, doc).ok());
  CHECK(doc.Size() == 10000);
}

TEST_CASE("json parse: a caller's own limit", "[json_parse]") {
  rapidjson::Document doc;
  JsonParseOptions flat;
  flat.max_depth = 1;
  CHECK(parseJson(R"({"a":1,"b":"x"})", doc, flat).ok());
  CHECK(parseJson(R"({"a":[1]})", doc, flat).status == JsonParseStatus::TooDeep);
  JsonParseResult r = parseJson(R"({"a":[1]})", doc, flat);
  CHECK(r.offset == 5);
  CHECK(r.reason() == "Arrays and objects are nested deeper than 1 levels.");

  JsonParseOptions scalars_only;
  scalars_only.max_depth = 0;
  CHECK(parseJson("42", doc, scalars_only).ok());
  CHECK(parseJson("[]", doc, scalars_only).status == JsonParseStatus::TooDeep);

  JsonParseOptions roomy;
  roomy.max_depth = 500;
  CHECK(parseJson(nestedMixed(500), doc, roomy).ok());
  CHECK(parseJson(nestedMixed(501), doc, roomy).status == JsonParseStatus::TooDeep);
}

TEST_CASE("json parse: 100,000 nested brackets cost no stack", "[json_parse]") {
  rapidjson::Document doc;
  // Unclosed, as an attacker sends them: refused at the limit.
  const std::string opened(100000, '[');
  JsonParseResult r = parseJson(opened, doc);
  CHECK(r.status == JsonParseStatus::TooDeep);
  CHECK(r.offset == 64);
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "{\"\":";
    return s;
  }();
  CHECK(parseJson(objects, doc).status == JsonParseStatus::TooDeep);

  // With the limit out of the way the reader itself must still not recurse:
  // the whole depth is parsed (a recursive parser overflows the stack here,
  // more so under AddressSanitizer).
  JsonParseOptions unlimited;
  unlimited.max_depth = SIZE_MAX;
  r = parseJson(nestedArrays(100000), doc, unlimited);
  CHECK(r.ok());
  CHECK(doc.IsArray());
  r = parseJson(opened, doc, unlimited);
  CHECK(r.status == JsonParseStatus::Syntax);
  CHECK(r.syntax_error == rapidjson::kParseErrorValueInvalid);
  CHECK(r.offset == 100000);
}

TEST_CASE("json parse: numbers are exact, and too big ones are an error", "[json_parse]") {
  rapidjson::Document doc;
  // Decimal strings whose nearest double a fast conversion can miss; each
  // must agree with strtod (correctly rounded in glibc).
  for (const char* number :
       {"0.1", "2.2250738585072011e-308", "1.7976931348623157e308", "0.30000000000000004",
        "9007199254740993.0", "1.00000000000000011102230246251565404236316680908203125",
        "7.2057594037927933e16", "123456789012345678901234567890e-10", "4.9e-324", "3e-324",
        "-2.5e-10", "1E+2", "0.0000001e310"}) {
    INFO(number);
    REQUIRE(parseJson(number, doc).ok());
    REQUIRE(doc.IsDouble());
    CHECK(doc.GetDouble() == std::strtod(number, nullptr));
  }

  // Integers stay integers while they fit 64 bits, then become doubles.
  REQUIRE(parseJson("[0,-0,-2147483648,4294967295,-9223372036854775808,18446744073709551615,"
                    "-9223372036854775809,18446744073709551616]",
                    doc)
              .ok());
  CHECK(doc[0].IsInt());
  CHECK(doc[0].GetInt() == 0);
  CHECK(doc[1].IsInt());
  CHECK(doc[1].GetInt() == 0);
  CHECK(doc[2].GetInt() == INT32_MIN);
  CHECK(doc[3].GetUint() == UINT32_MAX);
  CHECK(doc[4].GetInt64() == INT64_MIN);
  CHECK(doc[5].GetUint64() == UINT64_MAX);
  CHECK_FALSE(doc[6].IsInt64());
  CHECK(doc[6].GetDouble() == -9223372036854775808.0);
  CHECK(doc[7].GetDouble() == 18446744073709551616.0);

  // Below the smallest double is zero, with its sign.
  REQUIRE(parseJson("[1e-400,-1e-400,2e-324,0e-999999]", doc).ok());
  CHECK(doc[0].GetDouble() == 0.0);
  CHECK_FALSE(std::signbit(doc[0].GetDouble()));
  CHECK(std::signbit(doc[1].GetDouble()));
  CHECK(doc[2].GetDouble() == 0.0);
  CHECK(doc[3].GetDouble() == 0.0);

  // Beyond the largest: RapidJSON's own conversion made these infinity (or,
  // exactly converted, NaN and unrelated finite values); here they are refused
  // where they start.
  for (const char* text : {"[1,1.8e308]", "[1,1841e308]", "[1,18e308]", "[1,2e308]", "[1,-1.8e308]",
                           "[1,1.7976931348623159e308]", "[1,1e309]"}) {
    INFO(text);
    JsonParseResult r = parseJson(text, doc);
    CHECK(r.status == JsonParseStatus::Syntax);
    CHECK(r.syntax_error == rapidjson::kParseErrorNumberTooBig);
    CHECK(r.offset == 3);
    CHECK(r.describe() == "at offset 3: Number too big to be stored in double.");
    CHECK(doc.IsNull());
  }
}

TEST_CASE("json parse: a document reused after an error starts clean", "[json_parse]") {
  rapidjson::Document doc;
  REQUIRE(parseJson(R"({"a":1})", doc).ok());
  CHECK(parseJson("[[", doc).status == JsonParseStatus::Syntax);
  CHECK(doc.IsNull());
  REQUIRE(parseJson("[3]", doc).ok());
  CHECK(doc[0].GetInt() == 3);
  CHECK(parseJson(nestedArrays(65), doc).status == JsonParseStatus::TooDeep);
  CHECK(doc.IsNull());
}
