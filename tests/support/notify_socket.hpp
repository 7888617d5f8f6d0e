#pragma once
// The systemd side of sd_notify(3), played by a test: a unix datagram socket
// bound at a path the test passes to redge as NOTIFY_SOCKET. Every datagram
// is kept, in arrival order, with the time it arrived.

#include <chrono>
#include <string>
#include <vector>

namespace redge_test {

struct NotifyMessage {
  std::string text;  // "READY=1\nSTATUS=serving; ..."
  std::chrono::steady_clock::time_point at;
  // One of its lines is exactly `assignment` ("READY=1").
  bool has(const std::string& assignment) const;
  // The value of the line `name=...` ("STATUS"), or "".
  std::string value(const std::string& name) const;
};

class NotifySocket {
 public:
  explicit NotifySocket(std::string path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  // "NOTIFY_SOCKET=<path>", for RedgeProcess's env.
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // Reads whatever has arrived (non-blocking) into messages().
  void poll();
  const std::vector<NotifyMessage>& messages() const { return messages_; }
  // Polls until a message holding `assignment` arrives after index `from`;
  // its index, or -1 at the deadline.
  int waitFor(const std::string& assignment, std::chrono::milliseconds timeout, size_t from = 0);
  // Index of the first message after `from` holding `assignment`, or -1.
  int find(const std::string& assignment, size_t from = 0) const;
  size_t count(const std::string& assignment, size_t from = 0) const;
  // Everything received, one message per line group, for failure messages.
  std::string transcript() const;

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<NotifyMessage> messages_;
};

}  // namespace redge_test
