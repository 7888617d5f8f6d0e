// One HTTP/1.1 server connection.
//
// Reading: every connection of a server reads into the server's one shared
// buffer (the loop is single-threaded and a read is parsed completely before
// the next), so an idle connection costs no read buffer. llhttp runs in
// strict mode; its callbacks fill the reused HttpRequest and enforce the
// header and body limits as bytes arrive, so an oversized request is refused
// before it is buffered.
//
// Ordering: request N's answer is never written before request N-1's. An
// answer produced while nothing is pending goes straight into the output; otherwise
// it waits in slots_ until those before it are ready. Everything produced in
// one read callback (or, for asynchronous answers, one loop iteration, via
// the server's flush check) leaves in one uv_write.
//
// Timers: one uv_timer_t, re-armed per phase: Header (a request must finish
// its headers in header_timeout_ms: slowloris gets 408), Body (the body must
// keep up http.body_min_rate after a header_timeout_ms start; a trickle gets
// 408), Idle (keep-alive wait),
// WriteStall (a reader that stops reading), Linger (after our FIN).
//
// Closing: close() is the one path; it detaches from the server at once and
// frees in the last close callback. Error answers end with a lingering close
// (shutdown, then read and discard briefly) so the client sees the answer
// instead of a reset.

#include "net/http/http_connection.hpp"

#include <strings.h>

#include <cstring>

#include "core/log.hpp"
#include "net/http/http_server.hpp"

namespace redge {
namespace {

constexpr size_t kMaxPendingAnswers = 128;         // pause parsing past this many
constexpr size_t kOutputHighWatermark = 1 << 20;   // stop reading above this
constexpr size_t kOutputLowWatermark = 256 << 10;  // resume below this
constexpr int64_t kLingerMs = 2000;

HttpConnection* self(llhttp_t* p) {
  return static_cast<HttpConnection*>(p->data);
}

}  // namespace

HttpConnection::HttpConnection(HttpServer& server, uint64_t id)
    : server_(server), id_(id), writer_(reinterpret_cast<uv_stream_t*>(&tcp_), *this) {
  llhttp_init(&parser_, HTTP_REQUEST, &parserSettings());
  parser_.data = this;
  tcp_.data = this;
  timer_.data = this;
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

int HttpConnection::accept(uv_stream_t* listener) {
  uv_tcp_init(server_.loop(), &tcp_);
  ++handles_open_;
  uv_timer_init(server_.loop(), &timer_);
  ++handles_open_;
  int rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (rc != 0) {
    close();
    return rc;
  }
  uv_tcp_nodelay(&tcp_, 1);
  setTimer(TimerPhase::Header, server_.options().header_timeout_ms);
  resumeReading();
  return 0;
}

void HttpConnection::rejectOverloaded() {
  no_more_requests_ = true;
  HttpResponse r(503, "application/json",
                 "{\"error\":\"too_many_connections\",\"message\":\"The server has reached its "
                 "connection limit; retry in a moment.\"}");
  r.header("Retry-After", "1");
  r.close = true;
  bool close_after = false;
  appendResponse(writer_.buffer(), r, ResponseFraming{}, close_after);
  close_after_flush_ = true;
  flush();
}

// ---------------------------------------------------------------- reading

void HttpConnection::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<HttpConnection*>(h->data);
  buf->base = c->server_.readBuffer();
  buf->len = c->server_.readBufferSize();
}

void HttpConnection::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<HttpConnection*>(s->data);
  if (c == nullptr) return;
  c->onRead(nread, buf);
}

void HttpConnection::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread < 0) {
    // EOF or reset. Answers still being prepared have no one to go to.
    close();
    return;
  }
  if (nread == 0) return;
  if (lingering_ || no_more_requests_) return;  // discard: we are closing
  server_.setCurrent(this, id_);
  parse(buf->base, static_cast<size_t>(nread));
  server_.setCurrent(nullptr, 0);
  if (!closing_) flush();
}

void HttpConnection::parse(const char* data, size_t len) {
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (closing_) return;
  if (err == HPE_OK) return;
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    if (no_more_requests_) return;  // what follows a final request is ignored
    // Too many answers pending, or too much output unread: keep the unparsed
    // rest (at most one read) and stop reading until the output drains.
    const char* pos = llhttp_get_error_pos(&parser_);
    size_t consumed = pos ? static_cast<size_t>(pos - data) : len;
    if (consumed < len) pending_input_.append(data + consumed, len - consumed);
    parse_paused_ = true;
    pauseReading();
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
  if (header_bytes_ > server_.options().max_header_bytes) {
    failRequest(431, "headers_too_large",
                "The request line and headers exceed " +
                    std::to_string(server_.options().max_header_bytes) +
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
  request_.started_us = server_.nowUs();
  in_request_ = true;
  header_bytes_ = 0;
  route_id_ = -1;
  continue_sent_ = false;
  if (phase_ != TimerPhase::Header)
    setTimer(TimerPhase::Header, server_.options().header_timeout_ms);
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
    if (name.size() == 4 && strncasecmp(name.data(), "Host", 4) == 0) {
      ++hosts;
    } else if (name.size() == 17 && strncasecmp(name.data(), "Transfer-Encoding", 17) == 0) {
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
        chunked_last = coding.size() == 7 && strncasecmp(coding.data(), "chunked", 7) == 0;
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

  RouteMatch m = server_.matchRoute(request_);
  route_kind_ = m.kind;
  route_id_ = m.route_id;
  allow_ = std::move(m.allow);
  body_limit_ = m.kind == RouteMatch::Kind::Found ? server_.routeBodyLimit(route_id_)
                                                  : server_.options().max_body_bytes;

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
    if (expect.size() != 12 || strncasecmp(expect.data(), "100-continue", 12) != 0) {
      failRequest(417, "expectation_failed",
                  "Only 'Expect: 100-continue' is supported; drop the Expect header.");
      return -1;
    }
    // An interim answer may only go out when no earlier answer is pending,
    // or it would overtake them; a client that waits in vain sends the body
    // after its own short timeout anyway.
    if (has_body && slots_.empty() && writer_.empty() && request_.version_minor >= 1) {
      writer_.buffer().append("HTTP/1.1 100 Continue\r\n\r\n");
      continue_sent_ = true;
      flush();
    }
  }
  if (has_body) {
    if (parser_.flags & F_CONTENT_LENGTH) {
      request_.mutableBody().reserve(static_cast<size_t>(parser_.content_length));
    }
    body_started_ms_ = static_cast<int64_t>(uv_now(server_.loop()));
    body_received_ = 0;
    setTimer(TimerPhase::Body, server_.options().header_timeout_ms);
  } else {
    setTimer(TimerPhase::None, 0);
  }
  return 0;
}

// The body's deadline: header_timeout_ms from its start, plus one second per
// body_min_rate bytes received. A client keeping up the rate never reaches
// it; one trickling a byte at a time cannot push it out (as Apache's
// mod_reqtimeout MinRate), and the timer is moved only when it fires, not on
// every read.
int64_t HttpConnection::bodyDeadlineMs() const {
  int64_t deadline = body_started_ms_ + server_.options().header_timeout_ms;
  int64_t rate = server_.options().body_min_rate;
  if (rate > 0) deadline += body_received_ * 1000 / rate;
  return deadline;
}

int HttpConnection::onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept {
  return self(p)->onBody(at, len);
}

int HttpConnection::onBody(const char* at, size_t len) {
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

int HttpConnection::onMessageCompleteCb(llhttp_t* p) noexcept {
  return self(p)->onMessageComplete();
}

int HttpConnection::onMessageComplete() {
  setTimer(TimerPhase::None, 0);
  in_request_ = false;
  // redge upgrades nothing (WebSocket, CONNECT): such a request is answered
  // and the connection closes, since llhttp stops parsing after it.
  request_.keep_alive =
      llhttp_should_keep_alive(&parser_) != 0 && !server_.draining() && parser_.upgrade == 0;
  uint64_t seq = next_seq_++;
  HttpResponder responder(&server_, id_, seq);
  dispatching_ = true;
  dispatch_seq_ = seq;
  answered_in_dispatch_ = false;
  server_.observe(request_);
  if (route_kind_ == RouteMatch::Kind::Found) {
    server_.dispatch(route_id_, request_, responder);
  } else if (route_kind_ == RouteMatch::Kind::MethodNotAllowed) {
    std::string message =
        "This path does not accept " + std::string(request_.method_text) + "; use " + allow_ + ".";
    std::string body = errorBody("method_not_allowed", message);
    HttpResponse r(405, "application/json", body);
    r.header("Allow", allow_);
    server_.recordError(405, "method_not_allowed", message);
    deliver(seq, r);
  } else {
    responder.sendError(404, "not_found", "No route matches this path; check the URL.");
  }
  dispatching_ = false;
  if (closing_) return HPE_PAUSED;
  if (!answered_in_dispatch_) {
    Slot s;
    s.seq = seq;
    s.framing = {request_.keep_alive, request_.version_minor == 0,
                 request_.method == HttpMethod::Head};
    s.route_id = route_kind_ == RouteMatch::Kind::Found ? route_id_ : -1;
    s.started_us = request_.started_us;
    slots_.push_back(std::move(s));
  }
  if (!request_.keep_alive) {
    no_more_requests_ = true;
    return HPE_PAUSED;
  }
  // Stop executing the rest of this read while the client has not taken
  // what it was already given: a pipeline of cheap requests for large answers
  // would otherwise turn a few bytes in into megabytes held per connection.
  if (slots_.size() >= kMaxPendingAnswers || outputBacklog() >= kOutputHighWatermark)
    return HPE_PAUSED;
  return 0;
}

void HttpConnection::failRequest(int status, std::string_view code, std::string_view message) {
  failed_ = true;
  no_more_requests_ = true;
  in_request_ = false;
  setTimer(TimerPhase::None, 0);
  uint64_t seq = next_seq_++;
  std::string body = errorBody(code, message);
  HttpResponse r(status, "application/json", body);
  r.close = true;
  // The request never reached a route: count it as unrouted.
  route_kind_ = RouteMatch::Kind::NotFound;
  server_.recordError(status, code, message);
  dispatching_ = true;
  dispatch_seq_ = seq;
  answered_in_dispatch_ = false;
  request_.keep_alive = false;
  deliver(seq, r);
  dispatching_ = false;
}

// ---------------------------------------------------------------- answers

bool HttpConnection::awaits(uint64_t seq) const {
  if (closing_) return false;
  if (dispatching_ && seq == dispatch_seq_) return !answered_in_dispatch_;
  if (slots_.empty() || seq < slots_.front().seq) return false;
  size_t i = static_cast<size_t>(seq - slots_.front().seq);
  return i < slots_.size() && !slots_[i].ready;
}

void HttpConnection::appendResponse(std::string& out, const HttpResponse& response,
                                    const ResponseFraming& framing, bool& close_after) {
  ResponseFraming f = framing;
  if (server_.draining() || response.close) f.keep_alive = false;
  close_after = !f.keep_alive;
  serializeResponse(out, response, server_.date(), f);
}

size_t HttpConnection::outputBacklog() const {
  return writer_.bufferedBytes() + writer_.queuedBytes() + ready_slot_bytes_;
}

bool HttpConnection::cutOffSlowReader() {
  size_t backlog = outputBacklog();
  if (backlog <= static_cast<size_t>(server_.options().max_output_bytes)) return false;
  REDGE_LOG(Info, "slow_reader_disconnected")
      .kv("service", server_.options().service)
      .kv("conn", id_)
      .kv("queued_bytes", static_cast<uint64_t>(backlog));
  server_.slowReaderDisconnected();
  close();
  return true;
}

void HttpConnection::deliver(uint64_t seq, const HttpResponse& response) {
  if (closing_) return;
  // An answer on top of a backlog already over the limit: the client is not
  // reading. One large answer after a drained backlog is fine; a pile is not.
  if (cutOffSlowReader()) return;
  if (dispatching_ && seq == dispatch_seq_) {
    if (answered_in_dispatch_) return;
    answered_in_dispatch_ = true;
    ResponseFraming framing{request_.keep_alive, request_.version_minor == 0,
                            request_.method == HttpMethod::Head};
    server_.recordResponse(route_kind_ == RouteMatch::Kind::Found ? route_id_ : -1, response.status,
                           request_.started_us);
    if (slots_.empty()) {
      bool close_after = false;
      appendResponse(writer_.buffer(), response, framing, close_after);
      if (close_after) {
        no_more_requests_ = true;
        close_after_flush_ = true;
      }
    } else {
      Slot s;
      s.seq = seq;
      s.ready = true;
      appendResponse(s.bytes, response, framing, s.close);
      ready_slot_bytes_ += s.bytes.size();
      slots_.push_back(std::move(s));
    }
    return;
  }
  if (slots_.empty() || seq < slots_.front().seq) return;
  size_t i = static_cast<size_t>(seq - slots_.front().seq);
  if (i >= slots_.size() || slots_[i].ready) return;
  Slot& s = slots_[i];
  server_.recordResponse(s.route_id, response.status, s.started_us);
  appendResponse(s.bytes, response, s.framing, s.close);
  ready_slot_bytes_ += s.bytes.size();
  s.ready = true;
  if (i == 0) {
    drainReadySlots();
    server_.scheduleFlush(id_);
  }
}

void HttpConnection::drainReadySlots() {
  while (!slots_.empty() && slots_.front().ready) {
    Slot& s = slots_.front();
    writer_.buffer().append(s.bytes);
    ready_slot_bytes_ -= s.bytes.size();
    bool close = s.close;
    slots_.pop_front();
    if (close) {
      // Nothing after a closing answer is ever written.
      no_more_requests_ = true;
      close_after_flush_ = true;
      slots_.clear();
      ready_slot_bytes_ = 0;
      break;
    }
  }
}

bool HttpConnection::canResumeParsing() const {
  return parse_paused_ && !no_more_requests_ && slots_.size() < kMaxPendingAnswers / 2 &&
         outputBacklog() < kOutputLowWatermark;
}

// Writes the output; then, while parsing was paused (answers pending or
// output unread) and that has cleared, parses more of the held input and
// writes again. A loop, not recursion: a client that reads as fast as it is
// answered must not deepen the stack with every round.
void HttpConnection::flush() {
  if (closing_ || flushing_) return;  // a flush in progress loops until done
  flushing_ = true;
  for (;;) {
    if (!writeOutput()) break;
    if (!canResumeParsing()) break;
    parse_paused_ = false;
    llhttp_resume(&parser_);
    std::string input;
    input.swap(pending_input_);
    if (!input.empty()) parse(input.data(), input.size());
    if (closing_) break;
    drainReadySlots();
  }
  flushing_ = false;
  if (closing_) return;
  if (!parse_paused_ && !read_paused_for_output_ && !no_more_requests_) resumeReading();
  afterOutputSettled();
}

bool HttpConnection::writeOutput() {
  if (writer_.empty()) return true;
  // The backlog before this write: what the client left unread.
  if (writer_.queuedBytes() > static_cast<size_t>(server_.options().max_output_bytes)) {
    cutOffSlowReader();
    return false;
  }
  if (writer_.flush() != 0) {
    close();
    return false;
  }
  if (writer_.queuedBytes() > kOutputHighWatermark && !read_paused_for_output_) {
    read_paused_for_output_ = true;
    pauseReading();
    setTimer(TimerPhase::WriteStall, server_.options().idle_timeout_ms);
  }
  return true;
}

void HttpConnection::onWritten(int status) {
  if (closing_) return;
  if (status < 0) {
    close();
    return;
  }
  if (read_paused_for_output_) {
    if (writer_.queuedBytes() < kOutputLowWatermark) {
      read_paused_for_output_ = false;
      if (phase_ == TimerPhase::WriteStall) setTimer(TimerPhase::None, 0);
    } else if (phase_ == TimerPhase::WriteStall) {
      // The client took some: a slow reader is not a stalled one.
      setTimer(TimerPhase::WriteStall, server_.options().idle_timeout_ms);
    }
  }
  flush();
}

// Decides what the connection waits for once output has moved.
void HttpConnection::afterOutputSettled() {
  if (closing_) return;
  bool nothing_pending = slots_.empty() && writer_.empty() && !in_request_;
  if (close_after_flush_) {
    if (nothing_pending && writer_.writesInFlight() == 0) startLingeringClose();
    return;
  }
  if (nothing_pending && phase_ == TimerPhase::None && !read_paused_for_output_) {
    if (server_.draining()) {
      close();
      return;
    }
    setTimer(TimerPhase::Idle, server_.options().idle_timeout_ms);
  }
}

bool HttpConnection::idle() const {
  return slots_.empty() && !in_request_ && writer_.idle();
}

void HttpConnection::closeWhenIdle() {
  if (closing_) return;
  if (idle()) {
    close();
    return;
  }
  // Whatever is answered next says Connection: close (the server drains).
}

// ---------------------------------------------------------------- closing

void HttpConnection::startLingeringClose() {
  if (closing_ || shutdown_started_) return;
  shutdown_started_ = true;
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &onShutdownCb) != 0) {
    close();
  }
}

void HttpConnection::onShutdownCb(uv_shutdown_t* req, int status) noexcept {
  auto* c = static_cast<HttpConnection*>(req->data);
  if (c->closing_) return;
  if (status < 0) {
    c->close();
    return;
  }
  // Our FIN is out. Read and discard whatever the client still sends (the
  // rest of a refused body) for a moment, so it reads our answer instead of
  // a reset.
  c->lingering_ = true;
  c->setTimer(TimerPhase::Linger, kLingerMs);
  c->resumeReading();
}

void HttpConnection::onTimerCb(uv_timer_t* t) noexcept {
  auto* c = static_cast<HttpConnection*>(t->data);
  if (c == nullptr) return;
  c->onTimer();
}

void HttpConnection::onTimer() {
  if (closing_) return;
  TimerPhase phase = phase_;
  phase_ = TimerPhase::None;
  if (phase == TimerPhase::Body) {
    int64_t now = static_cast<int64_t>(uv_now(server_.loop()));
    int64_t deadline = bodyDeadlineMs();
    if (deadline > now) {
      setTimer(TimerPhase::Body, deadline - now);
      return;
    }
  }
  switch (phase) {
    case TimerPhase::Header:
    case TimerPhase::Body:
      failRequest(408, "request_timeout",
                  phase == TimerPhase::Header
                      ? "The request headers did not arrive in time; send the whole request "
                        "promptly."
                      : "The request body arrived too slowly; send it at a steady rate.");
      flush();
      break;
    case TimerPhase::Idle:
    case TimerPhase::WriteStall:
    case TimerPhase::Linger:
    case TimerPhase::None:
      close();
      break;
  }
}

void HttpConnection::setTimer(TimerPhase phase, int64_t ms) {
  if (closing_) return;
  phase_ = phase;
  if (phase == TimerPhase::None) {
    uv_timer_stop(&timer_);
  } else {
    uv_timer_start(&timer_, &onTimerCb, static_cast<uint64_t>(ms), 0);
  }
}

void HttpConnection::pauseReading() {
  if (!reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void HttpConnection::resumeReading() {
  if (reading_ || closing_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &onAllocCb, &onReadCb) == 0) {
    reading_ = true;
  }
}

void HttpConnection::close() {
  if (closing_) return;
  closing_ = true;
  slots_.clear();
  ready_slot_bytes_ = 0;
  writer_.discard();
  pending_input_.clear();
  server_.onConnectionClosed(this);
  if (handles_open_ == 0) {
    server_.releaseConnection(this);
    return;
  }
  uv_timer_stop(&timer_);
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &onCloseCb);
  }
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &onCloseCb);
  }
}

void HttpConnection::onCloseCb(uv_handle_t* h) noexcept {
  auto* c = static_cast<HttpConnection*>(h->data);
  if (--c->handles_open_ == 0) {
    c->server_.releaseConnection(c);
  }
}

}  // namespace redge
