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
#include <cstddef>
#include <cstring>
#include <limits>

#include "core/ascii.hpp"
#include "core/log.hpp"
#include "services/gateway/cache/cache_status.hpp"
#include "services/gateway/cache/conditional.hpp"
#include "services/gateway/cache/invalidation.hpp"
#include "services/gateway/cache/packed_facts.hpp"
#include "services/gateway/cache/purge_request.hpp"
#include "services/gateway/cache/retention.hpp"
#include "services/gateway/cache/variants.hpp"
#include "services/gateway/cache/vary.hpp"
#include "services/gateway/forward_headers.hpp"

namespace redge {
namespace {

constexpr uint32_t kEntryMagic = 0x52474333;  // "RGC3"
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
  uint32_t extra_len;  // the stored fields a hit does not write, as lines
  uint32_t vary_key_len;
  uint32_t wire_len;
  uint64_t body_len;
  // Filled in place at the entry's first use (flags 0 until then; see
  // RouteCache::storedFacts).
  PackedResponseFacts facts;
};

// The facts of a stored response that could not be packed: parsed on each use.
constexpr uint32_t kFactsUnpackable = 1u << 31;

// Stored fields a client never gets from the entry as they are: redge
// writes its own framing, Age and Cache-Status. Date and Server are the
// origin's (fieldsToStore adds a Date when the origin sent none).
bool servedFromEntry(std::string_view name) {
  return !headerNameIs(name, "Age") && !headerNameIs(name, "Cache-Status");
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

bool servedAsWireLine(std::string_view name) {
  return servedFromEntry(name) && !headerNameIs(name, "Content-Length");
}

// Writes an entry's header, stored fields and Vary key into `out`, with
// room for `body_hint` body bytes: the body is appended after it, and
// finishEntry() states its length. The stored fields are already free of
// hop-by-hop ones (fieldsToStore, mergeNotModified); a hit writes its own
// framing. Each field is kept once, as a line: those a hit writes among the
// wire lines, the others (Age, Cache-Status, Content-Length) apart.
void beginEntry(std::string& out, int status, std::span<const HttpHeaderField> fields,
                std::string_view vary_key, int64_t request_time_ms, int64_t response_time_ms,
                size_t body_hint) {
  size_t lines_len = 0;
  for (const HttpHeaderField& f : fields) lines_len += 4 + f.name.size() + f.value.size();
  out.clear();
  out.reserve(sizeof(EntryHeader) + lines_len + vary_key.size() + body_hint);
  out.resize(sizeof(EntryHeader));
  auto lines = [&out, fields](bool wire) {
    const size_t start = out.size();
    for (const HttpHeaderField& f : fields) {
      if (servedAsWireLine(f.name) != wire) continue;
      out.append("\r\n").append(f.name).append(": ").append(f.value);
    }
    return static_cast<uint32_t>(out.size() - start);
  };
  const uint32_t extra_len = lines(false);
  out.append(vary_key);
  const uint32_t wire_len = lines(true);
  EntryHeader h{kEntryMagic,
                status,
                request_time_ms,
                response_time_ms,
                static_cast<uint32_t>(fields.size()),
                extra_len,
                static_cast<uint32_t>(vary_key.size()),
                wire_len,
                0,
                {}};
  std::memcpy(out.data(), &h, sizeof h);
}

// States the length of the body appended after beginEntry().
void finishEntry(std::string& out) {
  EntryHeader h;
  std::memcpy(&h, out.data(), sizeof h);
  h.body_len = out.size() - sizeof h - h.extra_len - h.vary_key_len - h.wire_len;
  std::memcpy(out.data(), &h, sizeof h);
}

std::string encodeEntry(int status, const StoredHeaderFields& fields, std::string_view vary_key,
                        std::string_view body, int64_t request_time_ms, int64_t response_time_ms) {
  std::string out;
  beginEntry(out, status, headerFieldViews(fields), vary_key, request_time_ms, response_time_ms,
             body.size());
  out.append(body);
  finishEntry(out);
  return out;
}

// Reads "\r\nName: value" lines into field views; false when `lines` is
// not made of them.
bool readFieldLines(std::string_view lines, std::vector<HttpHeaderField>& out) {
  while (!lines.empty()) {
    if (!lines.starts_with("\r\n")) return false;
    lines.remove_prefix(2);
    const size_t end = std::min(lines.find("\r\n"), lines.size());
    const std::string_view line = lines.substr(0, end);
    const size_t colon = line.find(": ");
    if (colon == 0 || colon == std::string_view::npos) return false;
    out.push_back({line.substr(0, colon), line.substr(colon + 2)});
    lines.remove_prefix(end);
  }
  return true;
}

// The field a cached route's forwarded GET and HEAD carry.
std::span<const std::pair<std::string, std::string>> surrogateCapabilityField() {
  static const std::pair<std::string, std::string> field{"Surrogate-Capability",
                                                         std::string(kSurrogateCapability)};
  return {&field, 1};
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
  auto invalidations = [&](const char* cause) -> Counter& {
    return m.counter("redge_gateway_cache_invalidations_total",
                     "Entries removed from the route's cache in memory, by cause (write: a "
                     "write through this gateway; purge: an operator's purge; peer: a write "
                     "through another gateway)",
                     {{"route", route}, {"cause", cause}});
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
      invalidations("write"),
      invalidations("purge"),
      invalidations("peer"),
      m.counter("redge_gateway_cache_shared_hits_total",
                "Misses in memory answered from an entry in Redis (another gateway fetched it)", l),
      m.counter("redge_gateway_cache_shared_stores_total", "Entries put in Redis for the fleet", l),
      m.counter("redge_gateway_cache_fill_waits_total",
                "Misses that waited for another gateway's fetch of the same URI", l),
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

RouteCache::RouteCache(const Clock& clock, TimerFactory& timers, MetricsRegistry& metrics,
                       std::string label, const GatewayCacheOptions& options, CacheFleet* fleet)
    : options_(options),
      label_(std::move(label)),
      clock_(clock),
      store_(clock, static_cast<size_t>(options.max_entries), kKeepForeverMs,
             static_cast<size_t>(options.max_bytes)),
      stats_(bindStats(metrics, label_)),
      fleet_(fleet) {
  policy_.default_ttl_ms = options.default_ttl_ms;
  if (fleet_ != nullptr) {
    fleet_->join(*this);
    peer_timer_ = timers.createTimer([this] { onPeerDeadline(); });
  }
  policy_.stale_while_revalidate_ms = options.stale_while_revalidate_ms;
  policy_.stale_if_error_ms = options.stale_if_error_ms;
}

RouteCache::~RouteCache() {
  *alive_ = false;
  if (fleet_ != nullptr) fleet_->leave(*this);
}

void RouteCache::keyOf(std::string_view host, std::string_view target, std::string& out) const {
  const std::string_view key_host = cacheKeyHost(host);
  out.assign("http://");
  for (char c : key_host) out.push_back(asciiLower(c));
  out.append(target);
}

bool RouteCache::decode(std::string_view value, EntryView& out) {
  // Values come back from Redis too, where anything may have written them:
  // every length is checked against what is there.
  EntryHeader h;
  if (value.size() < sizeof h) return false;
  std::memcpy(&h, value.data(), sizeof h);
  if (h.magic != kEntryMagic) return false;
  const uint64_t rest = uint64_t{h.extra_len} + h.vary_key_len + h.wire_len;
  if (h.body_len > value.size() - sizeof h || value.size() - sizeof h - h.body_len != rest) {
    return false;
  }
  size_t at = sizeof h;
  const std::string_view extra = value.substr(at, h.extra_len);
  at += h.extra_len;
  out.vary_key = value.substr(at, h.vary_key_len);
  at += h.vary_key_len;
  out.wire = value.substr(at, h.wire_len);
  at += h.wire_len;
  out.body = value.substr(at, h.body_len);
  out.fields->clear();
  if (!readFieldLines(extra, *out.fields) || !readFieldLines(out.wire, *out.fields)) return false;
  out.status = h.status;
  out.facts = h.facts;
  out.request_time_ms = h.request_time_ms;
  out.response_time_ms = h.response_time_ms;
  return true;
}

CacheResponseFacts RouteCache::storedFacts(const EntryView& entry, std::string_view stored_value) {
  if ((entry.facts.flags & kFactsUnpackable) == 0 && entry.facts.flags != 0) {
    return unpackResponseFacts(entry.facts, entry.status, entry.request_time_ms,
                               entry.response_time_ms);
  }
  CacheResponseFacts facts = cacheResponseFacts(entry.status, *entry.fields, entry.request_time_ms,
                                                entry.response_time_ms);
  if (entry.facts.flags == 0 && stored_value.size() >= sizeof(EntryHeader)) {
    // First use of this entry: keep what was read in its header, so that
    // later hits skip the parse. The bytes are the store's own (a Hit's
    // value), rewritten in place at the same size.
    PackedResponseFacts packed;
    if (!packResponseFacts(facts, packed)) packed.flags = kFactsUnpackable;
    std::memcpy(const_cast<char*>(stored_value.data()) + offsetof(EntryHeader, facts), &packed,
                sizeof packed);
  }
  return facts;
}

bool RouteCache::store(std::string_view key, int status, const StoredHeaderFields& fields,
                       std::string_view vary_key, std::string_view body, int64_t request_time_ms,
                       int64_t response_time_ms, bool* shared) {
  return storeEncoded(
      key, encodeEntry(status, fields, vary_key, body, request_time_ms, response_time_ms), shared);
}

bool RouteCache::storeEncoded(std::string_view key, std::string_view value, bool* shared) {
  if (retired_) {
    if (shared != nullptr) *shared = false;
    return false;
  }
  bool stored = store_.put(key, value);
  if (stored) {
    stats_.stores.inc();
    const bool put = shareStored(std::string(key), value);
    if (shared != nullptr) *shared = put;
  } else {
    refuse(kRefusalTooLarge);
  }
  syncGauges();
  return stored;
}

bool RouteCache::shareStored(const std::string& key, std::string_view value) {
  // Vary variants stay in this gateway's memory: their keys carry a
  // generation of this process, which no other gateway looks up.
  if (fleet_ == nullptr || key.find('\n') != std::string::npos) return false;
  thread_local std::vector<HttpHeaderField> fields;
  EntryView entry;
  entry.fields = &fields;
  if (!decode(value, entry)) return false;
  CacheResponseFacts facts =
      cacheResponseFacts(entry.status, fields, entry.request_time_ms, entry.response_time_ms);
  int64_t keep_ms = retentionMs(facts, policy_, wallClockMs());
  if (keep_ms <= 0) return false;
  std::vector<std::string> tags = cacheTags(fields);
  fleet_->put(label_, key, value, keep_ms, tags);
  stats_.shared_stores.inc();
  return true;
}

void RouteCache::refuse(size_t reason) {
  if (reason < stats_.refusals.size()) stats_.refusals[reason]->inc();
}

void RouteCache::retire() {
  store_.clear();
  syncGauges();  // the route's series read empty, as its new cache starts
  retired_ = true;
}

void RouteCache::syncGauges() {
  if (retired_) return;
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
    flow->rewrite_.extra_fields = surrogateCapabilityField();
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
    if (fleet_ != nullptr) {
      // The first miss waits too: for a look in Redis (wait() sends it).
      fill->second.phase = Fill::Phase::Lookup;
      return Start::Wait;
    }
    flow->filling_ = true;
    return Start::Forward;
  }

  const int64_t now = wallClockMs();
  CacheResponseFacts stored = storedFacts(entry, hit.value);
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
      flow->validators_.emplace_back(surrogateCapabilityField().front());
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
  Fill& fill = it->second;
  fill.waiters.push_back({const_cast<CacheFlow*>(&flow), std::move(wake)});
  if (fill.phase == Fill::Phase::PeerFetches) stats_.fill_waits.inc();
  if (fill.phase == Fill::Phase::Lookup && !fill.looking) {
    fill.looking = true;
    lookupShared(flow.key_);  // may answer at once (Redis down): last
  }
}

void RouteCache::lookupShared(const std::string& key) {
  fleet_->get(label_, key,
              [this, alive = alive_, key](bool ok, std::optional<std::string_view> value) {
                if (*alive) onSharedLookup(key, ok, value);
              });
}

void RouteCache::onSharedLookup(const std::string& key, bool ok,
                                std::optional<std::string_view> value) {
  auto it = fills_.find(key);
  if (it == fills_.end() || it->second.phase != Fill::Phase::Lookup) return;
  if (value && acceptShared(key, *value)) {
    wakeWaiters(key, WakeCause::SharedEntry);
    return;
  }
  if (!ok) {
    fetchFor(key);  // Redis is failing: this gateway alone, as a local route
    return;
  }
  fleet_->lock(label_, key, options_.fill_lock_ms,
               [this, alive = alive_, key](bool ok, bool acquired) {
                 if (*alive) onFillLock(key, ok, acquired);
               });
}

void RouteCache::onFillLock(const std::string& key, bool ok, bool acquired) {
  auto it = fills_.find(key);
  if (it == fills_.end() || it->second.phase != Fill::Phase::Lookup) return;
  if (!ok || acquired) {
    fetchFor(key);
    return;
  }
  // Another gateway fetches it: wait for its fill event, or its lock's
  // time, whichever comes first.
  it->second.phase = Fill::Phase::PeerFetches;
  stats_.fill_waits.inc(it->second.waiters.size());
  peer_deadlines_.emplace_back(clock_.nowMs() + options_.fill_lock_ms, key);
  if (peer_timer_ && !peer_timer_->enabled()) peer_timer_->enable(options_.fill_lock_ms);
}

bool RouteCache::acceptShared(const std::string& key, std::string_view value) {
  thread_local std::vector<HttpHeaderField> fields;
  EntryView entry;
  entry.fields = &fields;
  if (!decode(value, entry)) return false;
  // Packed facts are this gateway's to read from the fields: what came from
  // Redis is packed again at its first use here, never trusted as it is.
  std::string local(value);
  const PackedResponseFacts unpacked;
  std::memcpy(local.data() + offsetof(EntryHeader, facts), &unpacked, sizeof unpacked);
  if (!store_.put(key, local)) return false;
  syncGauges();
  entry.facts = unpacked;
  CacheResponseFacts facts = storedFacts(entry, {});
  ReuseDecision d = decideReuse(CacheRequestFacts{}, facts, wallClockMs(), policy_);
  return d.action == ReuseAction::ServeFresh;
}

void RouteCache::fetchFor(const std::string& key) {
  auto it = fills_.find(key);
  if (it == fills_.end()) return;
  Fill& fill = it->second;
  fill.phase = Fill::Phase::Fetching;
  if (fill.waiters.empty()) {
    fills_.erase(it);
    return;
  }
  Fill::Waiter first = std::move(fill.waiters.front());
  fill.waiters.erase(fill.waiters.begin());
  first.flow->filling_ = true;
  first.wake();  // answerWaiter() lets a filling flow go to a member
}

void RouteCache::wakeWaiters(const std::string& key, WakeCause cause) {
  auto it = fills_.find(key);
  if (it == fills_.end()) return;
  std::vector<Fill::Waiter> waiters = std::move(it->second.waiters);
  fills_.erase(it);
  for (Fill::Waiter& w : waiters) {
    w.flow->shared_hit_ = cause != WakeCause::Fetched;
    w.flow->collapsed_ = cause != WakeCause::SharedEntry;
    w.wake();
  }
}

void RouteCache::onPeerDeadline() {
  const int64_t now = clock_.nowMs();
  size_t due = 0;
  while (due < peer_deadlines_.size() && peer_deadlines_[due].first <= now) ++due;
  std::vector<std::string> keys;
  for (size_t i = 0; i < due; ++i) keys.push_back(std::move(peer_deadlines_[i].second));
  peer_deadlines_.erase(peer_deadlines_.begin(), peer_deadlines_.begin() + due);
  if (!peer_deadlines_.empty() && peer_timer_) {
    peer_timer_->enable(peer_deadlines_.front().first - now);
  }
  for (const std::string& key : keys) {
    auto it = fills_.find(key);
    // The other gateway's fill never came (it died, or its event was lost):
    // this one fetches.
    if (it != fills_.end() && it->second.phase == Fill::Phase::PeerFetches) fetchFor(key);
  }
}

void RouteCache::onPeerFilled(const std::string& key) {
  auto it = fills_.find(key);
  if (it == fills_.end() || it->second.phase != Fill::Phase::PeerFetches) return;
  it->second.phase = Fill::Phase::Lookup;  // one read of what it put
  fleet_->get(label_, key,
              [this, alive = alive_, key](bool, std::optional<std::string_view> value) {
                if (*alive) onPeerEntry(key, value);
              });
}

void RouteCache::onPeerEntry(const std::string& key, std::optional<std::string_view> value) {
  auto it = fills_.find(key);
  if (it == fills_.end() || it->second.phase != Fill::Phase::Lookup) return;
  // Stored: everyone is answered from it. Not stored (the answer could not
  // be, or Redis failed): each goes on by itself, as after a local fetch
  // that stored nothing.
  bool shared = value && acceptShared(key, *value);
  wakeWaiters(key, shared ? WakeCause::PeerFetched : WakeCause::Fetched);
}

void RouteCache::endFill(const std::string& key, bool shared) {
  auto it = fills_.find(key);
  if (it == fills_.end()) return;
  if (fleet_ != nullptr && !shared) fleet_->giveUp(label_, key);
  wakeWaiters(key, WakeCause::Fetched);
}

void RouteCache::wakeAll() {
  // The gateway is closing: the timer goes while the loop still runs.
  peer_timer_.reset();
  peer_deadlines_.clear();
  while (!fills_.empty()) wakeWaiters(fills_.begin()->first, WakeCause::Fetched);
}

bool RouteCache::answerWaiter(CacheFlow& flow, const HttpExchange& exchange) {
  if (flow.filling_) return false;  // chosen to fetch for the others
  std::vector<HttpHeaderField> request_fields = headerFieldViews(flow.request_fields_);
  thread_local std::vector<HttpHeaderField> entry_fields;
  EntryView entry;
  entry.fields = &entry_fields;
  LruCache::Hit hit;
  std::string variant_key;
  CacheForwardReason fwd;
  if (!lookup(flow.key_, request_fields, hit, entry, variant_key, fwd)) return false;
  CacheResponseFacts stored = storedFacts(entry, hit.value);
  ReuseDecision d = decideReuse(flow.facts_, stored, wallClockMs(), policy_);
  if (d.action != ReuseAction::ServeFresh && d.action != ReuseAction::ServeStale) return false;
  CacheStatus cs;
  cs.hit = true;
  cs.ttl_s = d.ttl_s;
  // Waiting for a fetch (here or on another gateway) is collapsing; an
  // entry read from Redis without waiting for one is a shared hit.
  if (flow.shared_hit_) stats_.shared_hits.inc();
  if (flow.collapsed_) {
    stats_.coalesced.inc();
    cs.collapsed = true;
  } else {
    cs.detail = "shared";
  }
  std::string cache_status = cacheStatusValue(cs);
  answerFromEntry(exchange, flow.method_, request_fields, entry, d.age_s, cache_status);
  return true;
}

size_t RouteCache::removeUri(const std::string& key) {
  return eraseUri(key);
}

size_t RouteCache::removeCollection(const std::string& key) {
  // The path with any query (or none), and with a trailing slash; a Vary
  // variant goes with its URI.
  return store_.eraseIf([&key](std::string_view k) {
    k = uriOfKey(k);
    if (!k.starts_with(key)) return false;
    std::string_view rest = k.substr(key.size());
    return rest.empty() || rest.front() == '?' || rest == "/" || rest.starts_with("/?");
  });
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
      if (fleet_ != nullptr) fleet_->removeUri(label_, key);
    } else {
      removed += removeCollection(key);
      if (fleet_ != nullptr) fleet_->removeCollection(label_, key);
    }
  }
  if (removed > 0) stats_.invalidated_by_write.inc(removed);
  syncGauges();
  REDGE_LOG(Debug, "gateway_cache_invalidated")
      .kv("route", label_)
      .kv("method", httpMethodName(method))
      .kv("target", target)
      .kv("status", static_cast<int64_t>(status))
      .kv("targets", static_cast<uint64_t>(targets.size()))
      .kv("removed", static_cast<uint64_t>(removed));
}

size_t RouteCache::purge(const PurgeRequest& request) {
  size_t removed = 0;
  if (request.target) {
    removed += store_.eraseIf([&request](std::string_view k) {
      return purgeUrlMatches(k, request.host, *request.target);
    });
  }
  if (request.prefix) {
    removed += store_.eraseIf([&request](std::string_view k) {
      return purgePrefixMatches(k, request.host, *request.prefix);
    });
  }
  if (!request.tags.empty()) {
    std::vector<HttpHeaderField> fields;
    removed +=
        store_.eraseIfValue([this, &request, &fields](std::string_view, std::string_view value) {
          EntryView entry;
          entry.fields = &fields;
          if (!decode(value, entry)) return false;
          for (const std::string& tag : cacheTags(fields)) {
            for (const std::string& wanted : request.tags) {
              if (tag == wanted) return true;
            }
          }
          return false;
        });
  }
  if (removed > 0) stats_.invalidated_by_purge.inc(removed);
  syncGauges();
  return removed;
}

void RouteCache::onFleetEvent(const FleetEvent& event) {
  size_t removed = 0;
  switch (event.kind) {
    case FleetEvent::Kind::Filled:
      onPeerFilled(event.a);
      return;
    case FleetEvent::Kind::Uri:
      removed = removeUri(event.a);
      break;
    case FleetEvent::Kind::Collection:
      removed = removeCollection(event.a);
      break;
    case FleetEvent::Kind::PurgeUrl:
    case FleetEvent::Kind::PurgePrefix:
    case FleetEvent::Kind::PurgeTag: {
      PurgeRequest r;
      if (event.kind == FleetEvent::Kind::PurgeTag) {
        r.tags.push_back(event.a);
      } else {
        r.host = event.a;
        (event.kind == FleetEvent::Kind::PurgeUrl ? r.target : r.prefix) = event.b;
      }
      purge(r);
      return;
    }
  }
  if (removed > 0) stats_.invalidated_by_peer.inc(removed);
  syncGauges();
}

void RouteCache::onFleetResubscribed() {
  store_.clear();
  syncGauges();
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
      // The entry is written as the answer comes: its head now, the body
      // as it streams, and it goes into the store as it is.
      thread_local std::vector<HttpHeaderField> stored_fields;
      std::string date;
      fieldsToStore(fields, rf.cache_control, response_time_ms_, stored_fields, date);
      std::vector<HttpHeaderField> request_views = headerFieldViews(request_fields_);
      vary_ = parseVary(fields);
      vary_key_ = secondaryCacheKey(vary_, request_views);
      beginEntry(capture_, status_, stored_fields, vary_key_, request_time_ms_, response_time_ms_,
                 head.content_length > 0 ? static_cast<size_t>(head.content_length) : 0);
      capture_head_ = capture_.size();
    } else {
      cache_.refuse(static_cast<size_t>(d.refusal));
      refusal = storeRefusalCode(d.refusal);
    }
  }
  cs.stored = capturing_;
  cs.detail = refusal;
  if (capturing_ && fwd_ == CacheForwardReason::UriMiss) {
    cache_status_view_ = "redge; fwd=uri-miss; stored";  // the common miss, without building it
  } else {
    cache_status_ = cacheStatusValue(cs);
    cache_status_view_ = cache_status_;
  }
  extra.emplace_back("Cache-Status", cache_status_view_);
  return capturing_ ? TapMode::Capture : TapMode::Pass;
}

void CacheFlow::onTapBody(std::string_view data) {
  if (!capturing_) return;
  if (capture_.size() - capture_head_ + data.size() >
      static_cast<size_t>(cache_.options_.max_object_bytes)) {
    // Announced as stored when the length was unknown; it is not.
    capturing_ = false;
    too_large_ = true;
    std::string().swap(capture_);
    cache_.refuse(kRefusalTooLarge);
    return;
  }
  capture_.append(data);
}

void CacheFlow::endFill() {
  if (!filling_) return;
  filling_ = false;
  cache_.endFill(key_, shared_);
}

void CacheFlow::onAnswered(const HttpExchange& exchange) {
  if (stale_on_error_) {
    answerStaleOnError(exchange, status_);
    return;
  }
  if (capturing_) {
    capturing_ = false;
    finishEntry(capture_);
    cache_.storeEncoded(cache_.placeVariant(key_, vary_, vary_key_), capture_, &shared_);
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
  // A 304 answers the conditional request made from this very entry, with
  // its validators: the entry is freshened even when the 304 names another
  // validator (the HTTP cache test suite requires it; the stored ETag and
  // body stay, as a 304 never replaces them), and counted apart.
  (notModifiedSelects(old_fields, not_modified) ? cache_.stats_.revalidated_not_modified
                                                : cache_.stats_.revalidated_other)
      .inc();
  StoredHeaderFields merged = mergeNotModified(old_fields, not_modified, response_time_ms_);
  value =
      encodeEntry(old.status, merged, old.vary_key, old.body, request_time_ms_, response_time_ms_);
  if (cache_.store_.put(key_, value)) {
    cache_.stats_.stores.inc();
    cache_.shareStored(key_, value);
    served = value;
  } else {
    value.clear();
  }
  cache_.syncGauges();
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
