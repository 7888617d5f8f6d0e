// ChildProcess: fork/exec of redis-server and redge for integration tests.
//
// Everything the child needs (argv, envp arrays) is built before fork, so the
// child only makes async-signal-safe calls before exec. The child closes every
// inherited descriptor above stderr: a test's open sockets must not live on in
// a redis-server it restarts, or closing them would not reach the peer.

#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace redge_test {
namespace {

// Where a child that ignored SIGTERM is: its state and wait channel from
// /proc, then every thread's stack from gdb when it is installed (a
// sanitizer's exit-time work and a deadlock look alike from outside).
std::string describeStuck(pid_t pid) {
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  std::string base = "/proc/" + std::to_string(pid);
  std::string report = "still running after SIGTERM; ";
  std::string status = slurp(base + "/status");
  size_t state = status.find("State:");
  if (state != std::string::npos) report += status.substr(state, status.find('\n', state) - state);
  report += "; wchan: " + slurp(base + "/wchan");
  // Traced by a task of its own name: the sanitizers' exit-time leak check
  // (LeakSanitizer's StopTheWorld clones the process and ptraces it), which
  // on rare runs never gets its tracee to stop (google/sanitizers 777, 1330).
  size_t tracer_at = status.find("TracerPid:");
  long tracer = tracer_at == std::string::npos ? 0 : std::atol(status.c_str() + tracer_at + 10);
  if (tracer > 0) {
    std::string own = slurp(base + "/comm");
    std::string of_tracer = slurp("/proc/" + std::to_string(tracer) + "/comm");
    report += "; traced by " + std::to_string(tracer) + " (" +
              of_tracer.substr(0, of_tracer.find('\n')) + ")";
    // What a SIGCONT arriving during that check caused (see stop()).
    if (!own.empty() && own == of_tracer) report += "; sanitizer exit-time leak check hung";
  }
  if (::access("/usr/bin/gdb", X_OK) == 0) {
    std::string command = "timeout 20 /usr/bin/gdb -p " + std::to_string(pid) +
                          " -batch -nx -ex 'thread apply all bt' 2>&1";
    if (FILE* out = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      report += "\n";
      while (size_t n = std::fread(buffer, 1, sizeof buffer, out)) report.append(buffer, n);
      ::pclose(out);
    }
  }
  return report;
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<char*> cStrings(const std::vector<std::string>& items) {
  std::vector<char*> out;
  out.reserve(items.size() + 1);
  for (const auto& s : items) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void execChild(pid_t parent, const ChildSpec& spec, char** argv, char** envp) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died between fork and prctl; then nobody would kill us.
  if (getppid() != parent) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  // Ignored dispositions survive exec; the servers expect the defaults.
  sigaction(SIGPIPE, &dfl, nullptr);
  int in = open("/dev/null", O_RDONLY);
  int out = open(spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0 || err < 0) _exit(127);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  close_range(3, ~0U, 0);
  execve(argv[0], argv, envp);
  const char* reason = strerror(errno);
  ssize_t ignored = write(2, "exec failed: ", 13);
  ignored = write(2, reason, strlen(reason));
  ignored = write(2, "\n", 1);
  (void)ignored;
  _exit(127);
}

}  // namespace

ChildProcess::~ChildProcess() {
  if (!reaped_) stop();
}

void ChildProcess::start(const ChildSpec& spec) {
  if (!reaped_) throw std::runtime_error("ChildProcess::start: already running");
  if (spec.argv.empty()) throw std::runtime_error("ChildProcess::start: empty argv");
  std::vector<char*> argv = cStrings(spec.argv);
  std::vector<char*> envp = cStrings(spec.env);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) execChild(parent, spec, argv.data(), envp.data());
  pid_ = pid;
  reaped_ = false;
  status_ = 0;
}

bool ChildProcess::tryReap(bool block) {
  if (reaped_) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    return true;
  }
  if (r < 0) {
    // ECHILD: somebody else reaped it; treat as gone rather than spin forever.
    reaped_ = true;
    status_ = 0;
    return true;
  }
  return false;
}

bool ChildProcess::running() {
  return !tryReap(false);
}

void ChildProcess::signal(int signum) {
  if (!tryReap(false)) ::kill(pid_, signum);
}

std::optional<int> ChildProcess::waitForExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!tryReap(false)) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exitCodeOf(status_);
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  stuck_report_.clear();
  if (reaped_) return exitCodeOf(status_);
  // A stopped process (Redis paused by a test) only acts on SIGTERM once
  // continued: SIGCONT first. Sent after SIGTERM, a harness thread delayed
  // between the two calls could deliver it while the exiting child is held
  // by LeakSanitizer's exit-time check (which stops it with ptrace), and that
  // check then never ends: sanitized children hung after a clean stop.
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  if (auto code = waitForExit(grace)) return *code;
  stuck_report_ = describeStuck(pid_);
  return kill9();
}

int ChildProcess::kill9() {
  if (!tryReap(false)) {
    ::kill(pid_, SIGKILL);
    tryReap(true);
  }
  return exitCodeOf(status_);
}

std::optional<int> ChildProcess::exitCode() const {
  if (!reaped_ || pid_ < 0) return std::nullopt;
  return exitCodeOf(status_);
}

std::vector<std::string> cleanEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("REDGE_", 0) == 0 || entry.rfind("REDIS_URL=", 0) == 0 ||
        entry.rfind("QUEUE_MAX_SIZE=", 0) == 0 ||
        entry.rfind("QUEUE_RECOVERY_THRESHOLD=", 0) == 0 ||
        // A test run under systemd (a CI runner's unit) must not let its
        // children notify the runner's own manager; tests set these themselves.
        entry.rfind("NOTIFY_SOCKET=", 0) == 0 || entry.rfind("WATCHDOG_USEC=", 0) == 0 ||
        entry.rfind("WATCHDOG_PID=", 0) == 0) {
      continue;
    }
    env.emplace_back(entry);
  }
  return env;
}

int runToExit(const ChildSpec& spec, std::chrono::milliseconds timeout) {
  ChildProcess child(spec);
  if (auto code = child.waitForExit(timeout)) return *code;
  return child.kill9();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace redge_test
