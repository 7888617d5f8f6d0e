// StreamServer: the listener, the connection table and limit, and the
// after-poll hook that writes every connection's answers once per loop
// iteration and takes up reading for connections that yielded. Answers made
// outside the poll phase (from a timer: an upstream's deadline, a delayed
// answer) are written by the before-poll hook instead: the loop would
// otherwise block in the poll, with them unwritten, until some other I/O.

#include "net/stream/stream_server.hpp"

#include "core/log.hpp"
#include "net/stream/stream_connection.hpp"
#include "net/tcp_listen.hpp"

namespace redge {
namespace {

std::string upper(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

StreamServerStats StreamServer::bindStats(MetricsRegistry& metrics, const StreamServerOptions& o) {
  StatsBinder stats_binder(metrics, "redge_" + o.protocol + "_", {{"service", o.service}},
                           upper(o.protocol) + " ");
  return REDGE_STATS_BIND(REDGE_STREAM_SERVER_STATS);
}

StreamServer::StreamServer(Runtime& runtime, StreamServerOptions options)
    : runtime_(runtime),
      options_(std::move(options)),
      read_buffer_(new char[kReadBufferSize]),
      stats_(bindStats(runtime.metrics, options_)),
      error_event_(options_.protocol + "_error") {
  after_poll_ = runtime_.hooks.addAfterPoll([this] { afterPoll(); });
  before_poll_ = runtime_.hooks.addBeforePoll([this] {
    if (flush_pending_.empty()) return;
    flushPending();
    // The flush may have taken up held requests, whose Redis commands the
    // client's hook (earlier in the list) has already passed over.
    runtime_.hooks.requestRound();
  });
}

// close() and a loop run come first (see the header); this only detaches.
StreamServer::~StreamServer() {
  if (after_poll_ != 0) runtime_.hooks.remove(after_poll_);
  if (before_poll_ != 0) runtime_.hooks.remove(before_poll_);
}

ListenerInfo StreamServer::info() const {
  return {options_.service, options_.protocol, options_.bind, options_.port};
}

int StreamServer::listen() {
  uv_tcp_init(loop(), &listener_);
  listener_.data = this;
  listener_open_ = true;
  listener_handle_open_ = true;
  int rc = tcpBindAndListen(&listener_, options_.bind, options_.port, &onConnectionCb, bound_port_);
  if (rc != 0) {
    closeListener();
    return rc;
  }
  LogLine line(LogLevel::Info, "listening");
  line.kv("service", options_.service);
  // HTTP listeners have always logged without a protocol field; tools read
  // these lines, so they stay as they were.
  if (options_.protocol != "http") line.kv("protocol", options_.protocol);
  line.kv("bind", options_.bind).kv("port", bound_port_);
  return 0;
}

void StreamServer::onConnectionCb(uv_stream_t* listener, int status) noexcept {
  auto* s = static_cast<StreamServer*>(listener->data);
  if (s == nullptr) return;
  s->onConnection(status);
}

void StreamServer::onConnection(int status) {
  if (status < 0 || closing_) return;
  uint64_t id = next_connection_id_++;
  StreamConnection* c = newConnection(id);
  ++connections_alive_;
  // Refused connections linger briefly after their refusal; they do not
  // count against the limit, or a client that keeps its refused socket open
  // would hold a slot.
  bool over_limit =
      static_cast<int64_t>(connections_.size() - refused_open_) >= options_.max_connections;
  connections_.emplace(id, c);
  if (c->accept(reinterpret_cast<uv_stream_t*>(&listener_)) != 0) return;
  if (over_limit) {
    ++refused_open_;
    stats_.connections_rejected_total.inc();
    onRefused();
    c->refuse();
    return;
  }
  stats_.connections_accepted_total.inc();
  stats_.connections_open.set(static_cast<double>(connections_.size()));
  if (draining_) c->closeWhenIdle();
}

void StreamServer::logError(LogLevel level, std::string_view code, std::string_view message,
                            int status) {
  int64_t second = static_cast<int64_t>(uv_now(loop()) / 1000);
  if (second != error_log_second_) {
    error_log_second_ = second;
    error_lines_this_second_ = 0;
  }
  if (error_lines_this_second_ >= kErrorLinesPerSecond) {
    ++error_lines_suppressed_;
    return;
  }
  ++error_lines_this_second_;
  LogLine line(level, error_event_);
  line.kv("service", options_.service);
  if (status > 0) line.kv("status", status);
  line.kv("error", code).kv("message", message);
  if (error_lines_suppressed_ > 0) {
    line.kv("suppressed", error_lines_suppressed_);
    error_lines_suppressed_ = 0;
  }
}

StreamConnection* StreamServer::findConnectionSlow(uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

void StreamServer::afterPoll() {
  if (!resume_pending_.empty()) {
    std::vector<uint64_t> ids;
    ids.swap(resume_pending_);
    for (uint64_t id : ids) {
      if (StreamConnection* c = findConnection(id)) c->resumeAfterYield();
    }
  }
  flushPending();
}

void StreamServer::flushPending() {
  if (flush_pending_.empty()) return;
  std::vector<uint64_t> ids;
  ids.swap(flush_pending_);
  for (uint64_t id : ids) {
    if (StreamConnection* c = findConnection(id)) c->flush();
  }
  if (flush_pending_.empty()) {
    ids.clear();
    flush_pending_.swap(ids);  // keep the capacity
  }
}

void StreamServer::closeListener() {
  if (!listener_open_) return;
  listener_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &onListenerClosedCb);
}

void StreamServer::beginDrain() {
  if (draining_) return;
  draining_ = true;
  closeListener();
  std::vector<StreamConnection*> all;
  for (auto& [id, c] : connections_) all.push_back(c);
  for (StreamConnection* c : all) c->closeWhenIdle();
}

void StreamServer::close(std::function<void()> on_closed) {
  if (closing_) return;
  closing_ = true;
  draining_ = true;
  on_closed_ = std::move(on_closed);
  closeListener();
  std::vector<StreamConnection*> all;
  for (auto& [id, c] : connections_) all.push_back(c);
  for (StreamConnection* c : all) c->close();
  if (after_poll_ != 0) {
    runtime_.hooks.remove(after_poll_);
    after_poll_ = 0;
  }
  if (before_poll_ != 0) {
    runtime_.hooks.remove(before_poll_);
    before_poll_ = 0;
  }
  maybeFinishClose();
}

void StreamServer::onListenerClosedCb(uv_handle_t* handle) noexcept {
  auto* s = static_cast<StreamServer*>(handle->data);
  s->listener_handle_open_ = false;
  s->maybeFinishClose();
}

void StreamServer::onConnectionClosed(StreamConnection* connection) {
  if (current_ == connection) current_ = nullptr;
  if (connection->refused()) --refused_open_;
  connections_.erase(connection->id());
  stats_.connections_open.set(static_cast<double>(connections_.size()));
}

void StreamServer::releaseConnection(StreamConnection* connection) {
  delete connection;
  --connections_alive_;
  maybeFinishClose();
}

void StreamServer::maybeFinishClose() {
  if (!closing_ || listener_handle_open_ || connections_alive_ != 0) return;
  if (on_closed_) {
    auto cb = std::move(on_closed_);
    on_closed_ = nullptr;
    cb();
  }
}

}  // namespace redge
