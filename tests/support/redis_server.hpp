#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace redge_test {

// A Redis reply copied out of hiredis, so it outlives the connection.
struct RedisValue {
  enum class Type { Nil, String, Integer, Array, Status, Error };
  Type type = Type::Nil;
  std::string str;  // String, Status and Error
  long long integer = 0;
  std::vector<RedisValue> elements;

  bool isNil() const { return type == Type::Nil; }
};

// The test's own synchronous connection to Redis (blocking is fine in a
// test). Throws std::runtime_error when it cannot connect or a command fails
// at the transport level; Redis error replies come back as Type::Error.
class RedisConnection {
 public:
  explicit RedisConnection(int port);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  RedisValue command(const std::vector<std::string>& args);
  // Writes a command and returns without waiting for its reply (e.g. DEBUG
  // SLEEP, which must be under way before the test sends its request).
  void send(const std::vector<std::string>& args);
  // Queues a command in hiredis's output buffer without writing it; the next
  // readReply() writes everything queued, so a run of append() calls followed
  // by as many readReply() calls is one pipeline.
  void append(const std::vector<std::string>& args);
  // The reply to the oldest command sent and not yet read.
  RedisValue readReply();

 private:
  redisContext* context_ = nullptr;
};

// A private redis-server for one test case: a free loopback port found at run
// time, no persistence unless asked, its working directory in the test's
// TempDir. stop()/start() take it down and bring it back on the same port,
// pause()/resume() freeze it with SIGSTOP/SIGCONT. The destructor stops it.
class RedisServer {
 public:
  // extra_args are appended to the command line, e.g. {"--appendonly", "yes"}.
  explicit RedisServer(const TempDir& dir, std::vector<std::string> extra_args = {});
  ~RedisServer() = default;
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // redis://127.0.0.1:PORT/0
  std::string url() const;
  pid_t pid() const { return process_.pid(); }
  bool running() { return process_.running(); }

  // Shuts Redis down (SIGTERM) and waits until it has exited.
  void stop();
  // Starts it again on the same port and waits until PING answers.
  void start();
  void pause();
  void resume();

  // One command on a fresh connection.
  RedisValue command(const std::vector<std::string>& args) const;
  // The log redis-server wrote so far, for failure messages.
  std::string logText() const;

 private:
  bool launch(int port);

  const TempDir& dir_;
  std::vector<std::string> extra_args_;
  int port_ = 0;
  int launches_ = 0;
  std::string log_path_;
  ChildProcess process_;
};

// A TCP port on 127.0.0.1 that was free a moment ago, outside the kernel's
// ephemeral range (ip_local_port_range): bind(0) and every outgoing
// connection draw from that range, so a port found there can become some
// client's source port before the server binds it when tests run side by
// side. Falls back to bind(0) if the range leaves nothing outside.
int findFreePort();

// What answers on a port a test has just launched a server on. PONG alone
// cannot tell: between findFreePort and the child's bind, a test running
// beside may start its own server on the same port; the child then exits on
// EADDRINUSE while the stranger answers, and the test would talk to the
// other test's data. The server's process_id (INFO server) tells them apart.
enum class LaunchProbe { NotYet, Ours, Stranger };
LaunchProbe probeLaunched(int port, pid_t child);

// Waits up to 5 s for `child`, just started, to answer on `port` itself.
// False, with the child gone, when it exited, a stranger answered, or time
// ran out: the caller tries again.
bool awaitOwnServer(ChildProcess& child, int port);

}  // namespace redge_test
