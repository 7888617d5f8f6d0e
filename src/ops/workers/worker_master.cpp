// The master process of a worker group (worker_master.hpp): fork, watch,
// restart, pass signals on, and speak for the group to systemd.
//
// One poll(2) loop: a signalfd for SIGTERM/SIGINT/SIGHUP/SIGCHLD (blocked, so
// they arrive only there), one ready pipe per starting worker, and a timeout
// for the next due restart, watchdog ping or stop deadline. Each worker slot
// keeps its own RestartBackoff. Workers learn who they are from a
// WorkerIdentity built before the fork; everything they share with the
// master after that goes through WorkerSlots or the ready pipe.

#include "ops/workers/worker_master.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "net/tcp_listen.hpp"
#include "ops/workers/restart_backoff.hpp"

namespace redge {

std::string groupStatusText(const GroupStatus& s) {
  std::string workers = std::to_string(s.workers) + (s.workers == 1 ? " worker" : " workers");
  switch (s.phase) {
    case GroupStatus::Phase::Starting:
      return "starting; " + std::to_string(s.ready) + " of " + workers + " ready";
    case GroupStatus::Phase::Serving:
      if (s.ready >= s.workers) return "serving; " + workers;
      return "serving; " + std::to_string(s.ready) + " of " + workers +
             " ready, restarting the others";
    case GroupStatus::Phase::Draining:
      return "draining; " + std::to_string(s.running) + " of " + workers + " running";
  }
  return "";
}

namespace {

// Room for one worker's labelled metrics text. A full configuration renders
// a few tens of KiB; pages are only touched as far as the text reaches.
constexpr size_t kSlotTextBytes = size_t{4} << 20;
// After the workers' own drain bound, how long the master waits before it
// SIGKILLs a worker that has still not exited.
constexpr int64_t kStopGraceMs = 5000;
// A starting worker is not judged by its heartbeat for the watchdog until it
// is ready or this long has passed (start-up work runs before its loop).
constexpr int64_t kStartGraceMs = 10000;
// How long READY=1 after a SIGHUP waits for the workers' reloads (each reads
// the file and prepares what it names, e.g. member host names), and how
// often the master looks at their slots meanwhile.
constexpr int64_t kReloadWaitMs = 30000;
constexpr int64_t kReloadPollMs = 20;

struct WorkerProcess {
  pid_t pid = 0;
  int ready_fd = -1;  // read end of its ready pipe while it starts
  bool ready = false;
  bool started_once = false;
  int64_t started_ms = 0;
  int64_t restart_at_ms = -1;  // a restart is due then; -1: none
  uint64_t reload_target = 0;  // the slot's reload count that ends a SIGHUP; 0: none awaited
  RestartBackoff backoff;
};

std::string describeStatus(int status, std::string& detail_key, int& detail) {
  if (WIFEXITED(status)) {
    detail_key = "code";
    detail = WEXITSTATUS(status);
    return "exited";
  }
  if (WIFSIGNALED(status)) {
    detail_key = "signal";
    detail = WTERMSIG(status);
    return "killed";
  }
  detail_key = "raw";
  detail = status;
  return "unknown";
}

class WorkerMaster {
 public:
  WorkerMaster(const WorkerMasterOptions& options, const WorkerMain& worker_main)
      : options_(options), worker_main_(worker_main), workers_(options.workers) {}

  int run() {
    slots_ = WorkerSlots::create(options_.workers, kSlotTextBytes);
    if (!slots_) {
      REDGE_LOG(Error, "workers_failed").kv("reason", "mmap").kv("error", std::strerror(errno));
      return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, &old_mask_);
    signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) {
      REDGE_LOG(Error, "workers_failed").kv("reason", "signalfd").kv("error", std::strerror(errno));
      sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
      return 1;
    }
    master_pid_ = getpid();
    const char* socket = std::getenv("NOTIFY_SOCKET");
    notify_ = socket != nullptr && socket[0] != '\0';
    uint64_t usec = 0;
    if (notify_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      ping_ms_ = std::max<int64_t>(1, static_cast<int64_t>(usec / 2000));
    }
    // Workers beat at least twice per ping, so a fresh heartbeat is always
    // there when the master looks; never more than once a second otherwise.
    heartbeat_ms_ = ping_ms_ > 0 ? std::clamp<int64_t>(ping_ms_ / 2, 10, 1000) : 1000;
    if (options_.pin) allowedCpus();
    REDGE_LOG(Info, "workers_starting")
        .kv("workers", options_.workers)
        .kv("pin", options_.pin)
        .kv("pid", static_cast<int64_t>(master_pid_))
        .kv("systemd", notify_);
    for (int i = 0; i < options_.workers && !stopping_; ++i) spawn(i);
    sendStatus("");
    loop();
    ::close(signal_fd_);
    sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    REDGE_LOG(Info, "workers_stopped").kv("exit_code", exit_code_);
    return exit_code_;
  }

 private:
  int running() const {
    int n = 0;
    for (const WorkerProcess& w : workers_) n += w.pid != 0;
    return n;
  }
  int readyCount() const {
    int n = 0;
    for (const WorkerProcess& w : workers_) n += w.pid != 0 && w.ready;
    return n;
  }

  void allowedCpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus_.push_back(c);
    }
  }

  void loop() {
    std::vector<pollfd> fds;
    std::vector<int> owner;  // worker index of fds[i], -1 for the signalfd
    while (!(stopping_ && running() == 0)) {
      fds.clear();
      owner.clear();
      fds.push_back({signal_fd_, POLLIN, 0});
      owner.push_back(-1);
      for (size_t i = 0; i < workers_.size(); ++i) {
        if (workers_[i].ready_fd < 0) continue;
        fds.push_back({workers_[i].ready_fd, POLLIN, 0});
        owner.push_back(static_cast<int>(i));
      }
      int rc = poll(fds.data(), fds.size(), pollTimeoutMs());
      if (rc < 0 && errno != EINTR) {
        REDGE_LOG(Error, "workers_poll_failed").kv("error", std::strerror(errno));
        beginStop(1, "poll_failed");
        forceStop();
        break;
      }
      for (size_t i = 0; rc > 0 && i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        if (owner[i] < 0) {
          onSignals();
        } else {
          onReadyPipe(owner[i]);
        }
      }
      onTimers();
    }
  }

  int pollTimeoutMs() const {
    int64_t now = clock_.nowMs();
    int64_t next = -1;
    auto consider = [&](int64_t at) {
      if (at < 0) return;
      if (next < 0 || at < next) next = at;
    };
    for (const WorkerProcess& w : workers_) consider(w.restart_at_ms);
    if (ping_ms_ > 0 && ready_sent_) consider(next_ping_ms_);
    if (stopping_) consider(stop_deadline_ms_);
    if (reload_pending_) consider(now + kReloadPollMs);
    if (next < 0) return -1;
    return static_cast<int>(std::clamp<int64_t>(next - now, 0, 60000));
  }

  void onSignals() {
    signalfd_siginfo info;
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      int signum = static_cast<int>(info.ssi_signo);
      if (signum == SIGCHLD) {
        reap();
      } else if (signum == SIGHUP) {
        reload();
      } else if (stopping_) {
        // A second SIGTERM/SIGINT: each worker skips the rest of its drain.
        REDGE_LOG(Info, "shutdown_forced").kv("signal", signum);
        forward(signum);
      } else {
        REDGE_LOG(Info, "draining").kv("signal", signum).kv("workers", running());
        beginStop(0, "");
        forward(signum);
      }
    }
  }

  void reload() {
    if (stopping_) return;
    if (notify_) sd_notify(0, "RELOADING=1");
    REDGE_LOG(Info, "workers_reload").kv("workers", running());
    // Each worker reads the configuration again and logs what it applied;
    // the master keeps what it started with (server.workers, server.pin_workers
    // need a restart, as ports do). READY=1 waits until every worker running
    // now has finished its reload, so `systemctl reload` returns when the
    // group serves the new configuration.
    int64_t now = clock_.nowMs();
    for (size_t i = 0; i < workers_.size(); ++i) {
      WorkerProcess& w = workers_[i];
      w.reload_target = w.pid != 0 ? slots_->read(static_cast<int>(i), false).reloads + 1 : 0;
    }
    reload_started_ms_ = now;
    reload_pending_ = true;
    forward(SIGHUP);
    checkReload(now);
  }

  void checkReload(int64_t now) {
    if (!reload_pending_) return;
    int waiting = 0;
    for (size_t i = 0; i < workers_.size(); ++i) {
      WorkerProcess& w = workers_[i];
      if (w.reload_target == 0) continue;
      // Gone, or started again since: a new worker reads the file as it starts.
      bool done = w.pid == 0 || w.started_ms > reload_started_ms_ ||
                  slots_->read(static_cast<int>(i), false).reloads >= w.reload_target;
      if (done) {
        w.reload_target = 0;
      } else {
        ++waiting;
      }
    }
    if (waiting > 0 && now - reload_started_ms_ < kReloadWaitMs) return;
    reload_pending_ = false;
    if (waiting > 0) {
      REDGE_LOG(Warn, "workers_reload_timeout")
          .kv("waiting", waiting)
          .kv("waited_ms", now - reload_started_ms_);
      for (WorkerProcess& w : workers_) w.reload_target = 0;
    } else {
      REDGE_LOG(Info, "workers_reloaded").kv("took_ms", now - reload_started_ms_);
    }
    if (ready_sent_) sendStatus("READY=1");
  }

  void forward(int signum) {
    for (const WorkerProcess& w : workers_) {
      if (w.pid != 0) ::kill(w.pid, signum);
    }
  }

  // Stops the group: SIGTERM goes on (by the caller, or here for a stop the
  // master decides), no worker is started again, and the master exits with
  // `code` (or 1, if a worker then fails to stop cleanly) once all are gone.
  void beginStop(int code, const char* cause) {
    exit_code_ = std::max(exit_code_, code);
    if (stopping_) return;
    stopping_ = true;
    reload_pending_ = false;  // no READY=1 after STOPPING=1
    stop_deadline_ms_ = clock_.nowMs() + options_.drain_timeout_ms + kStopGraceMs;
    for (WorkerProcess& w : workers_) w.restart_at_ms = -1;
    sendStatus("STOPPING=1");
    if (cause[0] != '\0') {
      REDGE_LOG(Info, "draining").kv("cause", cause).kv("workers", running());
      forward(SIGTERM);
    }
  }

  void forceStop() {
    for (WorkerProcess& w : workers_) {
      if (w.pid == 0) continue;
      ::kill(w.pid, SIGKILL);
      int status = 0;
      waitpid(w.pid, &status, 0);
      w.pid = 0;
    }
  }

  void reap() {
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = std::find_if(workers_.begin(), workers_.end(),
                             [pid](const WorkerProcess& w) { return w.pid == pid; });
      if (it == workers_.end()) continue;
      onExit(static_cast<int>(it - workers_.begin()), status);
    }
  }

  void onExit(int index, int status) {
    WorkerProcess& w = workers_[static_cast<size_t>(index)];
    if (w.ready_fd >= 0) onReadyPipe(index);  // a byte sent just before it died still counts
    if (w.ready_fd >= 0) {
      ::close(w.ready_fd);
      w.ready_fd = -1;
    }
    int64_t now = clock_.nowMs();
    int64_t lived = now - w.started_ms;
    pid_t pid = w.pid;
    w.pid = 0;
    slots_->release(index);
    std::string detail_key;
    int detail = 0;
    std::string how = describeStatus(status, detail_key, detail);
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    LogLine(stopping_ || clean ? LogLevel::Info : LogLevel::Warn, "worker_exited")
        .kv("worker", index)
        .kv("pid", static_cast<int64_t>(pid))
        .kv("status", how)
        .kv(detail_key, detail)
        .kv("lived_ms", lived);
    if (stopping_) {
      if (!clean) exit_code_ = 1;
      sendStatus("");
      return;
    }
    if (clean) {
      // Nobody asked the master: a module asked this worker to stop (the
      // same request reaches every worker through Redis). The group stops.
      beginStop(0, "worker_stopped");
      return;
    }
    int64_t delay = w.backoff.onExit(lived, w.ready);
    w.ready = false;
    if (delay < 0) {
      REDGE_LOG(Error, "workers_gave_up")
          .kv("worker", index)
          .kv("start_failures", w.backoff.startFailures())
          .kv("reason", "the worker exits before it is ready, again and again");
      beginStop(1, "worker_cannot_start");
      return;
    }
    w.restart_at_ms = now + delay;
    REDGE_LOG(Info, "worker_restart_scheduled").kv("worker", index).kv("delay_ms", delay);
    sendStatus("");
  }

  void onReadyPipe(int index) {
    WorkerProcess& w = workers_[static_cast<size_t>(index)];
    char buf[16];
    ssize_t n = ::read(w.ready_fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0 && std::memchr(buf, 'R', static_cast<size_t>(n)) != nullptr && !w.ready) {
      w.ready = true;
      REDGE_LOG(Info, "worker_ready")
          .kv("worker", index)
          .kv("pid", static_cast<int64_t>(w.pid))
          .kv("start_ms", clock_.nowMs() - w.started_ms);
      onWorkerReady();
    }
    // The worker closes its end after the byte; EOF (or an error) ends the pipe.
    ::close(w.ready_fd);
    w.ready_fd = -1;
  }

  void onWorkerReady() {
    if (stopping_) return;
    if (!ready_sent_ && readyCount() == options_.workers) {
      ready_sent_ = true;
      sendStatus("READY=1");
      REDGE_LOG(Info, "ready")
          .kv("workers", options_.workers)
          .kv("systemd", notify_)
          .kv("watchdog_ms", ping_ms_);
      next_ping_ms_ = clock_.nowMs();
      return;
    }
    sendStatus("");
  }

  void onTimers() {
    int64_t now = clock_.nowMs();
    if (!stopping_) checkReload(now);
    for (size_t i = 0; i < workers_.size() && !stopping_; ++i) {
      WorkerProcess& w = workers_[i];
      if (w.restart_at_ms >= 0 && now >= w.restart_at_ms) {
        w.restart_at_ms = -1;
        spawn(static_cast<int>(i));
      }
    }
    if (ping_ms_ > 0 && ready_sent_ && !stopping_ && now >= next_ping_ms_) {
      next_ping_ms_ = now + ping_ms_;
      if (loopsTurn(now)) sd_notify(0, "WATCHDOG=1");
    }
    if (stopping_ && running() > 0 && now >= stop_deadline_ms_) {
      REDGE_LOG(Warn, "workers_stop_timeout").kv("killed", running());
      exit_code_ = 1;
      forceStop();
    }
  }

  // Every running worker's heartbeat is fresh: its loop turns. A worker
  // that is starting, or waiting for its restart, does not hold the pings
  // back (the master is doing its job); one whose loop is stuck does.
  bool loopsTurn(int64_t now) const {
    int64_t fresh_ms = std::max(2 * ping_ms_, 3 * heartbeat_ms_);
    for (size_t i = 0; i < workers_.size(); ++i) {
      const WorkerProcess& w = workers_[i];
      if (w.pid == 0) continue;
      if (!w.ready && now - w.started_ms < kStartGraceMs) continue;
      WorkerSlotView v = slots_->read(static_cast<int>(i), false);
      if (now - v.heartbeat_ms > fresh_ms) return false;
    }
    return true;
  }

  void sendStatus(const char* state) {
    if (!notify_) return;
    GroupStatus s;
    s.phase = stopping_     ? GroupStatus::Phase::Draining
              : ready_sent_ ? GroupStatus::Phase::Serving
                            : GroupStatus::Phase::Starting;
    s.workers = options_.workers;
    s.running = running();
    s.ready = readyCount();
    std::string text = groupStatusText(s);
    if (state[0] == '\0' && text == last_status_) return;
    std::string message(state);
    if (!message.empty()) message += '\n';
    message += "STATUS=" + text;
    last_status_ = text;
    int rc = sd_notify(0, message.c_str());
    if (rc < 0) REDGE_LOG(Warn, "sd_notify_failed").kv("state", state).kv("errno", -rc);
  }

  void spawn(int index) {
    WorkerProcess& w = workers_[static_cast<size_t>(index)];
    int64_t now = clock_.nowMs();
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      REDGE_LOG(Error, "worker_start_failed").kv("worker", index).kv("error", std::strerror(errno));
      w.started_ms = now;
      onExit(index, W_EXITCODE(1, 0));
      return;
    }
    // Cleared before the fork, so nothing the new worker writes is lost to
    // a clear that comes after it.
    slots_->assign(index, now, w.started_once);
    int cpu = cpus_.empty() ? -1 : cpus_[static_cast<size_t>(index) % cpus_.size()];
    pid_t pid = fork();
    if (pid == 0) runChild(index, pipe_fds, cpu);  // never returns
    ::close(pipe_fds[1]);
    if (pid < 0) {
      ::close(pipe_fds[0]);
      REDGE_LOG(Error, "worker_start_failed").kv("worker", index).kv("error", std::strerror(errno));
      w.started_ms = now;
      onExit(index, W_EXITCODE(1, 0));
      return;
    }
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    w.pid = pid;
    w.ready_fd = pipe_fds[0];
    w.ready = false;
    w.started_ms = now;
    w.started_once = true;
    slots_->setPid(index, pid);
    LogLine line(LogLevel::Info, "worker_started");
    line.kv("worker", index).kv("pid", static_cast<int64_t>(pid));
    if (cpu >= 0) line.kv("cpu", cpu);
  }

  [[noreturn]] void runChild(int index, const int pipe_fds[2], int cpu) {
    // Undo what belongs to the master: its signal mask and signalfd, and
    // the other workers' ready pipes.
    ::close(signal_fd_);
    ::close(pipe_fds[0]);
    for (const WorkerProcess& other : workers_) {
      if (other.ready_fd >= 0) ::close(other.ready_fd);
    }
    // SIGTERM, SIGINT and SIGHUP stay blocked until the daemon's own
    // handlers are in place (it unblocks them: unblockWorkerSignals), so
    // a SIGTERM passed on while the worker starts waits for its drain
    // instead of killing it outright.
    sigset_t mask = old_mask_;
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    // A master killed with SIGKILL cannot pass SIGTERM on; the kernel does,
    // so no worker outlives its group. (Checked after setting: the master
    // may already be gone.)
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master_pid_) _exit(1);
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) {
        REDGE_LOG(Warn, "worker_pin_failed").kv("cpu", cpu).kv("error", std::strerror(errno));
      }
    }
    // The master alone speaks to systemd (NotifyAccess=main).
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    Log::setContext("worker=" + std::to_string(index));
    setTcpReusePort(true);
    slots_->setPid(index, getpid());
    WorkerIdentity identity;
    identity.index = index;
    identity.count = options_.workers;
    identity.slots = slots_.get();
    identity.ready_fd = pipe_fds[1];
    identity.heartbeat_ms = heartbeat_ms_;
    int rc = worker_main_(identity);
    std::fflush(nullptr);
    // _exit: the master's objects, copied into this process by the fork,
    // are not this process's to destroy.
    _exit(rc);
  }

  WorkerMasterOptions options_;
  const WorkerMain& worker_main_;
  SteadyClock clock_;
  std::unique_ptr<WorkerSlots> slots_;
  std::vector<WorkerProcess> workers_;
  std::vector<int> cpus_;
  sigset_t old_mask_;
  int signal_fd_ = -1;
  pid_t master_pid_ = 0;
  bool notify_ = false;
  int64_t ping_ms_ = 0;
  int64_t heartbeat_ms_ = 1000;
  int64_t next_ping_ms_ = 0;
  bool ready_sent_ = false;
  bool reload_pending_ = false;  // a SIGHUP's READY=1 waits for the workers' reloads
  int64_t reload_started_ms_ = 0;
  bool stopping_ = false;
  int64_t stop_deadline_ms_ = 0;
  int exit_code_ = 0;
  std::string last_status_;
};

}  // namespace

void unblockWorkerSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

int runWorkerMaster(const WorkerMasterOptions& options, const WorkerMain& worker_main) {
  WorkerMaster master(options, worker_main);
  return master.run();
}

}  // namespace redge
