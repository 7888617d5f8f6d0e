// A route's response cache: the entry block in the LruCache, the decision at
// a request's head (RouteCache::begin), the tee of a forwarded answer
// (CacheFlow), and invalidation by writes. See gateway_cache.hpp.
//
// The entry block, one LruCache value (fixed header copied with memcpy, as
// the value has no alignment):
//
//   EntryHeader | fields: (u32 name_len, u32 value_len, name, value)...
//               | vary key | wire lines | body
//
// The wire lines are the stored fields a client gets, in the form
// serializeResponse writes after its own ("\r\nName: value"), so a hit is
// one respond() with views into the block: no allocation, no copy but the
// one into the connection's output.

#include "services/gateway/gateway_cache.hpp"

#include <charconv>
#include <cstring>
#include <limits>

#include "core/log.hpp"
#include "services/gateway/cache/cache_status.hpp"
#include "services/gateway/cache/conditional.hpp"
#include "services/gateway/cache/invalidation.hpp"
#include "services/gateway/cache/variants.hpp"
#include "services/gateway/cache/vary.hpp"
#include "services/gateway/forward_headers.hpp"

namespace redge {
namespace {

constexpr uint32_t kEntryMagic = 0x52474331;  // "RGC1"
// The refusal counted when a body outgrows max_object_bytes, after the
// StoreRefusal values.
constexpr size_t kRefusalTooLarge = static_cast<size_t>(StoreRefusal::NoFreshness) + 1;
// Stale entries stay for revalidation until the LRU evicts them; the LRU's
// own expiry is not what decides freshness here.
constexpr int64_t kKeepForeverMs = std::numeric_limits<int64_t>::max() / 4;

struct EntryHeader {
  uint32_t magic;
  int32_t status;
  int64_t request_time_ms;
  int64_t response_time_ms;
  uint32_t field_count;
  uint32_t fields_len;
  uint32_t vary_key_len;
  uint32_t wire_len;
  uint64_t body_len;
};

// Stored fields a client never gets from the entry as they are: redge
// writes its own framing, Age and Cache-Status. Date and Server are the
// origin's (fieldsToStore adds a Date when the origin sent none).
bool servedFromEntry(std::string_view name) {
  return !headerNameIs(name, "Age") && !headerNameIs(name, "Cache-Status");
}

void appendU32(std::string& out, uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::vector<HttpHeaderField> responseFieldViews(const HttpClientResponseHead& head) {
  std::vector<HttpHeaderField> out;
  out.reserve(head.headerCount());
  for (size_t i = 0; i < head.headerCount(); ++i) {
    out.push_back({head.headerName(i), head.headerValue(i)});
  }
  return out;
}

StoredHeaderFields ownedFields(std::span<const HttpHeaderField> fields) {
  StoredHeaderFields out;
  out.reserve(fields.size());
  for (const HttpHeaderField& f : fields) out.emplace_back(f.name, f.value);
  return out;
}

bool hasClientConditional(std::span<const HttpHeaderField> fields) {
  for (const HttpHeaderField& f : fields) {
    if (isPreconditionField(f.name)) return true;
  }
  return false;
}

std::string encodeEntry(int status, const StoredHeaderFields& fields, std::string_view vary_key,
                        std::string_view body, int64_t request_time_ms, int64_t response_time_ms) {
  std::string wire;
  std::vector<HttpHeaderField> views = headerFieldViews(fields);
  forEachClientResponseHeader(views, [&wire](const HttpHeaderField& f) {
    if (!servedFromEntry(f.name)) return;
    wire.append("\r\n").append(f.name).append(": ").append(f.value);
  });
  size_t fields_len = 0;
  for (const auto& [name, value] : fields) fields_len += 8 + name.size() + value.size();
  EntryHeader h{kEntryMagic,
                status,
                request_time_ms,
                response_time_ms,
                static_cast<uint32_t>(fields.size()),
                static_cast<uint32_t>(fields_len),
                static_cast<uint32_t>(vary_key.size()),
                static_cast<uint32_t>(wire.size()),
                body.size()};
  std::string out;
  out.reserve(sizeof h + fields_len + vary_key.size() + wire.size() + body.size());
  out.append(reinterpret_cast<const char*>(&h), sizeof h);
  for (const auto& [name, value] : fields) {
    appendU32(out, static_cast<uint32_t>(name.size()));
    appendU32(out, static_cast<uint32_t>(value.size()));
    out.append(name).append(value);
  }
  out.append(vary_key).append(wire).append(body);
  return out;
}

// Writes "<n>" into `buf`.
std::string_view decimal(char (&buf)[24], int64_t n) {
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

// "redge; hit; ttl=N" without an allocation (the hit path).
std::string_view hitStatus(char (&buf)[64], int64_t ttl_s) {
  constexpr std::string_view kPrefix = "redge; hit; ttl=";
  std::memcpy(buf, kPrefix.data(), kPrefix.size());
  auto r = std::to_chars(buf + kPrefix.size(), buf + sizeof buf, ttl_s);
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

CacheForwardReason forwardReasonOf(ReuseReason reason) {
  switch (reason) {
    case ReuseReason::RequestNoCache:
    case ReuseReason::RequestMaxAge:
    case ReuseReason::MinFresh:
    case ReuseReason::Authorization:
      return CacheForwardReason::Request;
    default:
      return CacheForwardReason::Stale;
  }
}

RouteCacheStats bindStats(MetricsRegistry& m, const std::string& route) {
  Labels l{{"route", route}};
  auto revalidations = [&](const char* result) -> Counter& {
    return m.counter("redge_gateway_cache_revalidations_total",
                     "Stale entries the route's cache revalidated with the member, by result",
                     {{"route", route}, {"result", result}});
  };
  RouteCacheStats s{
      m.counter("redge_gateway_cache_hits_total", "Requests answered from the route's cache", l),
      m.counter("redge_gateway_cache_misses_total",
                "GET and HEAD requests with nothing usable stored (forwarded)", l),
      m.counter("redge_gateway_cache_coalesced_total",
                "Requests that waited for another's fetch of the same URI and were answered "
                "from what it stored",
                l),
      m.counter("redge_gateway_cache_stale_served_total",
                "Stale entries served because the request accepted them (max-stale) or "
                "stale-while-revalidate allowed it",
                l),
      revalidations("not_modified"),
      revalidations("replaced"),
      revalidations("other"),
      m.counter("redge_gateway_cache_stores_total", "Answers stored in the route's cache", l),
      m.counter("redge_gateway_cache_invalidations_total",
                "Entries removed from the route's cache by writes", l),
      m.counter("redge_gateway_cache_evictions_total",
                "Entries evicted from the route's cache to make room", l),
      m.gauge("redge_gateway_cache_entries", "Entries in the route's cache", l),
      m.gauge("redge_gateway_cache_bytes", "Bytes (keys, headers, bodies) in the route's cache", l),
      m.counter("redge_gateway_cache_stale_if_error_total",
                "Stale entries served instead of a member's failure (stale-if-error)", l),
      {}};
  for (size_t i = 0; i <= kRefusalTooLarge; ++i) {
    std::string_view reason = i == kRefusalTooLarge
                                  ? std::string_view("too_large")
                                  : storeRefusalCode(static_cast<StoreRefusal>(i));
    s.refusals.push_back(&m.counter("redge_gateway_cache_store_refusals_total",
                                    "Answers the route's cache did not store, by reason",
                                    {{"route", route}, {"reason", std::string(reason)}}));
  }
  return s;
}

}  // namespace

RouteCache::RouteCache(const Clock& clock, MetricsRegistry& metrics, std::string label,
                       const GatewayCacheOptions& options)
    : options_(options),
      label_(std::move(label)),
      store_(clock, static_cast<size_t>(options.max_entries), kKeepForeverMs,
             static_cast<size_t>(options.max_bytes)),
      stats_(bindStats(metrics, label_)) {
  policy_.default_ttl_ms = options.default_ttl_ms;
  policy_.stale_while_revalidate_ms = options.stale_while_revalidate_ms;
  policy_.stale_if_error_ms = options.stale_if_error_ms;
}

void RouteCache::keyOf(std::string_view host, std::string_view target, std::string& out) const {
  out.assign("http://");
  for (char c : host) out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  out.append(target);
}

bool RouteCache::decode(std::string_view value, EntryView& out) {
  EntryHeader h;
  if (value.size() < sizeof h) return false;
  std::memcpy(&h, value.data(), sizeof h);
  if (h.magic != kEntryMagic) return false;
  size_t at = sizeof h;
  out.fields->clear();
  for (uint32_t i = 0; i < h.field_count; ++i) {
    uint32_t name_len;
    uint32_t value_len;
    std::memcpy(&name_len, value.data() + at, 4);
    std::memcpy(&value_len, value.data() + at + 4, 4);
    at += 8;
    out.fields->push_back({value.substr(at, name_len), value.substr(at + name_len, value_len)});
    at += name_len + value_len;
  }
  out.status = h.status;
  out.request_time_ms = h.request_time_ms;
  out.response_time_ms = h.response_time_ms;
  out.vary_key = value.substr(at, h.vary_key_len);
  at += h.vary_key_len;
  out.wire = value.substr(at, h.wire_len);
  at += h.wire_len;
  out.body = value.substr(at, h.body_len);
  return true;
}

bool RouteCache::store(std::string_view key, int status, const StoredHeaderFields& fields,
                       std::string_view vary_key, std::string_view body, int64_t request_time_ms,
                       int64_t response_time_ms) {
  std::string value =
      encodeEntry(status, fields, vary_key, body, request_time_ms, response_time_ms);
  bool stored = store_.put(key, value);
  if (stored) {
    stats_.stores.inc();
  } else {
    refuse(kRefusalTooLarge);
  }
  syncGauges();
  return stored;
}

void RouteCache::refuse(size_t reason) {
  if (reason < stats_.refusals.size()) stats_.refusals[reason]->inc();
}

void RouteCache::syncGauges() {
  uint64_t evictions = store_.stats().evictions;
  if (evictions != evictions_seen_) {
    stats_.evictions.inc(evictions - evictions_seen_);
    evictions_seen_ = evictions;
  }
  stats_.entries.set(static_cast<double>(store_.size()));
  stats_.bytes.set(static_cast<double>(store_.bytes()));
}

void RouteCache::serve(const HttpExchange& exchange, const EntryView& entry, int64_t age_s,
                       std::string_view cache_status) {
  HttpResponse r;
  r.status = entry.status;
  r.content_type = {};  // the stored Content-Type is among the wire lines
  r.body = entry.body;
  r.header_lines = entry.wire;
  r.own_server_date = false;  // the stored Date (and Server) are the origin's
  if (entry.status == 204 || entry.status == 304) r.content_length = HttpResponse::kNoContentLength;
  char age[24];
  r.header("Age", decimal(age, age_s));
  r.header("Cache-Status", cache_status);
  exchange.respond(r);
}

void RouteCache::serveNotModified(const HttpExchange& exchange, const EntryView& entry,
                                  int64_t age_s, std::string_view cache_status) {
  std::string wire;
  for (const HttpHeaderField& f : notModifiedResponseFields(*entry.fields)) {
    wire.append("\r\n").append(f.name).append(": ").append(f.value);
  }
  HttpResponse r;
  r.status = 304;
  r.content_type = {};
  r.header_lines = wire;
  r.content_length = HttpResponse::kNoContentLength;
  char age[24];
  r.header("Age", decimal(age, age_s));
  r.header("Cache-Status", cache_status);
  exchange.respond(r);
}

void RouteCache::answerFromEntry(const HttpExchange& exchange, HttpMethod method,
                                 std::span<const HttpHeaderField> request_fields,
                                 const EntryView& entry, int64_t age_s,
                                 std::string_view cache_status) {
  if (hasClientConditional(request_fields)) {
    switch (
        evaluateConditionalRequest(method, request_fields, *entry.fields, entry.response_time_ms)) {
      case ConditionalResult::NotModified:
        serveNotModified(exchange, entry, age_s, cache_status);
        return;
      case ConditionalResult::PreconditionFailed:
        exchange.sendError(412, "precondition_failed",
                           "The stored answer does not meet the request's If-Match or "
                           "If-Unmodified-Since; fetch it again before changing it.");
        return;
      case ConditionalResult::Full:
        break;
    }
  }
  serve(exchange, entry, age_s, cache_status);
}

RouteCache::Start RouteCache::begin(HttpRequest& request, const HttpExchange& exchange,
                                    std::unique_ptr<CacheFlow>& flow) {
  const HttpMethod method = request.method;
  const std::string_view host = request.header("Host");
  const bool is_get = method == HttpMethod::Get;
  if (!is_get && method != HttpMethod::Head) {
    if (method == HttpMethod::Options) return Start::Forward;
    // A write: its answer may invalidate.
    flow = std::make_unique<CacheFlow>(*this, CacheFlow::Kind::Write);
    flow->method_ = method;
    flow->host_ = host;
    flow->target_ = upstreamTarget(request);
    return Start::Forward;
  }

  fields_scratch_.clear();
  for (size_t i = 0; i < request.headerCount(); ++i) {
    fields_scratch_.push_back({request.headerName(i), request.headerValue(i)});
  }
  const std::span<const HttpHeaderField> request_fields = fields_scratch_;
  CacheRequestFacts facts = cacheRequestFacts(method, request_fields);
  if (request.target().starts_with('/')) {
    keyOf(host, request.target(), key_scratch_);
  } else {
    keyOf(host, upstreamTarget(request), key_scratch_);
  }

  thread_local std::vector<HttpHeaderField> entry_fields;
  EntryView entry;
  entry.fields = &entry_fields;
  LruCache::Hit hit;
  std::string variant_key;  // set when the entry is one of several Vary variants
  CacheForwardReason fwd = CacheForwardReason::UriMiss;
  const bool found = lookup(key_scratch_, request_fields, hit, entry, variant_key, fwd);

  auto startFlow = [&](CacheFlow::Kind kind) {
    flow = std::make_unique<CacheFlow>(*this, kind);
    flow->method_ = method;
    flow->key_ = key_scratch_;
    flow->facts_ = std::move(facts);
    flow->request_fields_ = ownedFields(request_fields);
    flow->head_request_ = !is_get;
    flow->request_time_ms_ = wallClockMs();
  };
  auto notCached = [&] {
    exchange.sendError(504, "not_cached",
                       "The request said only-if-cached, and the gateway's cache holds no usable "
                       "answer for it; ask again without only-if-cached.");
    return Start::Answered;
  };

  if (!found) {
    stats_.misses.inc();
    if (onlyIfCached(facts)) return notCached();
    startFlow(CacheFlow::Kind::Miss);
    flow->fwd_ = fwd;
    if (!is_get) return Start::Forward;
    // One GET per key goes to a member at a time; the others wait for its
    // answer to be stored (or not) and look again.
    auto [fill, first] = fills_.try_emplace(key_scratch_);
    if (!first) return Start::Wait;
    flow->filling_ = true;
    return Start::Forward;
  }

  const int64_t now = wallClockMs();
  CacheResponseFacts stored =
      cacheResponseFacts(entry.status, entry_fields, entry.request_time_ms, entry.response_time_ms);
  ReuseDecision d = decideReuse(facts, stored, now, policy_);
  switch (d.action) {
    case ReuseAction::ServeFresh:
    case ReuseAction::ServeStale: {
      if (d.action == ReuseAction::ServeFresh) {
        stats_.hits.inc();
      } else {
        stats_.stale_served.inc();
      }
      char status[64];
      answerFromEntry(exchange, method, request_fields, entry, d.age_s, hitStatus(status, d.ttl_s));
      return Start::Answered;
    }
    case ReuseAction::GatewayTimeout:
      stats_.misses.inc();
      return notCached();
    case ReuseAction::ServeStaleAndRefresh:
      if (refresher_ != nullptr) {
        serveStaleAndRefresh(
            exchange, method, request_fields, entry,
            variant_key.empty() ? std::string_view(key_scratch_) : std::string_view(variant_key),
            host, request.target().starts_with('/') ? request.target() : upstreamTarget(request),
            d);
        return Start::Answered;
      }
      [[fallthrough]];  // no refresher: revalidate in line
    case ReuseAction::Revalidate:
      if (onlyIfCached(facts)) return notCached();
      stats_.misses.inc();
      if (!is_get) {
        // A HEAD goes on as it came; its answer has no body to store.
        startFlow(CacheFlow::Kind::Miss);
        flow->fwd_ = forwardReasonOf(d.reason);
        flow->entry_ = std::string(hit.value);  // for stale-if-error
        return Start::Forward;
      }
      startFlow(CacheFlow::Kind::Revalidate);
      if (!variant_key.empty()) flow->key_ = variant_key;  // where a 304 merges
      flow->fwd_ = forwardReasonOf(d.reason);
      flow->entry_ = std::string(hit.value);
      flow->validators_ = revalidationRequestFields(entry_fields);
      flow->rewrite_.drop_conditionals = true;
      flow->rewrite_.extra_fields = flow->validators_;
      return Start::Forward;
    case ReuseAction::Forward:
      stats_.misses.inc();
      if (onlyIfCached(facts)) return notCached();
      startFlow(CacheFlow::Kind::Miss);
      flow->fwd_ = forwardReasonOf(d.reason);
      return Start::Forward;
  }
  return Start::Forward;
}

void RouteCache::wait(const CacheFlow& flow, std::function<void()> wake) {
  auto it = fills_.find(flow.key_);
  if (it == fills_.end()) {
    wake();  // the fill ended in between (cannot happen on one loop, but harmless)
    return;
  }
  it->second.push_back(std::move(wake));
}

void RouteCache::endFill(const std::string& key) {
  auto it = fills_.find(key);
  if (it == fills_.end()) return;
  std::vector<std::function<void()>> waiters = std::move(it->second);
  fills_.erase(it);
  for (auto& wake : waiters) wake();
}

void RouteCache::wakeAll() {
  while (!fills_.empty()) endFill(fills_.begin()->first);
}

bool RouteCache::answerWaiter(CacheFlow& flow, const HttpExchange& exchange) {
  std::vector<HttpHeaderField> request_fields = headerFieldViews(flow.request_fields_);
  thread_local std::vector<HttpHeaderField> entry_fields;
  EntryView entry;
  entry.fields = &entry_fields;
  LruCache::Hit hit;
  std::string variant_key;
  CacheForwardReason fwd;
  if (!lookup(flow.key_, request_fields, hit, entry, variant_key, fwd)) return false;
  CacheResponseFacts stored =
      cacheResponseFacts(entry.status, entry_fields, entry.request_time_ms, entry.response_time_ms);
  ReuseDecision d = decideReuse(flow.facts_, stored, wallClockMs(), policy_);
  if (d.action != ReuseAction::ServeFresh && d.action != ReuseAction::ServeStale) return false;
  stats_.coalesced.inc();
  CacheStatus cs;
  cs.hit = true;
  cs.ttl_s = d.ttl_s;
  cs.collapsed = true;
  std::string cache_status = cacheStatusValue(cs);
  answerFromEntry(exchange, flow.method_, request_fields, entry, d.age_s, cache_status);
  return true;
}

void RouteCache::invalidate(HttpMethod method, int status, std::string_view target,
                            std::string_view host,
                            std::span<const HttpHeaderField> response_fields) {
  if (!invalidatesOnWrite(method, status)) return;
  RequestOrigin origin;
  origin.host = host;
  std::vector<InvalidationTarget> targets = invalidationTargets(
      method, status, target, origin, response_fields, options_.invalidate_parent);
  size_t removed = 0;
  std::string key;
  for (const InvalidationTarget& t : targets) {
    keyOf(host, t.path_and_query, key);
    if (t.scope == InvalidationTarget::Scope::Exact) {
      removed += eraseUri(key);
      continue;
    }
    // The path with any query (or none), and with a trailing slash; a Vary
    // variant goes with its URI.
    removed += store_.eraseIf([&key](std::string_view k) {
      k = uriOfKey(k);
      if (!k.starts_with(key)) return false;
      std::string_view rest = k.substr(key.size());
      return rest.empty() || rest.front() == '?' || rest == "/" || rest.starts_with("/?");
    });
  }
  if (removed > 0) stats_.invalidations.inc(removed);
  syncGauges();
  REDGE_LOG(Debug, "gateway_cache_invalidated")
      .kv("route", label_)
      .kv("method", httpMethodName(method))
      .kv("target", target)
      .kv("status", static_cast<int64_t>(status))
      .kv("targets", static_cast<uint64_t>(targets.size()))
      .kv("removed", static_cast<uint64_t>(removed));
}

// ---------------------------------------------------------------- CacheFlow

TapMode CacheFlow::onTapHead(const HttpClientResponseHead& head,
                             std::vector<std::pair<std::string_view, std::string_view>>& extra) {
  std::vector<HttpHeaderField> fields = responseFieldViews(head);
  if (kind_ == Kind::Write) {
    cache_.invalidate(method_, head.status, target_, host_, fields);
    return TapMode::Pass;
  }
  // RFC 5861 4: the member's error is not passed on when a stale entry may
  // answer instead (onAnswered, or the gateway's failure path, does).
  if (!entry_.empty() && isStaleIfErrorStatus(head.status) && staleOnErrorAllowed()) {
    stale_on_error_ = true;
    status_ = head.status;
    return TapMode::Absorb;
  }
  if (kind_ == Kind::Revalidate) {
    if (head.status == 304) {
      absorbing_ = true;
      status_ = 304;
      response_time_ms_ = wallClockMs();
      response_fields_ = ownedFields(fields);
      return TapMode::Absorb;
    }
    (head.status == 200 ? cache_.stats_.revalidated_replaced : cache_.stats_.revalidated_other)
        .inc();
  }
  return onMissHead(head, fields, extra);
}

TapMode CacheFlow::onMissHead(const HttpClientResponseHead& head,
                              std::span<const HttpHeaderField> fields,
                              std::vector<std::pair<std::string_view, std::string_view>>& extra) {
  status_ = head.status;
  response_time_ms_ = wallClockMs();
  CacheStatus cs;
  cs.forward = fwd_;
  std::string_view refusal;
  if (!head_request_) {
    CacheResponseFacts rf =
        cacheResponseFacts(head.status, fields, request_time_ms_, response_time_ms_);
    StoreDecision d = decideStore(facts_, rf, cache_.policy_);
    if (d.store && head.content_length > cache_.options_.max_object_bytes) {
      cache_.refuse(kRefusalTooLarge);
      refusal = "too_large";
    } else if (d.store) {
      capturing_ = true;
      response_fields_ = fieldsToStore(fields, response_time_ms_);
      std::vector<HttpHeaderField> request_views = headerFieldViews(request_fields_);
      vary_key_ = secondaryCacheKey(parseVary(fields), request_views);
      if (head.content_length > 0) body_.reserve(static_cast<size_t>(head.content_length));
    } else {
      cache_.refuse(static_cast<size_t>(d.refusal));
      refusal = storeRefusalCode(d.refusal);
    }
  }
  cs.stored = capturing_;
  cs.detail = refusal;
  cache_status_ = cacheStatusValue(cs);
  extra.emplace_back("Cache-Status", cache_status_);
  return capturing_ ? TapMode::Capture : TapMode::Pass;
}

void CacheFlow::onTapBody(std::string_view data) {
  if (!capturing_) return;
  if (body_.size() + data.size() > static_cast<size_t>(cache_.options_.max_object_bytes)) {
    // Announced as stored when the length was unknown; it is not.
    capturing_ = false;
    too_large_ = true;
    std::string().swap(body_);
    cache_.refuse(kRefusalTooLarge);
    return;
  }
  body_.append(data);
}

void CacheFlow::endFill() {
  if (!filling_) return;
  filling_ = false;
  cache_.endFill(key_);
}

void CacheFlow::onAnswered(const HttpExchange& exchange) {
  if (stale_on_error_) {
    answerStaleOnError(exchange, status_);
    return;
  }
  if (capturing_) {
    capturing_ = false;
    cache_.store(cache_.placeVariant(key_, headerFieldViews(response_fields_), vary_key_), status_,
                 response_fields_, vary_key_, body_, request_time_ms_, response_time_ms_);
    return;
  }
  if (!absorbing_) return;
  absorbing_ = false;
  std::vector<HttpHeaderField> old_fields;
  RouteCache::EntryView old;
  old.fields = &old_fields;
  if (!cache_.decode(entry_, old)) return;  // cannot happen: it was decoded before
  std::vector<HttpHeaderField> not_modified = headerFieldViews(response_fields_);
  std::string value;
  std::string_view served = entry_;
  if (notModifiedSelects(old_fields, not_modified)) {
    cache_.stats_.revalidated_not_modified.inc();
    StoredHeaderFields merged = mergeNotModified(old_fields, not_modified, response_time_ms_);
    value = encodeEntry(old.status, merged, old.vary_key, old.body, request_time_ms_,
                        response_time_ms_);
    if (cache_.store_.put(key_, value)) {
      cache_.stats_.stores.inc();
    }
    cache_.syncGauges();
    served = value;
  } else {
    // The 304 is about another answer than the one stored: serve the stored
    // one this time, and fetch afresh next time.
    cache_.stats_.revalidated_other.inc();
    cache_.store_.erase(key_);
    cache_.syncGauges();
  }
  std::vector<HttpHeaderField> entry_fields;
  RouteCache::EntryView entry;
  entry.fields = &entry_fields;
  if (!cache_.decode(served, entry)) return;
  const int64_t now = wallClockMs();
  CacheResponseFacts facts =
      cacheResponseFacts(entry.status, entry_fields, entry.request_time_ms, entry.response_time_ms);
  int64_t age_s = currentAgeMs(facts, now) / 1000;
  CacheStatus cs;
  cs.forward = fwd_;
  cs.forward_status = 304;
  cs.stored = !value.empty();
  cs.ttl_s = freshnessLifetime(facts, cache_.policy_).ms / 1000 - age_s;
  cache_status_ = cacheStatusValue(cs);
  std::vector<HttpHeaderField> request_views = headerFieldViews(request_fields_);
  if (hasClientConditional(request_views)) {
    ConditionalResult c =
        evaluateConditionalRequest(method_, request_views, entry_fields, entry.response_time_ms);
    if (c == ConditionalResult::NotModified) {
      cache_.serveNotModified(exchange, entry, age_s, cache_status_);
      return;
    }
    if (c == ConditionalResult::PreconditionFailed) {
      exchange.sendError(412, "precondition_failed",
                         "The stored answer does not meet the request's If-Match or "
                         "If-Unmodified-Since; fetch it again before changing it.");
      return;
    }
  }
  cache_.serve(exchange, entry, age_s, cache_status_);
}

}  // namespace redge
