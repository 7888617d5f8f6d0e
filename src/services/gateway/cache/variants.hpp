#pragma once
// Several Vary variants of one URI in the gateway's store (RFC 9111 4.1: a
// cache may keep more than one response for a URI, selected by the request
// fields Vary names). Pure: the record's encoding, the keys, the bound.
//
// Layout in the store (one LruCache per route, keyed by strings):
//
//   "<uri>"                           an answer without Vary (one lookup), or
//                                     the URI's VariantRecord
//   "<uri>\n<generation>\n<secondary>" one variant (the answer to requests
//                                     whose secondary key is <secondary>)
//
// A request target never holds a line feed, so "<uri>" is the key up to the
// first '\n' (uriOfKey). The record lists the Vary field names of the URI's
// answers and the secondary keys of the variants stored, oldest first, at
// most the route's max_variants. Its generation is new each time a record is
// made, and is part of every variant's key, so variants left behind by a
// record that is gone (evicted, invalidated, replaced by another Vary) are
// never found again; the LRU drops them in time.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

struct VariantRecord {
  uint64_t generation = 0;
  // The selecting field names, as VarySpec holds them (lowercase, sorted).
  std::vector<std::string> field_names;
  // The variants stored, oldest first.
  std::vector<std::string> secondary_keys;
};

std::string encodeVariantRecord(const VariantRecord& record);
// False when `value` is not a record (a stored answer) or is malformed.
bool decodeVariantRecord(std::string_view value, VariantRecord& out);

// "<uri_key>\n<generation>\n<secondary_key>".
std::string variantKey(std::string_view uri_key, uint64_t generation,
                       std::string_view secondary_key);

// The URI part of a store key (the whole key when it names no variant).
inline std::string_view uriOfKey(std::string_view key) {
  return key.substr(0, key.find('\n'));
}

// Records `secondary_key` as the newest variant (moved to the end when it
// is listed already) and returns the secondary keys dropped to keep at most
// `max_variants` (at least 1), oldest first.
std::vector<std::string> addVariant(VariantRecord& record, std::string_view secondary_key,
                                    size_t max_variants);

}  // namespace redge
