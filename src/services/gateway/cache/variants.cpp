// The variant record of a URI whose answers carry Vary (see variants.hpp):
// its binary form in the store and the bound on variants kept.
//
//   magic "RGV1" (u32) | generation (u64) | field count (u32)
//   | (u32 length, name)... | key count (u32) | (u32 length, key)...
//
// Integers are copied with memcpy in host order (the value has no
// alignment); every length is checked against what is left, so a damaged
// value decodes as "not a record" rather than reading past its end.

#include "services/gateway/cache/variants.hpp"

#include <algorithm>
#include <cstring>

namespace redge {
namespace {

constexpr uint32_t kVariantRecordMagic = 0x31564752;  // "RGV1" in memory order

template <typename T>
void appendPod(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
bool readPod(std::string_view in, size_t& at, T& v) {
  if (in.size() - at < sizeof v) return false;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return true;
}

void appendStrings(std::string& out, const std::vector<std::string>& list) {
  appendPod(out, static_cast<uint32_t>(list.size()));
  for (const std::string& s : list) {
    appendPod(out, static_cast<uint32_t>(s.size()));
    out.append(s);
  }
}

bool readStrings(std::string_view in, size_t& at, std::vector<std::string>& out) {
  uint32_t count = 0;
  if (!readPod(in, at, count)) return false;
  // Each string takes at least its length word: a count beyond that is damage.
  if (count > (in.size() - at) / sizeof(uint32_t)) return false;
  out.clear();
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    if (!readPod(in, at, len) || in.size() - at < len) return false;
    out.emplace_back(in.substr(at, len));
    at += len;
  }
  return true;
}

}  // namespace

std::string encodeVariantRecord(const VariantRecord& record) {
  std::string out;
  size_t size = 20;
  for (const std::string& s : record.field_names) size += 4 + s.size();
  for (const std::string& s : record.secondary_keys) size += 4 + s.size();
  out.reserve(size);
  appendPod(out, kVariantRecordMagic);
  appendPod(out, record.generation);
  appendStrings(out, record.field_names);
  appendStrings(out, record.secondary_keys);
  return out;
}

bool decodeVariantRecord(std::string_view value, VariantRecord& out) {
  size_t at = 0;
  uint32_t magic = 0;
  if (!readPod(value, at, magic) || magic != kVariantRecordMagic) return false;
  if (!readPod(value, at, out.generation)) return false;
  if (!readStrings(value, at, out.field_names)) return false;
  if (!readStrings(value, at, out.secondary_keys)) return false;
  return at == value.size();
}

std::string variantKey(std::string_view uri_key, uint64_t generation,
                       std::string_view secondary_key) {
  std::string key;
  key.reserve(uri_key.size() + secondary_key.size() + 22);
  key.append(uri_key).append(1, '\n').append(std::to_string(generation)).append(1, '\n');
  key.append(secondary_key);
  return key;
}

std::vector<std::string> addVariant(VariantRecord& record, std::string_view secondary_key,
                                    size_t max_variants) {
  std::vector<std::string>& keys = record.secondary_keys;
  auto it = std::find(keys.begin(), keys.end(), secondary_key);
  if (it != keys.end()) keys.erase(it);
  keys.emplace_back(secondary_key);
  const size_t keep = std::max<size_t>(1, max_variants);
  std::vector<std::string> dropped;
  if (keys.size() > keep) {
    const auto excess = static_cast<std::ptrdiff_t>(keys.size() - keep);
    dropped.assign(std::make_move_iterator(keys.begin()),
                   std::make_move_iterator(keys.begin() + excess));
    keys.erase(keys.begin(), keys.begin() + excess);
  }
  return dropped;
}

}  // namespace redge
