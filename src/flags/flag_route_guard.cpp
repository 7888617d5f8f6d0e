// The route guard (see the header): stickiness from the request, one
// evaluation against the snapshot, and the feature_disabled answer.

#include "flags/flag_route_guard.hpp"

#include <memory>

#include "core/log.hpp"

namespace redge {
namespace {

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> stickyCookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = trimSpaces(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trimSpaces(pair.substr(0, eq)) != name) continue;
    std::string_view value = trimSpaces(pair.substr(eq + 1));
    // RFC 6265: a cookie value may be quoted.
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.empty()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::optional<std::string_view> requestStickiness(const Stickiness& s, const HttpRequest& request,
                                                  std::string_view peer_address) {
  std::optional<std::string_view> value;
  if (s.source == StickinessSource::Header) {
    std::string_view v = request.header(s.name);
    if (!v.empty()) value = v;
  } else if (s.source == StickinessSource::Cookie) {
    value = stickyCookieValue(request.header("Cookie"), s.name);
  }
  if (!value && !peer_address.empty()) value = peer_address;
  return value;
}

HttpServer::RouteGuard flagRouteGuard(FlagStore& store, std::string route, std::string flag) {
  auto missing_logged = std::make_shared<bool>(false);
  return [&store, route = std::move(route), flag = std::move(flag), missing_logged](
             HttpRequest& request, const HttpResponder& responder) -> bool {
    const Flag* f = store.find(flag);
    std::optional<std::string_view> key;
    if (f) key = requestStickiness(f->stickiness, request, responder.peerAddress());
    FlagEvaluation e = store.evaluate(flag, key);
    if (e.error == FlagErrorCode::FlagNotFound) {
      if (!*missing_logged) {
        *missing_logged = true;
        REDGE_LOG(Warn, "flag_route_unbound")
            .kv("route", route)
            .kv("flag", flag)
            .kv("reason", "no such flag")
            .kv("action", "serving the route; create the flag to control it");
      }
      return true;
    }
    if (f && *missing_logged) *missing_logged = false;
    if (e.on) return true;
    std::string message;
    if (e.reason == FlagReason::Disabled) {
      message = "The feature behind " + route + " is switched off by feature flag \"" + flag +
                "\"; an operator turns it on with POST /flags/" + flag +
                "/on on the admin listener.";
    } else {
      message = "The feature behind " + route +
                " is not rolled out to this client by feature "
                "flag \"" +
                flag + "\" (rollout " + formatNumber(f->rollout) + "%, by " + f->stickiness.text() +
                ").";
    }
    responder.sendError(404, "feature_disabled", message, 0, {{"flag", flag}});
    return false;
  };
}

}  // namespace redge
