#pragma once
// Background refreshes of a route's cache (RFC 5861 3, stale-while-
// revalidate): a stale entry is served at once and ONE buffered request per
// stored entry goes to a member meanwhile; its answer refreshes the entry
// (a 304 merged in, a storable 200 stored in its place) or, when it fails,
// leaves the stale entry as it was.
//
// The CacheRefresher does not choose members: the gateway gives it a Send
// that picks one of the route's pool and sends there (with the gateway's
// deadlines), and calls back exactly once.
//
// Metrics: redge_gateway_cache_background_refreshes_total{route,result}
// with result not_modified | replaced | other | error.
//
// Lifetimes. The gateway owns one CacheRefresher per cached route and closes
// it (close()) before it closes its member connections: each refresh's
// callback holds a shared Link whose pointer close() clears, so a callback
// that comes later (the connections failing their requests with Closed as
// they close, or any other late answer) finds it null and returns without
// touching the refresher or the cache.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics.hpp"
#include "net/http/http_client.hpp"

namespace redge {

class RouteCache;

// What one refresh asks, copied out of the entry and the request that found
// it stale.
struct RefreshJob {
  std::string key;     // the entry's store key (its URI, or a variant's key)
  std::string host;    // the Host of the request that found it stale
  std::string target;  // origin form, "/path?query"
  // The entry's validators (If-None-Match, If-Modified-Since) and the
  // request's fields that the entry's Vary names.
  std::vector<std::pair<std::string, std::string>> fields;
};

enum class RefreshResult {
  NotModified,  // a 304 refreshed the entry
  Replaced,     // a storable 200 took its place
  Other,        // another answer: the entry was dropped or left as it was
  Error,        // no answer, or 500/502/503/504: the stale entry stays
};

class CacheRefresher {
 public:
  // Sends `request` to a member of the route's pool; `done` runs exactly
  // once (maybe inside the call, when no member may take it).
  using Send = std::function<void(HttpClientRequest request, HttpClientCallback done)>;

  CacheRefresher(RouteCache& cache, MetricsRegistry& metrics, const std::string& route, Send send);
  ~CacheRefresher();
  CacheRefresher(const CacheRefresher&) = delete;
  CacheRefresher& operator=(const CacheRefresher&) = delete;

  // Starts a refresh of job.key unless one is running for it (or the
  // refresher is closed): false then.
  bool start(RefreshJob job);
  bool running(std::string_view key) const { return running_.find(key) != running_.end(); }
  size_t inflight() const { return running_.size(); }
  // Final: refreshes in flight are forgotten; their callbacks do nothing.
  void close();

 private:
  struct Link {
    CacheRefresher* self = nullptr;
  };

  void onDone(const RefreshJob& job, int64_t request_time_ms, HttpClientError error,
              const HttpClientResponse* response);

  RouteCache& cache_;
  const std::string route_;
  Send send_;
  std::shared_ptr<Link> link_;
  std::set<std::string, std::less<>> running_;  // keys being refreshed
  Counter* results_[4] = {};                    // by RefreshResult
};

}  // namespace redge
