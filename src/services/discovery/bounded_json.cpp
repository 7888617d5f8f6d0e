// The depth-limited JSON entry point of the discovery module (see the
// header). The first pass only counts: a handler that refuses to open a
// level past the limit stops RapidJSON's reader there; the document is
// parsed in a second pass once the shape is known to be safe. Both passes
// use the iterative parser, which keeps its own stack on the heap.

#include "services/discovery/bounded_json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace redge {
namespace {

constexpr unsigned kBoundedParseFlags = rapidjson::kParseIterativeFlag;

struct DepthCounter : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthCounter> {
  explicit DepthCounter(size_t limit) : max(limit) {}
  bool StartObject() { return open(); }
  bool StartArray() { return open(); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool EndArray(rapidjson::SizeType) { return close(); }
  bool open() {
    if (++depth > max) {
      too_deep = true;
      return false;
    }
    return true;
  }
  bool close() {
    --depth;
    return true;
  }

  size_t max;
  size_t depth = 0;
  bool too_deep = false;
};

}  // namespace

std::string parseBoundedJson(std::string_view text, rapidjson::Document& doc, size_t max_depth) {
  {
    DepthCounter counter(max_depth);
    rapidjson::MemoryStream stream(text.data(), text.size());
    rapidjson::Reader reader;
    rapidjson::ParseResult ok = reader.Parse<kBoundedParseFlags>(stream, counter);
    if (counter.too_deep) return "nested deeper than " + std::to_string(max_depth) + " levels";
    if (!ok) {
      return std::string(rapidjson::GetParseError_En(ok.Code())) + " at offset " +
             std::to_string(ok.Offset());
    }
  }
  doc.Parse<kBoundedParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {  // not expected after the first pass; kept for safety
    return std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at offset " +
           std::to_string(doc.GetErrorOffset());
  }
  return {};
}

}  // namespace redge
