#pragma once
// What a handler answers, and how it is written on the wire. A response
// refers to bytes the handler owns (string_views); they are copied into the
// connection's output buffer before send() returns, so a handler may answer
// from a stack buffer or a Redis reply that dies right after.

#include <cstddef>
#include <cstdint>
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

// The JSON body of every error: {"error":"<code>","message":"<sentence>"}.
// `extra_json` (already valid `"k":v` pairs, may be empty) is appended inside.
std::string errorBody(std::string_view code, std::string_view message,
                      std::string_view extra_json = {});

}  // namespace redge
