#pragma once
// One accepted HTTP/1.1 connection: reads, parses with llhttp (strict mode),
// enforces the limits, dispatches complete requests to the server's routes
// and writes answers strictly in request order, batching everything produced
// in one loop iteration into a single uv_write.
//
// Owned by HttpServer; freed only from the last of its two close callbacks
// (tcp + timer). Nothing outside holds a pointer to it: answers arrive by
// connection id through the server.

#include <llhttp.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "net/http/http_request.hpp"
#include "net/http/http_response.hpp"
#include "net/http/router.hpp"
#include "net/stream_writer.hpp"

namespace redge {

class HttpServer;

class HttpConnection final : public StreamWriterOwner {
 public:
  HttpConnection(HttpServer& server, uint64_t id);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Accepts from the listener and starts reading. Returns a libuv error, or
  // 0. On error the connection has begun closing.
  int accept(uv_stream_t* listener);
  // Writes a 503 (too many connections) and closes.
  void rejectOverloaded();

  // An answer for request `seq`, now or later.
  void deliver(uint64_t seq, const HttpResponse& response);
  bool awaits(uint64_t seq) const;
  // Writes whatever answers are ready, in one uv_write.
  void flush();
  // Closes when nothing is in progress; otherwise closes after the answer
  // being prepared (used by drain).
  void closeWhenIdle();
  // Idempotent. Pending answers are dropped.
  void close();

  uint64_t id() const { return id_; }
  void markRefused() { refused_ = true; }
  bool refused() const { return refused_; }
  bool idle() const;

 private:
  enum class TimerPhase { None, Header, Body, Idle, WriteStall, Linger };
  struct Slot {
    uint64_t seq;
    bool ready = false;
    bool close = false;
    ResponseFraming framing;
    int route_id = -1;
    int64_t started_us = 0;
    std::string bytes;
  };

  // llhttp callbacks
  static int onMessageBeginCb(llhttp_t* p) noexcept;
  static int onUrlCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderFieldCompleteCb(llhttp_t* p) noexcept;
  static int onHeadersCompleteCb(llhttp_t* p) noexcept;
  static int onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onMessageCompleteCb(llhttp_t* p) noexcept;
  static const llhttp_settings_t& parserSettings();
  // libuv callbacks
  static void onAllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onShutdownCb(uv_shutdown_t* req, int status) noexcept;
  static void onTimerCb(uv_timer_t* t) noexcept;
  static void onCloseCb(uv_handle_t* h) noexcept;

  int onMessageBegin();
  int onHeadersComplete();
  int onBody(const char* at, size_t len);
  int onMessageComplete();
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void onWritten(int status) override;
  void onTimer();

  void parse(const char* data, size_t len);
  bool countHeaderBytes(size_t len);
  bool checkHeaderRules();
  int64_t bodyDeadlineMs() const;
  // Answers the current request with an error and stops reading requests.
  void failRequest(int status, std::string_view code, std::string_view message);
  void appendResponse(std::string& out, const HttpResponse& response,
                      const ResponseFraming& framing, bool& close_after);
  void drainReadySlots();
  bool canResumeParsing() const;
  // Hands the buffered output to the socket; false if the connection closed.
  bool writeOutput();
  // Bytes answered but not yet taken by the client: buffered, queued in
  // libuv, and ready answers waiting behind an earlier one.
  size_t outputBacklog() const;
  // Closes the connection if its backlog is over http.max_output_bytes.
  bool cutOffSlowReader();
  void afterOutputSettled();
  void startLingeringClose();
  void setTimer(TimerPhase phase, int64_t ms);
  void pauseReading();
  void resumeReading();

  HttpServer& server_;
  uint64_t id_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_req_;
  llhttp_t parser_;
  HttpRequest request_;
  TimerPhase phase_ = TimerPhase::None;
  int handles_open_ = 0;

  bool closing_ = false;
  bool refused_ = false;  // over the connection limit: answered and closing
  bool reading_ = false;
  bool read_paused_for_output_ = false;
  bool parse_paused_ = false;      // too many answers pending: parser paused
  bool no_more_requests_ = false;  // Connection: close, error, or drain
  bool close_after_flush_ = false;
  bool lingering_ = false;
  bool shutdown_started_ = false;
  bool in_request_ = false;
  bool failed_ = false;  // an error answer was produced by a parser callback
  bool continue_sent_ = false;
  bool flushing_ = false;
  size_t ready_slot_bytes_ = 0;  // bytes of ready answers still in slots_
  int64_t header_bytes_ = 0;
  int64_t body_limit_ = 0;
  int64_t body_started_ms_ = 0;  // loop time the body phase began
  int64_t body_received_ = 0;    // body bytes so far
  int route_id_ = -1;
  RouteMatch::Kind route_kind_ = RouteMatch::Kind::NotFound;
  std::string allow_;

  uint64_t next_seq_ = 0;
  bool dispatching_ = false;
  uint64_t dispatch_seq_ = 0;
  bool answered_in_dispatch_ = false;
  std::deque<Slot> slots_;     // answers not yet written, from the oldest pending one on
  StreamWriter writer_;        // output not yet written
  std::string pending_input_;  // bytes read but not parsed while the parser is paused
};

}  // namespace redge
