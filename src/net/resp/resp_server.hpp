#pragma once
// A RESP listener, so that redis-cli, redis-benchmark and every Redis
// client library can talk to a redge service. The server owns the parsing,
// the ordering of replies (pipelined commands are answered in order, all
// replies of one loop iteration in one write), QUIT, protocol errors, the
// connection limit and each connection's RespSession; what a command means
// is the handler's business (see RespCommandTable).
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
#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_session.hpp"
#include "net/resp/resp_writer.hpp"

namespace redge {

class RespServer;
class RespConnection;

// Where one reply goes: a command's place in its connection's reply order,
// or one element of an EXEC's array. Cheap to copy into callbacks; after
// its connection has closed every call is a no-op (session() gives nullptr).
class RespResponder {
 public:
  static constexpr uint32_t kWhole = UINT32_MAX;

  RespResponder() = default;
  RespResponder(RespServer* server, uint64_t connection_id, uint64_t seq, RespProtocol protocol,
                uint32_t part = kWhole)
      : server_(server),
        connection_id_(connection_id),
        seq_(seq),
        part_(part),
        protocol_(protocol) {}
  // Sends one reply, already RESP-encoded (see resp_writer.hpp). Exactly once.
  void reply(std::string_view encoded) const;
  bool alive() const;
  // The protocol the reply must be encoded in: the connection's when the
  // command was dispatched.
  RespProtocol protocol() const { return protocol_; }
  // The connection's state, or nullptr once it has closed. For use within
  // the handler call only: never keep the pointer.
  RespSession* session() const;
  RespServer* server() const { return server_; }

  // Makes this reply an array of n > 0 elements, each answered, in any
  // order, through part(i); the array goes out, in the connection's reply
  // order, once the last element is in. False if the connection is gone.
  bool splitInto(size_t n) const;
  RespResponder part(size_t i, RespProtocol protocol) const {
    return RespResponder(server_, connection_id_, seq_, protocol, static_cast<uint32_t>(i));
  }

 private:
  RespServer* server_ = nullptr;
  uint64_t connection_id_ = 0;
  uint64_t seq_ = 0;
  uint32_t part_ = kWhole;
  RespProtocol protocol_ = RespProtocol::Resp2;
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

class RespServer {
 public:
  RespServer(uv_loop_t* loop, MetricsRegistry& metrics, RespServerOptions options,
             RespHandler handler);
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  int listen();
  int port() const { return bound_port_; }
  const RespServerOptions& options() const { return options_; }
  // Stops accepting and closes connections with nothing in progress.
  void beginDrain();
  void close(std::function<void()> on_closed = {});
  size_t openConnections() const { return connections_.size(); }

  // What INFO reports.
  size_t servedConnections() const { return connections_.size() - refused_open_; }
  uint64_t connectionsAccepted() const { return accepted_.value(); }
  uint64_t connectionsRejected() const { return rejected_.value(); }
  uint64_t commandsProcessed() const { return commands_.value(); }
  uint64_t uptimeMs() const { return uv_now(loop_) - started_ms_; }

  // --- used by RespConnection and RespResponder ---
  uv_loop_t* loop() const { return loop_; }
  RespConnection* findConnection(uint64_t id) const;
  // Runs the handler; `connection` is the one the command came from.
  void dispatch(RespConnection* connection, const std::vector<std::string_view>& args,
                const RespResponder& responder);
  // The connection whose command is being dispatched, if it is `id`: spares
  // RespResponder::session() a lookup for the common synchronous case.
  RespConnection* dispatching(uint64_t id) const;
  void scheduleFlush(uint64_t connection_id) { flush_pending_.push_back(connection_id); }
  void onConnectionClosed(RespConnection* connection);
  void releaseConnection(RespConnection* connection);
  char* readBuffer() { return read_buffer_.data(); }
  size_t readBufferSize() const { return read_buffer_.size(); }
  bool draining() const { return draining_; }
  Counter& protocolErrors() { return protocol_errors_; }
  void slowReaderDisconnected() { slow_readers_.inc(); }
  // A command refused before it ran (RespCommandTable), by reason.
  enum class Refusal { UnknownCommand, WrongArity, TransactionAborted, TransactionTooLarge };
  void commandRefused(Refusal reason) { refused_[static_cast<size_t>(reason)]->inc(); }

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
  RespConnection* dispatching_ = nullptr;  // set only for the duration of a handler call
  uint64_t started_ms_;
  Gauge& open_gauge_;
  Counter& accepted_;
  Counter& rejected_;
  Counter& commands_;
  Counter& protocol_errors_;
  Counter& slow_readers_;
  Counter* refused_[4];
};

}  // namespace redge
