// LoopHooks: two lists of callbacks run in registration order. Removal during
// a run blanks the entry and compacts afterwards, so a hook may remove
// itself or another without invalidating the iteration.

#include "core/loop_hooks.hpp"

#include <algorithm>

namespace redge {

LoopHooks::HookId LoopHooks::add(std::deque<Entry>& list, Hook hook) {
  HookId id = next_id_++;
  list.push_back({id, std::move(hook)});
  return id;
}

void LoopHooks::remove(HookId id) {
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

void LoopHooks::run(std::deque<Entry>& list) {
  ++running_;
  // By index over a deque: a hook may add hooks (appending moves no
  // element, and they run from the next iteration on, since the size is read
  // once) or remove them (blanked, skipped, compacted after the run).
  const size_t n = list.size();
  for (size_t i = 0; i < n && i < list.size(); ++i) {
    if (list[i].hook) list[i].hook();
  }
  if (--running_ == 0 && removed_while_running_) {
    removed_while_running_ = false;
    compact(after_);
    compact(before_);
  }
}

void LoopHooks::compact(std::deque<Entry>& list) {
  list.erase(std::remove_if(list.begin(), list.end(), [](const Entry& e) { return !e.hook; }),
             list.end());
}

}  // namespace redge
