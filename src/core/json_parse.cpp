// parseJson(): RapidJSON's iterative reader feeding a Document through a
// handler that counts open arrays and objects. The reader keeps its parse
// state on the heap, so even a body of nothing but '[' costs no C++ stack;
// the handler refuses the container that would exceed the depth limit,
// which stops the reader there (kParseErrorTermination) and is reported as
// TooDeep. The document is built with GenericDocument::Populate, RapidJSON's
// documented way to fill a Document from SAX events.

#include "core/json_parse.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace redge {
namespace {

using rapidjson::Document;
using rapidjson::SizeType;

// Forwards every SAX event to the document and keeps the depth in bounds.
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(Document& doc, size_t max_depth) : doc_(doc), max_depth_(max_depth) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* str, SizeType length, bool copy) {
    return doc_.RawNumber(str, length, copy);
  }
  bool String(const char* str, SizeType length, bool copy) {
    return doc_.String(str, length, copy);
  }
  bool Key(const char* str, SizeType length, bool copy) { return doc_.Key(str, length, copy); }
  bool StartObject() { return open() && doc_.StartObject(); }
  bool EndObject(SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return open() && doc_.StartArray(); }
  bool EndArray(SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

  bool tooDeep() const { return too_deep_; }

 private:
  bool open() {
    if (depth_ == max_depth_) {
      too_deep_ = true;
      return false;
    }
    ++depth_;
    return true;
  }

  Document& doc_;
  const size_t max_depth_;
  size_t depth_ = 0;
  bool too_deep_ = false;
};

template <unsigned kFlags>
rapidjson::ParseResult readInto(std::string_view text, Document& doc, DepthLimitedHandler& handler,
                                size_t& stopped_at) {
  // The stream reads exactly text.size() bytes; the text need not be
  // NUL-terminated. A plain MemoryStream, not RapidJSON's EncodedInputStream
  // over it, which would drop any of the bytes EF, BB, BF found at the start
  // one by one; parseJson() skips a whole byte order mark itself.
  rapidjson::MemoryStream in(text.data(), text.size());
  rapidjson::Reader reader;
  rapidjson::ParseResult result;
  // The handler writes into `doc`, the document Populate() hands back here.
  auto generate = [&](Document&) {
    result = reader.Parse<kFlags | rapidjson::kParseIterativeFlag>(in, handler);
    return !result.IsError();
  };
  doc.Populate(generate);
  stopped_at = in.Tell();
  return result;
}

}  // namespace

std::string JsonParseResult::reason() const {
  switch (status) {
    case JsonParseStatus::Ok:
      return "";
    case JsonParseStatus::TooDeep:
      return "Arrays and objects are nested deeper than " + std::to_string(max_depth) + " levels.";
    case JsonParseStatus::Syntax:
      break;
  }
  return rapidjson::GetParseError_En(syntax_error);
}

std::string JsonParseResult::describe() const {
  if (ok()) return "";
  return "at offset " + std::to_string(offset) + ": " + reason();
}

JsonParseResult parseJson(std::string_view text, Document& doc, const JsonParseOptions& options) {
  JsonParseResult out;
  out.max_depth = options.max_depth;
  doc.SetNull();
  // RFC 8259 section 8.1 lets a parser ignore a byte order mark; offsets
  // still count from the first byte the caller gave.
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  const size_t skipped = text.starts_with(kByteOrderMark) ? kByteOrderMark.size() : 0;
  text.remove_prefix(skipped);

  DepthLimitedHandler handler(doc, options.max_depth);
  size_t stopped_at = 0;
  const rapidjson::ParseResult result =
      options.full_precision
          ? readInto<rapidjson::kParseFullPrecisionFlag>(text, doc, handler, stopped_at)
          : readInto<rapidjson::kParseDefaultFlags>(text, doc, handler, stopped_at);
  if (handler.tooDeep()) {
    out.status = JsonParseStatus::TooDeep;
    out.offset = skipped + result.Offset();
  } else if (result.IsError()) {
    out.status = JsonParseStatus::Syntax;
    out.syntax_error = result.Code();
    out.offset = skipped + result.Offset();
  } else if (stopped_at != text.size()) {
    // The reader takes a NUL byte for the end of the text; whatever follows
    // one is still part of the body and makes it not a single JSON value.
    doc.SetNull();
    out.status = JsonParseStatus::Syntax;
    out.syntax_error = rapidjson::kParseErrorDocumentRootNotSingular;
    out.offset = skipped + stopped_at;
  }
  return out;
}

}  // namespace redge
