// HTML escaping. The five characters cover text and quoted attributes; '\''
// is written as &#39; rather than &apos;, which HTML 4 parsers do not know.
// Runs of ordinary bytes are appended in one go instead of byte by byte.

#include "services/app/html.hpp"

namespace redge {
namespace {

std::string_view entityFor(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return {};
  }
}

}  // namespace

void appendHtmlEscaped(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size());
  size_t run_begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const std::string_view entity = entityFor(text[i]);
    if (entity.empty()) continue;
    out.append(text.substr(run_begin, i - run_begin));
    out.append(entity);
    run_begin = i + 1;
  }
  out.append(text.substr(run_begin));
}

}  // namespace redge
