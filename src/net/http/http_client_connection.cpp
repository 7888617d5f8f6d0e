// One upstream connection of the HTTP client pool (see the header and
// http_client.hpp for the promises).
//
// The response is complete when llhttp says so: on_message_complete pauses
// the parser, and the request is finished after llhttp_execute has returned,
// so the user's callback never runs inside the parser and may reuse this
// very connection. A response delimited by the end of the connection (no
// Content-Length, not chunked) completes on EOF via llhttp_finish.

#include "net/http/http_client_connection.hpp"

#include <strings.h>

#include <algorithm>

namespace redge {
namespace {

HttpClientConnection* self(llhttp_t* p) {
  return static_cast<HttpClientConnection*>(p->data);
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

void HttpClientConnection::start(HttpClientRequest request, HttpClientCallback cb,
                                 int64_t started_us, bool retried) {
  request_ = std::move(request);
  cb_ = std::move(cb);
  started_us_ = started_us;
  retried_ = retried;
  response_ = HttpClientResponse{};
  response_started_ = false;
  response_done_ = false;
  too_large_ = false;
  in_header_name_ = false;
  llhttp_init(&parser_, HTTP_RESPONSE, &parserSettings());
  parser_.data = this;
  if (!connected_ && request_.connect_timeout_ms > 0 &&
      request_.connect_timeout_ms < request_.timeout_ms) {
    setTimer(TimerPhase::Connect, request_.connect_timeout_ms);
  } else {
    setTimer(TimerPhase::Request, request_.timeout_ms);
  }
  if (connected_) writeRequest();
}

void HttpClientConnection::writeRequest() {
  std::string& out = writer_.buffer();
  out.append(request_.method).append(" ").append(request_.target).append(" HTTP/1.1\r\nHost: ");
  out.append(request_.authority.empty() ? pool_.options().authority : request_.authority);
  if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT") {
    out.append("\r\nContent-Length: ").append(std::to_string(request_.body.size()));
  }
  for (const auto& [name, value] : request_.headers) {
    out.append("\r\n").append(name).append(": ").append(value);
  }
  out.append("\r\n\r\n").append(request_.body);
  if (writer_.flush() != 0) finish(HttpClientError::Reset);
}

void HttpClientConnection::onConnectCb(uv_connect_t* req, int status) noexcept {
  static_cast<HttpClientConnection*>(req->data)->onConnect(status);
}

void HttpClientConnection::onConnect(int status) {
  if (closing_) return;  // cancelled by close()
  if (status < 0) {
    finish(HttpClientError::Connect);
    return;
  }
  connected_ = true;
  if (phase_ == TimerPhase::Connect) {
    // The rest of the request's deadline, counted from its start.
    int64_t spent_ms = (static_cast<int64_t>(uv_hrtime() / 1000) - started_us_) / 1000;
    setTimer(TimerPhase::Request, std::max<int64_t>(request_.timeout_ms - spent_ms, 0));
  }
  uv_tcp_nodelay(&tcp_, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &onAllocCb, &onReadCb);
  if (cb_) writeRequest();
}

void HttpClientConnection::onWritten(int status) {
  if (closing_) return;
  if (status < 0) finish(HttpClientError::Reset);
}

void HttpClientConnection::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<HttpClientConnection*>(h->data);
  buf->base = c->read_buffer_;
  buf->len = sizeof c->read_buffer_;
}

void HttpClientConnection::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<HttpClientConnection*>(s->data);
  if (c != nullptr) c->onRead(nread, buf);
}

void HttpClientConnection::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread == 0) return;
  if (!cb_) {
    // Idle: the upstream closed it, or sent bytes nobody asked for.
    close();
    return;
  }
  if (nread < 0) {
    if (response_started_ && llhttp_finish(&parser_) == HPE_OK && response_done_) {
      finish(HttpClientError::None);  // a body delimited by the close
    } else if (!response_started_ && reused_ && !retried_) {
      // The keep-alive race: the upstream closed this idle connection as we
      // reused it. Not its failure: try once more on a fresh connection.
      HttpClientRequest request = std::move(request_);
      HttpClientCallback cb = std::move(cb_);
      cb_ = nullptr;
      setTimer(TimerPhase::None, 0);
      close();
      pool_.retryOnFreshConnection(std::move(request), std::move(cb), started_us_);
    } else {
      finish(HttpClientError::Reset);
    }
    return;
  }
  response_started_ = true;
  llhttp_errno_t err = llhttp_execute(&parser_, buf->base, static_cast<size_t>(nread));
  if (too_large_) {
    finish(HttpClientError::TooLarge);
  } else if (response_done_) {
    finish(HttpClientError::None);
  } else if (err != HPE_OK) {
    finish(HttpClientError::BadResponse);
  }
}

int HttpClientConnection::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) noexcept {
  HttpClientConnection* c = self(p);
  if (!c->in_header_name_) {
    c->response_.headers.emplace_back();
    c->in_header_name_ = true;
  }
  c->response_.headers.back().first.append(at, len);
  return 0;
}

int HttpClientConnection::onHeaderFieldCompleteCb(llhttp_t* p) noexcept {
  self(p)->in_header_name_ = false;
  return 0;
}

int HttpClientConnection::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) noexcept {
  HttpClientConnection* c = self(p);
  if (!c->response_.headers.empty()) c->response_.headers.back().second.append(at, len);
  return 0;
}

int HttpClientConnection::onHeadersCompleteCb(llhttp_t* p) noexcept {
  HttpClientConnection* c = self(p);
  c->response_.status = p->status_code;
  // A response to HEAD has no body whatever its headers say.
  return c->request_.method == "HEAD" ? 1 : 0;
}

int HttpClientConnection::onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept {
  HttpClientConnection* c = self(p);
  if (static_cast<int64_t>(c->response_.body.size() + len) >
      c->pool_.options().max_response_bytes) {
    c->too_large_ = true;
    return HPE_USER;
  }
  c->response_.body.append(at, len);
  return 0;
}

int HttpClientConnection::onMessageCompleteCb(llhttp_t* p) noexcept {
  self(p)->response_done_ = true;
  return HPE_PAUSED;  // finish after llhttp_execute returns
}

void HttpClientConnection::onTimerCb(uv_timer_t* t) noexcept {
  auto* c = static_cast<HttpClientConnection*>(t->data);
  if (c == nullptr || c->closing_) return;
  if (c->phase_ == TimerPhase::Request)
    c->finish(HttpClientError::Timeout);
  else if (c->phase_ == TimerPhase::Connect)
    c->finish(HttpClientError::Connect);
  else
    c->close();  // idle too long
}

void HttpClientConnection::setTimer(TimerPhase phase, int64_t ms) {
  phase_ = phase;
  if (phase == TimerPhase::None)
    uv_timer_stop(&timer_);
  else
    uv_timer_start(&timer_, &onTimerCb, static_cast<uint64_t>(ms), 0);
}

void HttpClientConnection::finish(HttpClientError error) {
  if (!cb_) {
    close();
    return;
  }
  HttpClientCallback cb = std::move(cb_);
  cb_ = nullptr;
  HttpClientResponse response = std::move(response_);
  pool_.record(error, response.status, started_us_);
  bool keep = error == HttpClientError::None && llhttp_should_keep_alive(&parser_) &&
              writer_.idle() && !closing_;
  if (keep) {
    reused_ = true;
    setTimer(TimerPhase::Idle, pool_.options().idle_timeout_ms);
    keep = pool_.keepIdle(this);
  }
  if (!keep) close();
  cb(error, error == HttpClientError::None ? &response : nullptr);
}

void HttpClientConnection::close() {
  if (closing_) return;
  closing_ = true;
  pool_.dropIdle(this);
  if (cb_) {
    HttpClientCallback cb = std::move(cb_);
    cb_ = nullptr;
    pool_.record(HttpClientError::Closed, 0, started_us_);
    cb(HttpClientError::Closed, nullptr);
  }
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

}  // namespace redge
