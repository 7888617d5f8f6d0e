#pragma once
// Which pool a request goes to: the gateway's ordered routes, each
// {host?, prefix, pool}. As nginx picks a server block by host and then a
// location by longest prefix:
//
// - routes naming the request's host are tried first; among those whose
//   prefix starts the path, the longest prefix wins;
// - only when none of them matches are the routes without a host tried,
//   longest prefix first;
// - equal prefixes: the one listed first wins; no match: nothing (404
//   no_route).
//
// Prefixes are compared byte for byte against the path as sent (no
// decoding), as plain string prefixes: "/api" also takes "/apix"; write
// "/api/" to stop at the segment. Hosts are compared without case and
// without the port of the Host header ("Example.com:8080" is example.com).
//
// Pure: no I/O. A match costs a pass over the routes (a handful).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

struct GatewayRoute {
  std::string host;  // lower case; empty: any host
  std::string prefix;
  uint32_t pool = 0;          // the pool's index in the gateway
  uint32_t cache = kNoCache;  // the route's response cache, by index in the gateway
  uint32_t flag = kNoFlag;    // the flag binding it is bound to, by index in the gateway
  static constexpr uint32_t kNoCache = UINT32_MAX;
  static constexpr uint32_t kNoFlag = UINT32_MAX;
};

class RouteTable {
 public:
  void add(std::string_view host, std::string_view prefix, uint32_t pool,
           uint32_t cache = GatewayRoute::kNoCache, uint32_t flag = GatewayRoute::kNoFlag);
  // The route for a request, or null.
  const GatewayRoute* match(std::string_view host_header, std::string_view path) const;
  size_t size() const { return routes_.size(); }

  // The host part of a Host header: without the port, in any case
  // ("[::1]:80" is "[::1]").
  static std::string_view hostOf(std::string_view host_header);

 private:
  std::vector<GatewayRoute> routes_;
};

}  // namespace redge
