#pragma once
// One client connection of an HttpClientPool: connect, run one exchange
// (write its request as the caller gives it, parse its response and hand it
// over as it comes), then idle (kept alive) or close. Every exchange is a
// streamed one; the pool's buffered send() is a handler on top. Owned by its
// pool; freed from the last close callback of its handles (tcp, timer).
//
// The exchange's HttpClientStream and this connection point at each other
// while the exchange runs; whichever side ends it first clears both
// pointers (detach()), so neither is reached after it has gone.

#include <llhttp.h>
#include <uv.h>

#include <cstdint>
#include <string>

#include "net/http/http_client.hpp"
#include "net/stream_writer.hpp"

namespace redge {

class HttpClientConnection final : public StreamWriterOwner {
 public:
  explicit HttpClientConnection(HttpClientPool& pool);
  // Starts connecting; returns a libuv error (the caller then closes it).
  int connect();
  // Runs an exchange: its head (serialized straight into the output) is
  // written now if connected, else once connected.
  void begin(const HttpClientPool::ExchangeState& exchange, const HttpClientStreamRequest& request);
  // The same exchange again after the keep-alive race: `bytes` is all the
  // first connection had written.
  void beginAgain(const HttpClientPool::ExchangeState& exchange, std::string_view bytes);
  bool reused() const { return reused_; }
  // The pool closes it: a running exchange fails with Closed.
  void close();

  // --- HttpClientStream's calls (never call the handler back) ---
  bool writeBody(std::string_view data);
  void endRequest();
  bool requestWantsMore();
  void pauseResponse();
  void resumeResponse();
  // The stream gave up (it has already forgotten this connection).
  void abandon();

  // The head of a request, as it goes on the wire.
  static void serializeHead(std::string& out, const HttpClientStreamRequest& request,
                            std::string_view authority);

 private:
  enum class Phase { Connecting, Active, Idle };
  // What the timer waits for next.
  enum class Wait { Nothing, Deferred, Connect, Total, Response, Idle };
  static void onConnectCb(uv_connect_t* req, int status) noexcept;
  static void onAllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onTimerCb(uv_timer_t* t) noexcept;
  static void onCloseCb(uv_handle_t* h) noexcept;
  static int onStatusCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderFieldCompleteCb(llhttp_t* p) noexcept;
  static int onHeadersCompleteCb(llhttp_t* p) noexcept;
  static int onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onMessageCompleteCb(llhttp_t* p) noexcept;
  static const llhttp_settings_t& parserSettings();

  void onConnect(int status);
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void onWritten(int status) override;
  void onTimer();
  int onHeadersComplete();
  int onBody(const char* at, size_t len);
  int onMessageComplete();

  // Parses response bytes (or hands tunnel bytes over); keeps what a pause
  // leaves unread.
  void consume(const char* data, size_t len);
  void onUpstreamGone(int status);
  // Resets the connection's state for a new exchange.
  void start(const HttpClientPool::ExchangeState& exchange);
  // Appends request bytes (kept for a replay while that is possible).
  void queueRequestBytes(std::string_view data);
  void keepForReplay(std::string_view data);
  void flushRequest();
  size_t requestBacklog() const { return writer_.bufferedBytes() + writer_.queuedBytes(); }
  void startReading();
  void stopReading();
  // The exchange's end: the response is complete.
  void finishExchange();
  // The exchange failed: the connection closes, then the handler hears it.
  void fail(HttpClientError error);
  // A failure found inside a caller's call: reported from the timer, so the
  // handler never hears it inside its own call.
  void failLater(HttpClientError error);
  HttpClientStream* detach();
  Wait nextWait(uint64_t& at) const;
  void rearm();
  uint64_t now() const { return uv_now(pool_.loop()); }
  bool requestStillMoving();

  HttpClientPool& pool_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_connect_t connect_req_;
  llhttp_t parser_;
  StreamWriter writer_;
  int handles_open_ = 0;
  Phase phase_ = Phase::Connecting;
  bool connected_ = false;
  bool closing_ = false;
  bool reading_ = false;
  bool reused_ = false;  // an exchange was completed on it before

  // The exchange in progress.
  HttpClientPool::ExchangeState exchange_;
  HttpClientStream* stream_ = nullptr;
  HttpClientResponseHead head_;
  std::string replay_;      // request bytes written so far, for the keep-alive race
  bool replay_ok_ = false;  // replay_ holds all of them
  std::string pending_;     // response bytes read but held by a pause
  bool response_started_ = false;
  bool response_paused_ = false;
  bool resume_pending_ = false;  // parse pending_ at the next timer run
  bool message_done_ = false;
  bool keep_alive_ = false;
  bool switching_ = false;  // a 101 head was parsed
  bool tunnel_ = false;
  bool drain_wanted_ = false;
  HttpClientError deferred_error_ = HttpClientError::None;
  uint64_t connect_deadline_ms_ = 0;
  uint64_t request_ended_ms_ = 0;
  uint64_t last_write_ms_ = 0;
  uint64_t last_read_ms_ = 0;
  uint64_t idle_since_ms_ = 0;
  uint64_t timer_at_ms_ = UINT64_MAX;  // when the timer fires; UINT64_MAX: stopped
  // Request bytes the upstream had not taken at the last deadline check.
  size_t unsent_at_check_ = SIZE_MAX;
};

}  // namespace redge
