// MultipartParser: framing, part headers, limits and errors. Every sample is
// parsed whole, one byte at a time, split at every point into two chunks and,
// when short, at every pair of points into three; all of those must agree
// exactly (parts, bytes, error), because the network decides the chunking.

#include "net/http/multipart_parser.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using redge::MultipartError;
using redge::MultipartHandler;
using redge::MultipartParser;
using redge::MultipartPartInfo;

namespace {

constexpr char kBoundary[] = "AaB03x";

struct Part {
  MultipartPartInfo info;
  std::string data;
  bool ended = false;
};

struct Outcome {
  std::vector<Part> parts;
  MultipartError error = MultipartError::None;
  bool finished = false;
  bool done = false;
  std::string violation;  // a broken handler contract, empty if none
};

bool operator==(const Part& a, const Part& b) {
  return a.info.name == b.info.name && a.info.filename == b.info.filename &&
         a.info.content_type == b.info.content_type && a.info.has_filename == b.info.has_filename &&
         a.data == b.data && a.ended == b.ended;
}

bool operator==(const Outcome& a, const Outcome& b) {
  return a.parts == b.parts && a.error == b.error && a.finished == b.finished && a.done == b.done &&
         a.violation == b.violation;
}

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c < 0x20 || c >= 0x7f)
      out += "\\x" + std::to_string(c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string describe(const Outcome& o) {
  std::string s = "error=" + std::to_string(static_cast<int>(o.error)) +
                  " finished=" + std::to_string(o.finished) + " done=" + std::to_string(o.done);
  if (!o.violation.empty()) s += " violation=" + o.violation;
  for (const Part& p : o.parts) {
    s += "\n  part name=[" + printable(p.info.name) + "] filename=[" + printable(p.info.filename) +
         "] has_filename=" + std::to_string(p.info.has_filename) + " type=[" +
         printable(p.info.content_type) + "] ended=" + std::to_string(p.ended) + " data=[" +
         printable(p.data) + "]";
  }
  return s;
}

// Records parts and checks the handler contract the header promises.
class Recorder : public MultipartHandler {
 public:
  explicit Recorder(Outcome& out) : out_(out) {}

  void onPartBegin(const MultipartPartInfo& info) override {
    if (open_) out_.violation = "begin inside a part";
    open_ = true;
    out_.parts.push_back(Part{info, {}, false});
  }
  void onPartData(std::string_view data) override {
    if (!open_) out_.violation = "data outside a part";
    if (data.empty()) out_.violation = "empty data";
    if (open_) out_.parts.back().data.append(data);
  }
  void onPartEnd() override {
    if (!open_) out_.violation = "end outside a part";
    if (open_) out_.parts.back().ended = true;
    open_ = false;
  }

 private:
  Outcome& out_;
  bool open_ = false;
};

struct Limits {
  std::string boundary = kBoundary;
  size_t max_header_bytes = 8192;
  size_t max_parts = 64;
};

// Feeds body cut at `cuts` (ascending offsets) and then finishes.
Outcome run(std::string_view body, const std::vector<size_t>& cuts, const Limits& limits = {}) {
  Outcome out;
  Recorder recorder(out);
  MultipartParser parser(limits.boundary, recorder, limits.max_header_bytes, limits.max_parts);
  size_t begin = 0;
  bool failed = false;
  auto feed = [&](std::string_view chunk) {
    const bool ok = parser.feed(chunk);
    if (failed && ok) out.violation = "feed succeeded after failing";
    if (!ok) failed = true;
    if (ok != (parser.error() == MultipartError::None)) out.violation = "feed result != error()";
  };
  for (size_t cut : cuts) {
    feed(body.substr(begin, cut - begin));
    begin = cut;
  }
  feed(body.substr(begin));
  out.finished = parser.finish();
  if (out.finished != parser.finish()) out.violation = "finish not idempotent";
  if (failed && out.finished) out.violation = "finish succeeded after a failed feed";
  out.error = parser.error();
  out.done = parser.done();
  return out;
}

Outcome runBytewise(std::string_view body, const Limits& limits) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  return run(body, cuts, limits);
}

// Parses `body` under every chunking described at the top of the file and
// returns the single outcome they all agree on.
Outcome parseAllWays(std::string_view body, const Limits& limits = {}) {
  const Outcome whole = run(body, {}, limits);
  INFO("whole: " << describe(whole));
  CHECK(whole.violation.empty());

  const Outcome bytewise = runBytewise(body, limits);
  INFO("bytewise: " << describe(bytewise));
  REQUIRE(bytewise == whole);

  for (size_t cut = 0; cut <= body.size(); ++cut) {
    const Outcome split = run(body, {cut}, limits);
    if (!(split == whole)) {
      FAIL("split at " << cut << " gives " << describe(split));
    }
  }
  if (body.size() <= 200) {
    for (size_t a = 1; a < body.size(); ++a) {
      for (size_t b = a + 1; b < body.size(); ++b) {
        const Outcome split = run(body, {a, b}, limits);
        if (!(split == whole)) {
          FAIL("split at " << a << "," << b << " gives " << describe(split));
        }
      }
    }
  }
  return whole;
}

Outcome parseOk(std::string_view body, const Limits& limits = {}) {
  Outcome o = parseAllWays(body, limits);
  INFO(describe(o));
  REQUIRE(o.error == MultipartError::None);
  REQUIRE(o.finished);
  REQUIRE(o.done);
  for (const Part& p : o.parts) REQUIRE(p.ended);
  return o;
}

Outcome parseError(std::string_view body, MultipartError expected, const Limits& limits = {}) {
  Outcome o = parseAllWays(body, limits);
  INFO(describe(o));
  REQUIRE(o.error == expected);
  REQUIRE_FALSE(o.finished);
  REQUIRE_FALSE(o.done);
  return o;
}

std::string field(std::string_view name, std::string_view value, std::string_view b = kBoundary) {
  std::string s = "--";
  s.append(b).append("\r\nContent-Disposition: form-data; name=\"").append(name);
  s.append("\"\r\n\r\n").append(value).append("\r\n");
  return s;
}

std::string closing(std::string_view b = kBoundary) {
  return "--" + std::string(b) + "--\r\n";
}

}  // namespace

TEST_CASE("multipart: single field", "[multipart]") {
  const Outcome o = parseOk(field("field1", "value1") + closing());
  REQUIRE(o.parts.size() == 1);
  CHECK(o.parts[0].info.name == "field1");
  CHECK_FALSE(o.parts[0].info.has_filename);
  CHECK(o.parts[0].info.filename.empty());
  CHECK(o.parts[0].info.content_type.empty());
  CHECK(o.parts[0].data == "value1");
}

TEST_CASE("multipart: several parts with a file (RFC 7578 style)", "[multipart]") {
  const std::string body =
      "--AaB03x\r\n"
      "Content-Disposition: form-data; name=\"submit-name\"\r\n"
      "\r\n"
      "Larry\r\n"
      "--AaB03x\r\n"
      "Content-Disposition: form-data; name=\"files\"; filename=\"file1.txt\"\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "... contents of file1.txt ...\r\n"
      "--AaB03x\r\n"
      "content-disposition: form-data; name=\"empty\"\r\n"
      "\r\n"
      "\r\n"
      "--AaB03x--\r\n";
  const Outcome o = parseOk(body);
  REQUIRE(o.parts.size() == 3);
  CHECK(o.parts[0].info.name == "submit-name");
  CHECK(o.parts[0].data == "Larry");
  CHECK(o.parts[1].info.name == "files");
  CHECK(o.parts[1].info.has_filename);
  CHECK(o.parts[1].info.filename == "file1.txt");
  CHECK(o.parts[1].info.content_type == "text/plain");
  CHECK(o.parts[1].data == "... contents of file1.txt ...");
  CHECK(o.parts[2].info.name == "empty");
  CHECK(o.parts[2].data.empty());
}

TEST_CASE("multipart: binary data with CR, LF, dashes and NUL is kept intact", "[multipart]") {
  std::string data;
  data.append("\r\n");
  data.append("--");
  data.append("\r");
  data.append("\n");
  data.append("-\r\n-\r-\n");
  data.push_back('\0');
  data.append("\xff\xfe\r\r\r\n\n\n--\r\n--\r\n--A");
  data.push_back('\0');
  data.append("end\r\n\r\n");  // data may itself end in CRLFs
  const Outcome o = parseOk(field("bin", data) + closing());
  REQUIRE(o.parts.size() == 1);
  CHECK(o.parts[0].data == data);
}

TEST_CASE("multipart: boundary prefixes and near-delimiters inside data", "[multipart]") {
  const std::vector<std::string> tricky = {
      "\r\n--AaB03",  // every prefix but the last byte
      "\r\n--AaB0",        "\r\n--A",    "\r\n-", "\r",
      "\r\r\n--AaB03",    // a restart on the second CR
      "x\r\n--AaB03xY",   // whole boundary, then an ordinary byte: not a delimiter line
      "x\r\n--AaB03x-Y",  // one dash only
      "x\r\n--AaB03x-",   // one dash right before the real delimiter
      "\r\n--AaB03x0tail",
      "a--AaB03x\r\n",  // delimiter text not at the start of a line
      "a--AaB03x--\r\nb",
      "--AaB03xY",  // at the start of the data, see the test below
      "--AaB03x-Y",        "--AaB0\r\n",
      "\n--AaB03x\r\n",    // bare LF never starts a delimiter
      "\r\n--aab03x\r\n",  // boundaries are case-sensitive
      "\r\n--AaB03x",      // ... unless it ends here: see the expected value below
  };
  for (size_t k = 0; k + 1 < tricky.size(); ++k) {
    INFO("sample " << k << ": " << printable(tricky[k]));
    const Outcome o = parseOk(field("f", tricky[k]) + closing());
    REQUIRE(o.parts.size() == 1);
    CHECK(o.parts[0].data == tricky[k]);
  }
  // "\r\n--AaB03x" followed by the CRLF that precedes the closing delimiter is
  // itself a delimiter line: it ends the part early, and the closing
  // delimiter is then read as a (colon-less) header line of the next part.
  const Outcome o = parseAllWays(field("f", tricky.back()) + closing());
  CHECK(o.error == MultipartError::BadHeader);
  REQUIRE(o.parts.size() == 1);
  CHECK(o.parts[0].data.empty());
  CHECK(o.parts[0].ended);
}

TEST_CASE("multipart: a delimiter right after the blank line ends an empty part", "[multipart]") {
  // RFC 2046 body-part := headers [CRLF *OCTET]: the blank line's CRLF is the
  // delimiter's own, so no data CRLF is needed (or invented) for an empty part.
  const std::string head = "--AaB03x\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n";
  const Outcome a = parseOk(head + "--AaB03x--");
  REQUIRE(a.parts.size() == 1);
  CHECK(a.parts[0].data.empty());
  const Outcome b = parseOk(head + "--AaB03x \r\n" + head.substr(10) + "\r\n--AaB03x--");
  REQUIRE(b.parts.size() == 2);
  CHECK(b.parts[0].data.empty());
  CHECK(b.parts[1].data.empty());
  // When the line turns out not to be a delimiter, it is data, with no CRLF added.
  const Outcome c = parseOk(head + "--AaB03x-\r\n--AaB03x--");
  REQUIRE(c.parts.size() == 1);
  CHECK(c.parts[0].data == "--AaB03x-");
  const Outcome d = parseOk(head + "-\r\n--AaB03x--");
  REQUIRE(d.parts.size() == 1);
  CHECK(d.parts[0].data == "-");
  const Outcome e = parseOk(head + "\r\r\n--AaB03x--");
  REQUIRE(e.parts.size() == 1);
  CHECK(e.parts[0].data == "\r");
}

TEST_CASE("multipart: data that is only boundary-like bytes, in every part", "[multipart]") {
  const std::string body = field("a", "-") + field("b", "--") + field("c", "\r\n--") +
                           field("d", "x--AaB03x--") + field("e", "\r\n\r\n") + closing();
  const Outcome o = parseOk(body);
  REQUIRE(o.parts.size() == 5);
  CHECK(o.parts[0].data == "-");
  CHECK(o.parts[1].data == "--");
  CHECK(o.parts[2].data == "\r\n--");
  CHECK(o.parts[3].data == "x--AaB03x--");
  CHECK(o.parts[4].data == "\r\n\r\n");
}

TEST_CASE("multipart: preamble and epilogue are ignored", "[multipart]") {
  const std::string body =
      "This is the preamble.  It is to be ignored, though it\r\n"
      "is a handy place for mail composers to include an\r\n"
      "explanatory note to non-MIME conformant readers.\r\n"
      "--AaB03x-not-a-delimiter\r\n"
      "\r\n--AaB03\r\n" +
      field("x", "1") + field("y", "2") +
      "--AaB03x--\r\n"
      "This is the epilogue.  It is also to be ignored.\r\n"
      "--AaB03x\r\nContent-Disposition: form-data; name=\"late\"\r\n\r\nnope\r\n";
  const Outcome o = parseOk(body);
  REQUIRE(o.parts.size() == 2);
  CHECK(o.parts[0].data == "1");
  CHECK(o.parts[1].data == "2");
}

TEST_CASE("multipart: transport padding after delimiters", "[multipart]") {
  const std::string body =
      "--AaB03x \t \r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "one\r\n"
      "--AaB03x\t\r\n"
      "Content-Disposition: form-data; name=\"b\"\r\n\r\n"
      "two\r\n"
      "--AaB03x--  \r\n";
  const Outcome o = parseOk(body);
  REQUIRE(o.parts.size() == 2);
  CHECK(o.parts[0].data == "one");
  CHECK(o.parts[1].data == "two");
}

TEST_CASE("multipart: closing delimiter without CRLF and with junk after it", "[multipart]") {
  const Outcome a = parseOk(field("a", "v") + "--AaB03x--");
  REQUIRE(a.parts.size() == 1);
  CHECK(a.parts[0].data == "v");
  const Outcome b = parseOk(field("a", "v") + "--AaB03x--garbage\x01\x02");
  REQUIRE(b.parts.size() == 1);
}

TEST_CASE("multipart: a body with only the closing delimiter has zero parts", "[multipart]") {
  CHECK(parseOk("--AaB03x--\r\n").parts.empty());
  CHECK(parseOk("preamble\r\n--AaB03x--").parts.empty());
}

TEST_CASE("multipart: parameter syntax in Content-Disposition", "[multipart]") {
  struct Sample {
    std::string header;
    std::string name;
    std::string filename;
    bool has_filename;
  };
  const std::vector<Sample> samples = {
      {"form-data; name=plain", "plain", "", false},
      {"Form-Data; NAME=\"Upper\"; FileName=\"a.png\"", "Upper", "a.png", true},
      {"form-data;name=\"tight\";filename=\"b c.txt\"", "tight", "b c.txt", true},
      {"form-data ; name = \"spaced\" ; filename = bare.txt ;", "spaced", "bare.txt", true},
      {"form-data; name=\"q\\\"uote\"; filename=\"back\\\\slash\"", "q\"uote", "back\\slash", true},
      {"form-data; name=\"win\"; filename=\"C:\\dir\\a.txt\"", "win", "C:\\dir\\a.txt", true},
      {"form-data; name=\"semi;colon\"; filename=\"\"", "semi;colon", "", true},
      {"form-data; name=\"\"", "", "", false},
      {"form-data; name=\"utf8 \xc3\xa9\"; filename=\"\xe2\x82\xac.txt\"", "utf8 \xc3\xa9",
       "\xe2\x82\xac.txt", true},
      {"form-data; name=\"x\"; filename*=UTF-8''a%20b.txt; size=12", "x", "", false},
      {"form-data;; name=\"x\";;", "x", "", false},
  };
  for (const Sample& s : samples) {
    INFO("Content-Disposition: " << s.header);
    const std::string body = "--AaB03x\r\nContent-Disposition: " + s.header +
                             "\r\nX-Other:  ignored  \r\n\r\ndata\r\n" + closing();
    const Outcome o = parseOk(body);
    REQUIRE(o.parts.size() == 1);
    CHECK(o.parts[0].info.name == s.name);
    CHECK(o.parts[0].info.filename == s.filename);
    CHECK(o.parts[0].info.has_filename == s.has_filename);
    CHECK(o.parts[0].data == "data");
  }
}

TEST_CASE("multipart: part Content-Type is kept, trimmed", "[multipart]") {
  const std::string body =
      "--AaB03x\r\n"
      "CONTENT-TYPE: \t image/png; charset=binary \r\n"
      "Content-Disposition: form-data; name=\"pic\"; filename=\"p.png\"\r\n"
      "\r\n"
      "\x89PNG\r\n\x1a\n\r\n"
      "--AaB03x--\r\n";
  const Outcome o = parseOk(body);
  REQUIRE(o.parts.size() == 1);
  CHECK(o.parts[0].info.content_type == "image/png; charset=binary");
  CHECK(o.parts[0].data == "\x89PNG\r\n\x1a\n");
}

TEST_CASE("multipart: unusual boundaries", "[multipart]") {
  SECTION("one character") {
    Limits l;
    l.boundary = "x";
    const Outcome o = parseOk(field("a", "x--x\r\n-x\r\n--y\r\n--", "x") + closing("x"), l);
    REQUIRE(o.parts.size() == 1);
    CHECK(o.parts[0].data == "x--x\r\n-x\r\n--y\r\n--");
  }
  SECTION("dashes only") {
    Limits l;
    l.boundary = "--";
    const Outcome o =
        parseOk(field("a", "--\r\n---\r\n----x", "--") + field("b", "-", "--") + closing("--"), l);
    REQUIRE(o.parts.size() == 2);
    CHECK(o.parts[0].data == "--\r\n---\r\n----x");
    CHECK(o.parts[1].data == "-");
  }
  SECTION("70 characters with spaces and punctuation") {
    Limits l;
    l.boundary = std::string(59, '=') + "'()+_ ,./:";
    l.boundary += "?";
    REQUIRE(l.boundary.size() == 70);
    const std::string data = "\r\n--" + l.boundary.substr(0, 69);
    const Outcome o = parseOk(field("a", data, l.boundary) + closing(l.boundary), l);
    REQUIRE(o.parts.size() == 1);
    CHECK(o.parts[0].data == data);
  }
}

TEST_CASE("multipart: large binary part arrives whole", "[multipart]") {
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 1500; ++i) {
    x = x * 1103515245u + 12345u;
    const char alphabet[] = "\r\n-AaB03x\0\xff";
    data.push_back(alphabet[(x >> 16) % (sizeof(alphabet) - 1)]);
  }
  // The alphabet can spell the delimiter by chance; cut the sample there.
  const size_t hit = data.find("\r\n--AaB03x");
  if (hit != std::string::npos) data.resize(hit);
  const Outcome o = parseOk(field("blob", data) + closing());
  REQUIRE(o.parts.size() == 1);
  CHECK(o.parts[0].data == data);
}

TEST_CASE("multipart: no opening delimiter is BadPreamble", "[multipart]") {
  parseError("", MultipartError::BadPreamble);
  parseError("just some text", MultipartError::BadPreamble);
  parseError("--AaB03x", MultipartError::BadPreamble);
  parseError(field("a", "v", "other") + closing("other"), MultipartError::BadPreamble);
  // Bare LF line endings never produce a delimiter line.
  parseError("--AaB03x\nContent-Disposition: form-data; name=\"a\"\n\nv\n--AaB03x--\n",
             MultipartError::BadPreamble);
  // Junk after a committed first delimiter.
  parseError("--AaB03x  junk\r\n", MultipartError::BadPreamble);
  parseError("--AaB03x\rX", MultipartError::BadPreamble);
}

TEST_CASE("multipart: preamble is bounded by max_header_bytes", "[multipart]") {
  Limits l;
  l.max_header_bytes = 64;
  const std::string body = field("a", "v") + closing();
  // The CRLF before the first delimiter belongs to the delimiter, not the preamble.
  parseOk(std::string(64, 'p') + "\r\n" + body, l);
  parseError(std::string(65, 'p') + "\r\n" + body, MultipartError::BadPreamble, l);
  parseError(std::string(65, 'p'), MultipartError::BadPreamble, l);
  parseOk(body, l);
}

TEST_CASE("multipart: header block over the limit is HeaderTooLarge", "[multipart]") {
  const std::string header = "Content-Disposition: form-data; name=\"a\"\r\n\r\n";
  const std::string body = "--AaB03x\r\n" + header + "v\r\n" + closing();
  Limits l;
  l.max_header_bytes = header.size();
  parseOk(body, l);
  l.max_header_bytes = header.size() - 1;
  parseError(body, MultipartError::HeaderTooLarge, l);

  // The limit is per part, not for the whole body.
  l.max_header_bytes = header.size();
  CHECK(parseOk(body.substr(0, body.size() - closing().size()) + "--AaB03x\r\n" + header + "w\r\n" +
                    closing(),
                l)
            .parts.size() == 2);

  // One endless header line fails once it passes the limit, never buffering more.
  Limits small;
  small.max_header_bytes = 100;
  parseError("--AaB03x\r\nX-Long: " + std::string(300, 'a'), MultipartError::HeaderTooLarge, small);
}

TEST_CASE("multipart: malformed part headers are BadHeader", "[multipart]") {
  const std::vector<std::string> headers = {
      "no colon here",
      ": empty name",
      "Bad Name: x",
      "Content-Disposition : form-data; name=\"a\"",
      " folded: continuation",
      "Content-Disposition: attachment; name=\"a\"",
      "Content-Disposition: form-data; name=\"a\"; name=\"b\"",
      "Content-Disposition: form-data; name=\"a\"; filename=\"x\"; FILENAME=\"y\"",
      "Content-Disposition: form-data; name=\"unterminated",
      "Content-Disposition: form-data; name=",
      "Content-Disposition: form-data; name=\"a\" junk",
      "Content-Disposition: form-data; =\"a\"",
      "Content-Disposition: form-data; name",
      "Content-Disposition: form-data name=\"a\"",
      "Content-Disposition:",
      std::string("Content-Disposition: form-data; name=\"a\0b\"", 41),
      "Content-Disposition: form-data; name=\"a\"\nX: y",
      "Content-Disposition: form-data; name=\"a\"\rX: y",
      "Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"a\"",
      "Content-Type: text/plain\r\nContent-Type: text/html",
  };
  for (const std::string& h : headers) {
    INFO("header: " << printable(h));
    const std::string body = "--AaB03x\r\n" + h + "\r\n\r\ndata\r\n" + closing();
    const Outcome o = parseError(body, MultipartError::BadHeader);
    CHECK(o.parts.empty());
  }
}

TEST_CASE("multipart: junk after a later delimiter is BadHeader", "[multipart]") {
  const Outcome o = parseError(field("a", "1") + "--AaB03x \tjunk\r\n", MultipartError::BadHeader);
  REQUIRE(o.parts.size() == 1);
  CHECK(o.parts[0].data == "1");
  CHECK(o.parts[0].ended);
  parseError(field("a", "1") + "--AaB03x\r\r\n", MultipartError::BadHeader);
}

TEST_CASE("multipart: parts without a usable Content-Disposition", "[multipart]") {
  parseError("--AaB03x\r\n\r\ndata\r\n" + closing(), MultipartError::MissingContentDisposition);
  parseError("--AaB03x\r\nContent-Type: text/plain\r\n\r\ndata\r\n" + closing(),
             MultipartError::MissingContentDisposition);
  parseError("--AaB03x\r\nContent-Disposition: form-data\r\n\r\ndata\r\n" + closing(),
             MultipartError::MissingContentDisposition);
  parseError("--AaB03x\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nd\r\n" + closing(),
             MultipartError::MissingContentDisposition);
  // Earlier good parts were delivered and ended before the bad one failed.
  const Outcome o = parseError(field("ok", "1") + "--AaB03x\r\nX-A: b\r\n\r\nd\r\n" + closing(),
                               MultipartError::MissingContentDisposition);
  REQUIRE(o.parts.size() == 1);
  CHECK(o.parts[0].ended);
}

TEST_CASE("multipart: max_parts", "[multipart]") {
  Limits l;
  l.max_parts = 2;
  const std::string two = field("a", "1") + field("b", "2");
  CHECK(parseOk(two + closing(), l).parts.size() == 2);
  const Outcome o = parseError(two + field("c", "3") + closing(), MultipartError::TooManyParts, l);
  REQUIRE(o.parts.size() == 2);
  CHECK(o.parts[1].ended);

  l.max_parts = 0;
  parseError(field("a", "1") + closing(), MultipartError::TooManyParts, l);
  CHECK(parseOk(closing(), l).parts.empty());
}

TEST_CASE("multipart: truncated bodies are UnexpectedEnd", "[multipart]") {
  const std::string body = field("a", "hello") + field("b", "world") + closing();
  // Every proper prefix that got past the first delimiter line must fail, and
  // only the parts whose next delimiter was committed (by the CR after it)
  // are ended.
  const size_t first_line = std::string("--AaB03x\r\n").size();
  for (size_t len = first_line; len < body.size(); ++len) {
    const std::string prefix = body.substr(0, len);
    const bool closed = prefix.find("--AaB03x--") != std::string::npos;
    if (closed) continue;
    INFO("prefix: " << printable(prefix));
    const Outcome o = run(prefix, {});
    CHECK(o.error == MultipartError::UnexpectedEnd);
    CHECK_FALSE(o.finished);
    CHECK(o.violation.empty());
    size_t committed = 0;
    for (size_t at = prefix.find("\r\n--AaB03x\r"); at != std::string::npos;
         at = prefix.find("\r\n--AaB03x\r", at + 1)) {
      ++committed;
    }
    size_t ended = 0;
    for (const Part& p : o.parts) ended += p.ended ? 1 : 0;
    CHECK(ended == committed);
    for (size_t k = 0; k < ended; ++k) CHECK(o.parts[k].ended);
  }
  // A few of them through every chunking as well.
  parseError(body.substr(0, 30), MultipartError::UnexpectedEnd);
  parseError(field("a", "hello"), MultipartError::UnexpectedEnd);
  parseError(field("a", "hello") + "--AaB03x", MultipartError::UnexpectedEnd);
  parseError(field("a", "hello") + "--AaB03x-", MultipartError::UnexpectedEnd);
  const Outcome o =
      parseError("--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--AaB0",
                 MultipartError::UnexpectedEnd);
  REQUIRE(o.parts.size() == 1);
  CHECK_FALSE(o.parts[0].ended);
  CHECK(o.parts[0].data == "hello");  // the possible delimiter prefix is held back
}

TEST_CASE("multipart: feeding stops after an error and after the end", "[multipart]") {
  Outcome out;
  Recorder recorder(out);
  MultipartParser parser(kBoundary, recorder);
  CHECK_FALSE(parser.feed("nonsense\r\n--AaB03x\r\n: bad\r\n"));
  CHECK(parser.error() == MultipartError::BadHeader);
  CHECK_FALSE(parser.feed(field("a", "1")));
  CHECK_FALSE(parser.feed(""));
  CHECK_FALSE(parser.finish());
  CHECK(parser.error() == MultipartError::BadHeader);
  CHECK(out.parts.empty());

  Outcome out2;
  Recorder recorder2(out2);
  MultipartParser done(kBoundary, recorder2);
  CHECK(done.feed(field("a", "1") + closing()));
  CHECK(done.done());
  CHECK(done.feed("anything at all"));
  CHECK(done.feed(""));
  CHECK(done.finish());
  CHECK(out2.parts.size() == 1);
}

TEST_CASE("multipart: an invalid boundary fails at once", "[multipart]") {
  for (const std::string& b :
       {std::string(), std::string(71, 'a'), std::string("a\rb"), std::string("a\nb"),
        std::string("trailing "), std::string("semi;colon")}) {
    INFO("boundary: " << printable(b));
    Outcome out;
    Recorder recorder(out);
    MultipartParser parser(b, recorder);
    CHECK(parser.error() == MultipartError::BadPreamble);
    CHECK_FALSE(parser.feed("--" + b + "--\r\n"));
    CHECK_FALSE(parser.finish());
  }
}

TEST_CASE("multipart: every error has actionable text", "[multipart]") {
  for (MultipartError e :
       {MultipartError::None, MultipartError::BadPreamble, MultipartError::HeaderTooLarge,
        MultipartError::BadHeader, MultipartError::MissingContentDisposition,
        MultipartError::TooManyParts, MultipartError::UnexpectedEnd}) {
    const std::string text = redge::multipartErrorText(e);
    CHECK(text.size() > 10);
    CHECK(text.back() == '.');
  }
  CHECK(std::string(redge::multipartErrorText(MultipartError::BadPreamble)) !=
        redge::multipartErrorText(MultipartError::BadHeader));
}
