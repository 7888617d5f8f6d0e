// extractMultipartBoundary: which Content-Type values yield a boundary, and
// that a rejected one leaves the output untouched.

#include <catch2/catch.hpp>
#include <string>

#include "net/http/multipart_parser.hpp"

using redge::extractMultipartBoundary;

namespace {

std::string boundaryOf(std::string_view content_type) {
  std::string out = "untouched";
  if (!extractMultipartBoundary(content_type, out)) {
    CHECK(out == "untouched");
    return "<none>";
  }
  return out;
}

}  // namespace

TEST_CASE("boundary: accepted forms", "[multipart]") {
  CHECK(boundaryOf("multipart/form-data; boundary=AaB03x") == "AaB03x");
  CHECK(boundaryOf("multipart/form-data; boundary=\"AaB03x\"") == "AaB03x");
  CHECK(boundaryOf("Multipart/Form-Data; BOUNDARY=abc") == "abc");
  CHECK(boundaryOf("multipart/form-data;boundary=abc") == "abc");
  CHECK(boundaryOf("  multipart/form-data  ;  boundary = abc  ") == "abc");
  CHECK(boundaryOf("multipart/form-data; charset=utf-8; boundary=abc") == "abc");
  CHECK(boundaryOf("multipart/form-data; boundary=abc; charset=utf-8") == "abc");
  CHECK(boundaryOf("multipart/form-data; foo=\"a;boundary=x\"; boundary=real") == "real");
  CHECK(boundaryOf("multipart/form-data; boundary=\"with space\"") == "with space");
  CHECK(boundaryOf("multipart/form-data; boundary=\"'()+_,-./:=?\"") == "'()+_,-./:=?");
  CHECK(boundaryOf("multipart/form-data; boundary=a/b:c") == "a/b:c");
  CHECK(boundaryOf("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW") ==
        "----WebKitFormBoundary7MA4YWxkTrZu0gW");
  CHECK(boundaryOf("multipart/form-data; boundary=" + std::string(70, 'z')) ==
        std::string(70, 'z'));
  CHECK(boundaryOf("multipart/form-data; boundary=x") == "x");
  CHECK(boundaryOf("multipart/form-data;; boundary=x;") == "x");
}

TEST_CASE("boundary: rejected forms", "[multipart]") {
  CHECK(boundaryOf("") == "<none>");
  CHECK(boundaryOf("multipart/form-data") == "<none>");
  CHECK(boundaryOf("multipart/form-data;") == "<none>");
  CHECK(boundaryOf("multipart/form-data; charset=utf-8") == "<none>");
  CHECK(boundaryOf("multipart/mixed; boundary=abc") == "<none>");
  CHECK(boundaryOf("application/x-www-form-urlencoded; boundary=abc") == "<none>");
  CHECK(boundaryOf("multipart/form-data-x; boundary=abc") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=\"\"") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=\"unterminated") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=" + std::string(71, 'z')) == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=\"trailing \"") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=\"a\\\"b\"") == "<none>");  // '"' not a bchar
  CHECK(boundaryOf("multipart/form-data; boundary=a;b") == "<none>");         // "b" has no '='
  CHECK(boundaryOf("multipart/form-data; boundary=a b") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=\xc3\xa9") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=a*b") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=a; boundary=b") == "<none>");
  CHECK(boundaryOf("multipart/form-data; boundary=a; Boundary=a") == "<none>");
  CHECK(boundaryOf("multipart/form-data boundary=abc") == "<none>");
  CHECK(boundaryOf("multipart/form-data; =abc") == "<none>");
}

TEST_CASE("boundary: an extracted boundary drives the parser", "[multipart]") {
  std::string boundary;
  REQUIRE(extractMultipartBoundary("multipart/form-data; boundary=\"q r\"", boundary));
  struct Sink : redge::MultipartHandler {
    std::string data;
    void onPartBegin(const redge::MultipartPartInfo&) override {}
    void onPartData(std::string_view d) override { data.append(d); }
    void onPartEnd() override {}
  } sink;
  redge::MultipartParser parser(boundary, sink);
  REQUIRE(parser.feed(
      "--q r\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--q r--\r\n"));
  REQUIRE(parser.finish());
  CHECK(sink.data == "value");
}
