// Response serialization: status line, the fixed headers every response
// carries (Server, Date, Content-Type, Content-Length, Connection), the
// handler's extra headers, then the body. Written straight into the
// connection's output buffer, so a response costs no allocation once the
// buffer has grown to its working size.

#include "net/http/http_response.hpp"

#include <charconv>

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
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
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
    default:
      return "Unknown";
  }
}

void serializeResponse(std::string& out, const HttpResponse& r, std::string_view date,
                       const ResponseFraming& framing) {
  char num[24];
  out.append("HTTP/1.1 ");
  auto res = std::to_chars(num, num + sizeof num, r.status);
  out.append(num, res.ptr);
  out.push_back(' ');
  out.append(httpStatusText(r.status));
  out.append("\r\nServer: redge\r\nDate: ");
  out.append(date);
  if (!r.content_type.empty()) {
    out.append("\r\nContent-Type: ");
    out.append(r.content_type);
  }
  out.append("\r\nContent-Length: ");
  res = std::to_chars(num, num + sizeof num, r.body.size());
  out.append(num, res.ptr);
  if (!framing.keep_alive || r.close) {
    out.append("\r\nConnection: close");
  } else if (framing.http10) {
    out.append("\r\nConnection: keep-alive");
  }
  for (size_t i = 0; i < r.extra_count; ++i) {
    out.append("\r\n");
    out.append(r.extra[i].name);
    out.append(": ");
    out.append(r.extra[i].value);
  }
  out.append("\r\n\r\n");
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

}  // namespace redge
