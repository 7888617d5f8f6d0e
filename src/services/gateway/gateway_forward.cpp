// The streamed forwarder (see gateway_forward.hpp): one StreamedExchange per
// client request joins the client's HttpExchange to an HttpClientStream on
// the chosen member, one try at a time.
//
// The request head is copied once, at the start, into one string (method,
// target and the upstream's header lines in wire form, built by
// forward_headers.cpp), so a later try (after an LMOVE, or a retry) needs
// nothing of the listener's request, and each try writes the lines as one
// block. Body bytes go to the member as they arrive; the first
// kReplayBytes are also kept for a retry. Bytes that arrive while no try is
// running (the member is being chosen, or a retry is on its way) are held,
// and past kReplayBytes the client is paused until a try takes them.
//
// What forwarding itself changes in the head: Content-Length and
// Transfer-Encoding are the client pool's to write (the body's framing is
// its own), Expect is dropped (the listener answers 100-continue itself when
// the body is first read), and an upgrade request gets its Connection and
// Upgrade back (the hop-by-hop rules dropped them).

#include "services/gateway/gateway_forward.hpp"

#include <string>
#include <utility>
#include <vector>

namespace redge {
namespace {

using HeaderViews = std::vector<std::pair<std::string_view, std::string_view>>;

// A head's fields as views, in a vector kept from call to call (the loop is
// single-threaded; each use ends before the next begins): no allocation
// per request once it has grown.
std::vector<HttpHeaderField>& fieldScratch() {
  thread_local std::vector<HttpHeaderField> fields;
  fields.clear();
  return fields;
}

// The member's answer fields that go on to the client (views into `head`).
void clientFields(const HttpClientResponseHead& head, HeaderViews& out) {
  std::vector<HttpHeaderField>& fields = fieldScratch();
  for (size_t i = 0; i < head.headerCount(); ++i) {
    fields.push_back({head.headerName(i), head.headerValue(i)});
  }
  forEachClientResponseHeader(
      fields, [&out](const HttpHeaderField& f) { out.emplace_back(f.name, f.value); });
}

class StreamedExchange final : public ForwardExchange,
                               public HttpStreamHandler,
                               public HttpClientStreamHandler {
 public:
  StreamedExchange(HttpRequest& request, const HttpExchange& exchange,
                   const ForwardedContext& context, const ForwardSettings& settings,
                   const RequestRewrite* rewrite)
      : client_(exchange), upstream_(*this), settings_(settings) {
    client_.attach(this);
    body_length_ = client_.requestBodyLength();
    upgrade_ = client_.upgradeRequested();
    std::vector<HttpHeaderField>& fields = fieldScratch();
    size_t size = request.method_text.size() + request.target().size() + 160;
    for (size_t i = 0; i < request.headerCount(); ++i) {
      fields.push_back({request.headerName(i), request.headerValue(i)});
      size += fields.back().name.size() + fields.back().value.size() + 4;
    }
    head_.reserve(size);  // one allocation for the whole head, forwarded fields included
    append(request.method_text, method_);
    if (request.target().starts_with('/')) {
      append(request.target(), target_);
    } else {
      append(upstreamTarget(request), target_);
    }
    block_.offset = static_cast<uint32_t>(head_.size());
    const bool drop_conditionals = rewrite != nullptr && rewrite->drop_conditionals;
    forEachUpstreamRequestHeader(
        fields, context, [this, drop_conditionals](std::string_view name, std::string_view value) {
          if (headerNameIs(name, "Content-Length") || headerNameIs(name, "Expect")) return;
          if (headerNameIs(name, "Host")) has_host_ = true;
          if (drop_conditionals && isPreconditionField(name)) return;
          addField(name, value);
        });
    if (rewrite != nullptr) {
      for (const auto& [name, value] : rewrite->extra_fields) addField(name, value);
    }
    if (upgrade_) {
      addField("Connection", "Upgrade");
      addField("Upgrade", request.header("Upgrade"));
    }
    block_.length = static_cast<uint32_t>(head_.size()) - block_.offset;
  }

  ~StreamedExchange() override {
    // Normally over by now (answered, aborted or closed); at shutdown the
    // client side is cut rather than left waiting.
    if (client_.alive()) client_.abort();
  }

  // ------------------------------------------------------------ the service's

  void sendTry(HttpClientPool& client, std::string_view member,
               std::function<void(const TryOutcome&)> done) override {
    done_ = std::move(done);
    if (client_gone_) {
      finishTry({HttpClientError::Closed});
      return;
    }
    if (!settings_.member_header.empty()) member_ = member;
    HttpClientStreamRequest r;
    r.method = view(method_);
    r.target = view(target_);
    r.header_block = view(block_);
    r.header_block_has_host = has_host_;
    r.content_length = body_length_;
    r.connect_timeout_ms = settings_.connect_timeout_ms;
    r.response_timeout_ms = settings_.timeout_ms;
    HttpClientError e = client.stream(r, upstream_);
    if (e != HttpClientError::None) {
      finishTry({e});
      return;
    }
    bool more = true;
    if (!body_.empty()) {
      more = upstream_.writeBody(body_);
      if (!body_whole_) body_.clear();  // held only until a try took it
    }
    if (request_ended_) upstream_.endRequest();
    if (more && client_paused_) {
      client_paused_ = false;
      client_.resumeRequest();
    } else if (!more && !client_paused_) {
      client_paused_ = true;
      client_.pauseRequest();
    }
  }

  bool retryable() const override { return body_whole_; }

  void setTap(ResponseTap* tap) override { tap_ = tap; }
  void addResponseField(std::string_view name, std::string_view value) override {
    extra_name_ = name;
    extra_value_ = value;
  }

  void sendError(int status, std::string_view code, std::string_view message, int retry_after_s,
                 std::string_view pool) override {
    client_.sendError(status, code, message, retry_after_s, {ErrorField("pool", pool)});
  }

  // ------------------------------------------------------------ the client's

  void onRequestData(std::string_view data) override {
    bool trying = upstream_.active();
    if (!tunnel_) {
      if (body_whole_ && body_.size() + data.size() > kReplayBytes) {
        body_whole_ = false;  // too big to keep: no second try
        if (trying) body_.clear();
      }
      if (body_whole_ || !trying) body_.append(data);
    }
    if (trying) {
      if (!upstream_.writeBody(data)) pauseClient();
    } else if (!body_whole_) {
      pauseClient();  // nothing takes the bytes now, and they are no longer few
    }
  }

  void onRequestEnd() override {
    request_ended_ = true;
    if (upstream_.active() && !tunnel_) upstream_.endRequest();
  }

  void onResponseDrained() override { upstream_.resumeResponse(); }

  void onClosed() override {
    client_gone_ = true;
    upstream_.abort();
    if (done_) finishTry({HttpClientError::Closed, status_, response_started_, head_written_});
  }

  // ------------------------------------------------------------ the member's

  void onRequestDrained() override {
    if (!client_paused_) return;
    client_paused_ = false;
    client_.resumeRequest();
  }

  void onInterim(const HttpClientResponseHead& head) override {
    response_started_ = true;
    HeaderViews headers;
    clientFields(head, headers);
    client_.writeInterim(head.status, headers);
  }

  void onResponseHead(const HttpClientResponseHead& head) override {
    response_started_ = true;
    status_ = head.status;
    HttpStreamHead out;
    out.status = head.status;
    out.reason = head.reason();
    out.headers.reserve(head.headerCount() + 3);
    clientFields(head, out.headers);
    if (!settings_.member_header.empty())
      out.headers.emplace_back(settings_.member_header, member_);
    if (!extra_name_.empty()) out.headers.emplace_back(extra_name_, extra_value_);
    if (head.status == 101) {
      out.headers.emplace_back("Connection", "Upgrade");
      out.headers.emplace_back("Upgrade", head.header("Upgrade"));
      tunnel_ = true;
    } else if (tap_ != nullptr) {
      tap_mode_ = tap_->onTapHead(head, out.headers);
      if (tap_mode_ == TapMode::Absorb) return;  // the cache answers after the try
    }
    out.content_length = head.content_length;
    head_written_ = true;
    if (!client_.writeHead(out)) {
      upstream_.abort();
      finishTry({HttpClientError::Closed, status_, true, true});
      return;
    }
    // The tunnel's bytes from the client flow from now on.
    if (tunnel_ && client_paused_) onRequestDrained();
  }

  void onResponseData(std::string_view data) override {
    if (tap_mode_ != TapMode::Pass) {
      tap_->onTapBody(data);
      if (tap_mode_ == TapMode::Absorb) return;
    }
    if (!client_.writeBody(data)) {
      upstream_.abort();
      finishTry({HttpClientError::Closed, status_, true, true});
      return;
    }
    if (!client_.wantsMore()) upstream_.pauseResponse();
  }

  void onResponseEnd() override {
    if (tap_mode_ == TapMode::Absorb) {
      finishTry({HttpClientError::None, status_, true, false});
      return;
    }
    client_.end();
    finishTry({HttpClientError::None, status_, true, true});
  }

  void onError(const HttpClientFailure& failure) override {
    if (head_written_) client_.abort();  // a cut answer, not a wrong one
    finishTry(
        {failure.error, status_, failure.response_started || response_started_, head_written_});
  }

 private:
  struct Span {
    uint32_t offset = 0;
    uint32_t length = 0;
  };

  void append(std::string_view s, Span& at) {
    at.offset = static_cast<uint32_t>(head_.size());
    at.length = static_cast<uint32_t>(s.size());
    head_.append(s);
  }
  // One header line, in the form it goes out.
  void addField(std::string_view name, std::string_view value) {
    head_.append(name).append(": ", 2).append(value).append("\r\n", 2);
  }
  std::string_view view(Span s) const { return std::string_view(head_).substr(s.offset, s.length); }

  void pauseClient() {
    if (client_paused_) return;
    client_paused_ = true;
    client_.pauseRequest();
  }

  // Runs the try's callback, which may destroy this exchange: nothing may
  // touch a member after it.
  void finishTry(const TryOutcome& outcome) {
    std::function<void(const TryOutcome&)> done = std::move(done_);
    done_ = nullptr;
    done(outcome);
  }

  HttpExchange client_;
  HttpClientStream upstream_;
  const ForwardSettings& settings_;  // the service's, which outlives its exchanges
  std::function<void(const TryOutcome&)> done_;
  std::string head_;  // method, target, then the upstream's header lines as they go out
  Span method_;
  Span target_;
  Span block_;  // the header lines
  bool has_host_ = false;
  std::string body_;             // the body so far (body_whole_), or bytes no try has taken yet
  bool body_whole_ = true;       // body_ holds every body byte received
  int64_t body_length_ = 0;      // the request's framing: 0 none, -1 chunked
  std::string member_;           // the member of the try in progress, for member_header
  std::string_view extra_name_;  // addResponseField's (a literal)
  std::string_view extra_value_;
  ResponseTap* tap_ = nullptr;
  TapMode tap_mode_ = TapMode::Pass;
  int status_ = 0;
  bool upgrade_ = false;
  bool request_ended_ = false;
  bool client_paused_ = false;
  bool client_gone_ = false;
  bool response_started_ = false;
  bool head_written_ = false;
  bool tunnel_ = false;
};

}  // namespace

bool isPreconditionField(std::string_view name) {
  return name.size() >= 3 && (name[0] == 'I' || name[0] == 'i') &&
         (name[1] == 'F' || name[1] == 'f') && name[2] == '-' &&
         (headerNameIs(name, "If-None-Match") || headerNameIs(name, "If-Modified-Since") ||
          headerNameIs(name, "If-Match") || headerNameIs(name, "If-Unmodified-Since") ||
          headerNameIs(name, "If-Range"));
}

std::string upstreamTarget(const HttpRequest& request) {
  const std::string& target = request.target();
  if (!target.empty() && target.front() == '/') return target;
  // Absolute form (or no path at all): the member gets the origin form.
  std::string out(request.path());
  std::string_view query = request.query();
  if (!query.empty()) out.append("?").append(query);
  return out;
}

std::unique_ptr<ForwardExchange> makeStreamedExchange(HttpRequest& request,
                                                      const HttpExchange& exchange,
                                                      const ForwardedContext& context,
                                                      const ForwardSettings& settings,
                                                      const RequestRewrite* rewrite) {
  return std::make_unique<StreamedExchange>(request, exchange, context, settings, rewrite);
}

}  // namespace redge
