#pragma once
// The HTTP/1.1 codec of one accepted connection: llhttp in strict mode, the
// head and body limits and deadlines, RFC 9112's framing and host rules,
// routing, and answers serialized with their framing. Everything else (the
// socket, order of answers, backpressure, closing) is StreamConnection's.
//
// Owned by HttpServer; freed only from the last close callback. Nothing
// outside holds a pointer to it: answers arrive by connection id through the
// server.

#include <llhttp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "net/http/http_exchange.hpp"
#include "net/http/http_request.hpp"
#include "net/http/http_response.hpp"
#include "net/http/router.hpp"
#include "net/stream/stream_connection.hpp"

namespace redge {

class HttpServer;

class HttpConnection final : public StreamConnection {
 public:
  HttpConnection(HttpServer& server, uint64_t id);

  // An answer for request `seq`, now or later.
  void deliver(uint64_t seq, const HttpResponse& response);
  bool awaits(uint64_t seq) const;

  // The streamed exchange (see HttpExchange, which calls these; they never
  // call the handler back).
  bool streamAlive(uint64_t exchange) const {
    return stream_.active && stream_.number == exchange && !closing();
  }
  void streamAttach(HttpStreamHandler* handler) { stream_.handler = handler; }
  int64_t streamRequestBodyLength() const { return stream_.request_length; }
  bool streamUpgradeRequested() const { return stream_.upgrade; }
  void streamPauseRequest();
  void streamResumeRequest();
  void streamWriteInterim(
      int status, const std::vector<std::pair<std::string_view, std::string_view>>& headers);
  bool streamWriteHead(const HttpStreamHead& head);
  bool streamWriteBody(std::string_view data);
  void streamEnd();
  void streamRespond(const HttpResponse& response);
  void streamAbort();
  bool streamWantsMore();

 protected:
  void onInput(const char* data, size_t len) override;
  void resumeInput() override;
  void writeRefusal() override;
  void onDeadline(Deadline which) override;
  bool inRequest() const override { return in_request_ || stream_.active; }
  void restoreDeadline() override;
  void onClosing() override;
  bool mayResume() const override;
  void onOutputDrained() override;

 private:
  // llhttp callbacks
  static int onMessageBeginCb(llhttp_t* p) noexcept;
  static int onUrlCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onHeaderFieldCompleteCb(llhttp_t* p) noexcept;
  static int onHeadersCompleteCb(llhttp_t* p) noexcept;
  static int onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept;
  static int onMessageCompleteCb(llhttp_t* p) noexcept;
  static const llhttp_settings_t& parserSettings();

  int onMessageBegin();
  int onHeadersComplete();
  int onBody(const char* at, size_t len);
  int onMessageComplete();

  HttpServer& http();
  void parse(const char* data, size_t len);
  bool countHeaderBytes(size_t len);
  bool checkHeaderRules();
  int64_t bodyDeadlineMs() const;
  int64_t nowMs();
  // Answers the current request with an error and stops reading requests.
  void failRequest(int status, std::string_view code, std::string_view message);
  // Serializes `response` onto `out`; true if the connection closes after it.
  bool appendResponse(std::string& out, const HttpResponse& response,
                      const ResponseFraming& framing);
  ResponseFraming currentFraming() const;

  // The streamed exchange in progress, on a listener that forwards.
  struct Stream {
    bool active = false;
    uint64_t number = 0;                   // HttpExchange handles carry it
    HttpStreamHandler* handler = nullptr;  // null once detached
    int64_t request_length = 0;            // body bytes announced; -1 chunked
    bool request_done = false;             // the request's last byte was read
    bool body_paused = false;              // the forwarder asked to stop reading
    int64_t paused_at_ms = 0;              // when (the body deadline does not run meanwhile)
    bool head_written = false;
    bool no_body = false;    // HEAD, 101, 204, 304: body bytes are not sent
    bool chunked = false;    // the body goes out chunked
    bool delimited = false;  // the body ends with the connection (HTTP/1.0, unknown length)
    bool close_after = false;
    int64_t body_left = -1;        // Content-Length bytes still to come; -1: not counted
    bool upgrade = false;          // the request asked to upgrade
    bool tunnel = false;           // raw bytes both ways
    int64_t tunnel_active_ms = 0;  // last byte either way through the tunnel
  };
  // Past this many bytes of pipelined input held behind an exchange, the
  // connection stops reading (until then it reads on, to see a client leave).
  static constexpr size_t kMaxDeferredInput = 64 << 10;
  void beginStream(bool has_body);
  // The exchange is over (ended, answered, aborted, failed): no handler
  // calls after this.
  void endStream(bool close_after);
  bool onStreamMessageComplete();
  bool streamWriteTunnel(std::string_view data);
  void streamDeadline();
  void armTunnelDeadline();
  void noteTunnelActivity();

  Stream stream_;
  uint64_t streams_begun_ = 0;
  bool streaming_request_ = false;  // the request being parsed is (or was) a streamed exchange's
  llhttp_t parser_;
  HttpRequest request_;
  bool in_request_ = false;
  bool in_body_ = false;
  bool failed_ = false;  // an error answer was produced by a parser callback
  bool continue_sent_ = false;
  int64_t header_bytes_ = 0;
  int64_t body_limit_ = 0;
  int64_t request_started_ms_ = 0;  // loop time the request's first byte came
  int64_t body_started_ms_ = 0;     // loop time the body phase began
  int64_t body_received_ = 0;       // body bytes so far
  int route_id_ = -1;
  RouteMatch::Kind route_kind_ = RouteMatch::Kind::NotFound;
  std::string allow_;
  std::string pending_input_;  // bytes read but not parsed while input is held
};

}  // namespace redge
