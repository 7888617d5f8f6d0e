// HttpConnection's streamed exchange: what the parser hands a forwarder
// (the head through the stream entry, body pieces, the end), and what the
// forwarder writes back through its HttpExchange (interim answers, the head,
// framed body pieces, the end, a whole buffered answer, an abort), and the
// raw tunnel after a 101 (its bytes go through the same two calls:
// onRequestData one way, writeBody the other).
//
// Who owns what. The connection owns the exchange's state (Stream) and the
// bytes on their way out; the forwarder owns its HttpStreamHandler and holds
// only HttpExchange handles. An exchange ends exactly once, through
// endStream(): by the forwarder (end, respond, abort) or by the connection
// (the client gone, a bad or too slow body, the server closing), and only in
// the second case is the handler told, with onClosed(), from a loop event.
//
// Backpressure. Request side: the forwarder pauses reading the client
// (pauseRequest, a hold of the connection's input, so llhttp stops inside
// the body and the unparsed rest waits) and resumes it (on the next flush).
// Answer side: wantsMore() is false above the connection's output high
// mark (1 MiB); the handler hears onResponseDrained() once the output is
// back under the low mark (256 KiB). A backlog past max_output_bytes cuts
// the client off, as it does for buffered answers.

#include <charconv>

#include "core/ascii.hpp"
#include "core/log.hpp"
#include "net/http/http_connection.hpp"
#include "net/http/http_server.hpp"

namespace redge {

void HttpConnection::beginStream(bool has_body) {
  stream_ = Stream{};
  stream_.active = true;
  stream_.number = ++streams_begun_;
  streaming_request_ = true;
  // llhttp reports CONNECT as an upgrade too; only a protocol switch is one
  // here (a forwarder refuses CONNECT).
  stream_.upgrade = parser_.upgrade != 0 && request_.method_text != "CONNECT";
  if (!has_body) {
    stream_.request_length = 0;
  } else if (parser_.flags & F_CHUNKED) {
    stream_.request_length = -1;
  } else {
    stream_.request_length = static_cast<int64_t>(parser_.content_length);
  }
  uint64_t number = stream_.number;
  if (std::optional<HttpRefusal> refusal = http().screen(request_)) {
    http().refuse(*refusal, [this](const HttpResponse& r) { streamRespond(r); });
    return;
  }
  http().dispatchStream(route_id_, request_, HttpExchange(&http(), id(), number));
  if (stream_.active && stream_.number == number && stream_.handler == nullptr && !closing()) {
    // Nobody would read the body or write the answer: the client must not
    // wait for ever.
    REDGE_LOG(Warn, "stream_unattached")
        .kv("service", server().streamOptions().service)
        .kv("conn", id());
    streamAbort();
  }
}

void HttpConnection::endStream(bool close_after) {
  stream_.active = false;
  stream_.handler = nullptr;
  if (deadline() == Deadline::Stream) setDeadline(Deadline::None, 0);
  if (close_after) {
    // A request whose body is unread (an error answered mid-upload, with
    // reading paused) is over too: nothing more of it is parsed, and the
    // lingering close after the answer discards the rest. Left "in a
    // request", the connection would wait for it for ever.
    in_request_ = false;
    in_body_ = false;
    finishAfterOutput();
  }
  // The flush writes the end of the answer and, for a kept connection,
  // takes up the next request.
  scheduleFlush();
}

// The request's last byte was parsed. True: parsing may go on at once (the
// exchange has already ended and the connection is kept).
bool HttpConnection::onStreamMessageComplete() {
  HttpServer& server = http();
  server.observe(request_);
  if (stream_.active) {
    stream_.request_done = true;
    if (stream_.handler) stream_.handler->onRequestEnd();
  }
  if (closing()) return false;
  // The next request waits until this exchange has ended (it is held,
  // reading goes on: see parse()).
  if (stream_.active) return false;
  if (!request_.keep_alive) {
    finishAfterOutput();
    return false;
  }
  return !finishing();
}

// ---------------------------------------------------------------- request side

void HttpConnection::streamPauseRequest() {
  if (stream_.body_paused) return;
  if (!stream_.tunnel && stream_.request_done) return;  // nothing left to read
  stream_.body_paused = true;
  stream_.paused_at_ms = nowMs();
  if (deadline() == Deadline::Body) setDeadline(Deadline::None, 0);
  // Reading stops at once; a read already in llhttp's hands stops at the
  // end of its current body piece (onBody answers HPE_PAUSED).
  holdInput();
}

void HttpConnection::streamResumeRequest() {
  if (!stream_.body_paused) return;
  stream_.body_paused = false;
  if (!stream_.tunnel) {
    // Time spent paused was the forwarder's, not the client's.
    body_started_ms_ += nowMs() - stream_.paused_at_ms;
    if (in_body_ && deadline() == Deadline::None) restoreDeadline();
  }
  // The flush takes up the held input (llhttp resumes inside the body).
  scheduleFlush();
}

// ---------------------------------------------------------------- answer side

void HttpConnection::streamWriteInterim(
    int status, const std::vector<std::pair<std::string_view, std::string_view>>& headers) {
  if (stream_.head_written || request_.version_minor == 0) return;  // HTTP/1.0 knows no 1xx
  if (status < 100 || status > 199 || status == 101) return;
  if (status == 100) {
    if (continue_sent_) return;
    continue_sent_ = true;
  }
  std::string& out = output();
  char num[8];
  out.append("HTTP/1.1 ").append(num, std::to_chars(num, num + sizeof num, status).ptr);
  out.push_back(' ');
  out.append(httpStatusText(status)).append("\r\n");
  for (const auto& [name, value] : headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("\r\n");
  scheduleFlush();
}

bool HttpConnection::streamWriteHead(const HttpStreamHead& head) {
  if (stream_.head_written) return true;
  bool upgrade = head.status == 101;
  if (upgrade && !stream_.upgrade) {
    // Switching protocols the client did not ask for would leave it reading
    // bytes it cannot parse.
    streamAbort();
    return false;
  }
  if (head.status < 200 && !upgrade) {
    streamWriteInterim(head.status, head.headers);
    return true;
  }
  stream_.head_written = true;
  ResponseFraming f = currentFraming();
  stream_.no_body = f.head || upgrade || head.status == 204 || head.status == 304;
  bool keep = f.keep_alive && !head.close && !server().draining();
  std::string& out = output();
  char num[24];
  out.append("HTTP/1.1 ");
  out.append(num, std::to_chars(num, num + sizeof num, head.status).ptr);
  out.push_back(' ');
  out.append(head.reason.empty() ? httpStatusText(head.status) : head.reason).append("\r\n");
  bool has_date = false;
  for (const auto& [name, value] : head.headers) {
    out.append(name).append(": ", 2).append(value).append("\r\n", 2);
    has_date = has_date || equalsIgnoreCase(name, "Date");
  }
  // RFC 9110 6.6.1: a recipient with a clock forwards a Date when the
  // answer came without one.
  if (!has_date) out.append("Date: ", 6).append(http().date()).append("\r\n", 2);
  if (upgrade || head.status == 204) {
    // RFC 9110 8.6: never a Content-Length on these.
  } else if (head.content_length >= 0) {
    out.append("Content-Length: ");
    out.append(num, std::to_chars(num, num + sizeof num, head.content_length).ptr);
    out.append("\r\n");
    if (!stream_.no_body) stream_.body_left = head.content_length;
  } else if (!stream_.no_body) {
    if (request_.version_minor >= 1) {
      stream_.chunked = true;
      out.append("Transfer-Encoding: chunked\r\n");
    } else {
      // An HTTP/1.0 client knows no chunks: the body ends with the connection.
      stream_.delimited = true;
      keep = false;
    }
  }
  if (!upgrade) {
    if (!keep) {
      out.append("Connection: close\r\n");
    } else if (f.http10) {
      out.append("Connection: keep-alive\r\n");
    }
  }
  out.append("\r\n");
  stream_.close_after = !keep && !upgrade;
  http().recordResponse(route_id_, head.status, request_.started_us);
  if (upgrade) {
    // Raw bytes both ways from here. What the client sent behind its
    // request is held: the flush hands it over (resumeInput) and reading
    // goes on raw.
    stream_.tunnel = true;
    noteTunnelActivity();
    armTunnelDeadline();
  }
  scheduleFlush();
  return true;
}

bool HttpConnection::streamWriteBody(std::string_view data) {
  if (stream_.tunnel) return streamWriteTunnel(data);
  if (!stream_.head_written) return true;  // nothing to frame it with
  if (stream_.no_body || data.empty()) return true;
  if (outputBacklog() > static_cast<size_t>(server().streamOptions().max_output_bytes)) {
    // The forwarder did not wait for wantsMore(); the client is not reading.
    // Detached first: the handler hears it from this call's result.
    endStream(true);
    cutOffSlowReader();
    return false;
  }
  if (stream_.body_left >= 0) {
    if (static_cast<int64_t>(data.size()) > stream_.body_left) {
      // More than the head announced: what follows would be read as the
      // next answer. The client gets a cut answer instead.
      streamAbort();
      return false;
    }
    stream_.body_left -= static_cast<int64_t>(data.size());
  }
  std::string& out = output();
  if (stream_.chunked) {
    char size[20];
    char* end = std::to_chars(size, size + sizeof size - 2, data.size(), 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    out.append(size, end);
    out.append(data);
    out.append("\r\n");
  } else {
    out.append(data);
  }
  if (outputBacklog() >= kOutputHighWatermark) notifyWhenDrained();
  scheduleFlush();
  return true;
}

bool HttpConnection::streamWantsMore() {
  if (outputBacklog() < kOutputHighWatermark) return true;
  notifyWhenDrained();
  return false;
}

void HttpConnection::streamEnd() {
  if (!stream_.head_written) {
    // A forwarder that ends without an answer: the client must not wait.
    streamAbort();
    return;
  }
  if (stream_.tunnel) {
    endStream(true);
    return;
  }
  if (stream_.body_left > 0) {
    // Shorter than announced: the client would wait for the rest, or read
    // the next answer as this one's end.
    streamAbort();
    return;
  }
  if (stream_.chunked) output().append("0\r\n\r\n");
  bool body_unread = stream_.request_length != 0 && !stream_.request_done;
  endStream(stream_.close_after || stream_.delimited || body_unread);
}

void HttpConnection::streamRespond(const HttpResponse& response) {
  if (stream_.head_written) {
    // Too late for a whole answer: the client sees a cut one.
    streamAbort();
    return;
  }
  stream_.head_written = true;
  bool body_unread = stream_.request_length != 0 && !stream_.request_done;
  ResponseFraming f = currentFraming();
  if (body_unread) f.keep_alive = false;  // its rest would be parsed as a request
  http().recordResponse(route_id_, response.status, request_.started_us);
  bool close_after = appendResponse(output(), response, f);
  endStream(close_after || body_unread);
}

void HttpConnection::streamAbort() {
  stream_.active = false;
  stream_.handler = nullptr;  // it asked: it is not told again
  close();
}

// ---------------------------------------------------------------- tunnel

bool HttpConnection::streamWriteTunnel(std::string_view data) {
  if (data.empty()) return true;
  if (outputBacklog() > static_cast<size_t>(server().streamOptions().max_output_bytes)) {
    endStream(true);
    cutOffSlowReader();
    return false;
  }
  noteTunnelActivity();
  output().append(data);
  if (outputBacklog() >= kOutputHighWatermark) notifyWhenDrained();
  scheduleFlush();
  return true;
}

void HttpConnection::noteTunnelActivity() {
  stream_.tunnel_active_ms = nowMs();
}

// A tunnel with no byte either way for idle_timeout_ms is closed (a
// WebSocket keeps itself alive with pings). The timer is moved only when it
// fires, not on every byte.
void HttpConnection::armTunnelDeadline() {
  int64_t idle = http().options().idle_timeout_ms;
  if (idle <= 0) {
    setDeadline(Deadline::None, 0);
    return;
  }
  int64_t left = stream_.tunnel_active_ms + idle - nowMs();
  setDeadline(Deadline::Stream, left > 0 ? left : 0);
}

void HttpConnection::streamDeadline() {
  if (!stream_.active || !stream_.tunnel) return;
  int64_t idle = http().options().idle_timeout_ms;
  if (idle > 0 && nowMs() - stream_.tunnel_active_ms >= idle) {
    close();  // the handler hears onClosed()
    return;
  }
  armTunnelDeadline();
}

// ---------------------------------------------------------------- closing

void HttpConnection::onClosing() {
  pending_input_.clear();
  if (!stream_.active) return;
  stream_.active = false;
  // Told once, last: the handler may destroy itself from here.
  HttpStreamHandler* h = stream_.handler;
  stream_.handler = nullptr;
  if (h != nullptr) h->onClosed();
}

bool HttpConnection::mayResume() const {
  if (!stream_.active) return true;
  if (stream_.body_paused) return false;
  if (stream_.tunnel) return true;
  // During an exchange, held input is the rest of its body; after the body,
  // it is the next request: it waits for the exchange to end.
  return !stream_.request_done;
}

void HttpConnection::onOutputDrained() {
  if (stream_.active && stream_.handler != nullptr) stream_.handler->onResponseDrained();
}

}  // namespace redge
