// multipart/form-data: the boundary lookup on Content-Type and the streaming
// body parser (RFC 7578 on top of RFC 2046 section 5.1.1 framing).
//
// The body is a state machine driven one byte at a time except in the two
// hot states, the preamble and part data, which hunt for the delimiter
// "CRLF--boundary" with memchr for CR and then compare in place. Because a
// boundary can contain neither CR nor LF, CR appears in the delimiter only at
// its first position: after a mismatch the longest delimiter prefix that can
// still be in play is the current byte alone (when it is CR). That keeps the
// look-behind a plain counter into the delimiter, with no data buffered and no
// failure table; held-back bytes are re-emitted from the delimiter string.
// Part data is handed out in a few slices per chunk, never byte by byte.

#include "net/http/multipart_parser.hpp"

#include <algorithm>
#include <cstring>

#include "core/ascii.hpp"

namespace redge {
namespace {

constexpr size_t kMaxBoundaryLength = 70;  // RFC 2046 section 5.1.1

bool isOws(char c) {
  return c == ' ' || c == '\t';
}

bool isAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 9110 tchar: what header names, parameter names and media types are made of.
bool isTchar(unsigned char c) {
  return isAlnum(c) || (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

// RFC 2046 bchars. No CR or LF is allowed, which the delimiter matcher relies on.
bool isBoundaryChar(unsigned char c) {
  return isAlnum(c) || (c != '\0' && std::strchr("'()+_,-./:=? ", c) != nullptr);
}

bool isValidBoundary(std::string_view b) {
  if (b.empty() || b.size() > kMaxBoundaryLength || b.back() == ' ') return false;
  return std::all_of(b.begin(), b.end(), [](char c) { return isBoundaryChar(c); });
}

size_t skipOws(std::string_view s, size_t pos) {
  while (pos < s.size() && isOws(s[pos])) ++pos;
  return pos;
}

std::string_view trimOws(std::string_view s) {
  size_t begin = skipOws(s, 0);
  size_t end = s.size();
  while (end > begin && isOws(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

// Walks `*( OWS ";" OWS [ token OWS "=" OWS ( quoted-string / bare ) ] )` from
// s[pos], calling on_param(name, value) for each parameter; `value` is scratch
// space owned by the caller. Empty parameters (";;", a trailing ';') are
// tolerated because clients emit them; anything else malformed returns false,
// as does on_param returning false.
template <typename OnParam>
bool forEachParam(std::string_view s, size_t pos, std::string& value, OnParam&& on_param) {
  const size_t n = s.size();
  for (;;) {
    pos = skipOws(s, pos);
    if (pos == n) return true;
    if (s[pos] != ';') return false;
    pos = skipOws(s, pos + 1);
    if (pos == n || s[pos] == ';') continue;

    const size_t name_begin = pos;
    while (pos < n && isTchar(s[pos])) ++pos;
    if (pos == name_begin) return false;
    const std::string_view name = s.substr(name_begin, pos - name_begin);
    pos = skipOws(s, pos);
    if (pos == n || s[pos] != '=') return false;
    pos = skipOws(s, pos + 1);

    value.clear();
    if (pos < n && s[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < n) {
        char c = s[pos++];
        if (c == '"') {
          closed = true;
          break;
        }
        // Only \" and \\ are escapes: browsers never send quoted-pairs, and old
        // clients send Windows paths with bare backslashes that must survive.
        if (c == '\\' && pos < n && (s[pos] == '"' || s[pos] == '\\')) c = s[pos++];
        value.push_back(c);
      }
      if (!closed) return false;
    } else {
      // Bare values are read leniently (not only tchar): `boundary=a/b` and
      // unquoted UTF-8 names are common and unambiguous up to ';' or space.
      const size_t begin = pos;
      while (pos < n && s[pos] != ';' && s[pos] != '"' && !isOws(s[pos])) ++pos;
      if (pos == begin) return false;
      value.assign(s.substr(begin, pos - begin));
    }
    if (!on_param(name, std::string_view(value))) return false;
  }
}

bool isHeaderByteAllowed(unsigned char c) {
  return c >= 0x20 ? c != 0x7f : c == '\t';
}

}  // namespace

bool extractMultipartBoundary(std::string_view content_type, std::string& boundary_out) {
  const size_t semi = content_type.find(';');
  if (!equalsIgnoreCase(trimOws(content_type.substr(0, semi)), "multipart/form-data")) {
    return false;
  }
  if (semi == std::string_view::npos) return false;

  std::string scratch;
  std::string boundary;
  bool found = false;
  const bool well_formed =
      forEachParam(content_type, semi, scratch, [&](std::string_view name, std::string_view value) {
        if (!equalsIgnoreCase(name, "boundary")) return true;
        if (found) return false;  // two boundaries: no way to know which one the body uses
        found = true;
        boundary.assign(value);
        return true;
      });
  if (!well_formed || !found || !isValidBoundary(boundary)) return false;
  boundary_out = std::move(boundary);
  return true;
}

const char* multipartErrorText(MultipartError e) {
  switch (e) {
    case MultipartError::None:
      return "The multipart body is well-formed.";
    case MultipartError::BadPreamble:
      return "The body does not open with the boundary named in Content-Type; check that the "
             "boundary parameter matches the body and that its lines end in CRLF.";
    case MultipartError::HeaderTooLarge:
      return "A part's header block is larger than the server accepts; send shorter part "
             "headers (field names and file names).";
    case MultipartError::BadHeader:
      return "A part's header block or boundary line is malformed; each header must be "
             "`Name: value` ending in CRLF, and a boundary line may carry only trailing spaces.";
    case MultipartError::MissingContentDisposition:
      return "A part has no `Content-Disposition: form-data; name=\"...\"` header; every form "
             "part must say which field it is.";
    case MultipartError::TooManyParts:
      return "The form has more parts than the server accepts; send fewer fields or files per "
             "request.";
    case MultipartError::UnexpectedEnd:
      return "The body ended before the closing boundary `--boundary--`; the upload was cut off "
             "and should be sent again.";
  }
  return "The multipart body is malformed.";
}

MultipartParser::MultipartParser(std::string_view boundary, MultipartHandler& handler,
                                 size_t max_header_bytes, size_t max_parts)
    : handler_(handler), max_header_bytes_(max_header_bytes), max_parts_(max_parts) {
  delimiter_.reserve(4 + boundary.size());
  delimiter_.append("\r\n--").append(boundary);
  // The matcher's look-behind rule holds only for RFC boundaries (no CR).
  if (!isValidBoundary(boundary)) fail(MultipartError::BadPreamble);
}

bool MultipartParser::fail(MultipartError e) {
  state_ = State::Error;
  error_ = e;
  return false;
}

// Advances over chunk[i..) until the whole delimiter has been matched (and
// returns the index just past it) or the chunk runs out (returns its size).
size_t MultipartParser::matchDelimiter(std::string_view chunk, size_t i) {
  const size_t n = chunk.size();
  const char* data = chunk.data();
  while (i < n) {
    if (matched_ == 0) {
      const void* cr = std::memchr(data + i, '\r', n - i);
      if (cr == nullptr) return n;
      i = static_cast<size_t>(static_cast<const char*>(cr) - data) + 1;
      matched_ = 1;
      continue;
    }
    const char c = data[i++];
    if (c == delimiter_[matched_]) {
      if (++matched_ == delimiter_.size()) return i;
    } else {
      // CR sits only at delimiter_[0], so no longer prefix can survive.
      matched_ = c == '\r' ? 1 : 0;
    }
  }
  return n;
}

// `stretch` was just scanned in Data state, and `carry` delimiter bytes held
// from earlier feeds precede it. Everything but the last matched_ bytes of
// carry + stretch is now known to be data. Released carry bytes come from
// delimiter_ itself, minus the phantom CRLF a part starts with. A release is
// either nothing or at least the whole carry (a match restarts only at a byte
// of this stretch), so any release passes the phantom bytes for good.
void MultipartParser::emitData(std::string_view stretch, size_t carry) {
  const size_t safe = carry + stretch.size() - matched_;
  if (safe == 0) return;
  const size_t from_carry = std::min(safe, carry);
  if (from_carry > phantom_) {
    handler_.onPartData(std::string_view(delimiter_).substr(phantom_, from_carry - phantom_));
  }
  if (safe > from_carry) handler_.onPartData(stretch.substr(0, safe - from_carry));
  phantom_ = 0;
}

// The matched delimiter is followed by padding, CR or "--": it is a real one.
bool MultipartParser::commitDelimiter(bool closing) {
  phantom_ = 0;
  if (in_part_) {
    in_part_ = false;
    handler_.onPartEnd();
  }
  if (closing) {
    state_ = State::Done;
    return true;
  }
  if (parts_ == max_parts_) return fail(MultipartError::TooManyParts);
  ++parts_;
  return true;
}

// The delimiter turned out to be followed by an ordinary byte, so the line is
// not a delimiter line (RFC 2046 grammar) and what was held back is data.
void MultipartParser::rejectDelimiter(bool with_dash) {
  const size_t phantom = phantom_;
  matched_ = 0;
  phantom_ = 0;
  if (!in_part_) {
    state_ = State::Preamble;
    return;
  }
  handler_.onPartData(std::string_view(delimiter_).substr(phantom));
  if (with_dash) handler_.onPartData("-");
  state_ = State::Data;
}

void MultipartParser::startHeaders() {
  state_ = State::Header;
  header_bytes_ = 0;
  line_.clear();
  // clear() rather than a fresh struct keeps the strings' capacity for the next part.
  info_.name.clear();
  info_.filename.clear();
  info_.content_type.clear();
  info_.has_filename = false;
  has_disposition_ = false;
  has_name_ = false;
  has_content_type_ = false;
}

bool MultipartParser::endHeaderLine() {
  if (line_.empty()) return endHeaders();
  const MultipartError e = parseHeaderLine(line_);
  if (e != MultipartError::None) return fail(e);
  line_.clear();
  state_ = State::Header;
  return true;
}

bool MultipartParser::endHeaders() {
  // RFC 7578 4.2: each part MUST have Content-Disposition form-data with a name.
  if (!has_disposition_ || !has_name_) return fail(MultipartError::MissingContentDisposition);
  in_part_ = true;
  // RFC 2046: body-part := MIME-part-headers [CRLF *OCTET], so the CRLF of the
  // blank line may double as the delimiter's: "--boundary" right after it
  // ends an empty part. Start the matcher as though that CRLF were unseen,
  // and remember it is not data if the match falls through.
  matched_ = 2;
  phantom_ = 2;
  state_ = State::Data;
  handler_.onPartBegin(info_);
  return true;
}

MultipartError MultipartParser::parseHeaderLine(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return MultipartError::BadHeader;
  const std::string_view name = line.substr(0, colon);
  // Also rejects obsolete line folding and space before the colon (RFC 9112 5.1).
  if (!std::all_of(name.begin(), name.end(), [](char c) { return isTchar(c); })) {
    return MultipartError::BadHeader;
  }
  const std::string_view value = trimOws(line.substr(colon + 1));

  if (equalsIgnoreCase(name, "content-type")) {
    if (has_content_type_) return MultipartError::BadHeader;
    has_content_type_ = true;
    info_.content_type.assign(value);
    return MultipartError::None;
  }
  if (!equalsIgnoreCase(name, "content-disposition")) return MultipartError::None;

  if (has_disposition_) return MultipartError::BadHeader;
  has_disposition_ = true;
  size_t pos = 0;
  while (pos < value.size() && isTchar(value[pos])) ++pos;
  if (!equalsIgnoreCase(value.substr(0, pos), "form-data")) return MultipartError::BadHeader;

  std::string scratch;
  const bool ok = forEachParam(value, pos, scratch, [this](std::string_view p, std::string_view v) {
    if (equalsIgnoreCase(p, "name")) {
      if (has_name_) return false;
      has_name_ = true;
      info_.name.assign(v);
    } else if (equalsIgnoreCase(p, "filename")) {
      if (info_.has_filename) return false;
      info_.has_filename = true;
      info_.filename.assign(v);
    }
    return true;
  });
  return ok ? MultipartError::None : MultipartError::BadHeader;
}

bool MultipartParser::feed(std::string_view chunk) {
  const size_t n = chunk.size();
  size_t i = 0;
  while (i < n) {
    switch (state_) {
      case State::Error:
        return false;
      case State::Done:
        return true;  // epilogue: RFC 2046 says to ignore it

      case State::Preamble: {
        const size_t begin = i;
        i = matchDelimiter(chunk, i);
        preamble_bytes_ += i - begin;
        // Bytes before the current partial match are certainly preamble. Real
        // clients send none, so a long one means the boundary is wrong.
        if (preamble_bytes_ > matched_ && preamble_bytes_ - matched_ > max_header_bytes_) {
          return fail(MultipartError::BadPreamble);
        }
        if (matched_ == delimiter_.size()) state_ = State::Boundary;
        break;
      }

      case State::Data: {
        const size_t carry = matched_;
        const size_t begin = i;
        i = matchDelimiter(chunk, i);
        emitData(chunk.substr(begin, i - begin), carry);
        if (matched_ == delimiter_.size()) state_ = State::Boundary;
        break;
      }

      case State::Boundary: {
        const char c = chunk[i];
        if (c == '-') {
          ++i;
          if (!in_part_) ++preamble_bytes_;
          state_ = State::CloseDash;
        } else if (isOws(c) || c == '\r') {
          ++i;
          if (!commitDelimiter(false)) return false;
          state_ = c == '\r' ? State::DelimiterLf : State::Padding;
        } else {
          rejectDelimiter(false);  // c is looked at again in the new state
        }
        break;
      }

      case State::CloseDash:
        if (chunk[i] == '-') {
          ++i;
          commitDelimiter(true);
        } else {
          rejectDelimiter(true);
        }
        break;

      case State::Padding: {
        const char c = chunk[i++];
        if (c == '\r') {
          state_ = State::DelimiterLf;
        } else if (!isOws(c)) {
          return fail(opened_ ? MultipartError::BadHeader : MultipartError::BadPreamble);
        }
        break;
      }

      case State::DelimiterLf:
        if (chunk[i++] != '\n') {
          return fail(opened_ ? MultipartError::BadHeader : MultipartError::BadPreamble);
        }
        opened_ = true;
        startHeaders();
        break;

      case State::Header: {
        const unsigned char c = static_cast<unsigned char>(chunk[i++]);
        if (++header_bytes_ > max_header_bytes_) return fail(MultipartError::HeaderTooLarge);
        if (c == '\r') {
          state_ = State::HeaderLf;
        } else if (!isHeaderByteAllowed(c)) {
          return fail(MultipartError::BadHeader);  // bare LF, NUL and other controls
        } else {
          line_.push_back(static_cast<char>(c));
        }
        break;
      }

      case State::HeaderLf:
        if (++header_bytes_ > max_header_bytes_) return fail(MultipartError::HeaderTooLarge);
        if (chunk[i++] != '\n') return fail(MultipartError::BadHeader);
        if (!endHeaderLine()) return false;
        break;
    }
  }
  return state_ != State::Error;
}

bool MultipartParser::finish() {
  if (state_ == State::Error) return false;
  if (state_ == State::Done) return true;
  return fail(opened_ ? MultipartError::UnexpectedEnd : MultipartError::BadPreamble);
}

}  // namespace redge
