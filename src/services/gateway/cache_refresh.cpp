// CacheRefresher (see cache_refresh.hpp): one background refresh per stored
// entry at a time, each a buffered conditional GET through the gateway's
// Send, its answer handed to RouteCache::applyRefresh and counted by result.

#include "services/gateway/cache_refresh.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "services/gateway/gateway_cache.hpp"

namespace redge {
namespace {

std::string_view refreshResultName(RefreshResult r) {
  switch (r) {
    case RefreshResult::NotModified:
      return "not_modified";
    case RefreshResult::Replaced:
      return "replaced";
    case RefreshResult::Other:
      return "other";
    case RefreshResult::Error:
      return "error";
  }
  return "error";
}

}  // namespace

CacheRefresher::CacheRefresher(RouteCache& cache, MetricsRegistry& metrics,
                               const std::string& route, Send send)
    : cache_(cache), route_(route), send_(std::move(send)), link_(std::make_shared<Link>()) {
  link_->self = this;
  for (RefreshResult r : {RefreshResult::NotModified, RefreshResult::Replaced, RefreshResult::Other,
                          RefreshResult::Error}) {
    results_[static_cast<size_t>(r)] = &metrics.counter(
        "redge_gateway_cache_background_refreshes_total",
        "Background refreshes of stale entries (stale-while-revalidate), by result",
        {{"route", route}, {"result", std::string(refreshResultName(r))}});
  }
}

CacheRefresher::~CacheRefresher() {
  close();
}

void CacheRefresher::close() {
  link_->self = nullptr;
  running_.clear();
}

bool CacheRefresher::start(RefreshJob job) {
  if (link_->self == nullptr) return false;
  if (!running_.insert(job.key).second) return false;
  HttpClientRequest request;
  request.method = "GET";
  request.target = job.target;
  request.authority = job.host;
  request.headers = job.fields;
  const int64_t request_time_ms = wallClockMs();
  REDGE_LOG(Debug, "gateway_cache_refresh_started").kv("route", route_).kv("target", job.target);
  send_(std::move(request), [link = link_, job = std::move(job), request_time_ms](
                                HttpClientError error, const HttpClientResponse* response) {
    CacheRefresher* self = link->self;
    if (self == nullptr) return;  // closed: the cache is not to be touched
    self->onDone(job, request_time_ms, error, response);
  });
  return true;
}

void CacheRefresher::onDone(const RefreshJob& job, int64_t request_time_ms, HttpClientError error,
                            const HttpClientResponse* response) {
  running_.erase(job.key);
  const RefreshResult result = cache_.applyRefresh(job, request_time_ms, error, response);
  results_[static_cast<size_t>(result)]->inc();
  REDGE_LOG(Debug, "gateway_cache_refreshed")
      .kv("route", route_)
      .kv("target", job.target)
      .kv("result", refreshResultName(result))
      .kv("status", static_cast<int64_t>(response != nullptr ? response->status : 0))
      .kv("error", httpClientErrorName(error));
}

}  // namespace redge
