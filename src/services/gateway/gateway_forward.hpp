#pragma once
// The seam between the gateway's decisions (route, pool, member, retries,
// health, error answers: gateway_service.cpp) and how a request's bytes move
// to a member and its answer back. A ForwardExchange is one client request
// as the forwarder carries it; the service asks it for one try at a time
// and reads back how the try went.
//
// The forwarder streams (HttpServer::streamAll on the client's side,
// HttpClientPool::stream on the member's): the request head goes out as soon
// as a member is chosen, the body follows piece by piece, the answer comes
// back piece by piece, each side with backpressure (a side that cannot keep
// up pauses the other), so a body of any size passes in bounded memory.
// Interim answers (100, 103) are passed on; a 101 turns the exchange into a
// tunnel both ways (WebSocket).
//
// A try that failed before any byte of an answer came back can be tried
// again on another member only while the forwarder still holds the whole
// request body: it keeps the first kReplayBytes of it; a larger body is
// never tried twice (retryable() says so).
//
// Lifetimes. The exchange is owned by the service's request state. It holds
// the client's side through an HttpExchange handle (a dead client is a
// no-op) and its member side as an HttpClientStream. A try's callback runs
// exactly once: when the answer has been passed on whole, when the try
// failed, or when the client went away or the gateway closed (Closed).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/http_client.hpp"
#include "net/http/http_exchange.hpp"
#include "services/gateway/forward_headers.hpp"

namespace redge {

// How one try went.
struct TryOutcome {
  HttpClientError error = HttpClientError::None;  // None: the member answered
  int status = 0;                                 // its status, when it answered
  // Some byte of an answer (an interim one included) came from the member:
  // it may have acted on the request, so it is not sent elsewhere.
  bool response_started = false;
  // Part of the answer already went to the client: the try can be neither
  // retried nor answered with an error of the gateway's.
  bool client_answered_partly = false;
};

class ResponseTap;

class ForwardExchange {
 public:
  virtual ~ForwardExchange() = default;

  // Sends one try to `member` through its `client`; `done` runs once (from
  // inside this call when the try could not even start). A member's answer,
  // of any status, goes to the client before `done` runs.
  virtual void sendTry(HttpClientPool& client, std::string_view member,
                       std::function<void(const TryOutcome&)> done) = 0;
  // A failed try may be followed by another: the whole request body is
  // still here to send again.
  virtual bool retryable() const = 0;
  // The gateway's own answer (no route, no member, a failed try): the
  // project's error body, log line and metric, with the pool named.
  virtual void sendError(int status, std::string_view code, std::string_view message,
                         int retry_after_s, std::string_view pool) = 0;
  // The tap of a cached route's request (null: none, the default); it
  // outlives the exchange's tries.
  virtual void setTap(ResponseTap* tap) = 0;
  // A field added to the member's answers (X-Redge-Canary: 1); both views
  // must outlive the exchange (literals).
  virtual void addResponseField(std::string_view name, std::string_view value) = 0;
};

// What a cached route (gateway_cache.hpp) does with a member's answer.
enum class TapMode {
  Pass,     // to the client, as any answer
  Capture,  // to the client, and each body piece to the tap as well
  Absorb,   // not to the client: the cache answers it once the try has ended
};

// A cached route's view of a try's answer; set on the exchange before the
// try. Called from the exchange's member callbacks, never after the try's
// `done`.
class ResponseTap {
 public:
  virtual ~ResponseTap() = default;
  // The member's final head (not 1xx, not 101). Fields appended to `extra`
  // go to the client after the member's (their bytes must live until the
  // try ends).
  virtual TapMode onTapHead(const HttpClientResponseHead& head,
                            std::vector<std::pair<std::string_view, std::string_view>>& extra) = 0;
  // A body piece of a Capture or Absorb answer; valid during the call.
  virtual void onTapBody(std::string_view data) = 0;
};

// How a cached route changes the request it forwards: a revalidation
// replaces the client's preconditions by the entry's validators.
struct RequestRewrite {
  bool drop_conditionals = false;  // If-Match, If-None-Match, If-Modified-Since, ...
  std::span<const std::pair<std::string, std::string>> extra_fields;
};

struct ForwardSettings {
  int64_t connect_timeout_ms = 1000;
  int64_t timeout_ms = 30000;  // first response byte, and each gap between reads after
  std::string member_header;   // names the member that answered; empty: none
};

// How much of a request body is kept to send again on a retry.
inline constexpr size_t kReplayBytes = 64 << 10;

// A streamed exchange for a request whose head the listener has parsed; it
// attaches to `exchange` and copies what it needs of the head now (the
// request is valid only while the stream entry runs).
std::unique_ptr<ForwardExchange> makeStreamedExchange(HttpRequest& request,
                                                      const HttpExchange& exchange,
                                                      const ForwardedContext& context,
                                                      const ForwardSettings& settings,
                                                      const RequestRewrite* rewrite = nullptr);

// RFC 9110 13.1's precondition fields, without case.
bool isPreconditionField(std::string_view name);

// The request target the member gets: the origin form ("/p?q"), also when
// the client sent the absolute form.
std::string upstreamTarget(const HttpRequest& request);

}  // namespace redge
