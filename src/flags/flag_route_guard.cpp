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

FlagBinding::FlagBinding(FlagStore& store, std::string route, std::string flag)
    : store_(store), route_(std::move(route)), flag_(std::move(flag)), ref_(flag_) {}

std::optional<std::string> FlagBinding::refusal(const HttpRequest& request,
                                                std::string_view peer_address) {
  const Flag* f = ref_.get(store_);
  if (!f) {
    store_.evaluate(flag_, std::nullopt);  // counted as not_found
    if (!missing_logged_) {
      missing_logged_ = true;
      REDGE_LOG(Warn, "flag_route_unbound")
          .kv("route", route_)
          .kv("flag", flag_)
          .kv("reason", "no such flag")
          .kv("action", "serving the route; create the flag to control it");
    }
    return std::nullopt;
  }
  missing_logged_ = false;  // said again if the flag goes away again
  if (counters_ == nullptr) counters_ = &store_.evaluationCounters(flag_);
  std::optional<std::string_view> key;
  if (!flagOnForEveryone(*f)) key = requestStickiness(f->stickiness, request, peer_address);
  FlagEvaluation e = FlagStore::evaluateCounted(*f, key, *counters_);
  if (e.on) return std::nullopt;
  if (e.reason == FlagReason::Disabled) {
    return "The feature behind " + route_ + " is switched off by feature flag \"" + flag_ +
           "\"; an operator turns it on with POST /flags/" + flag_ + "/on on the admin listener.";
  }
  return "The feature behind " + route_ + " is not rolled out to this client by feature flag \"" +
         flag_ + "\" (rollout " + formatNumber(f->rollout) + "%, by " + f->stickiness.text() + ").";
}

HttpServer::RouteGuard flagRouteGuard(FlagStore& store, std::string route, std::string flag) {
  auto binding = std::make_shared<FlagBinding>(store, std::move(route), std::move(flag));
  return [binding](HttpRequest& request, const HttpResponder& responder) -> bool {
    std::optional<std::string> message = binding->refusal(request, responder.peerAddress());
    if (!message) return true;
    responder.sendError(404, "feature_disabled", *message, 0, {{"flag", binding->flag()}});
    return false;
  };
}

}  // namespace redge
