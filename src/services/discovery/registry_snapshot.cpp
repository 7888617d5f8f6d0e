// RegistrySnapshot: ordering loads and change messages by the registry's
// sequence numbers (see the header).

#include "services/discovery/registry_snapshot.hpp"

#include <algorithm>

namespace redge {

const InstanceRecord* RegistrySnapshot::find(std::string_view id) const {
  auto it = instances_.find(id);
  return it == instances_.end() ? nullptr : &it->second;
}

std::vector<InstanceRecord> RegistrySnapshot::ofService(std::string_view service) const {
  std::vector<InstanceRecord> out;
  for (const auto& [id, r] : instances_) {
    if (r.service == service) out.push_back(r);
  }
  return out;
}

size_t RegistrySnapshot::countOf(std::string_view service) const {
  size_t n = 0;
  for (const auto& [id, r] : instances_) n += r.service == service ? 1 : 0;
  return n;
}

void RegistrySnapshot::beginLoad() {
  // A second load before the first answered: its answer is the newer one,
  // and what is held is still needed on top of it (numbers tell which).
  loading_ = true;
}

std::vector<RegistryChange> RegistrySnapshot::finishLoad(const RegistryLoad& load, bool& gap) {
  std::vector<RegistryChange> out;
  std::map<std::string, InstanceRecord, std::less<>> next;
  for (const auto& r : load.instances) next[r.id] = r;
  for (const auto& [id, r] : instances_) {
    if (next.find(id) == next.end()) out.push_back({ChangeOp::Removed, "resync", r});
  }
  for (const auto& [id, r] : next) {
    auto it = instances_.find(id);
    if (it == instances_.end()) {
      out.push_back({ChangeOp::Added, "resync", r});
    } else if (!it->second.sameIdentity(r)) {
      out.push_back({ChangeOp::Updated, "resync", r});
    }
  }
  instances_ = std::move(next);
  // The load is the truth at its number, even below the last one seen:
  // Redis may have restarted and counted again from zero.
  seq_ = load.seq;
  loaded_ = true;
  loading_ = false;
  gap = held_overflow_;
  held_overflow_ = false;
  applyHeld(out, gap);
  return out;
}

std::vector<RegistryChange> RegistrySnapshot::abandonLoad(bool& gap) {
  std::vector<RegistryChange> out;
  loading_ = false;
  gap = held_overflow_;
  held_overflow_ = false;
  applyHeld(out, gap);
  return out;
}

void RegistrySnapshot::applyHeld(std::vector<RegistryChange>& out, bool& gap) {
  std::vector<RegistryMessage> held = std::move(held_);
  held_.clear();
  for (const auto& m : held) {
    bool skipped = false;
    std::vector<RegistryChange> changes = apply(m, skipped);
    gap = gap || skipped;
    for (auto& c : changes) out.push_back(std::move(c));
  }
}

std::vector<RegistryChange> RegistrySnapshot::apply(const RegistryMessage& m, bool& gap) {
  std::vector<RegistryChange> out;
  gap = false;
  if (loading_) {
    if (held_.size() < kMaxHeld) {
      held_.push_back(m);
    } else {
      held_overflow_ = true;
    }
    return out;
  }
  if (loaded_) {
    if (m.seq <= seq_) return out;  // the load (or an earlier message) had it already
    gap = m.seq > seq_ + 1;
  }
  // Before any load there is nothing to check against: apply, and let the
  // load that must follow settle it.
  seq_ = std::max(seq_, m.seq);
  applyOne(m, out);
  return out;
}

void RegistrySnapshot::applyOne(const RegistryMessage& m, std::vector<RegistryChange>& out) {
  auto it = instances_.find(m.id);
  if (m.op == ChangeOp::Removed) {
    if (it == instances_.end()) return;
    out.push_back({ChangeOp::Removed, m.reason, it->second});
    instances_.erase(it);
    return;
  }
  const InstanceRecord& r = *m.instance;
  if (it == instances_.end()) {
    instances_.emplace(r.id, r);
    out.push_back({ChangeOp::Added, m.reason, r});
    return;
  }
  bool same = it->second.sameIdentity(r);
  it->second = r;
  // An "added" for an instance already here (its hash had expired and its
  // heartbeat wrote it again) changes nothing a follower acts on unless its
  // data differ.
  if (!same) out.push_back({ChangeOp::Updated, m.reason, r});
}

}  // namespace redge
