// RespServer: listener, live connections by id, the flush check that batches
// asynchronous replies into one write per connection per loop iteration.

#include "net/resp/resp_server.hpp"

#include "core/log.hpp"
#include "net/resp/resp_connection.hpp"
#include "net/tcp_listen.hpp"

namespace redge {

namespace {

RespConnection* connectionOf(RespServer* server, uint64_t id) {
  if (server == nullptr) return nullptr;
  if (RespConnection* c = server->dispatching(id)) return c;
  return server->findConnection(id);
}

}  // namespace

void RespResponder::reply(std::string_view encoded) const {
  RespConnection* c = connectionOf(server_, connection_id_);
  if (c == nullptr) return;
  if (part_ == kWhole) {
    c->deliver(seq_, encoded);
  } else {
    c->deliverPart(seq_, part_, encoded);
  }
}

bool RespResponder::alive() const {
  RespConnection* c = connectionOf(server_, connection_id_);
  return c != nullptr && c->awaits(seq_, part_);
}

RespSession* RespResponder::session() const {
  RespConnection* c = connectionOf(server_, connection_id_);
  return c == nullptr ? nullptr : &c->session();
}

bool RespResponder::splitInto(size_t n) const {
  RespConnection* c = connectionOf(server_, connection_id_);
  return c != nullptr && part_ == kWhole && c->splitReply(seq_, n);
}

RespServer::RespServer(uv_loop_t* loop, MetricsRegistry& metrics, RespServerOptions options,
                       RespHandler handler)
    : loop_(loop),
      options_(std::move(options)),
      handler_(std::move(handler)),
      read_buffer_(65536),
      started_ms_(uv_now(loop)),
      open_gauge_(metrics.gauge("redge_resp_connections_open", "RESP connections open now",
                                {{"service", options_.service}})),
      accepted_(metrics.counter("redge_resp_connections_accepted_total",
                                "RESP connections accepted", {{"service", options_.service}})),
      rejected_(metrics.counter("redge_resp_connections_rejected_total",
                                "RESP connections refused at the connection limit",
                                {{"service", options_.service}})),
      commands_(metrics.counter("redge_resp_commands_total", "RESP commands received",
                                {{"service", options_.service}})),
      protocol_errors_(metrics.counter("redge_resp_protocol_errors_total",
                                       "RESP connections closed for a protocol error",
                                       {{"service", options_.service}})),
      slow_readers_(metrics.counter(
          "redge_resp_slow_readers_disconnected_total",
          "RESP connections cut off because their unread replies passed the output limit",
          {{"service", options_.service}})) {
  static constexpr std::string_view kRefusals[] = {"unknown_command", "wrong_arity",
                                                   "transaction_aborted", "transaction_too_large"};
  for (size_t i = 0; i < std::size(kRefusals); ++i) {
    refused_[i] = &metrics.counter(
        "redge_resp_commands_refused_total",
        "RESP commands refused before running: unknown (writes included), wrong number of "
        "arguments, EXEC of a transaction with a refused command, or a MULTI queue over its limit",
        {{"service", options_.service}, {"reason", std::string(kRefusals[i])}});
  }
  uv_check_init(loop_, &flush_check_);
  flush_check_.data = this;
  ++own_handles_open_;
  uv_check_start(&flush_check_, &onCheckCb);
  uv_unref(reinterpret_cast<uv_handle_t*>(&flush_check_));
}

int RespServer::listen() {
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  ++own_handles_open_;
  listener_open_ = true;
  int rc = tcpBindAndListen(&listener_, options_.bind, options_.port, &onConnectionCb, bound_port_);
  if (rc != 0) {
    listener_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &onHandleClosedCb);
    return rc;
  }
  REDGE_LOG(Info, "listening")
      .kv("service", options_.service)
      .kv("protocol", "resp")
      .kv("bind", options_.bind)
      .kv("port", bound_port_);
  return 0;
}

void RespServer::onConnectionCb(uv_stream_t* listener, int status) noexcept {
  auto* s = static_cast<RespServer*>(listener->data);
  if (s != nullptr) s->onConnection(status);
}

void RespServer::onConnection(int status) {
  if (status < 0 || closing_) return;
  uint64_t id = next_connection_id_++;
  auto* c = new RespConnection(*this, id);
  ++connections_alive_;
  // Refused connections linger briefly after their 503 / -ERR; they do not
  // count against the limit, or a client that keeps its refused socket open
  // would hold a slot.
  bool over_limit =
      static_cast<int64_t>(connections_.size() - refused_open_) >= options_.max_connections;
  connections_.emplace(id, c);
  if (c->accept(reinterpret_cast<uv_stream_t*>(&listener_)) != 0) return;
  if (over_limit) {
    ++refused_open_;
    c->markRefused();
    rejected_.inc();
    c->rejectOverloaded();
    return;
  }
  accepted_.inc();
  open_gauge_.set(static_cast<double>(connections_.size()));
}

RespConnection* RespServer::findConnection(uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

void RespServer::dispatch(RespConnection* connection, const std::vector<std::string_view>& args,
                          const RespResponder& responder) {
  commands_.inc();
  RespConnection* outer = dispatching_;
  dispatching_ = connection;
  handler_(args, responder);
  dispatching_ = outer;
}

RespConnection* RespServer::dispatching(uint64_t id) const {
  return dispatching_ != nullptr && dispatching_->id() == id ? dispatching_ : nullptr;
}

void RespServer::onCheckCb(uv_check_t* check) noexcept {
  auto* s = static_cast<RespServer*>(check->data);
  if (s == nullptr || s->flush_pending_.empty()) return;
  std::vector<uint64_t> ids;
  ids.swap(s->flush_pending_);
  for (uint64_t id : ids) {
    if (RespConnection* c = s->findConnection(id)) c->flush();
  }
  if (s->flush_pending_.empty()) {
    ids.clear();
    s->flush_pending_.swap(ids);  // keep the capacity
  }
}

void RespServer::beginDrain() {
  if (draining_) return;
  draining_ = true;
  if (listener_open_) {
    listener_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &onHandleClosedCb);
  }
  std::vector<RespConnection*> all;
  for (auto& [id, c] : connections_) all.push_back(c);
  for (RespConnection* c : all) c->closeWhenIdle();
}

void RespServer::close(std::function<void()> on_closed) {
  if (closing_) return;
  closing_ = true;
  draining_ = true;
  on_closed_ = std::move(on_closed);
  if (listener_open_) {
    listener_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &onHandleClosedCb);
  }
  std::vector<RespConnection*> all;
  for (auto& [id, c] : connections_) all.push_back(c);
  for (RespConnection* c : all) c->close();
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_check_), &onHandleClosedCb);
}

void RespServer::onHandleClosedCb(uv_handle_t* handle) noexcept {
  auto* s = static_cast<RespServer*>(handle->data);
  --s->own_handles_open_;
  s->maybeFinishClose();
}

void RespServer::onConnectionClosed(RespConnection* connection) {
  if (dispatching_ == connection) dispatching_ = nullptr;
  if (connection->refused()) --refused_open_;
  connections_.erase(connection->id());
  open_gauge_.set(static_cast<double>(connections_.size()));
}

void RespServer::releaseConnection(RespConnection* connection) {
  delete connection;
  --connections_alive_;
  maybeFinishClose();
}

void RespServer::maybeFinishClose() {
  if (!closing_ || own_handles_open_ != 0 || connections_alive_ != 0) return;
  if (on_closed_) {
    auto cb = std::move(on_closed_);
    on_closed_ = nullptr;
    cb();
  }
}

}  // namespace redge
