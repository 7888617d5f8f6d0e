#pragma once
// A gateway route's response cache (issue 11, first slice: local memory
// only). The policy is the pure code of cache/ (RFC 9111, 9110's
// conditionals, 9211's Cache-Status); this file holds the store and joins
// the policy to a request:
//
// - RouteCache: one per cached route. Its store is the cache proxy's
//   LruCache (one allocation per entry, bounded by entries and by bytes),
//   keyed by the method-independent URI "http://<host><target>" (host in
//   lower case; a HEAD reads what a GET stored). An entry's value is the
//   stored answer in one block: status, times, the stored fields, the
//   secondary (Vary) key of the request that fetched it, the fields in the
//   wire form a hit writes, and the body. An answer without Vary is stored
//   under its URI (one lookup); answers with Vary are kept as up to
//   max_variants variants, each under its own key, listed by a record under
//   the URI (cache/variants.hpp, gateway_cache_variants.cpp).
// - begin(): what the route does with a request at its head: answer it from
//   the store (fresh hit, the client's 304 or 412, 504 only-if-cached), or
//   forward it with a CacheFlow attached (a miss, a revalidation, a write).
// - CacheFlow: the ResponseTap of one forwarded request. On a miss it tees
//   the streamed answer into a buffer (up to max_object_bytes) and stores it
//   when the try ends whole and decideStore allowed it; on a revalidation a
//   304 is absorbed, merged into the entry, and the client gets the entry;
//   on a write (POST, PUT, PATCH, DELETE) a non-error answer removes what
//   invalidationTargets() names.
// - RFC 5861 (gateway_cache_stale.cpp): stale-while-revalidate answers from
//   the stale entry at once and has the route's CacheRefresher refresh it
//   in the background (cache_refresh.hpp); stale-if-error answers a
//   forwarded request whose member failed (no answer, or 500/502/503/504,
//   which the tap then absorbs) from the stale entry it had found:
//   "redge; fwd=stale; fwd-status=503; ttl=-N; detail=stale-if-error".
//
// Metrics (labels route="<host><prefix>"):
//   redge_gateway_cache_hits_total, _misses_total, _stale_served_total,
//   _coalesced_total, _revalidations_total{result=not_modified|replaced|other},
//   _stores_total, _store_refusals_total{reason}, _invalidations_total,
//   _evictions_total, _entries, _bytes, _invalidations_total{cause=write|purge|peer},
//   _stale_if_error_total (and the refresher's _background_refreshes_total{result});
//   shared routes: _shared_hits_total, _shared_stores_total, _fill_waits_total.
//
// Coalescing: while a GET miss for a URI is being fetched, later GET misses
// for it wait (RouteCache::wait) and, when the fetch ends, are answered from
// what it stored ("redge; hit; ttl=N; collapsed") or, when it stored
// nothing they may use, forwarded each on its own.
//
// Shared routes (`shared: true`, cache_fleet.hpp): what is stored is also
// put in Redis with its retention (retention.hpp); a miss in memory waits
// for a look in Redis ("redge; hit; ttl=N; detail=shared" when it is
// there); when Redis has nothing, the first miss takes the fleet's fill
// lock and fetches, and when another gateway holds the lock the misses wait
// for its fill event (at most fill_lock_ms) and are answered from Redis.
// Writes and purges remove entries in Redis and, through the events
// channel, in every gateway's memory. When Redis fails, a shared route goes
// on as a local one.
//
// Lifetimes: the service owns its RouteCaches; a CacheFlow belongs to its
// request's state and points at its RouteCache, which outlives requests.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/timer.hpp"
#include "net/http/http_exchange.hpp"
#include "net/http/http_request.hpp"
#include "services/cacheproxy/lru_cache.hpp"
#include "services/gateway/cache/cache_status.hpp"
#include "services/gateway/cache/freshness.hpp"
#include "services/gateway/cache/packed_facts.hpp"
#include "services/gateway/cache/purge_request.hpp"
#include "services/gateway/cache/stored_fields.hpp"
#include "services/gateway/cache/vary.hpp"
#include "services/gateway/cache_fleet.hpp"
#include "services/gateway/cache_refresh.hpp"
#include "services/gateway/gateway_config.hpp"
#include "services/gateway/gateway_forward.hpp"

namespace redge {

class CacheFlow;

struct RouteCacheStats {
  Counter& hits;
  Counter& misses;
  Counter& coalesced;
  Counter& stale_served;
  Counter& revalidated_not_modified;
  Counter& revalidated_replaced;
  Counter& revalidated_other;
  Counter& stores;
  Counter& invalidated_by_write;
  Counter& invalidated_by_purge;
  Counter& invalidated_by_peer;
  Counter& shared_hits;
  Counter& shared_stores;
  Counter& fill_waits;
  Counter& evictions;
  Gauge& entries;
  Gauge& bytes;
  Counter& stale_if_error;
  std::vector<Counter*> refusals;  // by StoreRefusal, then kRefusalTooLarge
};

class RouteCache final : public CacheFleet::Member {
 public:
  // `fleet`: the gateway's shared cache in Redis, for a route with
  // `shared: true` (else null).
  RouteCache(const Clock& clock, TimerFactory& timers, MetricsRegistry& metrics, std::string label,
             const GatewayCacheOptions& options, CacheFleet* fleet);
  ~RouteCache() override;

  // What begin() did with a request.
  enum class Start {
    Answered,  // from the store (or 504): nothing to forward
    Forward,   // forward it; `flow` may be set (a tap, and maybe a rewrite)
    Wait,      // a miss while another request fetches the same URI: wait(), then look again
  };
  Start begin(HttpRequest& request, const HttpExchange& exchange, std::unique_ptr<CacheFlow>& flow);

  // Coalescing. A waiting request's `wake` runs once, when the fetch it
  // waits for has ended (stored or not), or at wakeAll() (the gateway
  // closing). Woken, answerWaiter() answers it from the store when what was
  // stored may answer it; else it is forwarded as the miss it was.
  void wait(const CacheFlow& flow, std::function<void()> wake);
  bool answerWaiter(CacheFlow& flow, const HttpExchange& exchange);
  void wakeAll();
  // A gateway reload dropped or changed the route: every entry goes now and
  // nothing is stored any more; fills in flight end, waiters wake and are
  // forwarded. Its series are left to the route's new cache, if any.
  void retire();
  // A request still holds it (a CacheFlow: forwarding, or waiting on a
  // fill). A retired cache that is not in use may be destroyed.
  bool inUse() const { return flows_ != 0; }

  // An operator's purge of this route's memory; how many entries went.
  size_t purge(const PurgeRequest& request);

  // CacheFleet::Member
  const std::string& label() const override { return label_; }
  void onFleetEvent(const FleetEvent& event) override;
  void onFleetResubscribed() override;
  bool shared() const { return fleet_ != nullptr; }

  const GatewayCacheOptions& options() const { return options_; }
  const CachePolicy& policy() const { return policy_; }
  size_t entries() const { return store_.size(); }

  // Stale-while-revalidate's background refreshes; null (the default): such
  // entries are revalidated in line. The refresher outlives its use here
  // (the gateway closes it before its connections, and never calls begin()
  // after).
  void setRefresher(CacheRefresher* refresher) { refresher_ = refresher; }
  // A background refresh's answer (`response` null: `error` says why none):
  // updates the entry under job.key as a revalidation would.
  RefreshResult applyRefresh(const RefreshJob& job, int64_t request_time_ms, HttpClientError error,
                             const HttpClientResponse* response);

 private:
  friend class CacheFlow;

  // The stored answer, decoded in place (views into the store's value, or
  // into a flow's copy of it); `fields` is the cache's scratch vector.
  struct EntryView {
    int status = 200;
    PackedResponseFacts facts;  // flags 0: not packed yet
    int64_t request_time_ms = 0;
    int64_t response_time_ms = 0;
    std::vector<HttpHeaderField>* fields = nullptr;
    std::string_view vary_key;
    std::string_view wire;  // "\r\nName: value" lines a hit writes
    std::string_view body;
  };

  bool decode(std::string_view value, EntryView& out);
  // The cache facts of a decoded entry: unpacked from its header when they
  // were packed, else parsed from its fields. `stored_value`, the entry's
  // bytes in the store (a Hit's value; empty for a copy), gets the packed
  // facts at their first reading.
  CacheResponseFacts storedFacts(const EntryView& entry, std::string_view stored_value);
  bool store(std::string_view key, int status, const StoredHeaderFields& fields,
             std::string_view vary_key, std::string_view body, int64_t request_time_ms,
             int64_t response_time_ms, bool* shared = nullptr);
  // Stores an encoded entry under `key`; `shared` says whether it went to
  // Redis too.
  bool storeEncoded(std::string_view key, std::string_view value, bool* shared = nullptr);
  void invalidate(HttpMethod method, int status, std::string_view target, std::string_view host,
                  std::span<const HttpHeaderField> response_fields);
  // Writes the entry to the client as a whole answer (a HEAD gets its head).
  void serve(const HttpExchange& exchange, const EntryView& entry, int64_t age_s,
             std::string_view cache_status);
  // A 304 from the entry for the client's own conditional request.
  void serveNotModified(const HttpExchange& exchange, const EntryView& entry, int64_t age_s,
                        std::string_view cache_status);
  void answerFromEntry(const HttpExchange& exchange, HttpMethod method,
                       std::span<const HttpHeaderField> request_fields, const EntryView& entry,
                       int64_t age_s, std::string_view cache_status);
  // A fetch some requests wait for, or a look in Redis they wait on.
  struct Fill {
    enum class Phase {
      Lookup,       // shared: GET (then maybe the lock) in Redis under way
      Fetching,     // a request of this gateway fetches from a member
      PeerFetches,  // another gateway holds the fill lock: wait for its event
    };
    struct Waiter {
      CacheFlow* flow;
      std::function<void()> wake;
    };
    Phase phase = Phase::Fetching;
    bool looking = false;  // the Redis lookup has been sent
    std::vector<Waiter> waiters;
  };

  // `shared`: the fetch's answer went to Redis, whose store script released
  // the fill lock and told the fleet; else this says the fill ended.
  void endFill(const std::string& key, bool shared);
  void lookupShared(const std::string& key);
  // The fleet's answers to a fill's lookup: the shared entry (or none),
  // then the fill lock.
  void onSharedLookup(const std::string& key, bool ok, std::optional<std::string_view> value);
  void onFillLock(const std::string& key, bool ok, bool acquired);
  // Keeps an entry read from Redis in memory; true when it may answer a
  // plain request now (fresh), which is what waiters need.
  bool acceptShared(const std::string& key, std::string_view value);
  void fetchFor(const std::string& key);  // the first waiter fetches, the rest wait on
  // Why waiters are woken: a fetch ended (theirs to look again), an entry
  // was found in Redis, or another gateway's fetch filled Redis.
  enum class WakeCause { Fetched, SharedEntry, PeerFetched };
  void wakeWaiters(const std::string& key, WakeCause cause);
  void onPeerDeadline();
  void onPeerFilled(const std::string& key);
  // The fleet's answer to the read of what the other gateway stored.
  void onPeerEntry(const std::string& key, std::optional<std::string_view> value);
  // Puts a stored entry in Redis for the fleet (shared routes; not Vary
  // variants, nor an entry with nothing left to keep): whether it did.
  bool shareStored(const std::string& key, std::string_view value);
  size_t removeUri(const std::string& key);
  size_t removeCollection(const std::string& key);
  void refuse(size_t reason);
  void syncGauges();
  void keyOf(std::string_view host, std::string_view target, std::string& out) const;

  // Vary variants (gateway_cache_variants.cpp). lookup(): the entry that
  // `request_fields` select under `uri_key` (one get without Vary; the
  // record, then the variant, with it); `variant_key` gets the variant's key
  // when it was one, and `fwd` says uri-miss or vary-miss when none.
  bool lookup(std::string_view uri_key, std::span<const HttpHeaderField> request_fields,
              LruCache::Hit& hit, EntryView& entry, std::string& variant_key,
              CacheForwardReason& fwd);
  // Where an answer with `response_fields` fetched with `vary_key` goes
  // under the URI of `key`: the URI itself without Vary (variants of it
  // dropped), else a variant key, the URI's record updated (and the oldest
  // variant dropped past max_variants).
  std::string placeVariant(std::string_view key, std::span<const HttpHeaderField> response_fields,
                           std::string_view vary_key);
  std::string placeVariant(std::string_view key, const VarySpec& spec, std::string_view vary_key);
  // Removes the entry under a URI key and, when it is a record, its
  // variants; how many answers went.
  size_t eraseUri(std::string_view uri_key);

  // RFC 5861 3 (gateway_cache_stale.cpp): answers from the stale entry and
  // starts a refresh of `entry_key` unless one runs.
  void serveStaleAndRefresh(const HttpExchange& exchange, HttpMethod method,
                            std::span<const HttpHeaderField> request_fields, const EntryView& entry,
                            std::string_view entry_key, std::string_view host, std::string target,
                            const ReuseDecision& d);

  const GatewayCacheOptions options_;
  const std::string label_;
  const Clock& clock_;
  CachePolicy policy_;
  LruCache store_;
  bool retired_ = false;
  RouteCacheStats stats_;
  uint64_t evictions_seen_ = 0;
  std::string key_scratch_;
  std::vector<HttpHeaderField> fields_scratch_;
  // The URIs a GET is being fetched (or looked up in Redis) for, with the
  // requests waiting on each.
  std::unordered_map<std::string, Fill> fills_;
  CacheFleet* fleet_;
  // Keys whose misses wait for another gateway's fill, by deadline (all
  // deadlines are now + fill_lock_ms, so in order); one timer for all.
  std::vector<std::pair<int64_t, std::string>> peer_deadlines_;
  TimerPtr peer_timer_;
  CacheRefresher* refresher_ = nullptr;
  uint64_t variant_generation_ = 0;  // the last VariantRecord::generation given
  size_t flows_ = 0;                 // live CacheFlows (each request's hold on this)
  // False once destroyed: the fleet's answers in flight (their callbacks
  // hold a copy) find it so and return.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class CacheFlow final : public ResponseTap {
 public:
  enum class Kind { Miss, Revalidate, Write, Pass };

  CacheFlow(RouteCache& cache, Kind kind) : cache_(cache), kind_(kind) { ++cache_.flows_; }
  ~CacheFlow() override { --cache_.flows_; }
  CacheFlow(const CacheFlow&) = delete;
  CacheFlow& operator=(const CacheFlow&) = delete;

  // The rewrite of the forwarded request: a miss's and a revalidation's
  // announce the gateway as a surrogate (Surrogate-Capability), and a
  // revalidation's carry the entry's validators instead of the client's
  // preconditions. Null for others.
  const RequestRewrite* rewrite() const {
    return kind_ == Kind::Revalidate || kind_ == Kind::Miss ? &rewrite_ : nullptr;
  }

  TapMode onTapHead(const HttpClientResponseHead& head,
                    std::vector<std::pair<std::string_view, std::string_view>>& extra) override;
  void onTapBody(std::string_view data) override;
  // The try ended with the member's answer passed on (or absorbed) whole:
  // stores what was captured, answers the client after an absorbed 304.
  void onAnswered(const HttpExchange& exchange);
  // The request is over (answered, failed or dropped): a fetch it made for
  // others ends, and they are woken.
  void endFill();
  // RFC 5861 4: the try failed (no answer: `status` empty; or the member's
  // 5xx, absorbed): when the request found a stale entry that may stand in
  // for an error, answers the client from it and returns true.
  bool answerStaleOnError(const HttpExchange& exchange, std::optional<int> status);

 private:
  friend class RouteCache;

  TapMode onMissHead(const HttpClientResponseHead& head, std::span<const HttpHeaderField> fields,
                     std::vector<std::pair<std::string_view, std::string_view>>& extra);
  // Whether the stale entry found (entry_) may answer instead of an error now.
  bool staleOnErrorAllowed() const;

  RouteCache& cache_;
  Kind kind_;
  std::string key_;
  std::string host_;    // a write's, for its invalidation targets
  std::string target_;  // likewise
  HttpMethod method_ = HttpMethod::Get;
  CacheForwardReason fwd_ = CacheForwardReason::Miss;
  CacheRequestFacts facts_;
  StoredHeaderFields request_fields_;  // for the secondary key of what is stored
  std::string entry_;  // the entry being revalidated (its encoded value), or a stale one forwarded
  std::vector<std::pair<std::string, std::string>> validators_;
  RequestRewrite rewrite_;
  bool head_request_ = false;
  bool filling_ = false;     // the fetch other misses for key_ wait for
  bool shared_ = false;      // what it fetched went to Redis for the fleet
  bool shared_hit_ = false;  // woken by an entry another gateway put in Redis
  bool collapsed_ = false;   // woken after waiting for a fetch, here or elsewhere
  bool client_conditional_ = false;
  bool stale_on_error_ = false;  // a member's 5xx absorbed: the stale entry answers
  int64_t request_time_ms_ = 0;
  // The answer being captured.
  bool capturing_ = false;
  bool absorbing_ = false;
  bool too_large_ = false;
  int status_ = 0;
  int64_t response_time_ms_ = 0;
  StoredHeaderFields response_fields_;  // an absorbed 304's
  std::string vary_key_;
  VarySpec vary_;            // the captured answer's
  std::string capture_;      // the entry being written: head, then the body so far
  size_t capture_head_ = 0;  // where its body starts
  std::string cache_status_;
  std::string_view cache_status_view_;  // cache_status_, or a constant
};

}  // namespace redge
