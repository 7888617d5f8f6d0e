#pragma once
// Answers in request order, for any protocol that pipelines: request N's
// answer never leaves before request N-1's, however the answers arrive.
//
// The fast path costs nothing: an answer made while its request is being
// dispatched, with nothing earlier pending, is written straight into the
// output buffer. Otherwise the request keeps a slot, in sequence order, that
// its answer fills later; ready answers at the front move to the output.
//
// A slot carries two small fields a codec may use to finish a late answer
// (HTTP keeps the route, the framing and the start time there), and may be
// split: an array whose elements arrive one by one (RESP's EXEC), joined
// when the last is in.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace redge {

class OrderedReplies {
 public:
  struct Split {
    std::vector<std::string> parts;
    std::vector<bool> in;
    size_t missing = 0;
  };
  struct Slot {
    uint64_t seq = 0;
    bool ready = false;
    bool close_after = false;  // nothing after this answer is written
    std::string bytes;
    int64_t started_us = 0;  // the codec's: when the request began
    int32_t tag = -1;        // the codec's: e.g. the route
    uint32_t flags = 0;      // the codec's: e.g. the framing
    std::unique_ptr<Split> split;
  };
  // Where an answer's bytes go: `bytes` is null when nothing awaits it.
  struct Target {
    std::string* bytes = nullptr;
    Slot* slot = nullptr;  // null on the fast path (straight into the output)
  };

  explicit OrderedReplies(std::string& output) : output_(output) {}

  // Dispatch of one request: its sequence number, then (after the handler
  // returned) the slot it keeps if it was not answered meanwhile.
  uint64_t beginDispatch() {
    dispatching_ = true;
    dispatch_seq_ = next_seq_++;
    answered_in_dispatch_ = false;
    return dispatch_seq_;
  }
  Slot* endDispatch();
  bool dispatching() const { return dispatching_; }
  uint64_t dispatchSeq() const { return dispatch_seq_; }

  // True while the answer to `seq` is still expected.
  bool awaits(uint64_t seq) const;
  // Where the answer to `seq` goes; then commit() once its bytes are in.
  Target target(uint64_t seq);
  // Returns true when answers can move to the output now (the front one is
  // ready): the caller then calls moveReady() and flushes.
  bool commit(const Target& target);

  // Makes the answer to `seq` an array of n elements (see Split); false if
  // nothing awaits it. Then part() and commitPart() per element.
  bool split(uint64_t seq, size_t n);
  bool awaitsPart(uint64_t seq, size_t part) const;
  // The element's bytes go in *returned string, or null if not awaited.
  std::string* part(uint64_t seq, size_t part, Slot** slot);
  // Counts the element in; when it was the last, `join` makes the slot's
  // bytes from the parts and the slot is committed (same return as commit).
  template <typename Join>
  bool commitPart(Slot* slot, Join&& join) {
    if (--slot->split->missing != 0) return false;
    join(*slot->split, slot->bytes);
    slot->split.reset();
    return markReady(*slot);
  }

  // Moves ready answers at the front to the output. True if one of them
  // closes the connection (everything after it is dropped).
  bool moveReady();

  size_t pending() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  size_t readyBytes() const { return ready_bytes_; }
  void clear() {
    slots_.clear();
    ready_bytes_ = 0;
  }

 private:
  Slot* find(uint64_t seq);
  const Slot* find(uint64_t seq) const;
  bool markReady(Slot& slot);

  std::string& output_;
  std::deque<Slot> slots_;  // from the oldest pending answer on
  uint64_t next_seq_ = 0;
  bool dispatching_ = false;
  uint64_t dispatch_seq_ = 0;
  bool answered_in_dispatch_ = false;
  size_t ready_bytes_ = 0;  // bytes of ready answers still in slots_
};

}  // namespace redge
