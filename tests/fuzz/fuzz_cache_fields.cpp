// libFuzzer target for the gateway cache's header logic
// (src/services/gateway/cache/ and parseHttpDate): every field value a
// cache reads comes from clients and origins.
//
// Input: byte 0 picks the setup, bytes 1-2 how long after the response
// the reuse decision is asked (little-endian, in 16 s steps), the rest is a
// request header block and a response header block split at the first NUL,
// one "name:value" field per '\n'-separated line.
//   bits 0-3  response status (200, 203, 204, 206, 301, 302, 304, 404, 410,
//             500, 503, 0, 99, 299, 999, 1000)
//   bits 4-6  request method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, other)
//   bit 7     invalidate_parent
//
// Checked, any failure traps:
//   - parseHttpDate: a parsed date formats back to a date that parses to
//     the same second (for years 1000-9999);
//   - Cache-Control durations stay within 0..2^31;
//   - lifetime and age are never negative; the Age to send is within 2^31;
//     ServeFresh only when fresh; a 504 only for only-if-cached; a stored
//     decision only for GET and never for Vary: *;
//   - a request always matches the Vary key made from itself, but never
//     under Vary: *;
//   - every invalidation target is an origin-form path without dot segments;
//   - fieldsToStore and mergeNotModified keep exactly one valid Date;
//   - Cache-Status values hold only visible ASCII and spaces;
//   - packed response facts unpack to the parsed ones;
//   - a purge body read as a purge names something, paths start with '/',
//     tags hold no space, comma or newline; a fleet message read back from
//     its text is the same message;
//   - a Vary variant record decoded from any bytes encodes back to them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/http_date.hpp"
#include "services/gateway/cache/cache_control.hpp"
#include "services/gateway/cache/cache_status.hpp"
#include "services/gateway/cache/conditional.hpp"
#include "services/gateway/cache/field_values.hpp"
#include "services/gateway/cache/fleet_event.hpp"
#include "services/gateway/cache/freshness.hpp"
#include "services/gateway/cache/invalidation.hpp"
#include "services/gateway/cache/packed_facts.hpp"
#include "services/gateway/cache/purge_request.hpp"
#include "services/gateway/cache/retention.hpp"
#include "services/gateway/cache/stored_fields.hpp"
#include "services/gateway/cache/variants.hpp"
#include "services/gateway/cache/vary.hpp"

namespace {

using namespace redge;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr int kStatuses[16] = {200, 203, 204, 206, 301, 302, 304, 404,
                               410, 500, 503, 0,   99,  299, 999, 1000};
constexpr HttpMethod kMethods[8] = {HttpMethod::Get,     HttpMethod::Head,  HttpMethod::Post,
                                    HttpMethod::Put,     HttpMethod::Patch, HttpMethod::Delete,
                                    HttpMethod::Options, HttpMethod::Other};
constexpr int64_t kResponseTimeMs = 1795935600000;  // 2026-11-29 07:00:00 UTC
constexpr int64_t kYear1000 = -30610224000;
constexpr int64_t kYear10000 = 253402300800;

std::vector<HttpHeaderField> fieldsOf(std::string_view block) {
  std::vector<HttpHeaderField> out;
  while (!block.empty()) {
    const size_t nl = block.find('\n');
    const std::string_view line = block.substr(0, nl);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      out.push_back({line, {}});
    } else {
      out.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
    if (nl == std::string_view::npos) break;
    block.remove_prefix(nl + 1);
  }
  return out;
}

void checkDates(const std::vector<HttpHeaderField>& fields) {
  for (const HttpHeaderField& f : fields) {
    const std::optional<int64_t> t = parseHttpDate(f.value, kResponseTimeMs / 1000);
    if (t && *t >= kYear1000 && *t < kYear10000) check(parseHttpDate(formatHttpDate(*t)) == *t);
  }
}

void checkDurations(const CacheControl& cc) {
  for (const std::optional<int64_t>& d : {cc.max_age, cc.s_maxage, cc.stale_while_revalidate,
                                          cc.stale_if_error, cc.min_fresh, cc.max_stale_seconds}) {
    if (d) check(*d >= 0 && *d <= kDeltaSecondsMax);
  }
}

void checkOneDate(const StoredHeaderFields& stored) {
  int dates = 0;
  for (const auto& [name, value] : stored) {
    if (name.size() == 4 && (name[0] | 0x20) == 'd' && (name[1] | 0x20) == 'a' &&
        (name[2] | 0x20) == 't' && (name[3] | 0x20) == 'e') {
      ++dates;
    }
  }
  const std::vector<HttpHeaderField> views = headerFieldViews(stored);
  const std::optional<std::string_view> date = firstFieldLine(views, "date");
  // The first Date is valid (one is added when the message had none valid);
  // a message may carry further Date lines of its own.
  check(dates >= 1 && date && parseHttpDate(*date).has_value());
}

bool isVisibleAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int status = kStatuses[data[0] & 15];
  const HttpMethod method = kMethods[(data[0] >> 4) & 7];
  const bool invalidate_parent = (data[0] & 128) != 0;
  const int64_t later_ms = int64_t{data[1] | (data[2] << 8)} * 16000;
  const std::string_view text(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t nul = text.find('\0');
  const std::vector<HttpHeaderField> request = fieldsOf(text.substr(0, nul));
  const std::vector<HttpHeaderField> response =
      fieldsOf(nul == std::string_view::npos ? std::string_view() : text.substr(nul + 1));

  checkDates(request);
  checkDates(response);

  const CacheRequestFacts req = cacheRequestFacts(method, request);
  const CacheResponseFacts res =
      cacheResponseFacts(status, response, kResponseTimeMs - 250, kResponseTimeMs);
  checkDurations(req.cache_control);
  checkDurations(res.cache_control);
  check(res.age_s >= 0 && res.age_s <= kDeltaSecondsMax);

  for (const CachePolicy& policy :
       {CachePolicy{}, CachePolicy{.default_ttl_ms = 60000},
        CachePolicy{.stale_while_revalidate_ms = 30000, .stale_if_error_ms = 86'400'000}}) {
    const FreshnessLifetime lifetime = freshnessLifetime(res, policy);
    check(lifetime.ms >= 0);
    const int64_t now = kResponseTimeMs + later_ms;
    check(currentAgeMs(res, now) >= 0);
    const StoreDecision stored = decideStore(req, res, policy);
    if (stored.store) check(method == HttpMethod::Get && !res.vary_any);
    check(stored.store == (stored.refusal == StoreRefusal::None));
    const ReuseDecision reuse = decideReuse(req, res, now, policy);
    check(reuse.age_s >= 0 && reuse.age_s <= kDeltaSecondsMax);
    if (reuse.action == ReuseAction::ServeFresh) check(reuse.fresh && reuse.ttl_s >= 0);
    if (reuse.action == ReuseAction::GatewayTimeout) check(req.cache_control.only_if_cached);
    (void)mayServeStaleOnError(req, res, now, policy);
  }

  const VarySpec vary = parseVary(response);
  const std::string key = secondaryCacheKey(vary, request);
  check(varyMatches(vary, key, request) == !vary.any);

  const std::optional<std::string_view> host = firstFieldLine(request, "host");
  const RequestOrigin origin{"http", host.value_or("shop.example")};
  for (const InvalidationTarget& t :
       invalidationTargets(method, status, "/a/b?c", origin, response, invalidate_parent)) {
    check(!t.path_and_query.empty() && t.path_and_query.front() == '/');
    const std::string_view path =
        std::string_view(t.path_and_query).substr(0, t.path_and_query.find('?'));
    check(path.find("/./") == std::string_view::npos &&
          path.find("/../") == std::string_view::npos);
    check(!path.ends_with("/.") && !path.ends_with("/.."));
  }
  check(cacheTags(response).size() <= kMaxCacheTags);

  const StoredHeaderFields stored = fieldsToStore(response, kResponseTimeMs);
  checkOneDate(stored);
  const std::vector<HttpHeaderField> stored_views = headerFieldViews(stored);
  checkOneDate(mergeNotModified(stored_views, request, kResponseTimeMs + later_ms));
  (void)evaluateConditionalRequest(method, request, stored_views, kResponseTimeMs);
  (void)notModifiedSelects(stored_views, request);
  (void)notModifiedResponseFields(stored_views);
  (void)revalidationRequestFields(stored_views);

  // Packed into an entry, the response's facts unpack to the parsed ones.
  PackedResponseFacts packed;
  if (packResponseFacts(res, packed)) {
    check(unpackResponseFacts(packed, res.status, res.request_time_ms, res.response_time_ms) ==
          res);
  }

  // The shared cache's inputs: a stored response's retention (UBSan
  // watches its arithmetic), an operator's purge body and a fleet message.
  (void)retentionMs(res, CachePolicy{}, kResponseTimeMs + later_ms);
  const PurgeParse purge = parsePurgeRequest(text);
  check(purge.request.has_value() == purge.error.empty());
  if (purge.request) {
    check(purge.request->target || purge.request->prefix || !purge.request->tags.empty());
    if (purge.request->target) check(purge.request->target->starts_with('/'));
    if (purge.request->prefix) check(purge.request->prefix->starts_with('/'));
    for (const std::string& tag : purge.request->tags) {
      check(!tag.empty() && tag.find_first_of(" ,\n") == std::string::npos);
    }
  }
  if (const std::optional<FleetEvent> event = decodeFleetEvent(text)) {
    const std::optional<FleetEvent> again = decodeFleetEvent(encodeFleetEvent(*event));
    check(again.has_value() && *again == *event);
  }
  check(cacheKeyHost(text).size() <= text.size());

  CacheStatus cs;
  cs.forward = CacheForwardReason::Stale;
  cs.ttl_s = later_ms;
  cs.detail = text.substr(0, std::min<size_t>(text.size(), 64));
  check(isVisibleAscii(cacheStatusValue(cs)));

  // The store's values may one day come from elsewhere (Redis): a record
  // is read only when it is whole and exactly what its encoding gives.
  VariantRecord record;
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  for (const std::string_view sample : {raw, text}) {
    if (decodeVariantRecord(sample, record)) check(encodeVariantRecord(record) == sample);
  }
  return 0;
}
