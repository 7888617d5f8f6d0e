// One upstream connection of the HTTP client pool (see the header and
// http_client.hpp for the promises).
//
// Writing: the request's head and body pieces are appended to the writer and
// flushed at once (uv_try_write first); what the kernel does not take is
// queued, and past the high mark the caller is told to wait for
// onRequestDrained(). On a kept-alive connection every byte is also kept,
// up to the exchange's replay limit, until the first response byte: if the
// upstream had closed the connection as we reused it, the same bytes go
// again on a fresh one.
//
// Reading: into the pool's shared buffer, parsed at once; llhttp callbacks
// hand the head and body pieces to the handler. The response's end pauses
// the parser, and the exchange is finished after llhttp_execute has
// returned, so the handler's onResponseEnd() runs outside llhttp with the
// connection already back in the pool (it may start its next exchange on
// this very connection). A pause from the caller also stops llhttp (at the
// end of the current piece) and keeps the unread rest; resuming parses it
// from the next timer run, then reads again. A 101 ends the parsing: the
// rest of the bytes are the tunnel's.
//
// Timer: one, armed for the nearest of the exchange's deadlines (connect,
// the whole exchange, the response's first byte and then each gap between
// reads) or the idle deadline. Progress only moves timestamps; when the
// timer fires early it looks again and re-arms, so a busy stream costs no
// timer operation per read.

#include "net/http/http_client_connection.hpp"

#include <linux/sockios.h>
#include <strings.h>
#include <sys/ioctl.h>

#include <charconv>

namespace redge {
namespace {

// Above this many unsent request bytes, the caller waits for
// onRequestDrained(), which comes below the low mark.
constexpr size_t kRequestHighWatermark = 1 << 20;
constexpr size_t kRequestLowWatermark = 256 << 10;

HttpClientConnection* client(llhttp_t* p) {
  return static_cast<HttpClientConnection*>(p->data);
}

bool methodIs(std::string_view method, std::string_view name) {
  return method.size() == name.size() && strncasecmp(method.data(), name.data(), name.size()) == 0;
}

}  // namespace

HttpClientConnection::HttpClientConnection(HttpClientPool& pool)
    : pool_(pool), writer_(reinterpret_cast<uv_stream_t*>(&tcp_), *this) {
  tcp_.data = this;
  timer_.data = this;
  connect_req_.data = this;
  llhttp_init(&parser_, HTTP_RESPONSE, &parserSettings());
  parser_.data = this;
}

const llhttp_settings_t& HttpClientConnection::parserSettings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_status = &HttpClientConnection::onStatusCb;
    s.on_header_field = &HttpClientConnection::onHeaderFieldCb;
    s.on_header_value = &HttpClientConnection::onHeaderValueCb;
    s.on_header_field_complete = &HttpClientConnection::onHeaderFieldCompleteCb;
    s.on_headers_complete = &HttpClientConnection::onHeadersCompleteCb;
    s.on_body = &HttpClientConnection::onBodyCb;
    s.on_message_complete = &HttpClientConnection::onMessageCompleteCb;
    return s;
  }();
  return settings;
}

void HttpClientConnection::serializeHead(std::string& out, const HttpClientStreamRequest& r,
                                         std::string_view authority) {
  out.append(r.method).append(" ").append(r.target).append(" HTTP/1.1\r\n");
  bool has_host = r.header_block_has_host;
  for (const auto& [name, value] : r.headers) {
    if (methodIs(name, "Host")) has_host = true;
  }
  if (!has_host) out.append("Host: ").append(authority).append("\r\n");
  for (const auto& [name, value] : r.headers) {
    out.append(name).append(": ", 2).append(value).append("\r\n", 2);
  }
  out.append(r.header_block);
  if (r.content_length < 0) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (r.content_length > 0 || methodIs(r.method, "POST") || methodIs(r.method, "PUT") ||
             methodIs(r.method, "PATCH")) {
    // An empty POST says so: some servers answer 411 to one without a length.
    char num[24];
    auto end = std::to_chars(num, num + sizeof num, r.content_length).ptr;
    out.append("Content-Length: ").append(num, end).append("\r\n");
  }
  out.append("\r\n");
}

int HttpClientConnection::connect() {
  uv_tcp_init(pool_.loop(), &tcp_);
  uv_timer_init(pool_.loop(), &timer_);
  handles_open_ = 2;
  struct sockaddr_storage addr;
  const auto& o = pool_.options();
  int rc = o.host.find(':') != std::string::npos
               ? uv_ip6_addr(o.host.c_str(), o.port, reinterpret_cast<sockaddr_in6*>(&addr))
               : uv_ip4_addr(o.host.c_str(), o.port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc == 0) {
    rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&addr),
                        &onConnectCb);
  }
  return rc;
}

void HttpClientConnection::begin(const HttpClientPool::ExchangeState& exchange,
                                 const HttpClientStreamRequest& request) {
  start(exchange);
  std::string& out = writer_.buffer();
  size_t from = out.size();
  serializeHead(out, request, pool_.options().authority);
  keepForReplay(std::string_view(out).substr(from));
  flushRequest();
  rearm();
}

void HttpClientConnection::beginAgain(const HttpClientPool::ExchangeState& exchange,
                                      std::string_view bytes) {
  start(exchange);
  queueRequestBytes(bytes);
  flushRequest();
  rearm();
}

void HttpClientConnection::start(const HttpClientPool::ExchangeState& exchange) {
  exchange_ = exchange;
  stream_ = exchange.stream;
  stream_->connection_ = this;
  head_.reset();
  pending_.clear();
  response_started_ = false;
  response_paused_ = false;
  resume_pending_ = false;
  message_done_ = false;
  keep_alive_ = false;
  switching_ = false;
  tunnel_ = false;
  drain_wanted_ = false;
  deferred_error_ = HttpClientError::None;
  llhttp_init(&parser_, HTTP_RESPONSE, &parserSettings());
  parser_.data = this;
  // Only a kept-alive connection can meet the race.
  replay_.clear();
  replay_ok_ = reused_ && !exchange_.retried;
  uint64_t t = now();
  if (phase_ == Phase::Idle) phase_ = Phase::Active;
  if (phase_ == Phase::Connecting) connect_deadline_ms_ = t + exchange_.connect_timeout_ms;
  request_ended_ms_ = t;
  last_write_ms_ = t;
  last_read_ms_ = t;
  unsent_at_check_ = SIZE_MAX;
}

// ---------------------------------------------------------------- writing

void HttpClientConnection::queueRequestBytes(std::string_view data) {
  writer_.buffer().append(data);
  keepForReplay(data);
}

void HttpClientConnection::keepForReplay(std::string_view data) {
  if (!replay_ok_) return;
  if (replay_.size() + data.size() > exchange_.replay_limit) {
    replay_ok_ = false;
    std::string().swap(replay_);
    return;
  }
  replay_.append(data);
}

void HttpClientConnection::flushRequest() {
  if (!connected_ || closing_ || writer_.empty()) return;
  bool was_waiting = writer_.writesInFlight() > 0;
  if (writer_.flush() != 0) {
    failLater(HttpClientError::Reset);
    return;
  }
  if (!was_waiting && writer_.writesInFlight() > 0) {
    // The upstream is not taking everything: its stall deadline starts.
    last_write_ms_ = now();
    rearm();
  }
}

bool HttpClientConnection::writeBody(std::string_view data) {
  if (tunnel_) {
    if (closing_) return false;
    writer_.buffer().append(data);
    flushRequest();
    return requestWantsMore();
  }
  if (closing_ || exchange_.request_ended) return false;
  if (!data.empty()) {
    if (exchange_.chunked) {
      char size[24];
      char* end = std::to_chars(size, size + sizeof size - 2, data.size(), 16).ptr;
      *end++ = '\r';
      *end++ = '\n';
      queueRequestBytes(std::string_view(size, static_cast<size_t>(end - size)));
      queueRequestBytes(data);
      queueRequestBytes("\r\n");
    } else {
      queueRequestBytes(data);
    }
    flushRequest();
  }
  return requestWantsMore();
}

void HttpClientConnection::endRequest() {
  if (closing_ || tunnel_ || exchange_.request_ended) return;
  if (exchange_.chunked) queueRequestBytes("0\r\n\r\n");
  exchange_.request_ended = true;
  request_ended_ms_ = now();
  flushRequest();
  rearm();
}

bool HttpClientConnection::requestWantsMore() {
  if (closing_ || deferred_error_ != HttpClientError::None) return false;
  if (requestBacklog() < kRequestHighWatermark) return true;
  drain_wanted_ = true;
  return false;
}

void HttpClientConnection::onWritten(int status) {
  if (closing_) return;
  if (status < 0) {
    onUpstreamGone(status);
    return;
  }
  if (stream_ == nullptr) return;  // idle
  last_write_ms_ = now();
  if (drain_wanted_ && requestBacklog() < kRequestLowWatermark) {
    drain_wanted_ = false;
    stream_->handler_.onRequestDrained();
    if (closing_ || stream_ == nullptr) return;
  }
  rearm();
}

// ---------------------------------------------------------------- reading

void HttpClientConnection::onConnectCb(uv_connect_t* req, int status) noexcept {
  static_cast<HttpClientConnection*>(req->data)->onConnect(status);
}

void HttpClientConnection::onConnect(int status) {
  if (closing_) return;  // cancelled by close()
  if (status < 0) {
    fail(HttpClientError::Connect);
    return;
  }
  connected_ = true;
  phase_ = Phase::Active;
  // The first byte's deadline counts from when the request could be sent.
  if (exchange_.request_ended) request_ended_ms_ = now();
  uv_tcp_nodelay(&tcp_, 1);
  startReading();
  flushRequest();
  rearm();
}

void HttpClientConnection::startReading() {
  if (reading_ || !connected_ || closing_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &onAllocCb, &onReadCb) == 0) {
    reading_ = true;
  }
}

void HttpClientConnection::stopReading() {
  if (!reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void HttpClientConnection::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<HttpClientConnection*>(h->data);
  buf->base = c->pool_.readBuffer();
  buf->len = HttpClientPool::kReadBufferSize;
}

void HttpClientConnection::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<HttpClientConnection*>(s->data);
  if (c != nullptr) c->onRead(nread, buf);
}

void HttpClientConnection::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_ || nread == 0) return;
  if (stream_ == nullptr) {
    // Idle: the upstream closed it, or sent bytes nobody asked for.
    close();
    return;
  }
  if (nread < 0) {
    onUpstreamGone(static_cast<int>(nread));
    return;
  }
  last_read_ms_ = now();
  if (!response_started_) {
    // Past this point the request is not sent again: the upstream has
    // acted on it.
    response_started_ = true;
    replay_ok_ = false;
    // A buffered request's copy may be large: not kept for the next one.
    if (replay_.capacity() > HttpClientPool::kReplayBytes) {
      std::string().swap(replay_);
    } else {
      replay_.clear();
    }
    rearm();
  }
  consume(buf->base, static_cast<size_t>(nread));
}

void HttpClientConnection::consume(const char* data, size_t len) {
  if (tunnel_) {
    if (len > 0) stream_->handler_.onResponseData(std::string_view(data, len));
    return;
  }
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (closing_ || stream_ == nullptr) return;  // ended from a callback
  if (err == HPE_OK) return;
  const char* pos = llhttp_get_error_pos(&parser_);
  size_t consumed = pos != nullptr ? static_cast<size_t>(pos - data) : len;
  if (consumed > len) consumed = len;
  std::string_view rest(data + consumed, len - consumed);
  if (err == HPE_PAUSED_UPGRADE && switching_) {
    // After the 101's head, the bytes are the other protocol's.
    tunnel_ = true;
    rearm();
    if (rest.empty()) return;
    if (response_paused_) {
      pending_.append(rest);
    } else {
      stream_->handler_.onResponseData(rest);
    }
    return;
  }
  if (err == HPE_PAUSED) {
    if (message_done_) {
      // Bytes after the response that nobody asked for: not reusable.
      if (!rest.empty()) keep_alive_ = false;
      finishExchange();
      return;
    }
    if (response_paused_) {
      pending_.append(rest);
      return;
    }
  }
  fail(HttpClientError::BadResponse);
}

void HttpClientConnection::onUpstreamGone(int status) {
  if (closing_) return;
  if (stream_ == nullptr) {
    close();
    return;
  }
  if (tunnel_) {
    if (status != UV_EOF) {
      fail(HttpClientError::Reset);
      return;
    }
    // The upstream closed its side of the tunnel: the exchange's end.
    HttpClientStream* s = detach();
    pool_.record(HttpClientError::None, 101, exchange_.started_us);
    close();
    if (s != nullptr) s->handler_.onResponseEnd();
    return;
  }
  if (response_started_) {
    // A body delimited by the close ends here (llhttp_finish completes it).
    if (!message_done_ && status == UV_EOF) llhttp_finish(&parser_);
    if (message_done_) {
      keep_alive_ = false;
      finishExchange();
      return;
    }
    fail(HttpClientError::Reset);
    return;
  }
  if (reused_ && replay_ok_ && !exchange_.retried) {
    // The keep-alive race: the upstream closed this idle connection as we
    // reused it. Not its failure: the same bytes once more, on a fresh one.
    HttpClientPool::ExchangeState again = exchange_;
    again.retried = true;
    std::string bytes;
    bytes.swap(replay_);
    again.stream = detach();
    close();
    pool_.retryOnFreshConnection(again, bytes);
    return;
  }
  fail(HttpClientError::Reset);
}

int HttpClientConnection::onStatusCb(llhttp_t* p, const char* at, size_t len) noexcept {
  client(p)->head_.appendReason(std::string_view(at, len));
  return 0;
}

int HttpClientConnection::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) noexcept {
  client(p)->head_.appendName(std::string_view(at, len));
  return 0;
}

int HttpClientConnection::onHeaderFieldCompleteCb(llhttp_t* p) noexcept {
  client(p)->head_.endName();
  return 0;
}

int HttpClientConnection::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) noexcept {
  client(p)->head_.appendValue(std::string_view(at, len));
  return 0;
}

int HttpClientConnection::onHeadersCompleteCb(llhttp_t* p) noexcept {
  return client(p)->onHeadersComplete();
}

// Return values are llhttp's: 0 a body may follow, 1 none (HEAD), 2 none
// and the rest is another protocol (101), HPE_PAUSED stop here, -1 error.
int HttpClientConnection::onHeadersComplete() {
  head_.status = parser_.status_code;
  head_.version_major = parser_.http_major;
  head_.version_minor = parser_.http_minor;
  if (parser_.flags & F_CHUNKED) {
    head_.chunked = true;
    head_.content_length = -1;
  } else if (parser_.flags & F_CONTENT_LENGTH) {
    head_.content_length = static_cast<int64_t>(parser_.content_length);
  }
  int status = head_.status;
  if (status >= 100 && status < 200 && status != 101) {
    stream_->handler_.onInterim(head_);
    if (closing_ || stream_ == nullptr) return -1;
    return response_paused_ ? HPE_PAUSED : 0;
  }
  switching_ = status == 101;
  stream_->handler_.onResponseHead(head_);
  if (closing_ || stream_ == nullptr) return -1;
  if (switching_) return 2;
  // A response to HEAD, a 204 and a 304 have no body whatever their
  // headers say (RFC 9112 6.3): a 304's Content-Length describes the
  // representation it validates.
  if (exchange_.head_request || status == 204 || status == 304) return 1;
  return response_paused_ ? HPE_PAUSED : 0;
}

int HttpClientConnection::onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept {
  return client(p)->onBody(at, len);
}

int HttpClientConnection::onBody(const char* at, size_t len) {
  // llhttp run on no bytes (resuming) closes its open span with an empty
  // piece: nothing to hand over.
  if (len == 0) return 0;
  stream_->handler_.onResponseData(std::string_view(at, len));
  if (closing_ || stream_ == nullptr) return HPE_USER;
  return response_paused_ ? HPE_PAUSED : 0;
}

int HttpClientConnection::onMessageCompleteCb(llhttp_t* p) noexcept {
  return client(p)->onMessageComplete();
}

int HttpClientConnection::onMessageComplete() {
  int status = parser_.status_code;
  if (status >= 100 && status < 200 && status != 101) {
    head_.reset();  // the interim answer is done; the final one follows
    return 0;
  }
  if (status == 101) return 0;  // llhttp then returns HPE_PAUSED_UPGRADE
  keep_alive_ = llhttp_should_keep_alive(&parser_) != 0;
  message_done_ = true;
  return HPE_PAUSED;  // finished after llhttp_execute returns
}

// ---------------------------------------------------------------- the caller's pause

void HttpClientConnection::pauseResponse() {
  if (closing_ || response_paused_) return;
  response_paused_ = true;
  resume_pending_ = false;
  stopReading();
  rearm();
}

void HttpClientConnection::resumeResponse() {
  if (closing_ || !response_paused_) return;
  response_paused_ = false;
  last_read_ms_ = now();
  // A pause from inside a callback left llhttp paused (HPE_PAUSED). Even
  // with no byte held it must run again: paused in the body's last piece,
  // it has still to call on_message_complete.
  bool parser_paused = llhttp_get_errno(&parser_) == HPE_PAUSED;
  llhttp_resume(&parser_);
  if (!pending_.empty() || parser_paused) {
    // Parsed from the timer, not inside the caller's call; reading waits
    // until then, or new bytes would overtake the held ones.
    resume_pending_ = true;
  } else {
    startReading();
  }
  rearm();
}

// ---------------------------------------------------------------- ends

HttpClientStream* HttpClientConnection::detach() {
  HttpClientStream* s = stream_;
  if (s != nullptr) {
    s->connection_ = nullptr;
    stream_ = nullptr;
  }
  return s;
}

void HttpClientConnection::finishExchange() {
  HttpClientStream* s = detach();
  pool_.record(HttpClientError::None, head_.status, exchange_.started_us);
  bool keep = keep_alive_ && exchange_.request_ended && writer_.idle() && pending_.empty() &&
              !closing_ && deferred_error_ == HttpClientError::None && !pool_.closing();
  if (keep) {
    reused_ = true;
    phase_ = Phase::Idle;
    idle_since_ms_ = now();
    keep = pool_.keepIdle(this);
  }
  if (keep) {
    startReading();  // an idle connection reads, to see the upstream close it
    rearm();
  } else {
    close();
  }
  if (s != nullptr) s->handler_.onResponseEnd();
}

void HttpClientConnection::fail(HttpClientError error) {
  if (stream_ == nullptr) {
    close();
    return;
  }
  HttpClientFailure f;
  f.error = error;
  f.response_started = response_started_;
  f.reused_connection = reused_;
  HttpClientStream* s = detach();
  pool_.record(error, 0, exchange_.started_us);
  close();
  s->handler_.onError(f);
}

void HttpClientConnection::failLater(HttpClientError error) {
  if (deferred_error_ == HttpClientError::None) deferred_error_ = error;
  stopReading();
  rearm();
}

void HttpClientConnection::abandon() {
  stream_ = nullptr;
  close();
}

void HttpClientConnection::close() {
  if (closing_) return;
  if (stream_ != nullptr) {
    fail(HttpClientError::Closed);  // comes back here without the stream
    return;
  }
  closing_ = true;
  pool_.dropIdle(this);
  if (handles_open_ == 0) {
    pool_.release(this);
    return;
  }
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &onCloseCb);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &onCloseCb);
}

void HttpClientConnection::onCloseCb(uv_handle_t* h) noexcept {
  auto* c = static_cast<HttpClientConnection*>(h->data);
  if (--c->handles_open_ == 0) c->pool_.release(c);
}

// ---------------------------------------------------------------- timer

// Whether the upstream took request bytes since the last check: the bytes
// queued in libuv plus those the kernel holds unsent (SIOCOUTQ) went down.
// A queued write completes only once the kernel has room for all of it,
// which an upstream reading slowly but steadily may take longer than the
// deadline to make: it is a slow reader, not a silent one. Looked at only
// when the deadline fires, so a fast exchange pays no system call.
bool HttpClientConnection::requestStillMoving() {
  size_t unsent = writer_.queuedBytes();
  uv_os_fd_t fd;
  int in_kernel = 0;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) == 0 &&
      ioctl(fd, SIOCOUTQ, &in_kernel) == 0 && in_kernel > 0) {
    unsent += static_cast<size_t>(in_kernel);
  }
  bool moving = unsent > 0 && unsent < unsent_at_check_;
  unsent_at_check_ = unsent;
  if (moving) {
    // The deadline counts again from now: the first response byte is due
    // once the upstream has the whole request.
    uint64_t t = now();
    last_write_ms_ = t;
    if (exchange_.request_ended) request_ended_ms_ = t;
  }
  return moving;
}

HttpClientConnection::Wait HttpClientConnection::nextWait(uint64_t& at) const {
  if (deferred_error_ != HttpClientError::None || resume_pending_) {
    at = now();
    return Wait::Deferred;
  }
  at = UINT64_MAX;
  Wait w = Wait::Nothing;
  auto rt = static_cast<uint64_t>(exchange_.response_timeout_ms);
  switch (phase_) {
    case Phase::Idle:
      if (pool_.options().idle_timeout_ms <= 0) return Wait::Nothing;
      at = idle_since_ms_ + static_cast<uint64_t>(pool_.options().idle_timeout_ms);
      return Wait::Idle;
    case Phase::Connecting:
      at = connect_deadline_ms_;
      w = Wait::Connect;
      break;
    case Phase::Active:
      if (stream_ == nullptr || tunnel_) return Wait::Nothing;
      if (response_started_) {
        if (!response_paused_) {
          at = last_read_ms_ + rt;
          w = Wait::Response;
        }
      } else if (exchange_.request_ended) {
        at = request_ended_ms_ + rt;
        w = Wait::Response;
      } else if (writer_.writesInFlight() > 0) {
        at = last_write_ms_ + rt;
        w = Wait::Response;
      }
      break;
  }
  // On a tie the whole exchange's deadline wins: a buffered request that
  // could not connect in its time reports Timeout, as it always has.
  if (exchange_.total_deadline_ms != 0 && exchange_.total_deadline_ms <= at) {
    at = exchange_.total_deadline_ms;
    w = Wait::Total;
  }
  return w;
}

// The timer only ever moves earlier: a deadline later than the one armed
// (the next phase of an exchange, the idle wait after it) is found when the
// armed one fires early and looks again. A timer start or stop is a heap
// operation on the loop's timers; an exchange then costs about one, not one
// per phase.
void HttpClientConnection::rearm() {
  if (closing_ || handles_open_ == 0) return;
  uint64_t at;
  if (nextWait(at) == Wait::Nothing) return;  // an armed timer fires and finds nothing
  if (at >= timer_at_ms_) return;
  uint64_t t = now();
  uv_timer_start(&timer_, &onTimerCb, at > t ? at - t : 0, 0);
  timer_at_ms_ = at;
}

void HttpClientConnection::onTimerCb(uv_timer_t* t) noexcept {
  auto* c = static_cast<HttpClientConnection*>(t->data);
  if (c != nullptr) c->onTimer();
}

void HttpClientConnection::onTimer() {
  timer_at_ms_ = UINT64_MAX;
  if (closing_) return;
  if (deferred_error_ != HttpClientError::None) {
    HttpClientError e = deferred_error_;
    deferred_error_ = HttpClientError::None;
    if (e == HttpClientError::Reset) {
      onUpstreamGone(UV_EPIPE);  // a failed write: maybe the keep-alive race
    } else {
      fail(e);
    }
    return;
  }
  if (resume_pending_) {
    resume_pending_ = false;
    std::string held;
    held.swap(pending_);
    if (stream_ != nullptr) consume(held.data(), held.size());
    if (closing_) return;
    if (!response_paused_) startReading();
    rearm();
    return;
  }
  uint64_t at;
  Wait w = nextWait(at);
  if (w == Wait::Nothing) return;
  if (now() < at) {
    rearm();  // progress since it was armed: look again later
    return;
  }
  switch (w) {
    case Wait::Connect:
      fail(HttpClientError::ConnectTimeout);
      break;
    case Wait::Response:
      if (!response_started_ && requestStillMoving()) {
        rearm();
        break;
      }
      fail(HttpClientError::Timeout);
      break;
    case Wait::Total:
      fail(HttpClientError::Timeout);
      break;
    case Wait::Idle:
      close();
      break;
    case Wait::Nothing:
    case Wait::Deferred:
      break;
  }
}

}  // namespace redge
