#pragma once
// A RESP2 listener, so that redis-cli, redis-benchmark and every Redis
// client library can talk to a redge service. The server owns the parsing,
// the ordering of replies (pipelined commands are answered in order, all
// replies of one loop iteration in one write), QUIT, protocol errors and the
// connection limit; what a command means is the handler's business.
//
// Lifetimes follow HttpServer's: a handler replies through a RespResponder
// (server, connection id, sequence), which may outlive its connection and
// then does nothing. The server must outlive every callback holding one.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/metrics.hpp"
#include "net/listener.hpp"
#include "net/resp/resp_parser.hpp"

namespace redge {

class RespServer;
class RespConnection;

class RespResponder {
 public:
  RespResponder() = default;
  RespResponder(RespServer* server, uint64_t connection_id, uint64_t seq)
      : server_(server), connection_id_(connection_id), seq_(seq) {}
  // Sends one reply, already RESP-encoded (see resp_writer.hpp). Exactly once.
  void reply(std::string_view encoded) const;
  bool alive() const;

 private:
  RespServer* server_ = nullptr;
  uint64_t connection_id_ = 0;
  uint64_t seq_ = 0;
};

// Runs for every command but QUIT; args[0] is the command name as sent.
// The args are valid only during the call.
using RespHandler =
    std::function<void(const std::vector<std::string_view>& args, const RespResponder& responder)>;

struct RespServerOptions {
  std::string service;
  std::string bind = "127.0.0.1";
  int port = 0;
  int64_t max_connections = 1024;
  int64_t max_output_bytes = 8388608;
  int64_t write_stall_ms = 60000;  // a client that reads none of its replies this long is closed
  RespLimits limits;
};

class RespServer final : public Listener {
 public:
  RespServer(uv_loop_t* loop, MetricsRegistry& metrics, RespServerOptions options,
             RespHandler handler);
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  int listen() override;
  int port() const { return bound_port_; }
  const RespServerOptions& options() const { return options_; }
  // Stops accepting and closes connections with nothing in progress.
  void beginDrain() override;
  void close(std::function<void()> on_closed = {}) override;
  size_t openConnections() const override { return connections_.size(); }
  ListenerInfo info() const override {
    return {options_.service, "resp", options_.bind, options_.port};
  }

  // --- used by RespConnection and RespResponder ---
  uv_loop_t* loop() const { return loop_; }
  RespConnection* findConnection(uint64_t id) const;
  void dispatch(const std::vector<std::string_view>& args, const RespResponder& responder);
  void scheduleFlush(uint64_t connection_id) { flush_pending_.push_back(connection_id); }
  void onConnectionClosed(RespConnection* connection);
  void releaseConnection(RespConnection* connection);
  char* readBuffer() { return read_buffer_.data(); }
  size_t readBufferSize() const { return read_buffer_.size(); }
  bool draining() const { return draining_; }
  Counter& protocolErrors() { return protocol_errors_; }
  void slowReaderDisconnected() { slow_readers_.inc(); }

 private:
  static void onConnectionCb(uv_stream_t* listener, int status) noexcept;
  static void onCheckCb(uv_check_t* check) noexcept;
  static void onHandleClosedCb(uv_handle_t* handle) noexcept;
  void onConnection(int status);
  void maybeFinishClose();

  uv_loop_t* loop_;
  RespServerOptions options_;
  RespHandler handler_;
  uv_tcp_t listener_;
  bool listener_open_ = false;
  uv_check_t flush_check_;
  int own_handles_open_ = 0;
  int bound_port_ = 0;
  bool draining_ = false;
  bool closing_ = false;
  std::function<void()> on_closed_;
  uint64_t next_connection_id_ = 1;
  std::unordered_map<uint64_t, RespConnection*> connections_;
  size_t connections_alive_ = 0;
  size_t refused_open_ = 0;  // refused connections still closing (in connections_)
  std::vector<uint64_t> flush_pending_;
  std::vector<char> read_buffer_;
  Gauge& open_gauge_;
  Counter& accepted_;
  Counter& rejected_;
  Counter& commands_;
  Counter& protocol_errors_;
  Counter& slow_readers_;
};

}  // namespace redge
