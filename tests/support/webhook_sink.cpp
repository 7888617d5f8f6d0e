// WebhookSink: a blocking accept loop on its own thread, polled so the
// destructor can stop it; each connection is read until its Content-Length
// is complete (bounded by a receive timeout), answered, and closed.

#include "support/webhook_sink.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace redge_test {

WebhookSink::WebhookSink(int fail_first) : fail_first_(fail_first) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    throw std::runtime_error("webhook sink: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

WebhookSink::~WebhookSink() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string WebhookSink::url(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + target;
}

std::vector<std::string> WebhookSink::bodies() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bodies_;
}

size_t WebhookSink::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bodies_.size();
}

void WebhookSink::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void WebhookSink::handle(int fd) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string data;
  char buf[4096];
  size_t head_end = std::string::npos;
  size_t length = 0;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::string head = data.substr(0, head_end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t at = head.find("content-length:");
        if (at != std::string::npos) length = std::stoul(head.substr(at + 15));
      }
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + length) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    data.append(buf, static_cast<size_t>(n));
  }
  bool fail;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bodies_.push_back(data.substr(head_end + 4, length));
    fail = static_cast<int>(bodies_.size()) <= fail_first_;
  }
  const char* answer = fail ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n"
                            : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  ::send(fd, answer, std::strlen(answer), MSG_NOSIGNAL);
}

}  // namespace redge_test
