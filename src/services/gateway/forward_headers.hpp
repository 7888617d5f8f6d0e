#pragma once
// The header rules of forwarding, as nginx and HAProxy users expect them,
// kept apart from how bodies move (buffered now, streamed later) so both
// forwarders share them:
//
// Request, client -> upstream:
// - hop-by-hop fields are removed (RFC 9110 7.6.1): Connection and every
//   field it names, Keep-Alive, Proxy-Connection, TE, Trailer,
//   Transfer-Encoding, Upgrade;
// - X-Forwarded-For: the client's address is appended to what the request
//   carried (every X-Forwarded-For line joined into one, as nginx's
//   $proxy_add_x_forwarded_for);
// - X-Forwarded-Proto (the scheme the client used) and X-Forwarded-Host (the
//   request's Host) are set, replacing whatever the client sent: they say
//   what this hop saw, and a client must not choose them;
// - Via: "1.1 redge" (the client's HTTP version) is appended to any Via;
// - Host and every other field are kept as they came, in their order.
//
// Response, upstream -> client: hop-by-hop fields removed likewise, and
// Content-Length left to the framing of the answer (the length the client
// parser read). Date and Server stay the member's: an intermediary keeps
// the origin's Date (RFC 9110 6.6.1), which caches downstream compute ages
// from; the listener adds a Date only to an answer that has none.
// Everything else passes untouched, repeated fields (Set-Cookie) included.
//
// Pure: views in, fields out; no I/O.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/http_response.hpp"

namespace redge {

struct ForwardedContext {
  std::string_view client_address;  // "127.0.0.1", "::1"
  std::string_view proto = "http";
  int version_major = 1;  // of the client's request, for Via
  int version_minor = 1;
};

inline constexpr std::string_view kViaName = "redge";

// RFC 9110 7.6.1's fields, and Trailer (redge does not forward trailers).
// Case-insensitive.
bool isHopByHopHeader(std::string_view name);

// The request fields the upstream gets, in order, with the forwarded ones
// last: each passed to `emit` (views valid during the call), or collected.
void forEachUpstreamRequestHeader(
    std::span<const HttpHeaderField> request, const ForwardedContext& context,
    const std::function<void(std::string_view name, std::string_view value)>& emit);
std::vector<std::pair<std::string, std::string>> upstreamRequestHeaders(
    std::span<const HttpHeaderField> request, const ForwardedContext& context);

// The upstream's response fields that go on to the client: each passed to
// `emit` (views into `response`), or collected.
void forEachClientResponseHeader(std::span<const HttpHeaderField> response,
                                 const std::function<void(const HttpHeaderField&)>& emit);
std::vector<HttpHeaderField> clientResponseHeaders(std::span<const HttpHeaderField> response);

// The value of cookie `name` in one Cookie header ("a=1; b=2"), or nothing.
std::optional<std::string_view> cookieValue(std::string_view cookie_header, std::string_view name);

// Case-insensitive field name comparison.
bool headerNameIs(std::string_view name, std::string_view expected);

}  // namespace redge
