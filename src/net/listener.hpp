#pragma once
// What the daemon needs of every listener, whatever its protocol: listen,
// stop accepting and let idle connections go (drain), close everything, and
// say how many connections are still open. HttpServer and RespServer
// implement it; modules create listeners and the daemon runs them all alike.

#include <cstddef>
#include <functional>
#include <string>

namespace redge {

struct ListenerInfo {
  std::string service;   // "app", "cacheproxy", ...
  std::string protocol;  // "http" or "resp"
  std::string bind;
  int port = 0;  // as configured (0: any free port)
};

class Listener {
 public:
  virtual ~Listener() = default;
  // Binds and listens; 0 or a libuv error code. Logs event=listening.
  virtual int listen() = 0;
  // Stops accepting; idle connections close, busy ones after their answer.
  virtual void beginDrain() = 0;
  // Closes every connection and the listener; `done` runs once, after the
  // last of its handles has closed.
  virtual void close(std::function<void()> done) = 0;
  virtual size_t openConnections() const = 0;
  virtual ListenerInfo info() const = 0;
  // log.access changed on a reload (SIGHUP); listeners that write no
  // access log ignore it.
  virtual void setAccessLog(bool /*on*/) {}
};

}  // namespace redge
