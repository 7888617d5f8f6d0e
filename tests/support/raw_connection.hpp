#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redge_test {

// One HTTP response as it came off the wire.
struct RawResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  bool hasHeader(const std::string& name) const;
  std::string header(const std::string& name) const;
};

// Splits a byte stream of HTTP/1.1 responses: parses the response at the
// front of `stream` and removes it. The body is framed by Content-Length or
// chunked encoding; 1xx, 204 and 304 responses and answers to HEAD
// (head_request) have none; a response with no framing runs to the end of
// the stream and is complete only once `at_eof`. nullopt: not complete yet.
// Throws std::runtime_error on bytes that are not an HTTP response.
std::optional<RawResponse> takeResponse(std::string& stream, bool head_request = false,
                                        bool at_eof = false);

// A plain TCP client for the shapes curl will not send: pipelines, half
// requests, malformed and smuggling-shaped heads. Non-blocking underneath,
// every wait bounded by poll() so a silent server fails the test in time.
// Bytes received and not yet consumed stay in an internal buffer.
class RawConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error if that fails.
  explicit RawConnection(int port, std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes all of `bytes`; while the peer's window is full, reads what it
  // sends so neither side can block the other. False if the peer reset or
  // closed, or at the timeout.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next complete response; nullopt at EOF or the timeout.
  std::optional<RawResponse> readResponse(
      std::chrono::milliseconds timeout = std::chrono::seconds(5), bool head_request = false);
  // Waits until the peer closes (FIN or reset). Bytes that arrive meanwhile
  // are kept in pending(). False if the connection is still open at the timeout.
  bool waitForClose(std::chrono::milliseconds timeout);
  // Reads whatever arrives until `timeout` passes or the peer closes.
  void readFor(std::chrono::milliseconds timeout);
  // Reads until pending() contains `needle` (for protocols other than HTTP,
  // e.g. a RESP reply's "\r\n"). False at the timeout or at EOF without it.
  bool readUntil(std::string_view needle, std::chrono::milliseconds timeout);
  // The socket, for a test that poll()s several connections at once to see
  // in which order their answers arrive. Read through this object only.
  int fd() const { return fd_; }

  const std::string& pending() const { return buffer_; }
  bool peerClosed() const { return peer_closed_; }
  // Half-close: tell the server no more requests will come.
  void shutdownWrite();
  void close();

 private:
  enum class Fill { Data, Closed, Timeout };
  // One poll + recv into buffer_.
  Fill fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  bool peer_closed_ = false;
};

// True if a TCP connection to 127.0.0.1:port is accepted by the kernel
// (false once the listener is closed: ECONNREFUSED).
bool canConnect(int port);

}  // namespace redge_test
