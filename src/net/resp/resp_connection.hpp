#pragma once
// One RESP client connection: parses requests (multibulk and inline), hands
// commands to the server's handler and writes replies in command order,
// everything produced in one loop iteration in one write.
//
// Owned by RespServer; freed from the last close callback of its two handles
// (tcp, and the timer used only for the lingering close after an error).

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_session.hpp"
#include "net/stream_writer.hpp"

namespace redge {

class RespServer;

class RespConnection final : public StreamWriterOwner {
 public:
  RespConnection(RespServer& server, uint64_t id);
  int accept(uv_stream_t* listener);
  // Writes "-ERR max number of clients reached" and closes, as Redis does.
  void rejectOverloaded();
  void deliver(uint64_t seq, std::string_view encoded);
  // The reply `seq` becomes an array of n elements, delivered one by one
  // with deliverPart(); see RespResponder::splitInto().
  bool splitReply(uint64_t seq, size_t n);
  void deliverPart(uint64_t seq, uint32_t part, std::string_view encoded);
  bool awaits(uint64_t seq, uint32_t part) const;
  RespSession& session() { return session_; }
  void flush();
  void closeWhenIdle();
  void close();
  uint64_t id() const { return id_; }
  void markRefused() { refused_ = true; }
  bool refused() const { return refused_; }

 private:
  // An array answered element by element (EXEC): the elements, by index,
  // and how many are still missing.
  struct Parts {
    std::vector<std::string> bytes;
    std::vector<bool> in;
    size_t missing = 0;
  };
  struct Slot {
    uint64_t seq;
    bool ready = false;
    std::string bytes;
    std::unique_ptr<Parts> parts;  // only for a split reply
  };
  static void onAllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onShutdownCb(uv_shutdown_t* req, int status) noexcept;
  static void onTimerCb(uv_timer_t* t) noexcept;
  static void onCloseCb(uv_handle_t* h) noexcept;
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void onWritten(int status) override;
  // Parses commands from `input`; returns how many bytes were consumed.
  size_t parse(std::string_view input);
  void execute(const std::vector<std::string_view>& args);
  void finishAfterReply(std::string_view encoded);
  Slot* findSlot(uint64_t seq);
  const Slot* findSlot(uint64_t seq) const;
  void slotReady(Slot& slot, size_t index);
  void drainReadySlots();
  bool canResume() const;
  // Hands the buffered output to the socket; false if the connection closed.
  bool writeOutput();
  // Reply bytes not yet taken by the client: buffered, queued in libuv, and
  // ready replies waiting behind an earlier one.
  size_t outputBacklog() const;
  // Closes the connection if its backlog is over max_output_bytes.
  bool cutOffSlowReader();
  bool waitingOnReader() const;
  void armWriteStall();
  void afterOutputSettled();
  void pauseReading();
  void resumeReading();

  RespServer& server_;
  uint64_t id_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_req_;
  int handles_open_ = 0;
  RespParser parser_;
  RespSession session_;
  StreamWriter writer_;
  std::string input_;  // bytes of an incomplete command (or unparsed while paused)
  std::deque<Slot> slots_;
  uint64_t next_seq_ = 0;
  bool dispatching_ = false;
  uint64_t dispatch_seq_ = 0;
  bool answered_in_dispatch_ = false;
  bool closing_ = false;
  bool refused_ = false;  // over the connection limit: answered and closing
  bool reading_ = false;
  bool paused_ = false;            // too many replies pending, or output backed up
  bool no_more_commands_ = false;  // QUIT or a protocol error
  bool shutdown_started_ = false;
  bool lingering_ = false;
  bool flushing_ = false;
  size_t ready_slot_bytes_ = 0;  // bytes of ready replies still in slots_
};

}  // namespace redge
