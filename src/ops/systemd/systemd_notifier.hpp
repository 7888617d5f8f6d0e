#pragma once
// What redge tells systemd about itself (sd_notify(3)): READY=1 once it
// serves, a STATUS= line a person reads in `systemctl status`, RELOADING=1
// around a SIGHUP reload, STOPPING=1 when the drain begins, and WATCHDOG=1
// from a loop timer, so a loop that stops turning stops the pings and
// systemd restarts the unit (WatchdogSec=).
//
// Without NOTIFY_SOCKET in the environment (not started by systemd, or a
// unit that is not Type=notify) every call is a no-op that costs a compare.
// The environment is read once, at construction.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/timer.hpp"

namespace redge {

// What the STATUS= line says; the daemon fills it and the notifier words it.
struct ServingStatus {
  enum class Phase { Starting, Serving, Reloading, Draining };
  Phase phase = Phase::Starting;
  bool redis_connected = false;
  bool redis_tried = false;  // a first connect has succeeded or failed
  size_t listeners = 0;
  size_t open_connections = 0;  // while draining
};

// "serving; redis connected; 3 listeners", "draining; 2 connections open",
// ... Pure: unit-tested, and the same words appear in `systemctl status`.
std::string servingStatusText(const ServingStatus& status);

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC (through libsystemd) once. The
  // watchdog timer comes from `timers` and is owned here.
  explicit SystemdNotifier(TimerFactory& timers);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // NOTIFY_SOCKET is set: systemd (or a test) listens.
  bool enabled() const { return enabled_; }
  // Half of WATCHDOG_USEC in milliseconds (at least 1), or 0 when systemd
  // asked for no watchdog.
  int64_t watchdogPingMs() const { return watchdog_ping_ms_; }

  // READY=1 with the status; the first call also starts the watchdog pings.
  void ready(const ServingStatus& status);
  // STATUS= alone, sent only when the text changed.
  void status(const ServingStatus& status);
  // RELOADING=1: a SIGHUP reload is under way (ready() ends it).
  void reloading(const ServingStatus& status);
  // STOPPING=1: the drain has begun; the watchdog pings stop with the loop.
  void stopping(const ServingStatus& status);
  // Stops the watchdog timer (the daemon's close path).
  void close();

 private:
  void send(std::string_view state, const ServingStatus& status);
  void onWatchdogTimer();

  bool enabled_ = false;
  int64_t watchdog_ping_ms_ = 0;
  std::string last_status_;
  TimerPtr watchdog_timer_;
};

}  // namespace redge
