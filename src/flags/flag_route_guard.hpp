#pragma once
// Routes bound to flags (app.flags: {"/set": "set_enabled"}): before the
// route's handler, the flag is evaluated for the request from the snapshot
// (no Redis round trip); while it is off for that user the route answers
// 404 feature_disabled with a message naming the flag.
//
// The user is the flag's stickiness value in the request: the header, the
// cookie, or the client address; a request without the header or cookie
// falls back to its client address, so it still gets a stable answer.
// A bound flag that does not exist does not block its route (logged once
// per flag): a Redis that lost its data must not take routes down, and an
// operator switches a route off by switching its flag off.

#include <optional>
#include <string>
#include <string_view>

#include "flags/flag.hpp"
#include "flags/flag_store.hpp"
#include "net/http/http_server.hpp"

namespace redge {

// The request's stickiness value for `s`, or nullopt (no such header or
// cookie; for the client address: a connection already gone).
std::optional<std::string_view> requestStickiness(const Stickiness& s, const HttpRequest& request,
                                                  std::string_view peer_address);
// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string_view> stickyCookieValue(std::string_view cookie_header,
                                                  std::string_view name);

// One route bound to one flag: the decision, apart from how the answer is
// sent, so a forwarder (the gateway's streamed exchanges) answers it its way.
class FlagBinding {
 public:
  FlagBinding(FlagStore& store, std::string route, std::string flag);
  // nullopt: serve the request; else the message of its 404 feature_disabled.
  std::optional<std::string> refusal(const HttpRequest& request, std::string_view peer_address);
  const std::string& flag() const { return flag_; }

 private:
  FlagStore& store_;
  std::string route_;
  std::string flag_;
  FlagRef ref_;
  bool missing_logged_ = false;
  // Its evaluation counters, found at the first evaluation of the flag.
  const FlagStore::EvaluationCounters* counters_ = nullptr;
};

// The guard for `route` (its pattern, for the message) bound to `flag`.
HttpServer::RouteGuard flagRouteGuard(FlagStore& store, std::string route, std::string flag);

}  // namespace redge
