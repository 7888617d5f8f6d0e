// The escape switch shared by appendJsonString (core/json_escape.cpp) and
// appendLogfmtValue (core/log.cpp). Plain bytes are copied a run at a time:
// most text has nothing to escape.

#include "core/escape.hpp"

namespace redge {

void appendBackslashEscaped(std::string& out, std::string_view text, ControlEscape style) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t copied = 0;  // text[copied, i) is plain and not yet appended
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + copied, i - copied);
    copied = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append(style == ControlEscape::Json ? "\\u00" : "\\x");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(text.data() + copied, text.size() - copied);
}

}  // namespace redge
