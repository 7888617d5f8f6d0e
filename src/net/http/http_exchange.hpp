#pragma once
// Streamed HTTP exchanges, for a listener that forwards rather than answers
// (the gateway): the request is handed over when its head is complete, its
// body follows piece by piece as it arrives (de-chunked), and the answer is
// written piece by piece as it is made, each side with backpressure, so a
// 1 GiB upload or download passes with bounded memory. An exchange answered
// with a 101 becomes a raw tunnel both ways: from then on the request's
// "body pieces" (onRequestData) and the answer's (writeBody) are the
// tunnel's bytes, with the same backpressure, so a forwarder pipes a
// WebSocket exactly as it pipes a body.
//
// One exchange at a time per connection: the next request is not parsed
// until the current exchange has ended (pipelined requests wait, in order).
// While an exchange waits for its answer the connection still reads, so a
// client that goes away is noticed at once.
//
// Lifetimes. HttpExchange is a handle ({server, connection id, exchange
// number}) like HttpResponder: every call finds the connection by id, checks
// that this exchange is still the one in progress, and does nothing once it
// is not (ended, aborted, the client gone, or a later exchange on the same
// connection). The HttpStreamHandler is the forwarder's object; the
// connection calls it until the exchange ends (end(), abort(), respond()),
// until attach(nullptr), or until onClosed(), after which it never calls it
// again. So a handler may destroy itself from onClosed(), and from any other
// callback once it has ended, aborted or detached its exchange there; a
// handler that goes away otherwise does one of those first.
//
// Callbacks come only from loop events (bytes read, a flush, a deadline),
// never from inside an HttpExchange call, so a forwarder may call any method
// from anywhere, including from its own callbacks.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/http_request.hpp"
#include "net/http/http_response.hpp"

namespace redge {

class HttpServer;
class HttpConnection;

// What the forwarder is told about its exchange.
class HttpStreamHandler {
 public:
  virtual ~HttpStreamHandler() = default;
  // A piece of the request body (already de-chunked), or after a 101 raw
  // bytes from the client; valid during the call.
  virtual void onRequestData(std::string_view data) = 0;
  // The request is complete (right after the entry for a request without a
  // body). For an upgrade request, the tunnel may follow (a 101 head).
  virtual void onRequestEnd() = 0;
  // The answer's unwritten bytes fell below the low mark after wantsMore()
  // had said false.
  virtual void onResponseDrained() {}
  // The exchange is over from the client's side: its connection closed,
  // reset or timed out, the server is closing, or its request turned out
  // invalid midway (a bad chunk, a body over the limit, a body too slow; the
  // client then gets the error answer if no head was written yet). Nothing
  // more comes and nothing written goes out. Called once, last.
  virtual void onClosed() = 0;
};

// The head of an answer a forwarder writes.
struct HttpStreamHead {
  int status = 200;
  std::string_view reason;  // empty: the standard reason phrase
  // Header lines as they go out. The forwarder has removed the hop-by-hop
  // ones and the framing (Content-Length, Transfer-Encoding, Connection):
  // the connection writes the framing itself, from content_length. A 101
  // carries its Upgrade and `Connection: upgrade` here.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // The body's length when known; -1 when it is not (chunked to HTTP/1.1
  // clients, close-delimited to HTTP/1.0 ones). For a HEAD request it is
  // the length the GET would have had (sent, no body follows); 1xx and 204
  // answers never carry it.
  int64_t content_length = -1;
  bool close = false;  // Connection: close, and close once it is written
};

class HttpExchange {
 public:
  HttpExchange() = default;
  HttpExchange(HttpServer* server, uint64_t connection_id, uint64_t exchange)
      : server_(server), connection_id_(connection_id), exchange_(exchange) {}

  // The exchange is in progress (not ended, not aborted, client there).
  bool alive() const;
  // Who receives the body and the events. The stream entry attaches before
  // it returns (or answers, or aborts): an exchange left without a handler
  // is aborted. null detaches (the connection then calls no one).
  void attach(HttpStreamHandler* handler) const;

  // What the request's framing says: its body length, 0 for none, -1 for a
  // chunked body of unknown length.
  int64_t requestBodyLength() const;
  // The request asked to switch protocols (Connection: upgrade + Upgrade).
  bool upgradeRequested() const;

  // Stop reading from the client (the request body, or after a 101 the
  // tunnel's bytes) because the forwarder's other side is not keeping up;
  // resume later. Time paused does not count against the client's body
  // deadline.
  void pauseRequest() const;
  void resumeRequest() const;

  // An interim answer (103 Early Hints, ...), before the head. A 100
  // Continue is the connection's own business (it answers Expect:
  // 100-continue itself when the body is first read), so one written here
  // goes out only if none has.
  void writeInterim(
      int status, const std::vector<std::pair<std::string_view, std::string_view>>& headers) const;
  // The answer's head. A 101 (only for a request that asked to upgrade)
  // turns the connection into a tunnel (onRequestData and writeBody carry
  // its raw bytes).
  // False when the exchange is no longer alive.
  bool writeHead(const HttpStreamHead& head) const;
  // Body bytes, framed as the head said (raw after a 101). False when the exchange is no
  // longer alive (the forwarder should then stop its other side). A
  // forwarder that ignores wantsMore() and piles up more than the listener's
  // max_output_bytes has its client cut off.
  bool writeBody(std::string_view data) const;
  // The answer is complete. The connection goes on with its next request,
  // or closes if the head said so, if the request's body was not all read
  // (its rest would be parsed as a request), after a tunnel, or when the
  // body written does not match the Content-Length announced.
  void end() const;
  // A whole buffered answer at once (an error page: 502, 503, 504), instead
  // of writeHead/writeBody/end. Only before a head was written.
  void respond(const HttpResponse& response) const;
  // respond() with redge's JSON error body, counted and logged as every
  // error answer is; a positive retry_after_s adds Retry-After, `extra`
  // adds fields to the body (the pool a gateway error is about).
  void sendError(int status, std::string_view code, std::string_view message, int retry_after_s = 0,
                 std::initializer_list<ErrorField> extra = {}) const;
  // The client's address ("127.0.0.1"), empty once the exchange is over.
  std::string_view peerAddress() const;
  // Something failed mid-answer: the client connection is closed at once,
  // so it sees a cut answer rather than a wrong one. The handler is not
  // called again.
  void abort() const;
  // False while the answer's unwritten bytes are over the high mark: stop
  // feeding it until onResponseDrained().
  bool wantsMore() const;

 private:
  HttpConnection* connection() const;

  HttpServer* server_ = nullptr;
  uint64_t connection_id_ = 0;
  uint64_t exchange_ = 0;
};

}  // namespace redge
