// RFC 5861 in a route's cache: serving stale entries on purpose.
//
// - stale-while-revalidate (3): RouteCache::serveStaleAndRefresh answers the
//   client from the stale entry at once ("redge; hit; ttl=-N;
//   detail=stale-while-revalidate") and hands a RefreshJob to the route's
//   CacheRefresher, which sends it to a member unless a refresh of that
//   entry is already under way. RouteCache::applyRefresh takes the answer:
//   a 304 is merged into the entry as a revalidation's is, a storable 200
//   replaces it, another answer drops it (the origin no longer gives what
//   was stored), and an error or 5xx leaves the stale entry for next time.
// - stale-if-error (4): a forwarded request that found a stale entry
//   (CacheFlow::entry_: a revalidation, or a HEAD of a stale entry) and
//   whose member failed is answered from that entry when
//   mayServeStaleOnError() allows it, instead of the gateway's 502/503/504
//   or the member's 500/502/503/504: "redge; fwd=stale; fwd-status=503;
//   ttl=-N; detail=stale-if-error" (no fwd-status when no answer came).

#include <utility>

#include "core/ascii.hpp"
#include "core/log.hpp"
#include "services/gateway/cache/conditional.hpp"
#include "services/gateway/cache/variants.hpp"
#include "services/gateway/cache/vary.hpp"
#include "services/gateway/gateway_cache.hpp"

namespace redge {
namespace {

constexpr std::string_view kStaleIfErrorDetail = "stale-if-error";
constexpr std::string_view kStaleWhileRevalidateDetail = "stale-while-revalidate";

std::vector<HttpHeaderField> refreshFieldViews(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<HttpHeaderField> out;
  out.reserve(fields.size());
  for (const auto& [name, value] : fields) out.push_back({name, value});
  return out;
}

}  // namespace

// ---------------------------------------------------------------- RFC 5861 3

void RouteCache::serveStaleAndRefresh(const HttpExchange& exchange, HttpMethod method,
                                      std::span<const HttpHeaderField> request_fields,
                                      const EntryView& entry, std::string_view entry_key,
                                      std::string_view host, std::string target,
                                      const ReuseDecision& d) {
  // The job is copied out before the answer: the entry's views die with the
  // next change to the store.
  RefreshJob job;
  const bool start = !refresher_->running(entry_key);
  if (start) {
    job.key = entry_key;
    job.host = host;
    job.target = std::move(target);
    job.fields = revalidationRequestFields(*entry.fields);
    for (const std::string& name : parseVary(*entry.fields).field_names) {
      for (const HttpHeaderField& f : request_fields) {
        if (equalsIgnoreCase(f.name, name)) job.fields.emplace_back(f.name, f.value);
      }
    }
  }
  stats_.stale_served.inc();
  CacheStatus cs;
  cs.hit = true;
  cs.ttl_s = d.ttl_s;
  cs.detail = kStaleWhileRevalidateDetail;
  answerFromEntry(exchange, method, request_fields, entry, d.age_s, cacheStatusValue(cs));
  // Last: a refresh that fails at once (no member) calls back from inside.
  if (start) refresher_->start(std::move(job));
}

RefreshResult RouteCache::applyRefresh(const RefreshJob& job, int64_t request_time_ms,
                                       HttpClientError error, const HttpClientResponse* response) {
  if (error != HttpClientError::None || response == nullptr ||
      isStaleIfErrorStatus(response->status)) {
    return RefreshResult::Error;  // the stale entry stays
  }
  const int64_t response_time_ms = wallClockMs();
  const std::vector<HttpHeaderField> fields = refreshFieldViews(response->headers);
  auto drop = [&] {
    eraseUri(job.key);  // a variant's key names one answer; a URI's, the URI
    syncGauges();
    return RefreshResult::Other;
  };
  if (response->status == 304) {
    // The entry may have changed or gone while the refresh was under way.
    std::vector<HttpHeaderField> old_fields;
    EntryView old;
    old.fields = &old_fields;
    LruCache::Hit hit;
    if (!store_.get(job.key, hit) || !decode(hit.value, old)) return RefreshResult::Other;
    if (!notModifiedSelects(old_fields, fields)) return drop();
    // Copies: store() replaces the block the views point into.
    const StoredHeaderFields merged = mergeNotModified(old_fields, fields, response_time_ms);
    const std::string vary_key(old.vary_key);
    const std::string body(old.body);
    const int status = old.status;
    store(job.key, status, merged, vary_key, body, request_time_ms, response_time_ms);
    stats_.revalidated_not_modified.inc();
    return RefreshResult::NotModified;
  }
  if (response->status != 200) return drop();
  const std::vector<HttpHeaderField> request_views = refreshFieldViews(job.fields);
  const CacheRequestFacts request = cacheRequestFacts(HttpMethod::Get, request_views);
  const StoreDecision decision = decideStore(
      request, cacheResponseFacts(200, fields, request_time_ms, response_time_ms), policy_);
  if (!decision.store || static_cast<int64_t>(response->body.size()) > options_.max_object_bytes) {
    return drop();
  }
  const StoredHeaderFields stored = fieldsToStore(fields, response_time_ms);
  const std::string vary_key = secondaryCacheKey(parseVary(fields), request_views);
  store(placeVariant(job.key, fields, vary_key), 200, stored, vary_key, response->body,
        request_time_ms, response_time_ms);
  stats_.revalidated_replaced.inc();
  return RefreshResult::Replaced;
}

// ---------------------------------------------------------------- RFC 5861 4

bool CacheFlow::staleOnErrorAllowed() const {
  if (entry_.empty() || kind_ == Kind::Write) return false;
  std::vector<HttpHeaderField> fields;
  RouteCache::EntryView entry;
  entry.fields = &fields;
  // A stored error is no better than the new one.
  if (!cache_.decode(entry_, entry) || isStaleIfErrorStatus(entry.status)) return false;
  const CacheResponseFacts stored =
      cacheResponseFacts(entry.status, fields, entry.request_time_ms, entry.response_time_ms);
  return mayServeStaleOnError(facts_, stored, wallClockMs(), cache_.policy_);
}

bool CacheFlow::answerStaleOnError(const HttpExchange& exchange, std::optional<int> status) {
  // Absorbed: decided at the head. Else decided now, at the failure.
  if (!stale_on_error_ && !staleOnErrorAllowed()) return false;
  stale_on_error_ = false;
  std::vector<HttpHeaderField> fields;
  RouteCache::EntryView entry;
  entry.fields = &fields;
  if (!cache_.decode(entry_, entry)) return false;
  const int64_t now = wallClockMs();
  const CacheResponseFacts stored =
      cacheResponseFacts(entry.status, fields, entry.request_time_ms, entry.response_time_ms);
  const int64_t age_ms = currentAgeMs(stored, now);
  CacheStatus cs;
  cs.forward = fwd_;
  cs.forward_status = status;
  // Negative when stale, rounded down as decideReuse's ttl is.
  const int64_t ttl_ms = freshnessLifetime(stored, cache_.policy_).ms - age_ms;
  cs.ttl_s = ttl_ms >= 0 ? ttl_ms / 1000 : -((-ttl_ms + 999) / 1000);
  cs.detail = kStaleIfErrorDetail;
  cache_status_ = cacheStatusValue(cs);
  cache_.stats_.stale_if_error.inc();
  REDGE_LOG(Debug, "gateway_cache_stale_if_error")
      .kv("route", cache_.label_)
      .kv("uri", uriOfKey(key_))
      .kv("status", static_cast<int64_t>(status.value_or(0)))
      .kv("age_s", age_ms / 1000);
  std::vector<HttpHeaderField> request_views = headerFieldViews(request_fields_);
  cache_.answerFromEntry(exchange, method_, request_views, entry, age_ms / 1000, cache_status_);
  return true;
}

}  // namespace redge
