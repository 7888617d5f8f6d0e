#pragma once
// Streamed HTTP exchanges, for a listener that forwards rather than answers
// (the gateway): the request is handed over when its head is complete, its
// body follows piece by piece as it arrives, and the answer is written piece
// by piece as it is made, each side with backpressure, so a 1 GiB upload or
// download passes with bounded memory. An upgraded exchange (a 101) becomes
// a raw tunnel both ways.
//
// One exchange at a time per connection: the next request is not read until
// the current exchange has ended (pipelined requests wait, in order).
//
// Lifetimes. HttpExchange is a handle ({server, connection id}) like
// HttpResponder: every call finds the connection by id and does nothing once
// it has gone. The HttpStreamHandler is the forwarder's object; the
// connection calls it until it detaches or until onClosed(), after which
// the connection never calls it again (the handler may destroy itself from
// onClosed()).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/http_request.hpp"

namespace redge {

class HttpServer;
class HttpConnection;

// What the forwarder is told about its exchange.
class HttpStreamHandler {
 public:
  virtual ~HttpStreamHandler() = default;
  // A piece of the request body (already de-chunked).
  virtual void onRequestData(std::string_view data) = 0;
  // The request is complete (at once for a request without a body).
  virtual void onRequestEnd() = 0;
  // The answer's unwritten bytes fell below the low mark after having been
  // over the high mark (see HttpExchange::wantsMore()).
  virtual void onResponseDrained() {}
  // After startTunnel(): bytes from the client, as they come.
  virtual void onTunnelData(std::string_view data) { (void)data; }
  // The client's connection is gone (closed, reset, timed out) or the
  // server is closing: nothing more comes, and the exchange is dead.
  virtual void onClosed() = 0;
};

// The head of an answer a forwarder writes.
struct HttpStreamHead {
  int status = 200;
  std::string_view reason;  // empty: the standard reason phrase
  // Header lines as they go out (the forwarder has removed hop-by-hop ones).
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // The body's length when known; -1 when it is not (chunked to HTTP/1.1
  // clients, close-delimited to HTTP/1.0 ones). Ignored for answers that
  // have no body (HEAD, 1xx, 204, 304).
  int64_t content_length = -1;
  bool close = false;  // Connection: close, and close once it is written
};

class HttpExchange {
 public:
  HttpExchange() = default;
  HttpExchange(HttpServer* server, uint64_t connection_id)
      : server_(server), connection_id_(connection_id) {}

  bool alive() const;
  // Who receives the body and events; call from the stream handler's entry
  // point (before it returns) or later. null detaches.
  void attach(HttpStreamHandler* handler) const;
  // Stop reading the request body (the forwarder's upstream is not keeping
  // up); resume it later.
  void pauseRequest() const;
  void resumeRequest() const;

  // An interim answer (100 Continue, 103 Early Hints), before the head.
  void writeInterim(int status, const std::vector<std::pair<std::string_view, std::string_view>>&
                                    headers) const;
  void writeHead(const HttpStreamHead& head) const;
  // Body bytes (framed as the head said).
  void writeBody(std::string_view data) const;
  // The answer is complete. The connection goes on with its next request,
  // or closes if the head said so or the request's body was not all read.
  void end() const;
  // Something failed mid-answer: the client connection is closed at once,
  // so it sees a cut answer rather than a wrong one.
  void abort() const;
  // False while the answer's unwritten bytes are over the high mark: stop
  // feeding it until onResponseDrained().
  bool wantsMore() const;

  // After a 101 head: the connection carries raw bytes both ways.
  void startTunnel() const;
  void writeTunnel(std::string_view data) const;

 private:
  HttpConnection* connection() const;

  HttpServer* server_ = nullptr;
  uint64_t connection_id_ = 0;
};

}  // namespace redge
