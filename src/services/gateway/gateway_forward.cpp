// The buffered forwarder (see gateway_forward.hpp): the upstream request is
// built once from the client's (header rules in forward_headers.cpp), sent
// whole per try, and the member's whole answer is passed on as one
// HttpResponse whose header lines are the member's, minus hop-by-hop ones.
//
// What the buffered transport itself changes: Host travels as the client
// request's authority (HttpClientPool writes that line), Content-Length is
// the client pool's to write for the whole body, and Expect is dropped (the
// listener has answered 100-continue and read the body already; a member's
// interim 100 would otherwise be taken for its answer).

#include "services/gateway/gateway_forward.hpp"

#include <string>
#include <utility>
#include <vector>

namespace redge {
namespace {

class BufferedExchange final : public ForwardExchange {
 public:
  BufferedExchange(HttpRequest& request, const HttpResponder& responder,
                   const ForwardedContext& context, const ForwardSettings& settings)
      : responder_(responder),
        head_(request.method == HttpMethod::Head),
        member_header_(settings.member_header) {
    request_.method = std::string(request.method_text);
    request_.target = upstreamTarget(request);
    request_.timeout_ms = settings.timeout_ms;
    request_.connect_timeout_ms = settings.connect_timeout_ms;
    std::vector<HttpHeaderField> fields;
    fields.reserve(request.headerCount());
    for (size_t i = 0; i < request.headerCount(); ++i) {
      fields.push_back({request.headerName(i), request.headerValue(i)});
    }
    for (auto& [name, value] : upstreamRequestHeaders(fields, context)) {
      if (headerNameIs(name, "Host")) {
        if (request_.authority.empty()) request_.authority = std::move(value);
        continue;
      }
      if (headerNameIs(name, "Content-Length") || headerNameIs(name, "Expect")) continue;
      request_.headers.emplace_back(std::move(name), std::move(value));
    }
    request_.body = std::move(request.mutableBody());
  }

  void sendTry(HttpClientPool& client, std::string_view member, bool last,
               std::function<void(const TryOutcome&)> done) override {
    HttpClientRequest request = last ? std::move(request_) : request_;
    client.send(std::move(request), [this, member = std::string(member), done = std::move(done)](
                                        HttpClientError error, const HttpClientResponse* response) {
      TryOutcome outcome;
      outcome.error = error;
      if (error == HttpClientError::None && response != nullptr) {
        outcome.status = response->status;
        if (response->status < 200) {
          // An interim answer taken for the final one: the
          // buffered client has no 1xx support to pass it on.
          outcome.error = HttpClientError::BadResponse;
        } else {
          passOn(*response, member);
        }
      }
      done(outcome);
    });
  }

  void sendError(int status, std::string_view code, std::string_view message, int retry_after_s,
                 std::string_view pool) override {
    responder_.sendError(status, code, message, retry_after_s, {ErrorField("pool", pool)});
  }

 private:
  void passOn(const HttpClientResponse& upstream, std::string_view member) {
    std::vector<HttpHeaderField> fields;
    fields.reserve(upstream.headers.size());
    for (const auto& [name, value] : upstream.headers) fields.push_back({name, value});
    std::string lines;
    for (const HttpHeaderField& f : clientResponseHeaders(fields)) {
      lines.append("\r\n").append(f.name).append(": ").append(f.value);
    }
    if (!member_header_.empty()) {
      lines.append("\r\n").append(member_header_).append(": ").append(member);
    }
    HttpResponse r(upstream.status, {}, upstream.body);
    r.header_lines = lines;
    // No body, by the method or the status (RFC 9110 6.4.1): the length the
    // member stated, if it stated one, and none for a 204.
    if (upstream.status == 204) {
      r.content_length = HttpResponse::kNoContentLength;
    } else if (head_ || upstream.status == 304) {
      int64_t length = upstreamContentLength(fields);
      r.content_length = length >= 0 ? length : HttpResponse::kNoContentLength;
    }
    responder_.send(r);
  }

  HttpResponder responder_;
  bool head_;
  std::string member_header_;
  HttpClientRequest request_;
};

}  // namespace

std::string upstreamTarget(const HttpRequest& request) {
  const std::string& target = request.target();
  if (!target.empty() && target.front() == '/') return target;
  // Absolute form (or no path at all): the member gets the origin form.
  std::string out(request.path());
  std::string_view query = request.query();
  if (!query.empty()) out.append("?").append(query);
  return out;
}

std::unique_ptr<ForwardExchange> makeBufferedExchange(HttpRequest& request,
                                                      const HttpResponder& responder,
                                                      const ForwardedContext& context,
                                                      const ForwardSettings& settings) {
  return std::make_unique<BufferedExchange>(request, responder, context, settings);
}

}  // namespace redge
