#pragma once
// The seam between the gateway's decisions (route, pool, member, retries,
// health, error answers: gateway_service.cpp) and how a request's bytes move
// to a member and its answer back. A ForwardExchange is one client request
// as the forwarder carries it; the service asks it for one try at a time
// and reads back how the try went.
//
// This file has the BUFFERED forwarder: the request body was read whole by
// the listener (up to gateway.max_body_bytes), each try sends it whole with
// HttpClientPool::send, and the member's answer is read whole (up to
// gateway.max_response_bytes) before it is passed on. When streamed
// exchanges exist (HttpServer::streamAll, a streaming client), a streamed
// ForwardExchange takes this one's place behind the same interface; the
// rest of the gateway does not change.
//
// Lifetimes. The exchange holds no pointer into the listener: it answers
// through an HttpResponder (a dead client is a no-op). A try's callback
// runs exactly once (HttpClientPool's promise), possibly after the gateway
// closed (then with Closed); the service keeps the exchange alive until it
// has.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/http/http_client.hpp"
#include "net/http/http_server.hpp"
#include "services/gateway/forward_headers.hpp"

namespace redge {

// How one try went.
struct TryOutcome {
  HttpClientError error = HttpClientError::None;  // None: the member answered
  int status = 0;                                 // its status, when it answered
  // Part of an answer already went to the client: the try can be neither
  // retried nor answered with an error of the gateway's. (Never, buffered.)
  bool client_answered_partly = false;
};

class ForwardExchange {
 public:
  virtual ~ForwardExchange() = default;

  // Sends one try to `member` through its `client`; `done` runs once. With
  // `last` no try follows, so the request may be given away rather than
  // copied. A member's answer, of any status, goes to the client before
  // `done` runs.
  virtual void sendTry(HttpClientPool& client, std::string_view member, bool last,
                       std::function<void(const TryOutcome&)> done) = 0;
  // The gateway's own answer (no route, no member, a failed try): the
  // project's error body, log line and metric, with the pool named.
  virtual void sendError(int status, std::string_view code, std::string_view message,
                         int retry_after_s, std::string_view pool) = 0;
};

struct ForwardSettings {
  int64_t connect_timeout_ms = 1000;
  int64_t timeout_ms = 30000;
  std::string member_header;  // names the member that answered; empty: none
};

// A buffered exchange for a request the listener has read whole. It takes
// the request's body (moved out) and what it needs of the head now: the
// request is valid only while the handler runs.
std::unique_ptr<ForwardExchange> makeBufferedExchange(HttpRequest& request,
                                                      const HttpResponder& responder,
                                                      const ForwardedContext& context,
                                                      const ForwardSettings& settings);

// The request target the member gets: the origin form ("/p?q"), also when
// the client sent the absolute form.
std::string upstreamTarget(const HttpRequest& request);

}  // namespace redge
