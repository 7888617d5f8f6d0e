// The HTTP/1.1 codec (see the header).
//
// llhttp runs in strict mode; its callbacks fill the reused HttpRequest and
// enforce the header and body limits as bytes arrive, so an oversized
// request is refused before it is buffered. RFC 9112 rules llhttp 8.1 leaves
// to the application (a space before a colon, Host, transfer codings before
// chunked) are checked once the head is complete.
//
// Deadlines: Request (the head must arrive within header_timeout_ms of its
// first byte: slowloris gets 408) and Body (the body must keep up
// http.body_min_rate after a header_timeout_ms start: a trickle gets 408).
//
// When StreamConnection says to hold input, parsing pauses at the end of the
// current request (llhttp's HPE_PAUSED) and the unparsed rest is kept until
// resumeInput().

#include "net/http/http_connection.hpp"

#include <cstring>

#include "core/ascii.hpp"
#include "core/log.hpp"
#include "net/http/http_server.hpp"

namespace redge {
namespace {

// Pause parsing past this many unanswered requests: enough for any real
// pipeline, few enough that a flood costs little.
constexpr size_t kMaxPendingAnswers = 128;

// ResponseFraming as a slot's flags, so a late answer is framed as its
// request asked.
constexpr uint32_t kKeepAlive = 1;
constexpr uint32_t kHttp10 = 2;
constexpr uint32_t kHead = 4;

uint32_t framingFlags(const ResponseFraming& f) {
  return (f.keep_alive ? kKeepAlive : 0) | (f.http10 ? kHttp10 : 0) | (f.head ? kHead : 0);
}

ResponseFraming framingOf(uint32_t flags) {
  return {(flags & kKeepAlive) != 0, (flags & kHttp10) != 0, (flags & kHead) != 0};
}

HttpConnection* self(llhttp_t* p) {
  return static_cast<HttpConnection*>(p->data);
}

}  // namespace

HttpConnection::HttpConnection(HttpServer& server, uint64_t id)
    : StreamConnection(server, id, kMaxPendingAnswers) {
  llhttp_init(&parser_, HTTP_REQUEST, &parserSettings());
  parser_.data = this;
}

HttpServer& HttpConnection::http() {
  return static_cast<HttpServer&>(server());
}

int64_t HttpConnection::nowMs() {
  return static_cast<int64_t>(uv_now(server().loop()));
}

const llhttp_settings_t& HttpConnection::parserSettings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &HttpConnection::onMessageBeginCb;
    s.on_url = &HttpConnection::onUrlCb;
    s.on_header_field = &HttpConnection::onHeaderFieldCb;
    s.on_header_value = &HttpConnection::onHeaderValueCb;
    s.on_header_field_complete = &HttpConnection::onHeaderFieldCompleteCb;
    s.on_headers_complete = &HttpConnection::onHeadersCompleteCb;
    s.on_body = &HttpConnection::onBodyCb;
    s.on_message_complete = &HttpConnection::onMessageCompleteCb;
    return s;
  }();
  return settings;
}

void HttpConnection::writeRefusal() {
  // HttpResponse refers to its body: keep it alive until serialized.
  std::string body = errorBody("too_many_connections",
                               "The server has reached its connection limit; retry in a moment.");
  HttpResponse r(503, "application/json", body);
  r.header("Retry-After", "1");
  r.close = true;
  appendResponse(output(), r, ResponseFraming{});
}

// ---------------------------------------------------------------- reading

void HttpConnection::onInput(const char* data, size_t len) {
  if (inputHeld()) {
    // Reading goes on behind a streamed exchange (deferInput): the bytes
    // wait for it to end, and past a bound reading stops.
    pending_input_.append(data, len);
    if (pending_input_.size() > kMaxDeferredInput) holdInput();
    return;
  }
  if (stream_.tunnel) {
    noteTunnelActivity();
    if (stream_.active && stream_.handler) stream_.handler->onRequestData({data, len});
    return;
  }
  parse(data, len);
}

void HttpConnection::resumeInput() {
  std::string input;
  input.swap(pending_input_);
  if (stream_.tunnel) {
    // What the client sent right behind its upgrade request.
    if (!input.empty() && stream_.active && stream_.handler) {
      noteTunnelActivity();
      stream_.handler->onRequestData(input);
    }
    return;
  }
  // Paused inside the body's last piece, llhttp has still to call
  // on_message_complete: it runs on the next execute, even one of no bytes.
  bool was_paused = llhttp_get_errno(&parser_) == HPE_PAUSED;
  llhttp_resume(&parser_);
  if (!input.empty() || was_paused) parse(input.data(), input.size());
}

void HttpConnection::parse(const char* data, size_t len) {
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (closing()) return;
  if (err == HPE_OK) return;
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    if (finishing()) return;  // what follows a final request is ignored
    // Too many answers pending, or too much output unread: keep the unparsed
    // rest (at most one read) until the output drains.
    const char* pos = llhttp_get_error_pos(&parser_);
    size_t consumed = pos ? static_cast<size_t>(pos - data) : len;
    if (consumed < len) pending_input_.append(data + consumed, len - consumed);
    // Behind a streamed exchange whose request is read, reading goes on
    // (the client leaving is seen at once); otherwise it stops.
    if (stream_.active && stream_.request_done && !stream_.body_paused &&
        pending_input_.size() <= kMaxDeferredInput) {
      deferInput();
    } else {
      holdInput();
    }
    return;
  }
  if (failed_) return;  // a callback already answered (431, 413, ...)
  std::string message = "The request is not valid HTTP/1.1 (";
  message.append(llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_)
                                                   : "parse error");
  message.append("); fix the request and retry.");
  failRequest(400, "bad_request", message);
}

bool HttpConnection::countHeaderBytes(size_t len) {
  header_bytes_ += static_cast<int64_t>(len);
  if (header_bytes_ > http().options().max_header_bytes) {
    failRequest(431, "headers_too_large",
                "The request line and headers exceed " +
                    std::to_string(http().options().max_header_bytes) +
                    " bytes; send fewer or smaller headers.");
    return false;
  }
  return true;
}

int HttpConnection::onMessageBeginCb(llhttp_t* p) noexcept {
  return self(p)->onMessageBegin();
}

int HttpConnection::onMessageBegin() {
  request_.reset();
  request_.started_us = http().nowUs();
  streaming_request_ = false;
  in_request_ = true;
  in_body_ = false;
  header_bytes_ = 0;
  route_id_ = -1;
  continue_sent_ = false;
  // The head's deadline runs from its first byte (or, for the first request,
  // from the accept, already armed).
  if (deadline() != Deadline::Request) {
    request_started_ms_ = nowMs();
    setDeadline(Deadline::Request, http().options().header_timeout_ms);
  }
  return 0;
}

int HttpConnection::onUrlCb(llhttp_t* p, const char* at, size_t len) noexcept {
  HttpConnection* c = self(p);
  if (!c->countHeaderBytes(len)) return -1;
  c->request_.appendTarget(std::string_view(at, len));
  return 0;
}

int HttpConnection::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) noexcept {
  HttpConnection* c = self(p);
  if (!c->countHeaderBytes(len)) return -1;
  c->request_.appendHeaderName(std::string_view(at, len));
  return 0;
}

int HttpConnection::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) noexcept {
  HttpConnection* c = self(p);
  if (!c->countHeaderBytes(len)) return -1;
  c->request_.appendHeaderValue(std::string_view(at, len));
  return 0;
}

int HttpConnection::onHeaderFieldCompleteCb(llhttp_t* p) noexcept {
  self(p)->request_.endHeaderName();
  return 0;
}

int HttpConnection::onHeadersCompleteCb(llhttp_t* p) noexcept {
  return self(p)->onHeadersComplete();
}

// The framing and host rules of RFC 9112 that llhttp 8.1 leaves to the
// application. Answers and returns false when the request breaks one.
bool HttpConnection::checkHeaderRules() {
  int hosts = 0;
  int codings = 0;            // transfer codings listed, over every Transfer-Encoding line
  bool chunked_last = false;  // the last one listed is chunked
  for (size_t i = 0; i < request_.headerCount(); ++i) {
    std::string_view name = request_.headerName(i);
    // 5.1: no whitespace between a field name and its colon. llhttp refuses
    // a tab there but passes a space on as part of the name.
    if (!name.empty() && name.back() == ' ') {
      failRequest(400, "bad_request",
                  "A header name is followed by whitespace before its colon (RFC 9112 5.1); "
                  "remove the space.");
      return false;
    }
    if (equalsIgnoreCase(name, "Host")) {
      ++hosts;
    } else if (equalsIgnoreCase(name, "Transfer-Encoding")) {
      std::string_view list = request_.headerValue(i);
      while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view coding = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
          coding.remove_prefix(1);
        while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
          coding.remove_suffix(1);
        if (coding.empty()) continue;
        ++codings;
        chunked_last = equalsIgnoreCase(coding, "chunked");
      }
    }
  }
  if (codings > 0 && !chunked_last) {
    // 6.3: without chunked last the body's length cannot be known.
    failRequest(400, "bad_request",
                "The last transfer coding must be chunked (RFC 9112 6.3); send the body with "
                "Transfer-Encoding: chunked or a Content-Length.");
    return false;
  }
  if (codings > 1) {
    // 6.1: a transfer coding the server does not implement is 501; the body
    // cannot be read without it, so the connection closes.
    failRequest(501, "unsupported_transfer_coding",
                "Only the chunked transfer coding is supported; send the body with "
                "Transfer-Encoding: chunked alone, or with a Content-Length.");
    return false;
  }
  // 3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
  if (hosts > 1 || (hosts == 0 && request_.version_minor >= 1)) {
    failRequest(400, "bad_request",
                hosts > 1 ? "The request has more than one Host header (RFC 9112 3.2); send one."
                          : "An HTTP/1.1 request must have a Host header (RFC 9112 3.2); add one.");
    return false;
  }
  return true;
}

int HttpConnection::onHeadersComplete() {
  request_.finishHeaders();
  request_.method = httpMethodFromLlhttp(parser_.method);
  request_.method_text = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  request_.version_major = parser_.http_major;
  request_.version_minor = parser_.http_minor;
  if (!checkHeaderRules()) return -1;

  HttpServer& server = http();
  bool stream = server.streaming();
  if (stream) {
    // Every request goes to the stream entry. A forwarded body is streamed,
    // not kept: only the forwarder's limit applies.
    route_kind_ = RouteMatch::Kind::Found;
    route_id_ = server.streamRouteId();
    body_limit_ = server.streamMaxBodyBytes() < 0 ? INT64_MAX : server.streamMaxBodyBytes();
    // Known at the head (llhttp sets the flags and `upgrade` before this
    // callback): a forwarder may answer before the request is complete.
    request_.keep_alive =
        llhttp_should_keep_alive(&parser_) != 0 && !server.draining() && parser_.upgrade == 0;
  } else {
    RouteMatch m = server.matchRoute(request_);
    route_kind_ = m.kind;
    route_id_ = m.route_id;
    allow_ = std::move(m.allow);
    body_limit_ = m.kind == RouteMatch::Kind::Found ? server.routeBodyLimit(route_id_)
                                                    : server.options().max_body_bytes;
    if (m.kind == RouteMatch::Kind::Found && server.isStreamRoute(route_id_)) {
      // One streamed route on a buffered listener (an event stream): the
      // exchange as a forwarder has it, for this request only.
      stream = true;
      request_.keep_alive =
          llhttp_should_keep_alive(&parser_) != 0 && !server.draining() && parser_.upgrade == 0;
    }
  }

  bool has_body = (parser_.flags & F_CHUNKED) ||
                  ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length > 0);
  if ((parser_.flags & F_CONTENT_LENGTH) &&
      parser_.content_length > static_cast<uint64_t>(body_limit_)) {
    // Refused before a byte of the body is read; the connection then closes,
    // since the rest of the body would otherwise be parsed as a request.
    failRequest(413, "body_too_large",
                "The request body is " + std::to_string(parser_.content_length) +
                    " bytes; this route accepts at most " + std::to_string(body_limit_) + ".");
    return -1;
  }
  std::string_view expect = request_.header("Expect");
  if (!expect.empty()) {
    if (!equalsIgnoreCase(expect, "100-continue")) {
      failRequest(417, "expectation_failed",
                  "Only 'Expect: 100-continue' is supported; drop the Expect header.");
      return -1;
    }
    // An interim answer may only go out when no earlier answer is pending,
    // or it would overtake them; a client that waits in vain sends the body
    // after its own short timeout anyway. A streamed exchange is alone on
    // its connection: what is in the output before it is already in order.
    if (has_body && replies().empty() && (output().empty() || stream) &&
        request_.version_minor >= 1) {
      output().append("HTTP/1.1 100 Continue\r\n\r\n");
      continue_sent_ = true;
      flush();
    }
  }
  if (has_body) {
    if ((parser_.flags & F_CONTENT_LENGTH) && !stream) {
      request_.mutableBody().reserve(static_cast<size_t>(parser_.content_length));
    }
    in_body_ = true;
    body_started_ms_ = nowMs();
    body_received_ = 0;
    setDeadline(Deadline::Body, server.options().header_timeout_ms);
  } else {
    setDeadline(Deadline::None, 0);
  }
  if (stream) {
    beginStream(has_body);
    // Answered at once with the body unread, or aborted: parse no further.
    // Paused by the entry: the body waits (llhttp resumes right after the
    // head, as if this callback had returned 0).
    if (closing() || finishing() || stream_.body_paused) return HPE_PAUSED;
  }
  return 0;
}

// The body's deadline: header_timeout_ms from its start, plus one second per
// body_min_rate bytes received. A client keeping up the rate never reaches
// it; one trickling a byte at a time cannot push it out (as Apache's
// mod_reqtimeout MinRate), and the timer is moved only when it fires, not on
// every read.
int64_t HttpConnection::bodyDeadlineMs() const {
  const HttpServerOptions& o = static_cast<const HttpServer&>(server()).options();
  int64_t deadline = body_started_ms_ + o.header_timeout_ms;
  if (o.body_min_rate > 0) deadline += body_received_ * 1000 / o.body_min_rate;
  return deadline;
}

// A write stall or idle phase took the timer while a request was partly
// read: its own deadline comes back, as far as it had run.
void HttpConnection::restoreDeadline() {
  int64_t now = nowMs();
  if (stream_.active && stream_.tunnel) {
    armTunnelDeadline();
    return;
  }
  if (stream_.active && (stream_.request_done || stream_.body_paused)) {
    // Waiting on the forwarder (its own deadlines), not on the client.
    setDeadline(Deadline::None, 0);
    return;
  }
  if (!in_request_) {
    // Before the first request: its head must come in header_timeout_ms.
    request_started_ms_ = now;
    setDeadline(Deadline::Request, http().options().header_timeout_ms);
  } else if (in_body_) {
    setDeadline(Deadline::Body, std::max<int64_t>(bodyDeadlineMs() - now, 0));
  } else {
    int64_t end = request_started_ms_ + http().options().header_timeout_ms;
    setDeadline(Deadline::Request, std::max<int64_t>(end - now, 0));
  }
}

int HttpConnection::onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept {
  return self(p)->onBody(at, len);
}

int HttpConnection::onBody(const char* at, size_t len) {
  if (streaming_request_) {
    // The exchange ended before its body did: the rest is not read (the
    // connection closes after the answer).
    if (!stream_.active) return HPE_PAUSED;
    // llhttp run on no bytes (resuming) closes its open span with an empty
    // piece: nothing to hand over.
    if (len == 0) return 0;
    body_received_ += static_cast<int64_t>(len);
    if (body_received_ > body_limit_) {
      failRequest(413, "body_too_large",
                  "The request body exceeds " + std::to_string(body_limit_) +
                      " bytes, the most this listener forwards.");
      return -1;
    }
    if (stream_.handler) stream_.handler->onRequestData(std::string_view(at, len));
    // Paused, ended or aborted from the callback: llhttp stops here and the
    // rest is held (or dropped).
    return closing() || !stream_.active || stream_.body_paused ? HPE_PAUSED : 0;
  }
  std::string& body = request_.mutableBody();
  if (static_cast<int64_t>(body.size() + len) > body_limit_) {
    failRequest(413, "body_too_large",
                "The request body exceeds " + std::to_string(body_limit_) +
                    " bytes, the most this route accepts.");
    return -1;
  }
  body.append(at, len);
  body_received_ += static_cast<int64_t>(len);
  return 0;
}

void HttpConnection::onDeadline(Deadline which) {
  if (which == Deadline::Stream) {
    streamDeadline();
    return;
  }
  if (which == Deadline::Body) {
    int64_t now = nowMs();
    int64_t deadline = bodyDeadlineMs();
    if (deadline > now) {
      setDeadline(Deadline::Body, deadline - now);
      return;
    }
  }
  failRequest(408, "request_timeout",
              which == Deadline::Request
                  ? "The request headers did not arrive in time; send the whole request "
                    "promptly."
                  : "The request body arrived too slowly; send it at a steady rate.");
}

int HttpConnection::onMessageCompleteCb(llhttp_t* p) noexcept {
  return self(p)->onMessageComplete();
}

ResponseFraming HttpConnection::currentFraming() const {
  return {request_.keep_alive, request_.version_minor == 0, request_.method == HttpMethod::Head};
}

int HttpConnection::onMessageComplete() {
  setDeadline(Deadline::None, 0);
  in_request_ = false;
  in_body_ = false;
  HttpServer& server = http();
  if (streaming_request_) return onStreamMessageComplete() ? 0 : HPE_PAUSED;
  // Only a forwarder upgrades (WebSocket through the gateway); elsewhere such
  // a request is answered and the connection closes, since llhttp stops
  // parsing after it.
  request_.keep_alive =
      llhttp_should_keep_alive(&parser_) != 0 && !server.draining() && parser_.upgrade == 0;
  uint64_t seq = replies().beginDispatch();
  HttpResponder responder(&server, id(), seq);
  server.observe(request_);
  if (std::optional<HttpRefusal> refusal = server.screen(request_)) {
    server.refuse(*refusal, [this, seq](const HttpResponse& r) { deliver(seq, r); });
  } else if (route_kind_ == RouteMatch::Kind::Found) {
    server.dispatch(route_id_, request_, responder);
  } else if (route_kind_ == RouteMatch::Kind::MethodNotAllowed) {
    std::string message =
        "This path does not accept " + std::string(request_.method_text) + "; use " + allow_ + ".";
    std::string body = errorBody("method_not_allowed", message);
    HttpResponse r(405, "application/json", body);
    r.header("Allow", allow_);
    server.recordError(405, "method_not_allowed", message);
    deliver(seq, r);
  } else {
    responder.sendError(404, "not_found", "No route matches this path; check the URL.");
  }
  OrderedReplies::Slot* slot = replies().endDispatch();
  if (closing()) return HPE_PAUSED;
  if (slot != nullptr) {
    // Answered later: keep what the answer needs to be framed and counted.
    slot->flags = framingFlags(currentFraming());
    slot->tag = route_kind_ == RouteMatch::Kind::Found ? route_id_ : -1;
    slot->started_us = request_.started_us;
  }
  if (!request_.keep_alive) {
    finishAfterOutput();
    return HPE_PAUSED;
  }
  // Stop executing the rest of this read while the client has not taken
  // what it was already given: a pipeline of cheap requests for large answers
  // would otherwise turn a few bytes in into megabytes held per connection.
  if (shouldHold()) return HPE_PAUSED;
  return 0;
}

void HttpConnection::failRequest(int status, std::string_view code, std::string_view message) {
  if (stream_.active) {
    // The forwarder's exchange is over: it is told (from the parser or a
    // deadline, never from inside one of its calls), and if it has begun
    // its answer the connection can only be cut.
    bool answering = stream_.head_written;
    HttpStreamHandler* h = stream_.handler;
    endStream(true);
    if (h != nullptr) h->onClosed();
    if (closing()) return;
    if (answering) {
      close();
      return;
    }
  }
  failed_ = true;
  in_request_ = false;
  in_body_ = false;
  setDeadline(Deadline::None, 0);
  std::string body = errorBody(code, message);
  HttpResponse r(status, "application/json", body);
  r.close = true;
  // The request never reached a route: count it as unrouted.
  route_kind_ = RouteMatch::Kind::NotFound;
  http().recordError(status, code, message);
  request_.keep_alive = false;
  uint64_t seq = replies().beginDispatch();
  deliver(seq, r);
  replies().endDispatch();
  finishAfterOutput();
}

// ---------------------------------------------------------------- answers

bool HttpConnection::awaits(uint64_t seq) const {
  return !closing() && replies().awaits(seq);
}

bool HttpConnection::appendResponse(std::string& out, const HttpResponse& response,
                                    const ResponseFraming& framing) {
  ResponseFraming f = framing;
  if (server().draining() || response.close) f.keep_alive = false;
  serializeResponse(out, response, http().date(), f);
  return !f.keep_alive;
}

void HttpConnection::deliver(uint64_t seq, const HttpResponse& response) {
  if (closing()) return;
  // An answer on top of a backlog already over the limit: the client is not
  // reading. One large answer after a drained backlog is fine; a pile is not.
  if (cutOffSlowReader()) return;
  OrderedReplies& r = replies();
  bool in_dispatch = r.dispatching() && seq == r.dispatchSeq();
  OrderedReplies::Target t = r.target(seq);
  if (t.bytes == nullptr) return;
  HttpServer& server = http();
  if (in_dispatch) {
    server.recordResponse(route_kind_ == RouteMatch::Kind::Found ? route_id_ : -1, response.status,
                          request_.started_us);
    bool close_after = appendResponse(*t.bytes, response, currentFraming());
    if (t.slot == nullptr) {
      if (close_after) finishAfterOutput();
    } else {
      t.slot->close_after = close_after;
    }
    committed(r.commit(t));
    return;
  }
  server.recordResponse(t.slot->tag, response.status, t.slot->started_us);
  t.slot->close_after = appendResponse(*t.bytes, response, framingOf(t.slot->flags));
  committed(r.commit(t));
}

}  // namespace redge
