#pragma once
// A pool of keep-alive HTTP/1.1 client connections to one upstream
// (host:port), for the relay's deliveries, health probes and the gateway's
// members. One exchange at a time per connection; idle connections are
// reused newest first; responses are parsed with llhttp. Two ways to use it,
// on the same connections:
//
// - send(): a buffered request, and a callback with the whole response.
// - stream(): a streamed exchange (the gateway's forwarding): the request
//   head now, its body in pieces with backpressure, then the response head,
//   its body in pieces with pause/resume, interim 1xx answers, and after a
//   101 a raw tunnel both ways (through the same body calls). Memory stays
//   bounded whatever the sizes.
//
// Promises:
// - Deadlines: connecting (connect_timeout_ms: ConnectTimeout), the first
//   response byte once the request has been sent, and then the gap between
//   response reads (response_timeout_ms: Timeout); an upstream that stops
//   taking the request body for response_timeout_ms (Timeout); a buffered
//   request's whole exchange (timeout_ms: Timeout). Kept-alive connections
//   idle for idle_timeout_ms are closed.
// - A request that meets a kept-alive connection the upstream had already
//   closed (no byte of a response received) is sent again once on a fresh
//   connection when the pool still has all of it (a buffered request
//   always; a streamed one while at most kReplayBytes were written): the
//   usual keep-alive race, not the upstream's failure.
// - Buffered: the callback runs exactly once, with the response (any
//   status: a 500 is a response, not an error) or with why there is none.
//   It may run synchronously inside send() (pool closed) and may send again.
// - Streamed: see HttpClientStream and HttpClientStreamHandler.
// - close() fails whatever is pending with Closed (the handlers and
//   callbacks run inside close()); the pool may be destroyed once the loop
//   has run its connections' close callbacks (they call back into the pool).

#include <llhttp.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/metrics.hpp"

namespace redge {

enum class HttpClientError {
  None,
  Connect,         // refused, unreachable
  ConnectTimeout,  // no connection within connect_timeout_ms
  Timeout,         // no response (or no next piece of it) in time
  Reset,           // the connection died before the response was complete
  BadResponse,     // not valid HTTP/1.1
  TooLarge,        // the response exceeded max_response_bytes (buffered)
  Closed,          // the pool is shutting down
};

std::string_view httpClientErrorName(HttpClientError e);

// ---------------------------------------------------------------- buffered

struct HttpClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // Host and Content-Length are added
  std::string body;
  int64_t timeout_ms = 1000;
  // The Host header; empty: the pool's authority (a proxy passes its
  // client's on).
  std::string authority;
  // A connect that has not completed after this fails with ConnectTimeout
  // (the request was never sent); 0: timeout_ms bounds it.
  int64_t connect_timeout_ms = 0;
};

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string_view header(std::string_view name) const;  // case-insensitive, first match
};

using HttpClientCallback =
    std::function<void(HttpClientError error, const HttpClientResponse* response)>;

// ---------------------------------------------------------------- streamed

struct HttpClientStreamRequest {
  std::string_view method = "GET";
  std::string_view target = "/";
  // Header lines as they go out. Host is added (the pool's authority) only
  // when absent; the framing (Content-Length, Transfer-Encoding) is the
  // pool's, from content_length, and must not be among them.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // More header lines, already in wire form ("Name: value\r\n" each),
  // written after `headers`: a forwarder that built its head once passes it
  // whole. The same rules hold (no framing); `header_block_has_host` says
  // whether Host is among them.
  std::string_view header_block;
  bool header_block_has_host = false;
  // Body bytes that will follow: 0 none, -1 unknown (sent chunked).
  int64_t content_length = 0;
  int64_t connect_timeout_ms = 1000;
  // For the first response byte, counted from the request's end (or from
  // when its writes stall), then for each gap between response reads.
  int64_t response_timeout_ms = 30000;
  // The whole exchange must end within this (0: no such limit).
  int64_t total_timeout_ms = 0;
};

// A response head (interim or final), valid during the callback it is
// passed to.
class HttpClientResponseHead {
 public:
  int status = 0;
  int version_major = 1;
  int version_minor = 1;
  // The body's length when the upstream gave one; -1 when it did not
  // (chunked, or delimited by the upstream closing).
  int64_t content_length = -1;
  bool chunked = false;

  std::string_view reason() const { return view(reason_off_, reason_len_); }
  size_t headerCount() const { return spans_.size(); }
  std::string_view headerName(size_t i) const {
    return view(spans_[i].name_off, spans_[i].name_len);
  }
  std::string_view headerValue(size_t i) const {
    return view(spans_[i].value_off, spans_[i].value_len);
  }
  std::string_view header(std::string_view name) const;  // case-insensitive, first match

  // Used by the parser.
  void reset();
  void appendReason(std::string_view s);
  void appendName(std::string_view s);
  void endName() { in_name_ = false; }
  void appendValue(std::string_view s);

 private:
  struct Span {
    uint32_t name_off, name_len, value_off, value_len;
  };
  std::string_view view(uint32_t off, uint32_t len) const {
    return std::string_view(arena_).substr(off, len);
  }
  std::string arena_;  // reason and header bytes, one allocation kept across responses
  std::vector<Span> spans_;
  uint32_t reason_off_ = 0;
  uint32_t reason_len_ = 0;
  bool in_name_ = false;
};

// Why a streamed exchange failed.
struct HttpClientFailure {
  HttpClientError error = HttpClientError::None;
  // Some byte of an answer (an interim one included) had arrived: the
  // upstream may have acted on the request, so it is not safe to send it
  // again elsewhere.
  bool response_started = false;
  // The request was on a kept-alive connection, not a fresh one.
  bool reused_connection = false;
};

// What a streamed exchange reports. Callbacks come only from loop events
// (reads, writes completing, deadlines, the pool closing), never from inside
// an HttpClientStream call. After onResponseEnd() or onError(), nothing
// more; the handler may destroy itself (and its HttpClientStream) in any
// callback.
class HttpClientStreamHandler {
 public:
  virtual ~HttpClientStreamHandler() = default;
  // An interim answer (100 Continue, 103 Early Hints); never a 101.
  virtual void onInterim(const HttpClientResponseHead& head) { (void)head; }
  // The final answer's head. A 101 makes the exchange a tunnel: from then
  // on onResponseData() carries the upstream's raw bytes, writeBody() sends
  // raw bytes to it, and onResponseEnd() comes when the upstream closes its
  // side.
  virtual void onResponseHead(const HttpClientResponseHead& head) = 0;
  // A piece of the response body (de-chunked; after a 101, raw bytes);
  // valid during the call.
  virtual void onResponseData(std::string_view data) = 0;
  // The response is complete; the connection went back to the pool first.
  virtual void onResponseEnd() = 0;
  // The request's unsent bytes fell below the low mark after
  // requestWantsMore() (or a write) had said false.
  virtual void onRequestDrained() {}
  virtual void onError(const HttpClientFailure& failure) = 0;
};

class HttpClientConnection;
class HttpClientPool;

// One streamed exchange, owned by the caller (usually a member of its
// handler). Not copyable. Destroying it aborts the exchange. Every method is
// a no-op (false) once the exchange is over.
class HttpClientStream {
 public:
  explicit HttpClientStream(HttpClientStreamHandler& handler) : handler_(handler) {}
  ~HttpClientStream() { abort(); }
  HttpClientStream(const HttpClientStream&) = delete;
  HttpClientStream& operator=(const HttpClientStream&) = delete;

  // Started and not yet ended or failed.
  bool active() const { return connection_ != nullptr; }
  // Request body bytes, framed as content_length said (write exactly that
  // many), or after a 101 raw bytes. False: above the high mark (wait for
  // onRequestDrained() before writing more), or the exchange is over.
  bool writeBody(std::string_view data);
  // The request is complete (for content_length 0, call it right away).
  void endRequest();
  bool requestWantsMore();
  // Stop reading the response (the client side is not keeping up): at most
  // the piece being delivered still arrives; resumeResponse() takes up
  // reading again, from the next loop iteration. Paused time does not count
  // against response_timeout_ms.
  void pauseResponse();
  void resumeResponse();
  // Gives up: the connection closes (never reused), no more callbacks.
  void abort();

 private:
  friend class HttpClientConnection;
  friend class HttpClientPool;
  HttpClientStreamHandler& handler_;
  HttpClientConnection* connection_ = nullptr;
};

// ---------------------------------------------------------------- the pool

struct HttpClientPoolOptions {
  std::string name = "upstream";  // metric label and log field
  std::string host;               // a literal IPv4/IPv6 address
  int port = 80;
  std::string authority;  // Host header value
  size_t max_idle = 32;   // kept-alive connections beyond this are closed
  int64_t idle_timeout_ms = 30000;
  int64_t max_response_bytes = 8 * 1024 * 1024;  // buffered responses
};

class HttpClientPool {
 public:
  // A streamed request may be sent again after the keep-alive race while
  // at most this many of its bytes were written.
  static constexpr size_t kReplayBytes = 64 << 10;

  HttpClientPool(uv_loop_t* loop, MetricsRegistry& metrics, HttpClientPoolOptions options);
  ~HttpClientPool();
  HttpClientPool(const HttpClientPool&) = delete;
  HttpClientPool& operator=(const HttpClientPool&) = delete;

  void send(HttpClientRequest request, HttpClientCallback cb);
  // Starts a streamed exchange on a kept-alive connection or a new one; the
  // head is written at once (or once connected). None: started, the
  // handler hears the rest. Otherwise why not (Closed, Connect), and the
  // handler is not called. The request's views are read during the call.
  HttpClientError stream(const HttpClientStreamRequest& request, HttpClientStream& stream);
  void close();

  size_t openConnections() const { return connections_.size(); }
  size_t idleConnections() const { return idle_.size(); }
  // Exchanges started on a kept-alive connection, and on a new one.
  uint64_t reusedRequests() const { return reused_requests_; }
  uint64_t newConnectionRequests() const { return new_connection_requests_; }

  // --- used by HttpClientConnection ---
  uv_loop_t* loop() const { return loop_; }
  const HttpClientPoolOptions& options() const { return options_; }
  bool closing() const { return closing_; }
  // One read buffer for all the pool's connections: a read is handled
  // completely (what must wait is copied) before the loop reads again.
  char* readBuffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferSize = 65536;
  // The connection finished an exchange and may be reused: true if kept.
  bool keepIdle(HttpClientConnection* c);
  void dropIdle(HttpClientConnection* c);
  void release(HttpClientConnection* c);  // from its last close callback
  void record(HttpClientError error, int status, int64_t started_us);
  struct ExchangeState;
  // The keep-alive race: the same bytes again, on a fresh connection.
  void retryOnFreshConnection(const ExchangeState& exchange, const std::string& bytes);

 private:
  class BufferedExchange;
  HttpClientError startStream(const HttpClientStreamRequest& request, HttpClientStream& stream,
                              size_t replay_limit);
  HttpClientConnection* newConnection();

  // HttpClientError's values after None, in order.
  static constexpr size_t kErrorKinds = static_cast<size_t>(HttpClientError::Closed) + 1;

  uv_loop_t* loop_;
  HttpClientPoolOptions options_;
  bool closing_ = false;
  std::unordered_set<HttpClientConnection*> connections_;
  std::vector<HttpClientConnection*> idle_;  // most recently used last
  std::unique_ptr<char[]> read_buffer_;
  uint64_t reused_requests_ = 0;
  uint64_t new_connection_requests_ = 0;
  Gauge& open_gauge_;
  Histogram& duration_;
  Counter& reused_counter_;
  Counter& new_counter_;
  Counter* by_status_class_[5] = {};     // 1xx .. 5xx
  Counter* by_error_[kErrorKinds] = {};  // by HttpClientError; [0] unused
};

// What an exchange carries from one connection to another (the keep-alive
// race) and what its connection needs to run it.
struct HttpClientPool::ExchangeState {
  HttpClientStream* stream = nullptr;
  int64_t started_us = 0;
  int64_t connect_timeout_ms = 1000;
  int64_t response_timeout_ms = 30000;
  uint64_t total_deadline_ms = 0;  // loop time; 0: none
  size_t replay_limit = kReplayBytes;
  bool head_request = false;
  bool chunked = false;
  bool request_ended = false;
  bool retried = false;
};

}  // namespace redge
