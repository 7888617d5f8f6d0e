// LoopHooks: two lists of callbacks run in registration order. Removal during
// a run blanks the entry and compacts afterwards, and additions during a run
// wait until it ends, so a hook may add or remove hooks (itself included)
// without invalidating the iteration.

#include "core/loop_hooks.hpp"

#include <algorithm>

namespace redge {

LoopHooks::HookId LoopHooks::add(bool after, Hook hook) {
  HookId id = next_id_++;
  if (running_ > 0) {
    added_while_running_.push_back({after, {id, std::move(hook)}});
  } else {
    (after ? after_ : before_).push_back({id, std::move(hook)});
  }
  return id;
}

void LoopHooks::remove(HookId id) {
  for (Added& a : added_while_running_) {
    if (a.entry.id == id) {
      a.entry.hook = nullptr;  // dropped when the run settles
      return;
    }
  }
  for (auto* list : {&after_, &before_}) {
    for (Entry& e : *list) {
      if (e.id != id) continue;
      e.hook = nullptr;
      if (running_ == 0) {
        compact(*list);
      } else {
        removed_while_running_ = true;
      }
      return;
    }
  }
}

void LoopHooks::run(std::vector<Entry>& list) {
  ++running_;
  // Nothing is added to or erased from the list while it runs (additions
  // wait, removals blank), so neither the size nor the elements move.
  for (Entry& e : list) {
    if (e.hook) e.hook();
  }
  if (--running_ == 0 && (removed_while_running_ || !added_while_running_.empty())) settle();
}

void LoopHooks::settle() {
  if (removed_while_running_) {
    removed_while_running_ = false;
    compact(after_);
    compact(before_);
  }
  for (Added& a : added_while_running_) {
    if (a.entry.hook) (a.after ? after_ : before_).push_back(std::move(a.entry));
  }
  added_while_running_.clear();
}

void LoopHooks::compact(std::vector<Entry>& list) {
  list.erase(std::remove_if(list.begin(), list.end(), [](const Entry& e) { return !e.hook; }),
             list.end());
}

}  // namespace redge
