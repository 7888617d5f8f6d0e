// OrderedReplies: slots by sequence number, found by offset from the front
// (sequence numbers of pending slots are consecutive but for answers made
// in their own dispatch, which never take a slot).

#include "net/stream/ordered_replies.hpp"

namespace redge {

OrderedReplies::Slot* OrderedReplies::endDispatch() {
  dispatching_ = false;
  if (answered_in_dispatch_) return nullptr;
  Slot slot;
  slot.seq = dispatch_seq_;
  slots_.push_back(std::move(slot));
  return &slots_.back();
}

OrderedReplies::Slot* OrderedReplies::find(uint64_t seq) {
  if (slots_.empty() || seq < slots_.front().seq) return nullptr;
  // Slots are in sequence order but not always consecutive, so search from
  // the guess by offset back towards the front.
  size_t i = static_cast<size_t>(seq - slots_.front().seq);
  if (i >= slots_.size()) i = slots_.size() - 1;
  for (;; --i) {
    if (slots_[i].seq == seq) return &slots_[i];
    if (slots_[i].seq < seq || i == 0) return nullptr;
  }
}

const OrderedReplies::Slot* OrderedReplies::find(uint64_t seq) const {
  return const_cast<OrderedReplies*>(this)->find(seq);
}

bool OrderedReplies::awaits(uint64_t seq) const {
  if (dispatching_ && seq == dispatch_seq_) return !answered_in_dispatch_;
  const Slot* s = find(seq);
  return s != nullptr && !s->ready && !s->split;
}

OrderedReplies::Target OrderedReplies::target(uint64_t seq) {
  if (dispatching_ && seq == dispatch_seq_) {
    if (answered_in_dispatch_) return {};
    answered_in_dispatch_ = true;
    if (slots_.empty()) return {&output_, nullptr};
    // Earlier answers are pending: this one waits behind them, ready.
    Slot slot;
    slot.seq = seq;
    slots_.push_back(std::move(slot));
    return {&slots_.back().bytes, &slots_.back()};
  }
  Slot* s = find(seq);
  if (s == nullptr || s->ready || s->split) return {};
  return {&s->bytes, s};
}

bool OrderedReplies::commit(const Target& target) {
  if (target.slot == nullptr) return false;  // the fast path: already in the output
  return markReady(*target.slot);
}

bool OrderedReplies::markReady(Slot& slot) {
  slot.ready = true;
  ready_bytes_ += slot.bytes.size();
  return &slot == &slots_.front();
}

bool OrderedReplies::split(uint64_t seq, size_t n) {
  if (n == 0) return false;
  Slot* s = nullptr;
  if (dispatching_ && seq == dispatch_seq_) {
    if (answered_in_dispatch_) return false;
    // The array takes the request's place in the order now; endDispatch()
    // must not add a second slot for it.
    answered_in_dispatch_ = true;
    Slot slot;
    slot.seq = seq;
    slots_.push_back(std::move(slot));
    s = &slots_.back();
  } else {
    s = find(seq);
    if (s == nullptr || s->ready || s->split) return false;
  }
  s->split = std::make_unique<Split>();
  s->split->parts.resize(n);
  s->split->in.assign(n, false);
  s->split->missing = n;
  return true;
}

bool OrderedReplies::awaitsPart(uint64_t seq, size_t part) const {
  const Slot* s = find(seq);
  return s != nullptr && s->split && part < s->split->in.size() && !s->split->in[part];
}

std::string* OrderedReplies::part(uint64_t seq, size_t part, Slot** slot) {
  Slot* s = find(seq);
  if (s == nullptr || s->ready || !s->split) return nullptr;
  Split& split = *s->split;
  if (part >= split.in.size() || split.in[part]) return nullptr;
  split.in[part] = true;
  *slot = s;
  return &split.parts[part];
}

bool OrderedReplies::moveReady() {
  while (!slots_.empty() && slots_.front().ready) {
    Slot& s = slots_.front();
    output_.append(s.bytes);
    ready_bytes_ -= s.bytes.size();
    bool close = s.close_after;
    slots_.pop_front();
    if (close) {
      clear();
      return true;
    }
  }
  return false;
}

}  // namespace redge
