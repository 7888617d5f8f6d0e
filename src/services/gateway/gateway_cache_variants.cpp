// RouteCache's Vary variants (see cache/variants.hpp for the layout): the
// lookup a request makes, where a new answer is stored, and the removal of
// a URI with all its variants.
//
// The hot path is a URI whose answer has no Vary: one get, and the value is
// the answer. Only when the value under the URI is a VariantRecord does the
// lookup compute the request's secondary key from the record's field names
// and make a second get, for the variant.

#include <utility>

#include "services/gateway/cache/variants.hpp"
#include "services/gateway/cache/vary.hpp"
#include "services/gateway/gateway_cache.hpp"

namespace redge {

bool RouteCache::lookup(std::string_view uri_key, std::span<const HttpHeaderField> request_fields,
                        LruCache::Hit& hit, EntryView& entry, std::string& variant_key,
                        CacheForwardReason& fwd) {
  fwd = CacheForwardReason::UriMiss;
  if (!store_.get(uri_key, hit)) return false;
  if (decode(hit.value, entry)) {
    if (varyMatches(parseVary(*entry.fields), entry.vary_key, request_fields)) return true;
    fwd = CacheForwardReason::VaryMiss;
    return false;
  }
  VariantRecord record;
  if (!decodeVariantRecord(hit.value, record)) return false;
  fwd = CacheForwardReason::VaryMiss;
  VarySpec spec;
  spec.field_names = std::move(record.field_names);
  std::string key = variantKey(uri_key, record.generation, secondaryCacheKey(spec, request_fields));
  if (!store_.get(key, hit) || !decode(hit.value, entry)) return false;
  // The variant's own Vary decides, should it differ from the record's.
  if (!varyMatches(parseVary(*entry.fields), entry.vary_key, request_fields)) return false;
  variant_key = std::move(key);
  return true;
}

std::string RouteCache::placeVariant(std::string_view key,
                                     std::span<const HttpHeaderField> response_fields,
                                     std::string_view vary_key) {
  return placeVariant(key, parseVary(response_fields), vary_key);
}

std::string RouteCache::placeVariant(std::string_view key, const VarySpec& spec,
                                     std::string_view vary_key) {
  const std::string_view uri = uriOfKey(key);
  VariantRecord record;
  LruCache::Hit hit;
  const bool had_record = store_.get(uri, hit) && decodeVariantRecord(hit.value, record);
  auto dropAll = [&] {
    for (const std::string& k : record.secondary_keys) {
      store_.erase(variantKey(uri, record.generation, k));
    }
  };
  if (spec.empty()) {
    // The URI no longer varies: its answer goes under the URI itself, over
    // the record, and the variants go.
    if (had_record) dropAll();
    return std::string(uri);
  }
  if (!had_record || record.field_names != spec.field_names) {
    // A new selection (or the first): variants chosen by other fields no
    // longer answer anyone.
    if (had_record) dropAll();
    record = VariantRecord{};
    record.generation = ++variant_generation_;
    record.field_names = spec.field_names;
  }
  for (const std::string& dropped :
       addVariant(record, vary_key, static_cast<size_t>(options_.max_variants))) {
    store_.erase(variantKey(uri, record.generation, dropped));
  }
  store_.put(uri, encodeVariantRecord(record));
  return variantKey(uri, record.generation, vary_key);
}

size_t RouteCache::eraseUri(std::string_view uri_key) {
  size_t removed = 0;
  LruCache::Hit hit;
  VariantRecord record;
  if (store_.get(uri_key, hit) && decodeVariantRecord(hit.value, record)) {
    for (const std::string& k : record.secondary_keys) {
      removed += store_.erase(variantKey(uri_key, record.generation, k)) ? 1 : 0;
    }
    store_.erase(uri_key);
    return removed;
  }
  return store_.erase(uri_key) ? 1 : 0;
}

}  // namespace redge
