#pragma once
// What a handler answers, and how it is written on the wire. A response
// refers to bytes the handler owns (string_views); they are copied into the
// connection's output buffer before send() returns, so a handler may answer
// from a stack buffer or a Redis reply that dies right after.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace redge {

struct HttpHeaderField {
  std::string_view name;
  std::string_view value;
};

struct HttpResponse {
  static constexpr size_t kMaxExtraHeaders = 8;

  int status = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string_view body;
  HttpHeaderField extra[kMaxExtraHeaders];
  size_t extra_count = 0;
  bool close = false;  // answer with Connection: close and close after writing
  // Header lines written as they are after `extra`, each "\r\nName: value":
  // an upstream's headers passed on by the gateway (no count limit).
  std::string_view header_lines;
  // The Content-Length stated: the body's size (kBodyLength), none
  // (kNoContentLength: a 204), or this number (a HEAD or 304 answer passed
  // on states the upstream's, with no body).
  static constexpr int64_t kBodyLength = -1;
  static constexpr int64_t kNoContentLength = -2;
  int64_t content_length = kBodyLength;
  // false: no "Server: redge" and no Date of this moment; header_lines
  // carries the answer's own (a cache serving a stored answer keeps the
  // origin's Date, RFC 9111 4).
  bool own_server_date = true;

  HttpResponse() = default;
  HttpResponse(int s, std::string_view type, std::string_view b)
      : status(s), content_type(type), body(b) {}
  // Extra headers beyond kMaxExtraHeaders are dropped; callers add at most a few.
  HttpResponse& header(std::string_view name, std::string_view value) {
    if (extra_count < kMaxExtraHeaders) extra[extra_count++] = {name, value};
    return *this;
  }
};

// How the response is framed for the request it answers.
struct ResponseFraming {
  bool keep_alive = true;  // else Connection: close
  bool http10 = false;     // HTTP/1.0 client: say Connection: keep-alive explicitly
  bool head = false;       // HEAD: headers only, Content-Length of the full body
};

std::string_view httpStatusText(int status);

// Appends the serialized response to `out`.
void serializeResponse(std::string& out, const HttpResponse& response, std::string_view date,
                       const ResponseFraming& framing);

// A member of an error body after "error" and "message" (the field at
// fault, a queue depth): a name with a string or an integer, which errorBody
// encodes, or, for a list or an object, a value already written as JSON by a
// JsonWriter (ErrorField::json), so no caller writes JSON by hand.
struct ErrorField {
  ErrorField(std::string_view field_name, std::string_view value) : name(field_name), text(value) {}
  ErrorField(std::string_view field_name, int64_t value)
      : name(field_name), integer(value), kind(Kind::Integer) {}
  static ErrorField json(std::string_view field_name, std::string_view written) {
    ErrorField f(field_name, written);
    f.kind = Kind::Json;
    return f;
  }

  enum class Kind { Text, Integer, Json };
  std::string_view name;
  std::string_view text;
  int64_t integer = 0;
  Kind kind = Kind::Text;
};

// The JSON body of every error: {"error":"<code>","message":"<sentence>"},
// then the `extra` members in their order.
std::string errorBody(std::string_view code, std::string_view message,
                      std::initializer_list<ErrorField> extra = {});

// Hands `deliver` the whole error answer: status, errorBody, and
// Retry-After when retry_after_s > 0. The response is valid during the call.
void deliverErrorResponse(int status, std::string_view code, std::string_view message,
                          int retry_after_s, std::initializer_list<ErrorField> extra,
                          const std::function<void(const HttpResponse&)>& deliver);

}  // namespace redge
