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
#include <vector>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/stats.hpp"
#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_session.hpp"
#include "net/resp/resp_writer.hpp"
#include "net/stream/stream_server.hpp"

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
  int64_t write_stall_ms = 60000;  // a client that takes none of its replies this long is closed
  // An idle connection is closed after this; 0 keeps it, as Redis's
  // `timeout 0` does (client pools hold idle connections on purpose).
  int64_t idle_timeout_ms = 0;
  // A command must arrive whole within this of its first byte, or the
  // client gets an error and the connection closes.
  int64_t command_read_timeout_ms = 10000;
  RespLimits limits;
};

// Why a command was refused before it ran (RespCommandTable).
enum class RespRefusal { UnknownCommand, WrongArity, TransactionAborted, TransactionTooLarge };

// clang-format off
#define REDGE_RESP_SERVER_STATS(COUNTER, GAUGE, HISTOGRAM)                                    \
  COUNTER(commands_total, "RESP commands received")                                          \
  COUNTER(protocol_errors_total, "RESP connections closed for a protocol error")              \
  COUNTER(command_read_timeouts_total,                                                       \
          "RESP connections closed because a command did not arrive whole in time")
// clang-format on

struct RespServerStats {
  REDGE_STATS_MEMBERS(REDGE_RESP_SERVER_STATS)
};

class RespServer final : public StreamServer {
 public:
  RespServer(Runtime& runtime, RespServerOptions options, RespHandler handler);
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  const RespServerOptions& options() const { return options_; }

  // What INFO reports.
  uint64_t connectionsAccepted() const { return stats().connections_accepted_total.value(); }
  uint64_t connectionsRejected() const { return stats().connections_rejected_total.value(); }
  uint64_t commandsProcessed() const { return resp_stats_.commands_total.value(); }
  uint64_t uptimeMs() const { return uv_now(loop()) - started_ms_; }

  // --- used by RespConnection and RespResponder ---
  RespConnection* findRespConnection(uint64_t id) const;
  // Runs the handler for one command.
  void dispatch(const std::vector<std::string_view>& args, const RespResponder& responder) {
    resp_stats_.commands_total.inc();
    handler_(args, responder);
  }
  RespServerStats& respStats() { return resp_stats_; }
  // A command refused before it ran, by reason.
  using Refusal = RespRefusal;
  void commandRefused(Refusal reason) { refused_[static_cast<size_t>(reason)]->inc(); }

 protected:
  StreamConnection* newConnection(uint64_t id) override;
  void onRefused() override;

 private:
  RespServerOptions options_;
  RespHandler handler_;
  uint64_t started_ms_;
  RespServerStats resp_stats_;
  Counter* refused_[4];  // by RespRefusal, bound once
};

}  // namespace redge
