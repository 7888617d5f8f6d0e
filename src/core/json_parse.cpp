// parseJson(): RapidJSON's iterative reader feeding a Document through a
// handler (JsonDomBuilder) that does two things RapidJSON does not:
//
//   - It counts open arrays and objects. The reader keeps its parse state on
//     the heap, so even a body of nothing but '[' costs no C++ stack; the
//     handler refuses the container that would exceed the depth limit, which
//     stops the reader there (kParseErrorTermination), reported as TooDeep.
//   - It converts numbers itself. The reader hands over each number's text
//     (kParseNumbersAsStringsFlag, after checking it against the grammar) and
//     std::from_chars makes it the nearest double, or an exact 64-bit
//     integer. RapidJSON 1.1's own conversion turns some numbers just above
//     the double range ("1.8e308") into infinity, and in full-precision mode
//     into NaN or an unrelated finite value; here they are an error
//     ("Number too big"), and every double is exact without a precision flag.
//
// The document is built with GenericDocument::Populate, RapidJSON's
// documented way to fill a Document from SAX events.

#include "core/json_parse.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cstdint>
#include <system_error>

namespace redge {
namespace {

using rapidjson::Document;
using rapidjson::SizeType;

// True when a number whose conversion came out of range is huge rather than
// tiny: the decimal exponent of its first significant digit is positive.
// Only called for text the reader accepted as a JSON number with a
// non-zero digit, and only the sign matters (overflow needs an exponent of
// at least 308, underflow at most -324), so the exponent saturates.
bool overflows(std::string_view number) {
  const size_t e = number.find_first_of("eE");
  const std::string_view mantissa = number.substr(0, e);
  int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = number.substr(e + 1);
    bool negative = false;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    for (char c : digits) exponent = std::min<int64_t>(exponent * 10 + (c - '0'), 1000000);
    if (negative) exponent = -exponent;
  }
  size_t point = mantissa.find('.');
  if (point == std::string_view::npos) point = mantissa.size();
  for (size_t i = 0; i < mantissa.size(); ++i) {
    const char c = mantissa[i];
    if (c < '1' || c > '9') continue;
    const int64_t lead =
        i < point ? static_cast<int64_t>(point - i - 1) : -static_cast<int64_t>(i - point);
    return lead + exponent > 0;
  }
  return false;
}

// Forwards every SAX event to the document, keeps the depth in bounds and
// converts numbers (see the top of the file).
class JsonDomBuilder {
 public:
  JsonDomBuilder(Document& doc, size_t max_depth) : doc_(doc), max_depth_(max_depth) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  // With kParseNumbersAsStringsFlag the reader calls none of these.
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* str, SizeType length, bool) {
    const std::string_view number(str, length);
    const bool minus = !number.empty() && number[0] == '-';
    const char* const end = number.data() + number.size();
    // An integer that fits 64 bits stays an integer (a Value's Int/Uint/
    // Int64/Uint64 flags follow from the value alone).
    if (number.find_first_of(".eE") == std::string_view::npos) {
      uint64_t magnitude = 0;
      const char* digits = number.data() + (minus ? 1 : 0);
      const auto [ptr, ec] = std::from_chars(digits, end, magnitude);
      if (ec == std::errc() && ptr == end) {
        if (!minus) return doc_.Uint64(magnitude);
        if (magnitude <= uint64_t{1} << 63) return doc_.Int64(static_cast<int64_t>(0 - magnitude));
      }
    }
    double value = 0;
    const auto [ptr, ec] = std::from_chars(number.data(), end, value);
    if (ec == std::errc() && ptr == end) return doc_.Double(value);
    if (ec == std::errc::result_out_of_range && ptr == end && !overflows(number)) {
      return doc_.Double(minus ? -0.0 : 0.0);
    }
    number_too_big_ = true;
    return false;
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
  bool numberTooBig() const { return number_too_big_; }

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
  bool number_too_big_ = false;
};

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

  // The stream reads exactly text.size() bytes; the text need not be
  // NUL-terminated. A plain MemoryStream, not RapidJSON's EncodedInputStream
  // over it, which would drop any of the bytes EF, BB, BF found at the start
  // one by one.
  rapidjson::MemoryStream in(text.data(), text.size());
  rapidjson::Reader reader;
  rapidjson::ParseResult result;
  JsonDomBuilder builder(doc, options.max_depth);
  // The builder writes into `doc`, the document Populate() hands back here.
  auto generate = [&](Document&) {
    constexpr unsigned kFlags =
        rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
    result = reader.Parse<kFlags>(in, builder);
    return !result.IsError();
  };
  doc.Populate(generate);

  if (builder.tooDeep()) {
    out.status = JsonParseStatus::TooDeep;
    out.offset = skipped + result.Offset();
  } else if (builder.numberTooBig()) {
    // The reader stops at the start of the number the builder refused.
    out.status = JsonParseStatus::Syntax;
    out.syntax_error = rapidjson::kParseErrorNumberTooBig;
    out.offset = skipped + result.Offset();
  } else if (result.IsError()) {
    out.status = JsonParseStatus::Syntax;
    out.syntax_error = result.Code();
    out.offset = skipped + result.Offset();
    // The iterative reader calls any bad first byte ("]", "x", a NUL) an
    // empty document; the recursive one, and a person, call it an invalid
    // value. Empty means nothing but whitespace up to the end.
    if (out.syntax_error == rapidjson::kParseErrorDocumentEmpty && result.Offset() < text.size()) {
      out.syntax_error = rapidjson::kParseErrorValueInvalid;
    }
  } else if (in.Tell() != text.size()) {
    // The reader takes a NUL byte for the end of the text; whatever follows
    // one is still part of the body and makes it not a single JSON value.
    doc.SetNull();
    out.status = JsonParseStatus::Syntax;
    out.syntax_error = rapidjson::kParseErrorDocumentRootNotSingular;
    out.offset = skipped + in.Tell();
  }
  return out;
}

}  // namespace redge
