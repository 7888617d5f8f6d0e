#pragma once
// What every accepted connection does, whatever its protocol: the socket and
// its one timer, reading into the server's shared buffer, the output and its
// watermarks, answers in request order, holding input while the client has
// not taken its answers, the deadlines, the lingering close, and the one
// close path. A protocol (HttpConnection, RespConnection) adds only its codec:
// it parses what onInput() hands it, dispatches requests, and encodes answers.
//
// Lifetimes. Owned by its StreamServer; freed only from the last close
// callback of its two handles (tcp, timer). Nothing outside holds a pointer
// to it: answers arrive by connection id through the server, so a late
// answer for a closed connection finds no one and is dropped.
//
// Backpressure (Envoy's watermark buffer, Redis's output limits):
// - a codec asks shouldHold() before executing each request, and stops (its
//   rest of the read held, reading paused) once too many answers are pending
//   or 1 MiB of answers is unread; flush() resumes it below 256 KiB;
// - output the kernel did not take arms the write-stall deadline, re-armed
//   by every write that completes: a client that takes nothing for
//   idle_timeout_ms is closed;
// - an answer that would land on a backlog over max_output_bytes cuts the
//   connection off (event=slow_reader_disconnected, a metric).
//
// Fairness: a read that fills the whole shared buffer means the client has
// more queued; reading then pauses until the next loop iteration, so one
// pipelining client cannot take every iteration's time (libuv would read the
// same socket up to 32 times before turning to the others).

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/stream/ordered_replies.hpp"
#include "net/stream_writer.hpp"

namespace redge {

class StreamServer;

class StreamConnection : public StreamWriterOwner {
 public:
  StreamConnection(StreamServer& server, uint64_t id, size_t max_pending_answers);
  ~StreamConnection() override = default;
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // Accepts from the listener and starts reading. 0, or a libuv error (the
  // connection has then begun closing).
  int accept(uv_stream_t* listener);
  // Over the connection limit: the codec's refusal, then a lingering close.
  void refuse();
  // Writes what is ready; then, while input was held and may go on, lets the
  // codec take up its held input, and writes again.
  void flush();
  // Server drain: closes now if nothing is in progress; otherwise the next
  // answer closes it.
  void closeWhenIdle();
  // The one close path. Idempotent; pending answers are dropped.
  void close();
  // Takes up reading after a fairness pause.
  void resumeAfterYield();

  uint64_t id() const { return id_; }
  // The client's address ("192.0.2.7", "::1"), read from the socket on first
  // use and kept; empty if the socket has none. Valid as long as the
  // connection.
  std::string_view peerAddress();
  bool refused() const { return refused_; }
  OrderedReplies& replies() { return replies_; }
  const OrderedReplies& replies() const { return replies_; }

 protected:
  // OutputCheck: an idle connection that is kept for ever (RESP, as Redis)
  // looks once, after write_stall_ms, whether its client took what the
  // kernel still holds for it.
  // Stream: the codec's own deadline during a streamed exchange (HTTP's
  // tunnel idle time), handed to onDeadline() as Request and Body are.
  enum class Deadline { None, Request, Body, Stream, Idle, OutputCheck, WriteStall, Linger };

  // --- the codec's part ---
  // Bytes read (or held input taken up again): parse and dispatch while
  // shouldHold() allows; what is left must be kept by the codec, which then
  // calls holdInput().
  virtual void onInput(const char* data, size_t len) = 0;
  // Held input may go on: parse it as onInput() would.
  virtual void resumeInput() = 0;
  // The answer a refused connection gets ("503", "-ERR max clients").
  virtual void writeRefusal() = 0;
  // A Request or Body deadline passed.
  virtual void onDeadline(Deadline which) = 0;
  // A request is partly read (closeWhenIdle waits for it).
  virtual bool inRequest() const = 0;
  // The write-stall or idle phase ended while a request was partly read:
  // re-arm its deadline.
  virtual void restoreDeadline() {}
  // The connection is closing (free codec state; no callbacks after).
  virtual void onClosing() {}
  // May held input be taken up now? (A codec may hold input for its own
  // reasons: HTTP holds the next request while a streamed exchange runs.)
  virtual bool mayResume() const { return true; }
  // After notifyWhenDrained(): unwritten output is below the low mark. Called
  // at the end of a flush, never from inside a codec call.
  virtual void onOutputDrained() {}

  // --- what the codec uses ---
  StreamServer& server() { return server_; }
  const StreamServer& server() const { return server_; }
  std::string& output() { return writer_.buffer(); }
  // Stop executing the rest of a read now? (too many answers pending, or
  // too much of them unread)
  bool shouldHold() const {
    return replies_.pending() >= max_pending_ || outputBacklog() >= kOutputHighWatermark;
  }
  void holdInput();
  // Holds input as holdInput() does, but reading goes on: onInput() keeps
  // receiving bytes (the codec stores them, and calls holdInput() past its
  // own bound). A client that goes away is then noticed at once, not when
  // its connection is next written.
  void deferInput();
  bool inputHeld() const { return input_held_; }
  // Call onOutputDrained() once unwritten output is below the low mark.
  void notifyWhenDrained() { drain_notice_ = true; }
  // No more requests are read; the connection closes once everything
  // answered so far is written (a lingering close).
  void finishAfterOutput();
  bool finishing() const { return no_more_input_; }
  bool closing() const { return closing_; }
  void setDeadline(Deadline which, int64_t ms);
  Deadline deadline() const { return deadline_; }
  // Cuts the connection off if its backlog is over max_output_bytes; true
  // if it did (the connection is closing).
  bool cutOffSlowReader();
  // After the codec filled a reply target: moves ready answers out and
  // schedules the flush when the front one became ready.
  void committed(bool front_ready);
  // The connection currently dispatching, for the server's fast lookup.
  void setCurrent(bool on);
  // Answer bytes not yet taken by the client.
  size_t outputBacklog() const;
  // Writes what is ready at the end of this loop iteration.
  void scheduleFlush();

  static constexpr size_t kOutputHighWatermark = 1 << 20;   // hold input above this
  static constexpr size_t kOutputLowWatermark = 256 << 10;  // take it up below this

 private:
  static void onAllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onShutdownCb(uv_shutdown_t* req, int status) noexcept;
  static void onTimerCb(uv_timer_t* t) noexcept;
  void armTimer(uint64_t now);
  static void onCloseCb(uv_handle_t* h) noexcept;
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void onWritten(int status) override;
  void onTimer();
  bool writeOutput();
  bool canResume() const;
  void afterOutputSettled();
  void startLingeringClose();
  void pauseReading();
  void resumeReading();
  bool wantsToRead() const;
  // Bytes the kernel has not yet sent to the client.
  size_t kernelUnsent() const;

  StreamServer& server_;
  const uint64_t id_;
  const size_t max_pending_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_req_;
  int handles_open_ = 0;
  Deadline deadline_ = Deadline::None;
  uint64_t deadline_at_ms_ = 0;        // loop time deadline_ falls due
  uint64_t timer_at_ms_ = UINT64_MAX;  // loop time timer_ is armed for; MAX: not armed
  size_t unsent_at_check_ = 0;         // kernelUnsent() when OutputCheck was armed
  StreamWriter writer_;
  OrderedReplies replies_;

  bool closing_ = false;
  bool refused_ = false;
  bool reading_ = false;
  bool input_held_ = false;         // the codec keeps unparsed input
  bool input_deferred_ = false;     // ... and reading goes on (deferInput)
  bool drain_notice_ = false;       // onOutputDrained() is wanted
  bool yielded_ = false;            // reading paused until the next iteration
  bool stalled_on_output_ = false;  // reading paused: the client is not taking its answers
  bool no_more_input_ = false;      // a final answer, an error, or QUIT
  bool lingering_ = false;
  bool shutdown_started_ = false;
  bool flushing_ = false;
  bool peer_read_ = false;
  uint8_t peer_len_ = 0;
  char peer_[46] = {};  // INET6_ADDRSTRLEN
};

}  // namespace redge
