// RespServer: the command handler and RESP's own counters; the listener,
// connection table and flushing are the StreamServer's. RespResponder finds
// its connection by id, so a late reply for a closed one is dropped.

#include "net/resp/resp_server.hpp"

#include "core/log.hpp"
#include "net/resp/resp_connection.hpp"

namespace redge {

namespace {

RespConnection* connectionOf(RespServer* server, uint64_t id) {
  return server == nullptr ? nullptr : server->findRespConnection(id);
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

namespace {

StreamServerOptions toStreamOptions(const RespServerOptions& o) {
  StreamServerOptions s;
  s.service = o.service;
  s.protocol = "resp";
  s.bind = o.bind;
  s.port = o.port;
  s.max_connections = o.max_connections;
  s.max_output_bytes = o.max_output_bytes;
  s.idle_timeout_ms = o.idle_timeout_ms;
  s.write_stall_ms = o.write_stall_ms;
  return s;
}

RespServerStats bindRespStats(MetricsRegistry& metrics, const std::string& service) {
  StatsBinder stats_binder(metrics, "redge_resp_", {{"service", service}});
  return REDGE_STATS_BIND(REDGE_RESP_SERVER_STATS);
}

}  // namespace

RespServer::RespServer(Runtime& runtime, RespServerOptions options, RespHandler handler)
    : StreamServer(runtime, toStreamOptions(options)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      started_ms_(uv_now(runtime.loop)),
      resp_stats_(bindRespStats(runtime.metrics, options_.service)) {
  static constexpr std::string_view kRefusals[] = {"unknown_command", "wrong_arity",
                                                   "transaction_aborted", "transaction_too_large"};
  for (size_t i = 0; i < std::size(kRefusals); ++i) {
    refused_[i] = &runtime.metrics.counter(
        "redge_resp_commands_refused_total",
        "RESP commands refused before running: unknown (writes included), wrong number of "
        "arguments, EXEC of a transaction with a refused command, or a MULTI queue over its limit",
        {{"service", options_.service}, {"reason", std::string(kRefusals[i])}});
  }
}

StreamConnection* RespServer::newConnection(uint64_t id) {
  return new RespConnection(*this, id);
}

void RespServer::onRefused() {
  logError(LogLevel::Warn, "max_clients", "the connection limit is reached; refused a client");
}

RespConnection* RespServer::findRespConnection(uint64_t id) const {
  return static_cast<RespConnection*>(findConnection(id));
}

}  // namespace redge
