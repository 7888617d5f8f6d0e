#pragma once
// The admin listener's token (admin.token, or admin.token_file read at
// start): every request that changes something (any method but GET, HEAD
// and OPTIONS) must carry `Authorization: Bearer <token>`. Reads stay open:
// the listener is on loopback unless an operator opens it, and the
// dashboard and /metrics must work without a secret in the browser.
//
// Installed once on the listener (HttpServer::screenRequests), not per
// route, so routes mounted later by other modules (flags, discovery's spawn
// and destroy, canary, reload) are covered by construction.
//
// Pure: no libuv, no I/O.

#include <optional>
#include <string>
#include <string_view>

#include "net/http/http_request.hpp"
#include "net/http/http_server.hpp"

namespace redge {

// Equal contents, in a time that depends on the lengths only, so a client
// timing refusals learns nothing about how much of its guess was right.
bool constantTimeEquals(std::string_view a, std::string_view b);

class AdminTokenCheck {
 public:
  // An empty token checks nothing.
  explicit AdminTokenCheck(std::string token) : token_(std::move(token)) {}

  bool active() const { return !token_.empty(); }
  // GET, HEAD and OPTIONS pass, and so do OFREP evaluations (POST under
  // kOfrepEvaluatePrefix: reads by protocol, made by every application that
  // evaluates flags, which must not hold a secret that can change them).
  // Any other request needs the token: none (or another scheme) is 401
  // unauthorized with `WWW-Authenticate: Bearer`, a wrong one 403 forbidden.
  std::optional<HttpRefusal> check(HttpMethod method, std::string_view path,
                                   std::string_view authorization) const;

  static constexpr std::string_view kOfrepEvaluatePrefix = "/ofrep/v1/evaluate/";

 private:
  std::string token_;
};

// The token in a file: its first line, surrounding whitespace removed (a
// systemd credential, a secret mounted by an orchestrator). The error says
// what is wrong with the file.
std::optional<std::string> readTokenFile(const std::string& path, std::string& token);

}  // namespace redge
