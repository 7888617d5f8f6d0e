#pragma once
// The one way redge turns JSON text into a rapidjson::Document. Every JSON
// that arrives from the network (relay messages today; flags, configuration
// over the admin API and webhook payloads later) goes through parseJson(), so
// that no input can make parsing recurse without bound or build a document
// deeper than its consumers expect.

#include <rapidjson/document.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace redge {

// How many arrays and objects may be open at once (`[]` is depth 1, `[[]]`
// depth 2, a bare scalar depth 0). Nothing redge reads nests beyond a handful
// of levels (a relay message is 1, the configuration 3), so 64 leaves ample
// room for later formats while bounding what a hostile body can make the
// code that walks a document (recursive Value copy, Accept, comparisons, our
// own walkers) do to the stack.
inline constexpr size_t kJsonDefaultMaxDepth = 64;

struct JsonParseOptions {
  size_t max_depth = kJsonDefaultMaxDepth;
};

enum class JsonParseStatus {
  Ok,
  Syntax,   // not JSON, or a number too big: RapidJSON's reason, at `offset`
  TooDeep,  // the '[' or '{' at `offset` would open level max_depth + 1
};

struct JsonParseResult {
  JsonParseStatus status = JsonParseStatus::Ok;
  size_t offset = 0;  // byte of the text where parsing stopped; 0 when Ok
  size_t max_depth = kJsonDefaultMaxDepth;
  rapidjson::ParseErrorCode syntax_error = rapidjson::kParseErrorNone;  // when Syntax

  bool ok() const { return status == JsonParseStatus::Ok; }
  // What is wrong, as a sentence: RapidJSON's ("Missing a comma or ']' after
  // an array element.") or "Arrays and objects are nested deeper than 64
  // levels.". Empty when Ok.
  std::string reason() const;
  // Where and what: "at offset 17: " + reason(). Empty when Ok.
  std::string describe() const;
};

// Parses all of `text` (trailing non-space is an error) into `doc` with
// RapidJSON's iterative parser, which keeps its state on the heap, so the
// depth of the input never turns into depth of the C++ stack. Opening an
// array or object beyond options.max_depth stops the parse at once. A UTF-8
// byte order mark at the start is skipped. Numbers become the nearest
// double (exactly rounded, so a double RapidJSON wrote reads back equal) or,
// without fraction and exponent and within 64 bits, an integer; one beyond
// the double range is an error. On failure `doc` is left null; look at the
// result, not doc.HasParseError().
JsonParseResult parseJson(std::string_view text, rapidjson::Document& doc,
                          const JsonParseOptions& options = {});

}  // namespace redge
