// libFuzzer target for MultipartParser. The first bytes of the input pick a
// boundary, the limits and where to cut the body; the rest is the body. Each
// body is parsed whole, in the chosen chunks and one byte at a time, and all
// three must agree on every part's headers, bytes and end, and on the error.
// A body that parsed cleanly is written out again with the same boundary and
// must parse to the same parts: the emitted data can never hide a delimiter.
// Any disagreement or broken handler contract traps.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/multipart_parser.hpp"

namespace {

using redge::MultipartError;
using redge::MultipartHandler;
using redge::MultipartParser;
using redge::MultipartPartInfo;

// Short and long, with dashes, space and punctuation, so the prefix logic
// meets boundaries that overlap "--" and the padding rules.
constexpr std::string_view kBoundaries[] = {
    "AaB03x",
    "x",
    "--",
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
};

struct Part {
  MultipartPartInfo info;
  std::string data;
  bool ended = false;

  bool operator==(const Part& o) const {
    return info.name == o.info.name && info.filename == o.info.filename &&
           info.content_type == o.info.content_type && info.has_filename == o.info.has_filename &&
           data == o.data && ended == o.ended;
  }
};

struct Outcome {
  std::vector<Part> parts;
  MultipartError error = MultipartError::None;
  bool finished = false;

  bool operator==(const Outcome& o) const {
    return parts == o.parts && error == o.error && finished == o.finished;
  }
};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

class Recorder : public MultipartHandler {
 public:
  explicit Recorder(Outcome& out) : out_(out) {}
  void onPartBegin(const MultipartPartInfo& info) override {
    check(!open_);
    open_ = true;
    out_.parts.push_back(Part{info, {}, false});
  }
  void onPartData(std::string_view data) override {
    check(open_ && !data.empty());
    out_.parts.back().data.append(data);
  }
  void onPartEnd() override {
    check(open_);
    open_ = false;
    out_.parts.back().ended = true;
  }

 private:
  Outcome& out_;
  bool open_ = false;
};

struct Setup {
  std::string_view boundary;
  size_t max_header_bytes;
  size_t max_parts;
};

// Feeds `body` in pieces of the given lengths (the remainder last) and finishes.
Outcome parse(std::string_view body, const std::vector<size_t>& lengths, const Setup& setup) {
  Outcome out;
  Recorder recorder(out);
  MultipartParser parser(setup.boundary, recorder, setup.max_header_bytes, setup.max_parts);
  bool failed = false;
  auto feed = [&](std::string_view chunk) {
    const bool ok = parser.feed(chunk);
    check(!(failed && ok));
    check(ok == (parser.error() == MultipartError::None));
    failed = failed || !ok;
  };
  size_t pos = 0;
  for (size_t len : lengths) {
    if (pos >= body.size()) break;
    const std::string_view piece = body.substr(pos, len);
    feed(piece);
    pos += piece.size();
  }
  feed(body.substr(pos));
  out.finished = parser.finish();
  out.error = parser.error();
  check(out.finished == parser.done());
  check(out.finished == (out.error == MultipartError::None));
  check(out.parts.size() <= setup.max_parts);
  size_t data_bytes = 0;
  for (const Part& p : out.parts) {
    data_bytes += p.data.size();
    check(!out.finished || p.ended);
  }
  check(data_bytes <= body.size());
  return out;
}

void appendQuoted(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// Writes parts back out in the plainest form the parser accepts.
std::string serialize(const std::vector<Part>& parts, std::string_view boundary) {
  std::string body;
  for (const Part& p : parts) {
    body.append("--").append(boundary).append("\r\nContent-Disposition: form-data; name=");
    appendQuoted(body, p.info.name);
    if (p.info.has_filename) {
      body.append("; filename=");
      appendQuoted(body, p.info.filename);
    }
    body.append("\r\n");
    if (!p.info.content_type.empty()) {
      body.append("Content-Type: ").append(p.info.content_type).append("\r\n");
    }
    body.append("\r\n").append(p.data).append("\r\n");
  }
  body.append("--").append(boundary).append("--\r\n");
  return body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: boundary (low 2 bits), number of cuts (next 3 bits).
  // Byte 1: header limit (low 6 bits, 32..536) and part limit (high 2 bits).
  const uint8_t mode = data[0];
  const uint8_t limits = data[1];
  Setup setup{kBoundaries[mode & 3], 32 + static_cast<size_t>(limits & 0x3f) * 8,
              1 + static_cast<size_t>(limits >> 6) * 3};
  size_t pos = 2;
  std::vector<size_t> lengths;
  const size_t cuts = (mode >> 2) & 7;
  for (size_t k = 0; k < cuts && pos < size; ++k) lengths.push_back(data[pos++]);
  const std::string_view body(reinterpret_cast<const char*>(data) + pos, size - pos);

  const Outcome whole = parse(body, {}, setup);
  check(parse(body, lengths, setup) == whole);
  check(parse(body, std::vector<size_t>(body.size(), 1), setup) == whole);

  if (whole.finished) {
    // Header lines may be longer written out (escapes), so lift the limit.
    const Setup roomy{setup.boundary, 1 << 20, setup.max_parts};
    check(parse(serialize(whole.parts, setup.boundary), {}, roomy) == whole);
  }
  return 0;
}
