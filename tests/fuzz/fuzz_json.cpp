// libFuzzer target for JSON from the network: parseJson() (the one entry
// point, iterative and depth-limited) and, through it, the relay's
// POST /messages validation (parseMessageRequest). Later network JSON
// (flags, configuration over the admin API) gets its checks here too.
//
// Input: byte 0 picks the setup, the rest is the body.
//   bits 0-1  message field limits (default 50/1000, 1/1, 4/16, 1000/50)
//   bits 2-3  Content-Type (three JSON spellings, one that is not JSON)
//   bits 4-7  max_depth for the direct parse (64, the default, then 0 to 1000)
//
// Checked, any failure traps:
//   - parseJson keeps its promises: an accepted document is no deeper than
//     the limit; TooDeep stops at the opening bracket that would make
//     max_depth + 1 containers open (counted independently over the bytes
//     before it); a failure leaves the document null and says what and where.
//   - parseJson agrees with a reference: RapidJSON's recursive reader (run
//     only where the text cannot make it recurse deeply) with numbers
//     converted independently (strtod): the same texts accepted, the same
//     values in the same order, the same error and offset on syntax errors
//     and numbers too big for a double.
//   - parseMessageRequest: status, code, field and message are consistent;
//     invalid_json exactly when parseJson refuses the body or it is not an
//     object; an accepted message respects the limits and holds the last
//     "destination" and "body" members; written back with appendJsonString
//     it is valid UTF-8 JSON and, when the input strings were valid UTF-8,
//     parses to the same message.

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "core/json_escape.hpp"
#include "core/json_parse.hpp"
#include "services/relay/message_request.hpp"

namespace {

using redge::JsonParseOptions;
using redge::JsonParseResult;
using redge::JsonParseStatus;
using redge::MessageRequest;
using redge::MessageRequestError;
using redge::MessageRequestLimits;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr MessageRequestLimits kLimits[] = {{50, 1000}, {1, 1}, {4, 16}, {1000, 50}};
constexpr std::string_view kContentTypes[] = {"application/json", "Application/JSON; charset=utf-8",
                                              "application/vnd.redge+json", "text/plain"};
constexpr size_t kDepths[] = {64, 0, 1, 2, 3, 4, 5, 8, 16, 31, 32, 63, 65, 100, 255, 1000};

// Only called on documents parseJson let through, so bounded by its limit.
size_t depthOf(const rapidjson::Value& v) {
  size_t deepest = 0;
  if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) deepest = std::max(deepest, depthOf(v[i]));
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

// Containers open at the end of `prefix`, which the parser has read without
// complaint, so it is the start of valid JSON and strings are well formed.
size_t openAtEnd(std::string_view prefix) {
  size_t open = 0;
  bool in_string = false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char c = prefix[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++open;
    } else if (c == ']' || c == '}') {
      check(open > 0);
      --open;
    }
  }
  return open;
}

// Every '[' and '{' in the text, strings or not: a bound on how deep any
// parser can recurse on it.
size_t bracketCount(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return c == '[' || c == '{'; }));
}

// A document as one string of SAX events, numbers by value ("i" and the
// integer, "d" and the double's bits): the common ground between the
// Document parseJson builds and the events of the reference reader. Members
// stay in order (RapidJSON's operator== looks them up by name, which calls
// {"a":1,"a":2} and {"a":2,"a":1} equal).
struct Events {
  std::string out;
  size_t depth = 0;
  size_t deepest = 0;

  void text(char tag, const char* s, size_t n) {
    out += tag;
    out += std::to_string(n);
    out += ':';
    out.append(s, n);
  }
  void integer(bool negative, uint64_t magnitude) {
    out += 'i';
    if (negative && magnitude != 0) out += '-';
    out += std::to_string(magnitude);
  }
  void real(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    out += 'd';
    out += std::to_string(bits);
  }
  void open(char c) {
    out += c;
    deepest = std::max(deepest, ++depth);
  }
  void close(char c, size_t n) {
    --depth;
    out += c;
    out += std::to_string(n);
  }
};

// Only called on documents parseJson let through, so bounded by its limit.
void emit(const rapidjson::Value& v, Events& e) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      e.out += 'n';
      break;
    case rapidjson::kFalseType:
      e.out += 'f';
      break;
    case rapidjson::kTrueType:
      e.out += 't';
      break;
    case rapidjson::kStringType:
      e.text('s', v.GetString(), v.GetStringLength());
      break;
    case rapidjson::kNumberType:
      if (v.IsDouble()) {
        e.real(v.GetDouble());
      } else if (v.IsUint64()) {
        e.integer(false, v.GetUint64());
      } else {
        e.integer(true, 0 - static_cast<uint64_t>(v.GetInt64()));
      }
      break;
    case rapidjson::kArrayType:
      e.open('[');
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) emit(v[i], e);
      e.close(']', v.Size());
      break;
    case rapidjson::kObjectType:
      e.open('{');
      for (rapidjson::SizeType i = 0; i < v.MemberCount(); ++i) {
        const auto& m = *(v.MemberBegin() + i);
        e.text('k', m.name.GetString(), m.name.GetStringLength());
        emit(m.value, e);
      }
      e.close('}', v.MemberCount());
      break;
  }
}

// The reference: RapidJSON's recursive reader over the same bytes, with the
// numbers converted independently of parseJson (integers by hand, doubles by
// strtod, correctly rounded in glibc; the C locale is never changed here).
class ReferenceHandler {
 public:
  Events events;
  bool too_big = false;

  bool Null() { return add('n'); }
  bool Bool(bool b) { return add(b ? 't' : 'f'); }
  bool Int(int) { return unexpected(); }
  bool Uint(unsigned) { return unexpected(); }
  bool Int64(int64_t) { return unexpected(); }
  bool Uint64(uint64_t) { return unexpected(); }
  bool Double(double) { return unexpected(); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    const std::string number(str, length);
    const bool negative = number[0] == '-';
    if (number.find_first_of(".eE") == std::string::npos) {
      uint64_t magnitude = 0;
      bool fits = true;
      for (size_t i = negative ? 1 : 0; i < number.size() && fits; ++i) {
        const uint64_t digit = static_cast<uint64_t>(number[i] - '0');
        fits = magnitude <= (UINT64_MAX - digit) / 10;
        magnitude = magnitude * 10 + digit;
      }
      if (fits && (!negative || magnitude <= uint64_t{1} << 63)) {
        events.integer(negative, magnitude);
        return true;
      }
    }
    errno = 0;
    const double d = std::strtod(number.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(d)) {
      too_big = true;
      return false;
    }
    events.real(d);
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    events.text('s', s, n);
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    events.text('k', s, n);
    return true;
  }
  bool StartObject() {
    events.open('{');
    return true;
  }
  bool EndObject(rapidjson::SizeType n) {
    events.close('}', n);
    return true;
  }
  bool StartArray() {
    events.open('[');
    return true;
  }
  bool EndArray(rapidjson::SizeType n) {
    events.close(']', n);
    return true;
  }

 private:
  bool add(char c) {
    events.out += c;
    return true;
  }
  static bool unexpected() {
    check(false);  // numbers arrive as text with kParseNumbersAsStringsFlag
    return false;
  }
};

struct Reference {
  bool ok = false;
  rapidjson::ParseErrorCode code = rapidjson::kParseErrorNone;
  size_t offset = 0;
};

Reference referenceParse(std::string_view text, ReferenceHandler& handler) {
  rapidjson::MemoryStream in(text.data(), text.size());
  rapidjson::Reader reader;
  const rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(in, handler);
  Reference ref;
  ref.ok = !result.IsError();
  ref.code = handler.too_big ? rapidjson::kParseErrorNumberTooBig : result.Code();
  ref.offset = result.Offset();
  // The reader takes a NUL byte for the end; parseJson does not, and calls a
  // NUL where the value should start an invalid value, not an empty document.
  if (ref.code == rapidjson::kParseErrorDocumentEmpty && ref.offset < text.size()) {
    ref.code = rapidjson::kParseErrorValueInvalid;
  }
  if (ref.ok && in.Tell() != text.size()) {
    ref.ok = false;
    ref.code = rapidjson::kParseErrorDocumentRootNotSingular;
    ref.offset = in.Tell();
  }
  return ref;
}

void checkParse(std::string_view text, const JsonParseOptions& options) {
  rapidjson::Document doc;
  doc.SetObject();  // a failed parse must not leave this behind
  const JsonParseResult r = redge::parseJson(text, doc, options);
  check(r.max_depth == options.max_depth);
  switch (r.status) {
    case JsonParseStatus::Ok:
      check(r.offset == 0 && r.describe().empty() && r.reason().empty());
      check(depthOf(doc) <= options.max_depth);
      break;
    case JsonParseStatus::TooDeep: {
      check(doc.IsNull());
      check(r.offset < text.size());
      check(text[r.offset] == '[' || text[r.offset] == '{');
      std::string_view read = text.substr(0, r.offset);
      if (read.starts_with("\xEF\xBB\xBF")) read.remove_prefix(3);
      check(openAtEnd(read) == options.max_depth);
      check(!r.reason().empty());
      break;
    }
    case JsonParseStatus::Syntax:
      check(doc.IsNull());
      check(r.offset <= text.size());
      check(r.syntax_error != rapidjson::kParseErrorNone &&
            r.syntax_error != rapidjson::kParseErrorTermination);
      check(!r.reason().empty());
      check(r.describe().starts_with("at offset " + std::to_string(r.offset) + ": "));
      break;
  }

  // The recursive reference, where it cannot overflow the stack.
  if (bracketCount(text) > 300) return;
  std::string_view body = text;
  size_t skipped = 0;
  if (body.starts_with("\xEF\xBB\xBF")) {
    body.remove_prefix(3);
    skipped = 3;
  }
  ReferenceHandler expected;
  const Reference ref = referenceParse(body, expected);
  switch (r.status) {
    case JsonParseStatus::Ok: {
      check(ref.ok);
      Events got;
      emit(doc, got);
      check(got.out == expected.events.out);
      break;
    }
    case JsonParseStatus::TooDeep:
      // The reference got as far as the point where parseJson stopped.
      check(ref.ok ? expected.events.deepest > options.max_depth
                   : skipped + ref.offset >= r.offset);
      break;
    case JsonParseStatus::Syntax:
      check(!ref.ok);
      check(ref.code == r.syntax_error);
      check(skipped + ref.offset == r.offset);
      break;
  }
}

// RapidJSON's UTF-8 validator, one code point at a time: independent of the
// one in appendJsonString.
bool isValidUtf8(std::string_view s) {
  rapidjson::MemoryStream in(s.data(), s.size());
  rapidjson::StringBuffer sink;
  while (in.Tell() < s.size()) {
    if (!rapidjson::UTF8<>::Validate(in, sink)) return false;
  }
  return true;
}

void checkMessage(std::string_view content_type, std::string_view text,
                  const MessageRequestLimits& limits) {
  MessageRequest m;
  const MessageRequestError e = redge::parseMessageRequest(content_type, text, limits, m);
  const bool json_type = content_type != "text/plain";
  if (!json_type) {
    check(e.status == 415 && e.code == "unsupported_media_type" && e.field.empty());
    check(!e.message.empty());
    return;
  }
  rapidjson::Document doc;
  const JsonParseResult parsed = redge::parseJson(text, doc);
  const bool json_refused = !parsed.ok() || !doc.IsObject();
  check((e.code == "invalid_json") == json_refused);
  if (e.status != 0) {
    check(e.status == 400);
    check(e.code == "invalid_json" || e.code == "invalid_field");
    check(!e.message.empty());
    if (e.code == "invalid_json") {
      check(e.field.empty());
    } else {
      // The field named is one of the two, or a member the body really has
      // (its name may be empty: {"": 1}).
      bool known = e.field == "destination" || e.field == "body";
      for (rapidjson::SizeType i = 0; i < doc.MemberCount() && !known; ++i) {
        const auto& name = (doc.MemberBegin() + i)->name;
        known = e.field == std::string_view(name.GetString(), name.GetStringLength());
      }
      check(known);
    }
    return;
  }
  check(e.code.empty() && e.field.empty() && e.message.empty());
  check(!m.destination.empty() && m.destination.size() <= limits.max_destination_bytes);
  check(!m.body.empty() && m.body.size() <= limits.max_body_bytes);

  // Only the two fields, and the last of each name is what came out.
  std::string_view last_destination, last_body;
  for (rapidjson::SizeType i = 0; i < doc.MemberCount(); ++i) {
    const auto& member = *(doc.MemberBegin() + i);
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    check(name == "destination" || name == "body");
    check(member.value.IsString());
    (name == "destination" ? last_destination : last_body) =
        std::string_view(member.value.GetString(), member.value.GetStringLength());
  }
  check(m.destination == last_destination && m.body == last_body);

  // Written back as the relay writes strings, it is valid JSON whatever the
  // bytes, and the same message when they were valid UTF-8.
  std::string again = "{\"destination\":";
  redge::appendJsonString(again, m.destination);
  again += ",\"body\":";
  redge::appendJsonString(again, m.body);
  again += "}";
  rapidjson::Document strict;
  strict.Parse<rapidjson::kParseValidateEncodingFlag>(again.data(), again.size());
  check(!strict.HasParseError());
  if (isValidUtf8(m.destination) && isValidUtf8(m.body)) {
    MessageRequest m2;
    check(redge::parseMessageRequest(content_type, again, limits, m2).status == 0);
    check(m2.destination == m.destination && m2.body == m.body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  JsonParseOptions options;
  options.max_depth = kDepths[mode >> 4];
  checkParse(text, options);
  if (options.max_depth != redge::kJsonDefaultMaxDepth) checkParse(text, JsonParseOptions{});
  checkMessage(kContentTypes[(mode >> 2) & 3], text, kLimits[mode & 3]);
  return 0;
}
