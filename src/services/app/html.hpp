#pragma once
// HTML text escaping for the few pages redge renders itself.

#include <string>
#include <string_view>

namespace redge {

// Appends `text` to `out` with & < > " ' replaced by &amp; &lt; &gt; &quot;
// &#39;, which makes it safe both as element content and inside a quoted
// attribute value (either quote style). Other bytes, UTF-8 included, pass
// through unchanged. Not safe for unquoted attributes, URLs or <script>.
void appendHtmlEscaped(std::string& out, std::string_view text);

}  // namespace redge
