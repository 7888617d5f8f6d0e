#pragma once
// The cache proxy's local store: at most `capacity` keys (and, when
// `max_bytes` is set, at most that many key + value bytes), least recently
// read evicted first, and every entry forgotten `ttl_ms` after it was
// stored. The gateway's response cache uses it too (gateway_cache.hpp),
// with the bytes bound and a ttl that only bounds how long a stale entry is
// kept for revalidation. Pure logic: time comes from the injected Clock.
//
// Memory: each entry is ONE allocation holding its list links, timestamps,
// key and value bytes; the index is an open-addressing table of pointers
// (linear probing, backward-shift deletion, so no tombstones), sized once
// for the capacity. get, put, erase and eviction are O(1) (expected, for the
// index; exactly, for the list).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace redge {

class LruCache {
 public:
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;      // dropped to make room
    uint64_t expirations = 0;    // found past their ttl
    uint64_t invalidations = 0;  // erased on request (keyspace events, flush)
  };

  // max_bytes 0: bounded by entries only.
  LruCache(const Clock& clock, size_t capacity, int64_t ttl_ms, size_t max_bytes = 0);
  ~LruCache();
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  struct Hit {
    std::string_view value;  // valid until the next put/erase/clear
    int64_t age_ms;          // time since it was stored
  };
  // Looks `key` up; a hit becomes the most recently read entry. An entry past
  // its ttl is dropped and reported as a miss.
  bool get(std::string_view key, Hit& out);
  // Stores (or replaces) `key`; evicts the least recently read entry when full.
  // With ttl 0 nothing is stored: every get is a miss. An entry larger than
  // max_bytes on its own is not stored (false), nor is one malloc refuses.
  bool put(std::string_view key, std::string_view value);
  bool erase(std::string_view key);
  // Erases every entry whose key `match` accepts (a walk over all entries:
  // for rare, broad invalidations); returns how many.
  template <typename Match>
  size_t eraseIf(const Match& match) {
    size_t erased = 0;
    for (Entry* e = head_; e != nullptr;) {
      Entry* next = nextOf(e);
      if (match(keyOf(e)) && erase(keyOf(e))) ++erased;
      e = next;
    }
    return erased;
  }
  // The same, when the decision needs the value: match(key, value).
  template <typename Match>
  size_t eraseIfValue(const Match& match) {
    size_t erased = 0;
    for (Entry* e = head_; e != nullptr;) {
      Entry* next = nextOf(e);
      if (match(keyOf(e), valueOf(e)) && erase(keyOf(e))) ++erased;
      e = next;
    }
    return erased;
  }
  void clear();

  // A reload's new bounds. A smaller capacity evicts the least recently read
  // entries at once (counted as evictions); the index is rebuilt when it no
  // longer fits the capacity. A new ttl applies to every entry, stored or
  // not: the age is measured from when it was stored.
  void setCapacity(size_t capacity);
  void setTtlMs(int64_t ttl_ms) { ttl_ms_ = ttl_ms; }
  int64_t ttlMs() const { return ttl_ms_; }

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t bytes() const { return bytes_; }  // key + value bytes held
  size_t maxBytes() const { return max_bytes_; }
  const Stats& stats() const { return stats_; }

  // For tests: keys from most to least recently read.
  std::vector<std::string_view> keysByRecency() const;

 private:
  struct Entry;
  static uint64_t hashKey(std::string_view key);
  static Entry* nextOf(Entry* e);
  static std::string_view keyOf(const Entry* e);
  static std::string_view valueOf(const Entry* e);
  size_t findSlot(std::string_view key, uint64_t hash) const;  // slot index or npos
  void unlinkFromList(Entry* e);
  void pushFront(Entry* e);
  void removeEntry(size_t slot);
  void removeSlot(size_t slot);
  void buildTable();  // sized for capacity_, every entry inserted again

  const Clock& clock_;
  size_t capacity_;
  int64_t ttl_ms_;
  size_t max_bytes_;
  std::vector<Entry*> table_;  // power of two, at least 2x capacity
  size_t mask_;
  size_t size_ = 0;
  size_t bytes_ = 0;
  Entry* head_ = nullptr;  // most recently read
  Entry* tail_ = nullptr;  // least recently read
  Stats stats_;
};

}  // namespace redge
