#pragma once
// One client connection of an HttpClientPool: connect, write one request,
// parse its response, then idle (kept alive) or close. Owned by its pool;
// freed from the last close callback of its handles (tcp, timer).

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
  // Starts connecting; returns a libuv error (the connection then closes).
  int connect();
  // Sends a request (now if connected, else once connected).
  void start(HttpClientRequest request, HttpClientCallback cb, int64_t started_us, bool retried);
  // Ends the request in progress (with none, just closes): after a complete
  // response (None) the connection goes back to the pool's idle list when it
  // may be reused, otherwise it closes. The request's callback runs last.
  void finish(HttpClientError error);
  void close();

 private:
  enum class TimerPhase { None, Connect, Request, Idle };
  static void onConnectCb(uv_connect_t* req, int status) noexcept;
  static void onAllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onTimerCb(uv_timer_t* t) noexcept;
  static void onCloseCb(uv_handle_t* h) noexcept;
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
  void writeRequest();
  void setTimer(TimerPhase phase, int64_t ms);

  HttpClientPool& pool_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_connect_t connect_req_;
  llhttp_t parser_;
  StreamWriter writer_;
  int handles_open_ = 0;
  bool connected_ = false;
  bool closing_ = false;
  bool reused_ = false;  // a request was completed on it before
  bool response_started_ = false;
  bool response_done_ = false;
  bool too_large_ = false;
  bool in_header_name_ = false;
  TimerPhase phase_ = TimerPhase::None;
  HttpClientRequest request_;
  HttpClientCallback cb_;
  int64_t started_us_ = 0;
  bool retried_ = false;
  HttpClientResponse response_;
  // Per connection, since each reads on its own; an answer larger than this
  // takes more reads.
  static constexpr size_t kReadBufferSize = 16384;
  char read_buffer_[kReadBufferSize];
};

}  // namespace redge
