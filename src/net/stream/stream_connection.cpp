// StreamConnection: the protocol-independent half of a server connection
// (see the header for the rules it keeps).
//
// Reading: every connection reads into its server's one buffer (the loop is
// single-threaded and a read is handled completely before the next), so an
// idle connection holds no read buffer; the codec copies only what it must
// keep (a partial request, or input held back).
//
// Writing: everything answered in one read callback, or for late answers in
// one loop iteration (the server's after-poll flush), leaves in one write.
//
// Timer: one deadline at a time: Request and Body (the codec's deadlines),
// Idle (between requests), WriteStall (output the client does not take),
// Linger (after our FIN), on one uv_timer_t that moves only when a deadline
// comes EARLIER than the time it is armed for. A deadline pushed later, or
// cleared, leaves it armed: when it fires it finds the deadline still ahead
// (and re-arms for it) or gone (and stops). So a keep-alive request, which
// sets and clears deadlines several times, touches the timer heap about
// once per header_timeout_ms instead of a few times per request.
//
// Closing: close() is the one path; it detaches from the server at once and
// frees in the last close callback. Error answers and final answers end with
// a lingering close (shutdown, then read and discard briefly), so the client
// reads the answer instead of a reset.

#include "net/stream/stream_connection.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <cstring>

#include "core/log.hpp"
#include "net/stream/stream_server.hpp"

namespace redge {
namespace {

constexpr int64_t kLingerMs = 2000;
constexpr size_t kUnsentUnknown = SIZE_MAX;

}  // namespace

StreamConnection::StreamConnection(StreamServer& server, uint64_t id, size_t max_pending_answers)
    : server_(server),
      id_(id),
      max_pending_(max_pending_answers),
      writer_(reinterpret_cast<uv_stream_t*>(&tcp_), *this),
      replies_(writer_.buffer()) {
  tcp_.data = this;
  timer_.data = this;
}

int StreamConnection::accept(uv_stream_t* listener) {
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
  // The first request must arrive as any other does (HTTP's head deadline),
  // or the connection waits as an idle one.
  restoreDeadline();
  resumeReading();
  afterOutputSettled();
  return 0;
}

std::string_view StreamConnection::peerAddress() {
  // Read on demand (a forwarder's X-Forwarded-For), not at every accept: a
  // listener that never asks pays no system call for it.
  if (!peer_read_ && handles_open_ > 0 && !closing_) {
    peer_read_ = true;
    sockaddr_storage addr;
    int len = sizeof addr;
    if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      int rc = addr.ss_family == AF_INET6
                   ? uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&addr), peer_, sizeof peer_)
                   : uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&addr), peer_, sizeof peer_);
      if (rc == 0) peer_len_ = static_cast<uint8_t>(strnlen(peer_, sizeof peer_));
    }
  }
  return std::string_view(peer_, peer_len_);
}

void StreamConnection::refuse() {
  refused_ = true;
  no_more_input_ = true;
  writeRefusal();
  flush();
}

void StreamConnection::setCurrent(bool on) {
  server_.setCurrent(on ? this : nullptr, on ? id_ : 0);
}

// ---------------------------------------------------------------- reading

void StreamConnection::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<StreamConnection*>(h->data);
  buf->base = c->server_.readBuffer();
  buf->len = c->server_.readBufferSize();
}

void StreamConnection::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<StreamConnection*>(s->data);
  if (c == nullptr) return;
  c->onRead(nread, buf);
}

void StreamConnection::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread < 0) {
    // EOF or reset. Answers still being prepared have no one to go to.
    close();
    return;
  }
  if (nread == 0) return;
  if (lingering_ || no_more_input_) return;  // discard: we are closing
  // A full buffer means the client has more queued: take the rest next
  // iteration, after the other connections had their turn.
  if (static_cast<size_t>(nread) == server_.readBufferSize()) {
    yielded_ = true;
    pauseReading();
    server_.scheduleResume(id_);
  }
  setCurrent(true);
  onInput(buf->base, static_cast<size_t>(nread));
  setCurrent(false);
  if (!closing_) flush();
}

void StreamConnection::resumeAfterYield() {
  if (!yielded_) return;
  yielded_ = false;
  if (wantsToRead()) resumeReading();
}

void StreamConnection::holdInput() {
  input_held_ = true;
  input_deferred_ = false;
  pauseReading();
}

void StreamConnection::deferInput() {
  input_held_ = true;
  input_deferred_ = true;
}

bool StreamConnection::wantsToRead() const {
  return !closing_ && (!input_held_ || input_deferred_) && !yielded_ && !stalled_on_output_ &&
         (!no_more_input_ || lingering_);
}

void StreamConnection::pauseReading() {
  if (!reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void StreamConnection::resumeReading() {
  if (reading_ || closing_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &onAllocCb, &onReadCb) == 0) {
    reading_ = true;
  }
}

// ---------------------------------------------------------------- answers

size_t StreamConnection::outputBacklog() const {
  return writer_.bufferedBytes() + writer_.queuedBytes() + replies_.readyBytes();
}

bool StreamConnection::cutOffSlowReader() {
  size_t backlog = outputBacklog();
  if (backlog <= static_cast<size_t>(server_.streamOptions().max_output_bytes)) return false;
  LogLine line(LogLevel::Info, "slow_reader_disconnected");
  line.kv("service", server_.streamOptions().service);
  if (server_.streamOptions().protocol != "http")
    line.kv("protocol", server_.streamOptions().protocol);
  line.kv("conn", id_).kv("queued_bytes", static_cast<uint64_t>(backlog));
  server_.slowReaderDisconnected();
  close();
  return true;
}

void StreamConnection::committed(bool front_ready) {
  if (!front_ready) return;
  if (replies_.moveReady()) finishAfterOutput();
  server_.scheduleFlush(id_);
}

void StreamConnection::finishAfterOutput() {
  no_more_input_ = true;
}

bool StreamConnection::canResume() const {
  return input_held_ && !no_more_input_ && replies_.pending() < max_pending_ / 2 &&
         outputBacklog() < kOutputLowWatermark && mayResume();
}

void StreamConnection::scheduleFlush() {
  server_.scheduleFlush(id_);
}

// Writes the output; then, while input was held and that has cleared, lets
// the codec take up the held input and writes again. A loop, not recursion:
// a client that reads as fast as it is answered must not deepen the stack
// with every round.
void StreamConnection::flush() {
  if (closing_ || flushing_) return;  // a flush in progress loops until done
  flushing_ = true;
  for (;;) {
    if (!writeOutput()) break;
    if (!canResume()) break;
    input_held_ = false;
    input_deferred_ = false;
    setCurrent(true);
    resumeInput();
    setCurrent(false);
    if (closing_) break;
    if (replies_.moveReady()) finishAfterOutput();
  }
  flushing_ = false;
  if (closing_) return;
  if (wantsToRead()) resumeReading();
  afterOutputSettled();
  if (drain_notice_ && !closing_ && outputBacklog() < kOutputLowWatermark) {
    drain_notice_ = false;
    onOutputDrained();
  }
}

bool StreamConnection::writeOutput() {
  if (writer_.empty()) return true;
  // What the client left unread before this write.
  if (writer_.queuedBytes() > static_cast<size_t>(server_.streamOptions().max_output_bytes)) {
    cutOffSlowReader();
    return false;
  }
  if (writer_.flush() != 0) {
    close();
    return false;
  }
  if (writer_.queuedBytes() == 0) return true;
  // The kernel did not take everything: the client reads slower than we
  // answer. Above the high mark, stop reading its requests; whatever the
  // amount, a client that takes none of it for the stall deadline goes.
  if (writer_.queuedBytes() > kOutputHighWatermark && !stalled_on_output_) {
    stalled_on_output_ = true;
    pauseReading();
  }
  if (deadline_ != Deadline::WriteStall && deadline_ != Deadline::Linger) {
    setDeadline(Deadline::WriteStall, server_.streamOptions().write_stall_ms);
  }
  return true;
}

void StreamConnection::onWritten(int status) {
  if (closing_) return;
  if (status < 0) {
    close();
    return;
  }
  if (stalled_on_output_ && writer_.queuedBytes() < kOutputLowWatermark) {
    stalled_on_output_ = false;
  }
  if (deadline_ == Deadline::WriteStall) {
    if (writer_.queuedBytes() > 0) {
      // The client took some: a slow reader is not a stalled one.
      setDeadline(Deadline::WriteStall, server_.streamOptions().write_stall_ms);
    } else {
      setDeadline(Deadline::None, 0);
      if (inRequest()) restoreDeadline();
    }
  }
  flush();
}

// Decides what the connection waits for once output has moved.
void StreamConnection::afterOutputSettled() {
  if (closing_) return;
  bool nothing_pending = replies_.empty() && writer_.empty() && !inRequest();
  if (no_more_input_ && !lingering_) {
    if (nothing_pending && writer_.writesInFlight() == 0) startLingeringClose();
    return;
  }
  if (nothing_pending && deadline_ == Deadline::None && !stalled_on_output_) {
    if (server_.draining()) {
      close();
      return;
    }
    int64_t idle = server_.streamOptions().idle_timeout_ms;
    if (idle > 0) {
      setDeadline(Deadline::Idle, idle);
    } else {
      // Kept for ever while idle, unless its client is not reading: what
      // the kernel took but could not send yet tells (SIOCOUTQ). Looked at
      // only when the check fires, so a busy connection pays no syscall per
      // answer, and a connection already waiting for the check keeps it.
      unsent_at_check_ = kUnsentUnknown;
      setDeadline(Deadline::OutputCheck, server_.streamOptions().write_stall_ms);
    }
  }
}

size_t StreamConnection::kernelUnsent() const {
  uv_os_fd_t fd;
  int unsent = 0;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return 0;
  if (ioctl(fd, SIOCOUTQ, &unsent) != 0 || unsent < 0) return 0;
  return static_cast<size_t>(unsent);
}

void StreamConnection::closeWhenIdle() {
  if (closing_) return;
  if (replies_.empty() && !inRequest() && !input_held_ && writer_.idle()) {
    close();
    return;
  }
  // Whatever is answered next closes it (the server drains).
}

// ---------------------------------------------------------------- timer

void StreamConnection::setDeadline(Deadline which, int64_t ms) {
  if (closing_) return;
  deadline_ = which;
  if (which == Deadline::None) return;  // an armed timer fires and finds nothing
  uint64_t now = uv_now(server_.loop());
  deadline_at_ms_ = now + static_cast<uint64_t>(ms < 0 ? 0 : ms);
  if (deadline_at_ms_ < timer_at_ms_) armTimer(now);
}

void StreamConnection::armTimer(uint64_t now) {
  timer_at_ms_ = deadline_at_ms_;
  uv_timer_start(&timer_, &onTimerCb, deadline_at_ms_ > now ? deadline_at_ms_ - now : 0, 0);
}

void StreamConnection::onTimerCb(uv_timer_t* t) noexcept {
  auto* c = static_cast<StreamConnection*>(t->data);
  if (c == nullptr) return;
  c->onTimer();
}

void StreamConnection::onTimer() {
  timer_at_ms_ = UINT64_MAX;
  if (closing_ || deadline_ == Deadline::None) return;
  uint64_t now = uv_now(server_.loop());
  if (now < deadline_at_ms_) {
    armTimer(now);  // the deadline moved later since the timer was armed
    return;
  }
  Deadline which = deadline_;
  deadline_ = Deadline::None;
  switch (which) {
    case Deadline::Request:
    case Deadline::Body:
    case Deadline::Stream:
      onDeadline(which);
      if (!closing_) flush();
      break;
    case Deadline::OutputCheck: {
      size_t unsent = kernelUnsent();
      if (unsent == 0) return;  // all taken: an idle client, kept
      if (unsent_at_check_ == kUnsentUnknown || unsent < unsent_at_check_) {
        // First look, or it reads, slowly: look again later.
        unsent_at_check_ = unsent;
        setDeadline(Deadline::OutputCheck, server_.streamOptions().write_stall_ms);
        return;
      }
      close();
      break;
    }
    case Deadline::Idle:
    case Deadline::WriteStall:
    case Deadline::Linger:
    case Deadline::None:
      close();
      break;
  }
}

// ---------------------------------------------------------------- closing

void StreamConnection::startLingeringClose() {
  if (closing_ || shutdown_started_) return;
  shutdown_started_ = true;
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &onShutdownCb) != 0) {
    close();
  }
}

void StreamConnection::onShutdownCb(uv_shutdown_t* req, int status) noexcept {
  auto* c = static_cast<StreamConnection*>(req->data);
  if (c->closing_) return;
  if (status < 0) {
    c->close();
    return;
  }
  // Our FIN is out. Read and discard whatever the client still sends (the
  // rest of a refused body) for a moment, so it reads our answer instead of
  // a reset.
  c->lingering_ = true;
  c->input_held_ = false;
  c->input_deferred_ = false;
  c->yielded_ = false;
  c->setDeadline(Deadline::Linger, kLingerMs);
  c->resumeReading();
}

void StreamConnection::close() {
  if (closing_) return;
  closing_ = true;
  replies_.clear();
  writer_.discard();
  onClosing();
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

void StreamConnection::onCloseCb(uv_handle_t* h) noexcept {
  auto* c = static_cast<StreamConnection*>(h->data);
  if (--c->handles_open_ == 0) c->server_.releaseConnection(c);
}

}  // namespace redge
