#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace redge_test {

// What to run: argv[0] is the path of the executable (no PATH search), env is
// the complete environment ("KEY=VALUE"), and stdout/stderr go to files
// (truncated at start) so a test can read them while the child still runs.
struct ChildSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string stdout_path;
  std::string stderr_path;
};

// One child process, owned by one test. The destructor stops it (SIGTERM,
// then SIGKILL after the grace period), so a failed assertion never leaves an
// orphan; the child also gets SIGKILL from the kernel if the test process
// itself dies (ctest timeout, crash), through PR_SET_PDEATHSIG.
//
// Exit codes follow the shell's convention: the exit status for a normal
// exit, 128 + N for death by signal N.
class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(const ChildSpec& spec) { start(spec); }
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts the child; throws std::runtime_error if fork fails. A failed exec
  // shows as exit code 127 with the reason in the stderr file.
  void start(const ChildSpec& spec);

  pid_t pid() const { return pid_; }
  // False once the child has exited (it is reaped here, not left a zombie).
  bool running();
  // Sends a signal; a no-op once the child has been reaped (never hits a
  // recycled pid).
  void signal(int signum);
  // SIGTERM, then SIGKILL if it is still alive after `grace`; returns the exit code.
  // Before a SIGKILL, where the child was stuck is kept in stuckReport().
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Why the last stop() needed SIGKILL: the child's state, kernel wait
  // channel and, when gdb is installed, the stack of every thread. Empty if
  // it exited on its own.
  const std::string& stuckReport() const { return stuck_report_; }
  // SIGKILL and reap; returns the exit code (137 unless it had already exited).
  int kill9();
  // Waits for the child to exit on its own; nullopt if it is still running at the deadline.
  std::optional<int> waitForExit(std::chrono::milliseconds timeout);
  // The exit code once the child has been reaped.
  std::optional<int> exitCode() const;

 private:
  bool tryReap(bool block);

  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = 0;
  std::string stuck_report_;
};

// The test's own environment without the variables redge (and the scenario
// aliases) read, so a developer's shell cannot change what a test sees.
std::vector<std::string> cleanEnvironment();

// Runs a child to completion (killing it past `timeout`) and returns its exit
// code; the output is in the spec's files.
int runToExit(const ChildSpec& spec, std::chrono::milliseconds timeout);

// The whole content of a file, or "" if it cannot be read.
std::string readFile(const std::string& path);

}  // namespace redge_test
