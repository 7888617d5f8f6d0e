// NotifySocket: a datagram socket standing in for systemd's notify socket.

#include "support/notify_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <thread>

namespace redge_test {

bool NotifyMessage::has(const std::string& assignment) const {
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, end - at, assignment) == 0) return true;
    at = end + 1;
  }
  return false;
}

std::string NotifyMessage::value(const std::string& name) const {
  std::string prefix = name + "=";
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, prefix.size(), prefix) == 0) {
      return text.substr(at + prefix.size(), end - at - prefix.size());
    }
    at = end + 1;
  }
  return "";
}

NotifySocket::NotifySocket(std::string path) : path_(std::move(path)) {
  sockaddr_un addr{};
  if (path_.size() >= sizeof addr.sun_path) throw std::runtime_error("notify socket path too long");
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket(AF_UNIX, SOCK_DGRAM) failed");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  ::unlink(path_.c_str());
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("bind " + path_ + ": " + std::strerror(errno));
  }
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

void NotifySocket::poll() {
  char buffer[4096];
  while (true) {
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return;  // EAGAIN: nothing more for now
    messages_.push_back(
        {std::string(buffer, static_cast<size_t>(n)), std::chrono::steady_clock::now()});
  }
}

int NotifySocket::find(const std::string& assignment, size_t from) const {
  for (size_t i = from; i < messages_.size(); ++i) {
    if (messages_[i].has(assignment)) return static_cast<int>(i);
  }
  return -1;
}

size_t NotifySocket::count(const std::string& assignment, size_t from) const {
  size_t n = 0;
  for (size_t i = from; i < messages_.size(); ++i) n += messages_[i].has(assignment) ? 1 : 0;
  return n;
}

int NotifySocket::waitFor(const std::string& assignment, std::chrono::milliseconds timeout,
                          size_t from) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    poll();
    int at = find(assignment, from);
    if (at >= 0) return at;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string NotifySocket::transcript() const {
  std::string text;
  for (size_t i = 0; i < messages_.size(); ++i) {
    text += "[" + std::to_string(i) + "] ";
    for (char c : messages_[i].text) text += c == '\n' ? std::string(" | ") : std::string(1, c);
    text += "\n";
  }
  return text;
}

}  // namespace redge_test
