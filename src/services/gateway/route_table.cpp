// RouteTable: host-specific routes first, then the others, longest prefix
// within each group (see the header).

#include "services/gateway/route_table.hpp"

#include <strings.h>

namespace redge {

void RouteTable::add(std::string_view host, std::string_view prefix, uint32_t pool, uint32_t cache,
                     uint32_t flag) {
  GatewayRoute r;
  r.host.reserve(host.size());
  for (char c : host) r.host.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  r.prefix = std::string(prefix);
  r.pool = pool;
  r.cache = cache;
  r.flag = flag;
  routes_.push_back(std::move(r));
}

std::string_view RouteTable::hostOf(std::string_view host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    size_t close = host_header.find(']');
    return close == std::string_view::npos ? host_header : host_header.substr(0, close + 1);
  }
  size_t colon = host_header.rfind(':');
  return colon == std::string_view::npos ? host_header : host_header.substr(0, colon);
}

const GatewayRoute* RouteTable::match(std::string_view host_header, std::string_view path) const {
  std::string_view host = hostOf(host_header);
  const GatewayRoute* by_host = nullptr;
  const GatewayRoute* any_host = nullptr;
  for (const GatewayRoute& r : routes_) {
    if (!path.starts_with(r.prefix)) continue;
    if (r.host.empty()) {
      if (any_host == nullptr || r.prefix.size() > any_host->prefix.size()) any_host = &r;
      continue;
    }
    if (r.host.size() != host.size() || strncasecmp(r.host.data(), host.data(), host.size()) != 0) {
      continue;
    }
    if (by_host == nullptr || r.prefix.size() > by_host->prefix.size()) by_host = &r;
  }
  return by_host != nullptr ? by_host : any_host;
}

}  // namespace redge
