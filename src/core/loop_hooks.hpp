#pragma once
// The one place work is attached to the loop's iteration, as Redis has one
// beforeSleep: after-poll hooks run once the iteration's I/O callbacks are
// done (flush the answers they produced, batch what they recorded), then
// before-poll hooks run just before the loop blocks (write the Redis
// commands queued meanwhile). Each list runs in registration order, so the
// order is written down where the modules are put together, not implied by
// handle start order.
//
// LoopHooks itself knows no libuv: UvLoopHooks (core/uv_runtime) runs the
// lists from one uv_check_t and one uv_prepare_t, and a test calls
// runAfterPoll()/runBeforePoll() itself.

#include <cstdint>
#include <functional>
#include <vector>

namespace redge {

class LoopHooks {
 public:
  using Hook = std::function<void()>;
  using HookId = uint64_t;

  // A hook added from inside a hook runs from the next iteration on.
  HookId addAfterPoll(Hook hook) { return add(true, std::move(hook)); }
  HookId addBeforePoll(Hook hook) { return add(false, std::move(hook)); }
  // Removes a hook; safe from inside a hook (it does not run again).
  void remove(HookId id);

  void runAfterPoll() { run(after_); }
  void runBeforePoll() { run(before_); }
  bool empty() const {
    return after_.empty() && before_.empty() && added_while_running_.empty();
  }

  // A before-poll hook that made work another hook has already passed over
  // this round (an answer written from a timer may take up pipelined
  // requests, which queue Redis commands) asks for one more round: the loop
  // then polls without blocking, and every hook runs again.
  void requestRound() { round_requested_ = true; }
  bool takeRoundRequest() {
    bool requested = round_requested_;
    round_requested_ = false;
    return requested;
  }

 private:
  struct Entry {
    HookId id;
    Hook hook;  // empty once removed; compacted after the run
  };
  // Hooks added while a list runs wait here (a vector that grew would move
  // the hook that is running), and join their list when the run ends.
  struct Added {
    bool after;
    Entry entry;
  };
  HookId add(bool after, Hook hook);
  void run(std::vector<Entry>& list);
  void settle();
  static void compact(std::vector<Entry>& list);

  std::vector<Entry> after_;
  std::vector<Entry> before_;
  std::vector<Added> added_while_running_;
  HookId next_id_ = 1;
  int running_ = 0;
  bool removed_while_running_ = false;
  bool round_requested_ = false;
};

}  // namespace redge
