#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/raw_connection.hpp"

namespace redge_test {

// A client socket for the load driver and the floods: non-blocking, every
// wait bounded by a deadline, and its input kept in one buffer consumed from
// the front by an offset, so taking 100,000 pipelined answers off it costs
// time linear in their bytes. Not thread-safe; one thread owns a stream.
class WireStream {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Fill { Data, Closed, Timeout };

  // Connects to 127.0.0.1:port within `timeout`; throws std::runtime_error
  // with the reason (refused, timed out). receive_buffer > 0 sets SO_RCVBUF
  // before connecting, so a client can keep its window small.
  explicit WireStream(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(1000),
                      int receive_buffer = 0);
  ~WireStream();
  WireStream(const WireStream&) = delete;
  WireStream& operator=(const WireStream&) = delete;

  // Writes all of `bytes`, reading whatever the peer sends meanwhile so
  // neither side blocks the other. False if the peer closed or reset, or at
  // the deadline.
  bool sendAll(std::string_view bytes, Clock::time_point deadline);
  // Writes what the socket takes now, without waiting; returns the count
  // (0 when full), or -1 once the peer has closed or reset.
  long sendSome(std::string_view bytes);
  // One poll + recv into the input buffer.
  Fill fill(Clock::time_point deadline);
  // Waits until the peer closes, keeping what arrives; false at the deadline.
  bool waitForClose(Clock::time_point deadline);

  // The bytes received and not yet consumed.
  std::string_view input() const { return std::string_view(buffer_).substr(offset_); }
  void consume(size_t n);
  bool peerClosed() const { return peer_closed_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  size_t offset_ = 0;
  bool peer_closed_ = false;
};

// Parses the HTTP/1.1 response at the front of `in` (framed by
// Content-Length or chunked; 1xx, 204, 304 and answers to HEAD have no
// body). nullopt: not complete yet. `used` is set to its length. Throws
// std::runtime_error on bytes that are not an HTTP response.
std::optional<RawResponse> parseHttpResponse(std::string_view in, size_t& used,
                                             bool head_request = false);

// One RESP2 reply: its type byte ('+', '-', ':', '$', '*'), the text of a
// simple string, error, integer or bulk, and the elements of an array.
// `nil` for "$-1" and "*-1".
struct RespReply {
  char type = 0;
  bool nil = false;
  std::string text;
  std::vector<RespReply> elements;

  bool isError() const { return type == '-'; }
  // "+PONG", "-ERR redis timeout", "$hello", "$nil", "*3", for messages.
  std::string summary() const;
};

// Parses the RESP reply at the front of `in`; nullopt when not complete.
// Throws std::runtime_error on bytes that are not RESP.
std::optional<RespReply> parseRespReply(std::string_view in, size_t& used);

}  // namespace redge_test
