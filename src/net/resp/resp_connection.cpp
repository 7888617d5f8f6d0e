// One RESP client connection (see the header).
//
// Reads land in the server's shared buffer and are parsed in place; only the
// bytes of an incomplete command are copied into input_, so a pipelined
// burst of complete commands costs no copy. Ordering works as in
// HttpConnection: a reply produced while nothing earlier is pending goes
// straight to the output; otherwise it waits in slots_.
//
// QUIT and protocol errors end the connection after their reply, with a
// lingering close (our FIN, then discard input briefly) so the client reads
// the reply instead of a reset.

#include "net/resp/resp_connection.hpp"

#include <strings.h>

#include "core/log.hpp"
#include "net/resp/resp_server.hpp"
#include "net/resp/resp_writer.hpp"

namespace redge {
namespace {

constexpr size_t kMaxPendingReplies = 1024;
constexpr size_t kOutputHighWatermark = 1 << 20;
constexpr size_t kOutputLowWatermark = 256 << 10;
constexpr uint64_t kLingerMs = 2000;

bool isCommand(std::string_view name, std::string_view want) {
  return name.size() == want.size() && strncasecmp(name.data(), want.data(), want.size()) == 0;
}

}  // namespace

RespConnection::RespConnection(RespServer& server, uint64_t id)
    : server_(server),
      id_(id),
      parser_(server.options().limits),
      session_(id),
      writer_(reinterpret_cast<uv_stream_t*>(&tcp_), *this) {
  tcp_.data = this;
  timer_.data = this;
}

int RespConnection::accept(uv_stream_t* listener) {
  uv_tcp_init(server_.loop(), &tcp_);
  uv_timer_init(server_.loop(), &timer_);
  handles_open_ = 2;
  int rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (rc != 0) {
    close();
    return rc;
  }
  uv_tcp_nodelay(&tcp_, 1);
  resumeReading();
  return 0;
}

void RespConnection::rejectOverloaded() {
  no_more_commands_ = true;
  appendRespError(writer_.buffer(), "ERR max number of clients reached");
  flush();
}

void RespConnection::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<RespConnection*>(h->data);
  buf->base = c->server_.readBuffer();
  buf->len = c->server_.readBufferSize();
}

void RespConnection::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<RespConnection*>(s->data);
  if (c != nullptr) c->onRead(nread, buf);
}

void RespConnection::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread < 0) {
    close();
    return;
  }
  if (nread == 0 || lingering_ || no_more_commands_) return;
  std::string_view data(buf->base, static_cast<size_t>(nread));
  if (input_.empty()) {
    size_t used = parse(data);
    if (!closing_ && used < data.size() && !no_more_commands_) input_.assign(data.substr(used));
  } else {
    input_.append(data);
    size_t used = parse(input_);
    if (!closing_) input_.erase(0, used);
  }
  if (!closing_) flush();
}

size_t RespConnection::parse(std::string_view input) {
  size_t total = 0;
  while (!closing_ && !no_more_commands_) {
    // Enough replies outstanding, or the client has not taken what it was
    // already given: stop executing here; the rest stays in input_ (at most
    // one read, since reading stops too). Without this, a pipeline of short
    // GETs for large values turns a few bytes in into megabytes held.
    if (slots_.size() >= kMaxPendingReplies || outputBacklog() >= kOutputHighWatermark) {
      paused_ = true;
      pauseReading();
      break;
    }
    size_t consumed = 0;
    RespParser::Result r = parser_.parse(input.substr(total), consumed);
    total += consumed;
    if (r == RespParser::Result::NeedMore) break;
    if (r == RespParser::Result::Error) {
      server_.protocolErrors().inc();
      std::string reply;
      appendRespError(reply, std::string("ERR ") + std::string(parser_.error()));
      finishAfterReply(reply);
      break;
    }
    execute(parser_.args());
  }
  return total;
}

void RespConnection::execute(const std::vector<std::string_view>& args) {
  if (isCommand(args[0], "QUIT")) {
    finishAfterReply("+OK\r\n");
    return;
  }
  uint64_t seq = next_seq_++;
  dispatching_ = true;
  dispatch_seq_ = seq;
  answered_in_dispatch_ = false;
  server_.dispatch(this, args, RespResponder(&server_, id_, seq, session_.protocol));
  dispatching_ = false;
  if (!answered_in_dispatch_ && !closing_) {
    Slot slot;
    slot.seq = seq;
    slots_.push_back(std::move(slot));
  }
}

// A last reply, in order after everything pending, then the connection ends.
void RespConnection::finishAfterReply(std::string_view encoded) {
  uint64_t seq = next_seq_++;
  dispatching_ = true;
  dispatch_seq_ = seq;
  answered_in_dispatch_ = false;
  deliver(seq, encoded);
  dispatching_ = false;
  no_more_commands_ = true;
  input_.clear();
}

RespConnection::Slot* RespConnection::findSlot(uint64_t seq) {
  if (slots_.empty() || seq < slots_.front().seq) return nullptr;
  size_t i = static_cast<size_t>(seq - slots_.front().seq);
  return i < slots_.size() ? &slots_[i] : nullptr;
}

const RespConnection::Slot* RespConnection::findSlot(uint64_t seq) const {
  return const_cast<RespConnection*>(this)->findSlot(seq);
}

bool RespConnection::awaits(uint64_t seq, uint32_t part) const {
  if (closing_) return false;
  if (part == RespResponder::kWhole && dispatching_ && seq == dispatch_seq_) {
    return !answered_in_dispatch_;
  }
  const Slot* slot = findSlot(seq);
  if (slot == nullptr || slot->ready) return false;
  if (part == RespResponder::kWhole) return slot->parts == nullptr;
  return slot->parts != nullptr && part < slot->parts->in.size() && !slot->parts->in[part];
}

size_t RespConnection::outputBacklog() const {
  return writer_.bufferedBytes() + writer_.queuedBytes() + ready_slot_bytes_;
}

bool RespConnection::cutOffSlowReader() {
  size_t backlog = outputBacklog();
  if (backlog <= static_cast<size_t>(server_.options().max_output_bytes)) return false;
  REDGE_LOG(Info, "slow_reader_disconnected")
      .kv("service", server_.options().service)
      .kv("protocol", "resp")
      .kv("conn", id_)
      .kv("queued_bytes", static_cast<uint64_t>(backlog));
  server_.slowReaderDisconnected();
  close();
  return true;
}

void RespConnection::deliver(uint64_t seq, std::string_view encoded) {
  if (closing_) return;
  // A reply on top of a backlog already over the limit: the client is not
  // reading (Redis's client-output-buffer-limit, as a hard limit).
  if (cutOffSlowReader()) return;
  if (dispatching_ && seq == dispatch_seq_) {
    if (answered_in_dispatch_) return;
    answered_in_dispatch_ = true;
    if (slots_.empty()) {
      writer_.buffer().append(encoded);
    } else {
      Slot slot;
      slot.seq = seq;
      slot.ready = true;
      slot.bytes.assign(encoded);
      ready_slot_bytes_ += slot.bytes.size();
      slots_.push_back(std::move(slot));
    }
    return;
  }
  Slot* slot = findSlot(seq);
  if (slot == nullptr || slot->ready || slot->parts != nullptr) return;
  slot->bytes.assign(encoded);
  slotReady(*slot, static_cast<size_t>(seq - slots_.front().seq));
}

bool RespConnection::splitReply(uint64_t seq, size_t n) {
  if (closing_ || n == 0) return false;
  Slot* slot = nullptr;
  if (dispatching_ && seq == dispatch_seq_) {
    if (answered_in_dispatch_) return false;
    // The array takes the command's place in the order now; execute() must
    // not add a second slot for it.
    answered_in_dispatch_ = true;
    slots_.emplace_back();
    slot = &slots_.back();
    slot->seq = seq;
  } else {
    slot = findSlot(seq);
    if (slot == nullptr || slot->ready || slot->parts != nullptr) return false;
  }
  slot->parts = std::make_unique<Parts>();
  slot->parts->bytes.resize(n);
  slot->parts->in.assign(n, false);
  slot->parts->missing = n;
  return true;
}

void RespConnection::deliverPart(uint64_t seq, uint32_t part, std::string_view encoded) {
  if (closing_) return;
  if (cutOffSlowReader()) return;
  Slot* slot = findSlot(seq);
  if (slot == nullptr || slot->ready || slot->parts == nullptr) return;
  Parts& parts = *slot->parts;
  if (part >= parts.in.size() || parts.in[part]) return;
  parts.in[part] = true;
  parts.bytes[part].assign(encoded);
  if (--parts.missing != 0) return;
  appendRespArrayHeader(slot->bytes, parts.bytes.size());
  for (const std::string& p : parts.bytes) slot->bytes.append(p);
  slot->parts.reset();
  slotReady(*slot, static_cast<size_t>(seq - slots_.front().seq));
}

void RespConnection::slotReady(Slot& slot, size_t index) {
  slot.ready = true;
  ready_slot_bytes_ += slot.bytes.size();
  if (index == 0) {
    drainReadySlots();
    server_.scheduleFlush(id_);
  }
}

void RespConnection::drainReadySlots() {
  while (!slots_.empty() && slots_.front().ready) {
    writer_.buffer().append(slots_.front().bytes);
    ready_slot_bytes_ -= slots_.front().bytes.size();
    slots_.pop_front();
  }
}

bool RespConnection::canResume() const {
  return paused_ && !no_more_commands_ && slots_.size() < kMaxPendingReplies / 2 &&
         outputBacklog() < kOutputLowWatermark;
}

// Writes the output; then, while execution was paused and that has cleared,
// runs more of the held input and writes again. A loop, not recursion, so a
// client that reads as fast as it is answered cannot deepen the stack.
void RespConnection::flush() {
  if (closing_ || flushing_) return;  // a flush in progress loops until done
  flushing_ = true;
  for (;;) {
    if (!writeOutput()) break;
    if (!canResume()) break;
    paused_ = false;
    if (!input_.empty()) {
      size_t used = parse(input_);
      if (closing_) break;
      input_.erase(0, used);
    }
    drainReadySlots();
  }
  flushing_ = false;
  if (closing_) return;
  if (!paused_ && !no_more_commands_) resumeReading();
  afterOutputSettled();
}

bool RespConnection::writeOutput() {
  if (writer_.empty()) return true;
  if (writer_.queuedBytes() > static_cast<size_t>(server_.options().max_output_bytes)) {
    cutOffSlowReader();
    return false;
  }
  if (writer_.flush() != 0) {
    close();
    return false;
  }
  if (writer_.queuedBytes() > kOutputHighWatermark && !paused_) {
    paused_ = true;
    pauseReading();
  }
  if (waitingOnReader() && !uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) {
    armWriteStall();
  }
  return true;
}

// Execution is held back until the client takes its replies.
bool RespConnection::waitingOnReader() const {
  return !lingering_ && writer_.queuedBytes() > 0 && outputBacklog() >= kOutputLowWatermark;
}

// A client that takes none of its replies for write_stall_ms is closed, as
// HTTP's WriteStall does, instead of holding its output for ever; one that
// reads, however slowly, re-arms it with every completed write.
void RespConnection::armWriteStall() {
  uv_timer_start(&timer_, &onTimerCb, static_cast<uint64_t>(server_.options().write_stall_ms), 0);
}

void RespConnection::onWritten(int status) {
  if (closing_) return;
  if (status < 0) {
    close();
    return;
  }
  if (!lingering_) {
    if (waitingOnReader()) {
      armWriteStall();
    } else {
      uv_timer_stop(&timer_);
    }
  }
  flush();
}

void RespConnection::afterOutputSettled() {
  if (closing_) return;
  bool done = slots_.empty() && writer_.idle();
  if (no_more_commands_ && done && !shutdown_started_) {
    shutdown_started_ = true;
    shutdown_req_.data = this;
    if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &onShutdownCb) != 0) {
      close();
    }
    return;
  }
  if (server_.draining() && done && input_.empty()) close();
}

void RespConnection::onShutdownCb(uv_shutdown_t* req, int status) noexcept {
  auto* c = static_cast<RespConnection*>(req->data);
  if (c->closing_) return;
  if (status < 0) {
    c->close();
    return;
  }
  c->lingering_ = true;
  uv_timer_start(&c->timer_, &onTimerCb, kLingerMs, 0);
  c->resumeReading();
}

void RespConnection::onTimerCb(uv_timer_t* t) noexcept {
  auto* c = static_cast<RespConnection*>(t->data);
  if (c != nullptr) c->close();
}

void RespConnection::closeWhenIdle() {
  if (slots_.empty() && writer_.idle() && input_.empty()) close();
}

void RespConnection::pauseReading() {
  if (!reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void RespConnection::resumeReading() {
  if (reading_ || closing_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &onAllocCb, &onReadCb) == 0) {
    reading_ = true;
  }
}

void RespConnection::close() {
  if (closing_) return;
  closing_ = true;
  slots_.clear();
  ready_slot_bytes_ = 0;
  input_.clear();
  writer_.discard();
  server_.onConnectionClosed(this);
  if (handles_open_ == 0) {
    server_.releaseConnection(this);
    return;
  }
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &onCloseCb);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &onCloseCb);
}

void RespConnection::onCloseCb(uv_handle_t* h) noexcept {
  auto* c = static_cast<RespConnection*>(h->data);
  if (--c->handles_open_ == 0) c->server_.releaseConnection(c);
}

}  // namespace redge
