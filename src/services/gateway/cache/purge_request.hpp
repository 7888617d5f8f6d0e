#pragma once
// An operator's purge of the gateway cache (admin `POST /cache/purge`): the
// JSON body read into what to remove, and the test of a stored key against
// it. Pure.
//
// Body: an object with at least one of
//   "url":    "http://host[:port]/path?query" or "/path?query" -- that URI
//   "prefix": "/path..." -- every stored URI whose path starts with it
//   "tags":   ["a", "b"] -- every entry that carries one of the tags
// and optionally "host" (for a path-only url or a prefix; an absolute url
// names its own). Without a host every host matches.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

struct PurgeRequest {
  std::string host;                   // lower case; empty: any host
  std::optional<std::string> target;  // origin form: path and query
  std::optional<std::string> prefix;  // a path prefix, starting with '/'
  std::vector<std::string> tags;
};

struct PurgeParse {
  std::optional<PurgeRequest> request;
  std::string error;    // stable code: invalid_json, invalid_purge
  std::string message;  // a sentence for the operator
};

PurgeParse parsePurgeRequest(std::string_view body);

// The host part of a cache key: the Host field without its port. Every
// gateway of a fleet listens on its own port, and a client names the same
// site through any of them; one gateway listens on one port, so dropping it
// never joins two sites that one gateway tells apart.
std::string_view cacheKeyHost(std::string_view host);

// A cache key is "http://<host><target>" (host without port, in lower case).
// Whether `key` is the purge's url; its path starts with its prefix.
bool purgeUrlMatches(std::string_view key, std::string_view host, std::string_view target);
bool purgePrefixMatches(std::string_view key, std::string_view host, std::string_view prefix);

}  // namespace redge
