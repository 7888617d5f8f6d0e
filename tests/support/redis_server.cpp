// RedisServer: a real redis-server per test case, and RedisConnection, the
// test's direct hiredis line to it for checking what redge stored.
//
// The port is chosen at run time; another process may take it between the
// probe and redis-server's bind, so start-up retries with a new port.

#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#ifndef REDIS_SERVER_BINARY
#define REDIS_SERVER_BINARY "/usr/bin/redis-server"
#endif

namespace redge_test {
namespace {

RedisValue copyReply(const redisReply* r) {
  RedisValue v;
  if (r == nullptr) return v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::String;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::Status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::Type::Error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::Integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::Array;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(copyReply(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

std::vector<const char*> argvOf(const std::vector<std::string>& args, std::vector<size_t>& lens) {
  std::vector<const char*> argv;
  lens.clear();
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return argv;
}

}  // namespace

RedisConnection::RedisConnection(int port) {
  struct timeval connect_timeout = {1, 0};
  context_ = redisConnectWithTimeout("127.0.0.1", port, connect_timeout);
  if (context_ == nullptr || context_->err) {
    std::string reason = context_ ? context_->errstr : "out of memory";
    if (context_) redisFree(context_);
    context_ = nullptr;
    throw std::runtime_error("cannot connect to Redis on port " + std::to_string(port) + ": " +
                             reason);
  }
  // A paused Redis must fail the test's check, not hang it.
  struct timeval io_timeout = {3, 0};
  redisSetTimeout(context_, io_timeout);
}

RedisConnection::~RedisConnection() {
  if (context_) redisFree(context_);
}

RedisValue RedisConnection::command(const std::vector<std::string>& args) {
  send(args);
  return readReply();
}

void RedisConnection::append(const std::vector<std::string>& args) {
  std::vector<size_t> lens;
  std::vector<const char*> argv = argvOf(args, lens);
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    throw std::runtime_error(std::string("redis append failed: ") + context_->errstr);
  }
}

void RedisConnection::send(const std::vector<std::string>& args) {
  append(args);
  int done = 0;
  while (!done) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      throw std::runtime_error(std::string("redis write failed: ") + context_->errstr);
    }
  }
}

RedisValue RedisConnection::readReply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
    throw std::runtime_error(std::string("redis read failed: ") + context_->errstr);
  }
  auto* reply = static_cast<redisReply*>(raw);
  RedisValue v = copyReply(reply);
  freeReplyObject(reply);
  return v;
}

namespace {

// Binds a loopback socket to `port` (0: any) and returns the port it got, or
// 0 when the bind failed.
int tryBind(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof addr;
  int got = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    got = ntohs(addr.sin_port);
  }
  ::close(fd);
  return got;
}

}  // namespace

int findFreePort() {
  int lo = 32768, hi = 60999;  // Linux's default, if the file cannot be read
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> lo >> hi;
  std::vector<int> outside;
  for (int p = 10000; p <= 65535; ++p) {
    if (p < lo || p > hi) outside.push_back(p);
  }
  static std::mt19937 generator(std::random_device{}());
  for (int attempt = 0; attempt < 100 && !outside.empty(); ++attempt) {
    int port = tryBind(outside[generator() % outside.size()]);
    if (port != 0) return port;
  }
  int port = tryBind(0);
  if (port == 0) throw std::runtime_error("cannot find a free port");
  return port;
}

LaunchProbe probeLaunched(int port, pid_t child) {
  try {
    RedisConnection c(port);
    RedisValue pong = c.command({"PING"});
    if (pong.type != RedisValue::Type::Status || pong.str != "PONG") return LaunchProbe::NotYet;
    const std::string info = c.command({"INFO", "server"}).str;
    const std::string marker = "process_id:";
    size_t at = info.find(marker);
    if (at == std::string::npos) return LaunchProbe::NotYet;
    pid_t answering = static_cast<pid_t>(std::atol(info.c_str() + at + marker.size()));
    return answering == child ? LaunchProbe::Ours : LaunchProbe::Stranger;
  } catch (const std::exception&) {
    return LaunchProbe::NotYet;  // not listening yet
  }
}

bool awaitOwnServer(ChildProcess& child, int port) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child.running()) return false;
    switch (probeLaunched(port, child.pid())) {
      case LaunchProbe::Ours:
        return true;
      case LaunchProbe::Stranger:
        child.kill9();
        return false;
      case LaunchProbe::NotYet:
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  child.kill9();
  return false;
}

RedisServer::RedisServer(const TempDir& dir, std::vector<std::string> extra_args)
    : dir_(dir), extra_args_(std::move(extra_args)) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (launch(findFreePort())) return;
  }
  throw std::runtime_error("redis-server did not start after 5 attempts; last log:\n" + logText());
}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0";
}

bool RedisServer::launch(int port) {
  port_ = port;
  log_path_ = dir_.file("redis-" + std::to_string(++launches_) + ".log");
  ChildSpec spec;
  spec.argv = {REDIS_SERVER_BINARY,
               "--port",
               std::to_string(port),
               "--bind",
               "127.0.0.1",
               "--save",
               "",
               "--appendonly",
               "no",
               "--dir",
               dir_.path(),
               "--daemonize",
               "no"};
  spec.argv.insert(spec.argv.end(), extra_args_.begin(), extra_args_.end());
  spec.env = cleanEnvironment();
  spec.stdout_path = log_path_;
  spec.stderr_path = log_path_ + ".err";
  process_.start(spec);
  return awaitOwnServer(process_, port);
}

void RedisServer::stop() {
  process_.stop();
}

void RedisServer::start() {
  if (process_.running()) return;
  // The same port on purpose: redge must find Redis back where it was. A port
  // still held by the old process's last moments gets a few more tries.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (launch(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_) +
                           "; log:\n" + logText());
}

void RedisServer::pause() {
  process_.signal(SIGSTOP);
}

void RedisServer::resume() {
  process_.signal(SIGCONT);
}

RedisValue RedisServer::command(const std::vector<std::string>& args) const {
  RedisConnection c(port_);
  return c.command(args);
}

std::string RedisServer::logText() const {
  return readFile(log_path_) + readFile(log_path_ + ".err");
}

}  // namespace redge_test
