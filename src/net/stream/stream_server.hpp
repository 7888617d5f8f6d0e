#pragma once
// What every listener does, whatever its protocol: bind and accept, the
// table of live connections by id, the connection limit (refused
// connections answered and closed, not counted against it while they
// linger), one read buffer shared by all connections, the flush of answers
// made since the poll (one write per connection per loop iteration), the
// drain and the close. HttpServer and RespServer add their codec's
// connections and what their requests are dispatched to.
//
// Lifetimes. The server owns its listener handle and every connection; it
// must outlive every callback that holds an answer handle naming it
// ({server, connection id, seq}): the daemon closes Redis and upstream
// clients, which fail their pending callbacks, before it destroys a server.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/log.hpp"
#include "core/runtime.hpp"
#include "core/stats.hpp"
#include "net/listener.hpp"

namespace redge {

class StreamConnection;

struct StreamServerOptions {
  std::string service;   // metric label and log field: "app", "cacheproxy", ...
  std::string protocol;  // "http" or "resp": metric names and log lines
  std::string bind = "127.0.0.1";
  int port = 0;  // 0: any free port (see port())
  int64_t max_connections = 10000;
  int64_t max_output_bytes = 8388608;  // unread answers past this cut a client off
  int64_t idle_timeout_ms = 60000;     // 0: an idle connection is kept (RESP, as Redis)
  int64_t write_stall_ms = 60000;      // a client that takes no output this long is closed
};

// clang-format off
#define REDGE_STREAM_SERVER_STATS(COUNTER, GAUGE, HISTOGRAM)                              \
  GAUGE(connections_open, "connections open now")                                        \
  COUNTER(connections_accepted_total, "connections accepted")                            \
  COUNTER(connections_rejected_total, "connections refused at the connection limit")     \
  COUNTER(slow_readers_disconnected_total,                                               \
          "connections cut off because their unread answers passed the output limit")
// clang-format on

struct StreamServerStats {
  REDGE_STATS_MEMBERS(REDGE_STREAM_SERVER_STATS)
};

class StreamServer : public Listener {
 public:
  StreamServer(Runtime& runtime, StreamServerOptions options);
  ~StreamServer() override;
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  int listen() override;
  int port() const { return bound_port_; }
  void beginDrain() override;
  void close(std::function<void()> on_closed = {}) override;
  size_t openConnections() const override { return connections_.size(); }
  ListenerInfo info() const override;

  // --- used by connections and answer handles ---
  Runtime& runtime() { return runtime_; }
  uv_loop_t* loop() const { return runtime_.loop; }
  const StreamServerOptions& streamOptions() const { return options_; }
  StreamConnection* findConnection(uint64_t id) const {
    // The connection whose request is being dispatched answers most often.
    if (current_ != nullptr && current_id_ == id) return current_;
    return findConnectionSlow(id);
  }
  void setCurrent(StreamConnection* connection, uint64_t id) {
    current_ = connection;
    current_id_ = id;
  }
  bool draining() const { return draining_; }
  char* readBuffer() { return read_buffer_.get(); }
  size_t readBufferSize() const { return kReadBufferSize; }
  void scheduleFlush(uint64_t connection_id) { flush_pending_.push_back(connection_id); }
  void scheduleResume(uint64_t connection_id) { resume_pending_.push_back(connection_id); }
  void slowReaderDisconnected() { stats_.slow_readers_disconnected_total.inc(); }
  // A client's error, as a logfmt line "<protocol>_error" with the code.
  // One line per error would let a misbehaving client flood the journal: at
  // most kErrorLinesPerSecond a second, and the next line says how many were
  // left out. status > 0 adds the HTTP status.
  void logError(LogLevel level, std::string_view code, std::string_view message, int status = 0);
  size_t servedConnections() const { return connections_.size() - refused_open_; }
  const StreamServerStats& stats() const { return stats_; }
  void onConnectionClosed(StreamConnection* connection);  // from its close path
  void releaseConnection(StreamConnection* connection);   // from its last close callback

 protected:
  // A new connection of the protocol's own kind.
  virtual StreamConnection* newConnection(uint64_t id) = 0;
  // A connection over the limit is about to be refused (count it).
  virtual void onRefused() {}

 private:
  static constexpr size_t kReadBufferSize = 65536;
  static void onConnectionCb(uv_stream_t* listener, int status) noexcept;
  static void onListenerClosedCb(uv_handle_t* handle) noexcept;
  static StreamServerStats bindStats(MetricsRegistry& metrics, const StreamServerOptions& o);
  void onConnection(int status);
  StreamConnection* findConnectionSlow(uint64_t id) const;
  void afterPoll();
  void flushPending();
  void closeListener();
  void maybeFinishClose();

  Runtime& runtime_;
  StreamServerOptions options_;
  uv_tcp_t listener_;
  bool listener_open_ = false;         // listening (uv_close not yet asked)
  bool listener_handle_open_ = false;  // its close callback has not run yet
  int bound_port_ = 0;
  bool draining_ = false;
  bool closing_ = false;
  std::function<void()> on_closed_;
  LoopHooks::HookId after_poll_ = 0;
  LoopHooks::HookId before_poll_ = 0;
  uint64_t next_connection_id_ = 1;
  std::unordered_map<uint64_t, StreamConnection*> connections_;
  StreamConnection* current_ = nullptr;
  uint64_t current_id_ = 0;
  size_t connections_alive_ = 0;  // including those whose handles are still closing
  size_t refused_open_ = 0;       // refused connections still in connections_
  std::vector<uint64_t> flush_pending_;
  std::vector<uint64_t> resume_pending_;
  std::unique_ptr<char[]> read_buffer_;
  StreamServerStats stats_;
  std::string error_event_;  // "http_error", "resp_error"
  static constexpr int kErrorLinesPerSecond = 20;
  int64_t error_log_second_ = 0;
  int error_lines_this_second_ = 0;
  uint64_t error_lines_suppressed_ = 0;
};

}  // namespace redge
