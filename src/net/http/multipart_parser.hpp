#pragma once
// Streaming multipart/form-data (RFC 7578, framing from RFC 2046 section 5.1).
// The parser is push-based: the caller feeds the request body in whatever
// chunks the socket delivers, and a MultipartHandler hears about each part as
// its headers end and its bytes arrive. Nothing of a part's body is buffered:
// the only look-behind is a partial delimiter match, which is always a prefix
// of the delimiter itself, so memory per parser is the boundary, one part's
// header block (up to max_header_bytes) and a few counters.
//
// Line endings: CRLF only, as RFC 2046 and RFC 7578 require. A delimiter is
// recognised only after CRLF (at the very start of the body and right after a
// part's header block that CRLF may be the one already read), and header
// lines must end in CRLF; a bare CR or LF inside a header block is BadHeader.
// A body written with bare LF never shows an opening delimiter line, so it is
// rejected with BadPreamble rather than half-parsed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace redge {

// Pulls the boundary parameter out of a Content-Type header value such as
// `multipart/form-data; boundary="abc"`: quoted or bare value, media type and
// parameter name matched case-insensitively, other parameters skipped (quoted
// ones may contain ';'). Returns false, leaving boundary_out untouched, if the
// type is not multipart/form-data, the parameter list is malformed, boundary
// is missing or given twice, or the value is not an RFC 2046 boundary
// (1..70 of DIGIT ALPHA '()+_,-./:=? and space, not ending in space).
bool extractMultipartBoundary(std::string_view content_type, std::string& boundary_out);

// What a part said about itself in its header block.
struct MultipartPartInfo {
  std::string name;      // Content-Disposition name parameter (required, may be empty)
  std::string filename;  // filename parameter as sent: may hold a client path; never trust it
  std::string
      content_type;  // Content-Type value trimmed; empty if absent (RFC default: text/plain)
  bool has_filename = false;  // filename="" (a file input left empty) is has_filename with ""
};

// Receives the parts of one body, in order. Callbacks run synchronously inside
// MultipartParser::feed() and must not call back into the same parser.
// For every part: onPartBegin once, onPartData zero or more times (never with
// an empty view; the view is valid only during the call), then onPartEnd once
// the delimiter after it has been seen. A part cut short by an error or by the
// end of the body gets no onPartEnd: the handler should discard it.
class MultipartHandler {
 public:
  virtual ~MultipartHandler() = default;
  virtual void onPartBegin(const MultipartPartInfo& info) = 0;
  virtual void onPartData(std::string_view data) = 0;  // may be called many times per part
  virtual void onPartEnd() = 0;
};

enum class MultipartError {
  None,
  BadPreamble,  // no opening delimiter line (within max_header_bytes of preamble)
  HeaderTooLarge,
  BadHeader,  // malformed header line, or junk after a delimiter on its line
  MissingContentDisposition,
  TooManyParts,
  UnexpectedEnd,  // finish() before the closing delimiter
};

// One sentence a person can act on; never null.
const char* multipartErrorText(MultipartError e);

// Parses one multipart/form-data body. Not copyable; single-threaded.
//
// Accepted: a preamble before the first delimiter (ignored, but bounded by
// max_header_bytes so a body with the wrong boundary fails early), transport
// padding (spaces and tabs) after any delimiter, an epilogue after the closing
// delimiter (ignored), and a body holding only the closing delimiter (zero
// parts). A line that starts with the delimiter but continues with something
// other than padding, CR or "--" is not a delimiter and stays part data, as
// the boundary was never matched; once padding or CR follows the boundary the
// line is committed as a delimiter and anything but CRLF then is an error.
// The blank line ending a part's headers also counts as the CRLF before a
// delimiter (RFC 2046: body-part := headers [CRLF *OCTET]), so
// "...\r\n\r\n--boundary" right after the headers is an empty part.
//
// Part headers: names case-insensitive; Content-Disposition must be
// `form-data` with a `name` parameter; parameter values may be tokens or
// quoted strings, where a backslash escapes only '"' and '\' (other
// backslashes stay literal, so `filename="C:\dir\a.txt"` from old clients
// survives). A repeated Content-Disposition, Content-Type, name or filename is
// BadHeader: two parsers reading different values is how smuggling starts.
// Other headers and parameters (filename* included, see RFC 7578 4.2) are
// ignored.
class MultipartParser {
 public:
  // `boundary` is copied. A boundary that extractMultipartBoundary() would
  // reject puts the parser straight into the BadPreamble error state.
  // max_header_bytes bounds each part's header block (CRLFs included) and the
  // preamble; max_parts bounds the number of parts begun.
  MultipartParser(std::string_view boundary, MultipartHandler& handler,
                  size_t max_header_bytes = 8192, size_t max_parts = 64);
  MultipartParser(const MultipartParser&) = delete;
  MultipartParser& operator=(const MultipartParser&) = delete;

  // Consumes bytes; returns false once an error happened (error() says which);
  // after the closing delimiter `--boundary--` the rest (epilogue) is ignored.
  bool feed(std::string_view chunk);
  // Call at end of body: returns false (UnexpectedEnd) unless the closing
  // delimiter was seen; BadPreamble if not even the opening one was.
  bool finish();
  bool done() const { return state_ == State::Done; }
  MultipartError error() const { return error_; }

 private:
  enum class State {
    Preamble,     // discarding bytes until the first delimiter
    Data,         // inside a part body, looking for CRLF--boundary
    Boundary,     // the whole delimiter matched; the next byte decides
    CloseDash,    // delimiter + '-': a second '-' closes the body
    Padding,      // committed delimiter, skipping spaces and tabs
    DelimiterLf,  // committed delimiter, CR seen, LF expected
    Header,       // collecting one header line
    HeaderLf,     // header line CR seen, LF expected
    Done,
    Error,
  };

  size_t matchDelimiter(std::string_view chunk, size_t i);
  void emitData(std::string_view stretch, size_t carry);
  bool commitDelimiter(bool closing);
  void rejectDelimiter(bool with_dash);
  void startHeaders();
  bool endHeaderLine();
  bool endHeaders();
  MultipartError parseHeaderLine(std::string_view line);
  bool fail(MultipartError e);

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartHandler& handler_;
  const size_t max_header_bytes_;
  const size_t max_parts_;

  State state_ = State::Preamble;
  MultipartError error_ = MultipartError::None;
  // Length of the delimiter prefix matched so far. These bytes have not been
  // emitted yet; they equal delimiter_[0, matched_), so they need no buffer.
  // The body starts as though a CRLF preceded it: the first delimiter may open
  // the body without one (RFC 2046: "dash-boundary" with no leading CRLF).
  size_t matched_ = 2;
  // How many of those held bytes were never in the body: the CRLF assumed at
  // the start of the body and of each part's data. Never emitted as data.
  size_t phantom_ = 2;
  uint64_t preamble_bytes_ = 0;
  size_t parts_ = 0;  // parts begun, checked against max_parts_
  size_t header_bytes_ = 0;
  bool opened_ = false;   // the first delimiter line ended in CRLF
  bool in_part_ = false;  // onPartBegin called, onPartEnd not yet

  std::string line_;  // the header line being collected
  MultipartPartInfo info_;
  bool has_disposition_ = false;
  bool has_name_ = false;
  bool has_content_type_ = false;
};

}  // namespace redge
