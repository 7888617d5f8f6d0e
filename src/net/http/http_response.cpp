// Response serialization: status line, the fixed headers every response
// carries (Server, Date, Content-Type, Content-Length, Connection), the
// handler's extra headers, then the body. Written straight into the
// connection's output buffer, so a response costs no allocation once the
// buffer has grown to its working size.

#include "net/http/http_response.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "core/json_escape.hpp"

namespace redge {

std::string_view httpStatusText(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 207:
      return "Multi-Status";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 418:
      return "I'm a teapot";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 423:
      return "Locked";
    case 424:
      return "Failed Dependency";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    case 511:
      return "Network Authentication Required";
    default:
      return "Unknown";
  }
}

namespace {

// Copies pieces into space sized beforehand: the size of a response head is
// summed first, the buffer grows once, and each piece is one memcpy, so the
// cost does not hang on which std::string::append overloads the compiler
// chooses to inline.
class ResponseHeadWriter {
 public:
  explicit ResponseHeadWriter(char* at) : at_(at) {}
  void put(std::string_view piece) {
    if (piece.empty()) return;  // an empty view may hold a null pointer, which memcpy must not see
    std::memcpy(at_, piece.data(), piece.size());
    at_ += piece.size();
  }
  void put(char c) { *at_++ = c; }

 private:
  char* at_;
};

std::string_view decimalText(char (&digits)[24], uint64_t value) {
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  return {digits, static_cast<size_t>(end - digits)};
}

}  // namespace

void serializeResponse(std::string& out, const HttpResponse& r, std::string_view date,
                       const ResponseFraming& framing) {
  using namespace std::string_view_literals;
  constexpr std::string_view kStatusPrefix = "HTTP/1.1 "sv;
  constexpr std::string_view kServerDate = "\r\nServer: redge\r\nDate: "sv;
  constexpr std::string_view kContentType = "\r\nContent-Type: "sv;
  constexpr std::string_view kContentLength = "\r\nContent-Length: "sv;
  constexpr std::string_view kHeaderEnd = "\r\n\r\n"sv;
  char status_digits[24];
  char length_digits[24];
  const std::string_view status = decimalText(status_digits, static_cast<uint64_t>(r.status));
  const std::string_view reason = httpStatusText(r.status);
  // Content-Length: the body's size, a number stated for an answer passed
  // on (a HEAD or 304 from an upstream), or none at all (a 204).
  const bool has_length = r.content_length != HttpResponse::kNoContentLength;
  const std::string_view length =
      decimalText(length_digits,
                  r.content_length >= 0 ? static_cast<uint64_t>(r.content_length) : r.body.size());
  std::string_view connection;
  if (!framing.keep_alive || r.close) {
    connection = "\r\nConnection: close"sv;
  } else if (framing.http10) {
    connection = "\r\nConnection: keep-alive"sv;
  }

  if (!r.own_server_date) date = {};
  const std::string_view server_date = r.own_server_date ? kServerDate : std::string_view();
  size_t size = kStatusPrefix.size() + status.size() + 1 + reason.size() + server_date.size() +
                date.size() + connection.size() + r.header_lines.size() + kHeaderEnd.size();
  if (has_length) size += kContentLength.size() + length.size();
  if (!r.content_type.empty()) size += kContentType.size() + r.content_type.size();
  for (size_t i = 0; i < r.extra_count; ++i) {
    size += 4 + r.extra[i].name.size() + r.extra[i].value.size();  // "\r\n" name ": " value
  }

  const size_t at = out.size();
  out.resize(at + size);
  ResponseHeadWriter w(out.data() + at);
  w.put(kStatusPrefix);
  w.put(status);
  w.put(' ');
  w.put(reason);
  w.put(server_date);
  w.put(date);
  if (!r.content_type.empty()) {
    w.put(kContentType);
    w.put(r.content_type);
  }
  if (has_length) {
    w.put(kContentLength);
    w.put(length);
  }
  w.put(connection);
  for (size_t i = 0; i < r.extra_count; ++i) {
    w.put("\r\n"sv);
    w.put(r.extra[i].name);
    w.put(": "sv);
    w.put(r.extra[i].value);
  }
  w.put(r.header_lines);
  w.put(kHeaderEnd);
  // The body after, not inside, the sized head: resize() would zero a
  // large body's worth of bytes only for them to be overwritten.
  if (!framing.head) out.append(r.body);
}

// Built by hand rather than with RapidJSON's Writer: error answers are on
// hot paths too (the cache proxy's 404, every 503 of an overload).
std::string errorBody(std::string_view code, std::string_view message,
                      std::initializer_list<ErrorField> extra) {
  std::string body;
  body.reserve(32 + code.size() + message.size() + 32 * extra.size());
  body.append("{\"error\":");
  appendJsonString(body, code);
  body.append(",\"message\":");
  appendJsonString(body, message);
  for (const ErrorField& f : extra) {
    body.push_back(',');
    appendJsonString(body, f.name);
    body.push_back(':');
    switch (f.kind) {
      case ErrorField::Kind::Integer: {
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof digits, f.integer).ptr;
        body.append(digits, static_cast<size_t>(end - digits));
        break;
      }
      case ErrorField::Kind::Json:
        body.append(f.text);
        break;
      case ErrorField::Kind::Text:
        appendJsonString(body, f.text);
        break;
    }
  }
  body.append("}");
  return body;
}

void deliverErrorResponse(int status, std::string_view code, std::string_view message,
                          int retry_after_s, std::initializer_list<ErrorField> extra,
                          const std::function<void(const HttpResponse&)>& deliver) {
  std::string body = errorBody(code, message, extra);
  HttpResponse r(status, "application/json", body);
  char num[16];
  if (retry_after_s > 0) {
    auto res = std::to_chars(num, num + sizeof num, retry_after_s);
    r.header("Retry-After", std::string_view(num, static_cast<size_t>(res.ptr - num)));
  }
  deliver(r);
}

}  // namespace redge
