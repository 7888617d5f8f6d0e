#pragma once
// Runs the commands POST /spawn and POST /destroy start (their argv
// templates, expanded) with uv_spawn, so the loop never waits for one: the
// exit is a callback, and the child is reaped there.
//
// Lifetimes: each running command is one uv_process_t, owned by this
// runner; its one close path starts in the exit callback (or in close()),
// and its memory is freed in the close callback. A command runs in its own
// session (UV_PROCESS_DETACHED): a spawned instance outlives the redge that
// started it, and a Ctrl-C meant for redge does not reach it. close() lets
// every command go: their handles close, their exit callbacks never run,
// the processes keep running.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace redge {

class CommandRunner {
 public:
  // exit_status: the status of a normal exit; term_signal: the signal that
  // ended it, or 0.
  using ExitCallback = std::function<void(int64_t exit_status, int term_signal)>;

  explicit CommandRunner(uv_loop_t* loop) : loop_(loop) {}
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;

  // Starts argv[0] (looked up in PATH) with `argv`, stdin from /dev/null,
  // stdout and stderr to redge's stderr (inherit_output) or /dev/null, the
  // environment redge's own. Returns the command's id (> 0) and sets *pid,
  // or a libuv error code (< 0), and then `on_exit` never runs.
  int64_t run(const std::vector<std::string>& argv, bool inherit_output, ExitCallback on_exit,
              int* pid);
  // SIGTERM to a command still running; nothing once it has exited.
  void terminate(int64_t id);
  void close();
  size_t running() const { return children_.size(); }

 private:
  struct Child {
    uv_process_t process;
    CommandRunner* owner;
    int64_t id;
    ExitCallback on_exit;
  };
  static void onExitCb(uv_process_t* process, int64_t exit_status, int term_signal) noexcept;
  static void onClosedCb(uv_handle_t* handle) noexcept;

  uv_loop_t* loop_;
  std::unordered_map<int64_t, Child*> children_;
  int64_t next_id_ = 1;
  bool closed_ = false;
};

// A TCP port that was free on every local address a moment ago (bound to
// port 0, read back, closed): for {port}. A negative errno on failure.
int findFreeTcpPort();

}  // namespace redge
