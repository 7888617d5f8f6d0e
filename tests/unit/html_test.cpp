// appendHtmlEscaped: the five special characters, pass-through of everything
// else, and appending rather than overwriting.

#include "services/app/html.hpp"

#include <catch2/catch.hpp>
#include <string>

using redge::appendHtmlEscaped;

namespace {

std::string escaped(std::string_view text) {
  std::string out;
  appendHtmlEscaped(out, text);
  return out;
}

}  // namespace

TEST_CASE("html: special characters become entities", "[html]") {
  CHECK(escaped("&") == "&amp;");
  CHECK(escaped("<") == "&lt;");
  CHECK(escaped(">") == "&gt;");
  CHECK(escaped("\"") == "&quot;");
  CHECK(escaped("'") == "&#39;");
  CHECK(escaped("<script>alert('x&y')</script>") ==
        "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;");
  CHECK(escaped("a\"b'c") == "a&quot;b&#39;c");
  CHECK(escaped("&amp;") == "&amp;amp;");  // already-escaped text is escaped again
  CHECK(escaped("<<>>") == "&lt;&lt;&gt;&gt;");
}

TEST_CASE("html: other bytes pass through", "[html]") {
  CHECK(escaped("").empty());
  CHECK(escaped("plain text 123") == "plain text 123");
  CHECK(escaped("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");
  CHECK(escaped("tab\tnew\nline/=`") == "tab\tnew\nline/=`");
  CHECK(escaped(std::string_view("a\0b", 3)) == std::string("a\0b", 3));
}

TEST_CASE("html: appends to what is already there", "[html]") {
  std::string out = "<p>";
  appendHtmlEscaped(out, "1 < 2");
  out += "</p>";
  CHECK(out == "<p>1 &lt; 2</p>");
}
