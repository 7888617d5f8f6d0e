// RawConnection and takeResponse: a byte-level HTTP/1.1 client for tests of
// framing, limits and timeouts, where what matters is exactly which bytes
// cross the wire and when the server closes.

#include "support/raw_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "support/http_client.hpp"

namespace redge_test {
namespace {

using Clock = std::chrono::steady_clock;

int msUntil(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

// Decodes a chunked body starting at `at`; returns the position after the
// last chunk's trailer section, or npos if the stream is not complete yet.
size_t decodeChunked(const std::string& stream, size_t at, std::string& body) {
  body.clear();
  while (true) {
    size_t line_end = stream.find("\r\n", at);
    if (line_end == std::string::npos) return std::string::npos;
    std::string size_text = stream.substr(at, line_end - at);
    char* end = nullptr;
    unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) throw std::runtime_error("bad chunk size line: " + size_text);
    at = line_end + 2;
    if (size == 0) {
      // Trailer fields, then the empty line.
      while (true) {
        size_t e = stream.find("\r\n", at);
        if (e == std::string::npos) return std::string::npos;
        if (e == at) return e + 2;
        at = e + 2;
      }
    }
    if (stream.size() < at + size + 2) return std::string::npos;
    body.append(stream, at, size);
    at += size + 2;
  }
}

}  // namespace

bool RawResponse::hasHeader(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return true;
  }
  return false;
}

std::string RawResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return v;
  }
  return {};
}

std::optional<RawResponse> takeResponse(std::string& stream, bool head_request, bool at_eof) {
  size_t head_end = stream.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  if (stream.rfind("HTTP/", 0) != 0) {
    throw std::runtime_error("not an HTTP response: " + stream.substr(0, 80));
  }
  RawResponse r;
  std::string_view head(stream.data(), head_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  size_t sp1 = status_line.find(' ');
  if (sp1 == std::string_view::npos) throw std::runtime_error("bad status line");
  r.version = std::string(status_line.substr(0, sp1));
  r.status = std::atoi(std::string(status_line.substr(sp1 + 1, 3)).c_str());
  if (status_line.size() > sp1 + 5) r.reason = std::string(status_line.substr(sp1 + 5));
  size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    size_t e = head.find("\r\n", at);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(at, e - at);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      r.headers.emplace_back(trimmed(line.substr(0, colon)), trimmed(line.substr(colon + 1)));
    }
    at = e + 2;
  }
  size_t body_start = head_end + 4;
  bool no_body =
      head_request || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  size_t consumed;
  if (no_body) {
    consumed = body_start;
  } else if (r.hasHeader("Content-Length")) {
    size_t length = std::strtoull(r.header("Content-Length").c_str(), nullptr, 10);
    if (stream.size() < body_start + length) return std::nullopt;
    r.body = stream.substr(body_start, length);
    consumed = body_start + length;
  } else if (r.header("Transfer-Encoding").find("chunked") != std::string::npos) {
    consumed = decodeChunked(stream, body_start, r.body);
    if (consumed == std::string::npos) return std::nullopt;
  } else {
    if (!at_eof) return std::nullopt;
    r.body = stream.substr(body_start);
    consumed = stream.size();
  }
  stream.erase(0, consumed);
  return r;
}

RawConnection::RawConnection(int port, std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    close();
    throw std::runtime_error(std::string("connect: ") + std::strerror(err));
  }
  if (rc != 0) {
    pollfd p{fd_, POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (n <= 0 || err != 0) {
      close();
      throw std::runtime_error(std::string("connect: ") +
                               (n <= 0 ? "timed out" : std::strerror(err)));
    }
  }
}

RawConnection::~RawConnection() {
  close();
}

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawConnection::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

RawConnection::Fill RawConnection::fill(Clock::time_point deadline) {
  if (peer_closed_ || fd_ < 0) return Fill::Closed;
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, msUntil(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fill::Timeout;
    char buf[65536];
    ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
    if (got > 0) {
      buffer_.append(buf, static_cast<size_t>(got));
      return Fill::Data;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    // 0 is an orderly FIN; an error here is a reset. Both end the stream.
    peer_closed_ = true;
    return Fill::Closed;
  }
}

bool RawConnection::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLOUT | POLLIN, 0};
    int n = ::poll(&p, 1, msUntil(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if ((p.revents & POLLIN) && !peer_closed_) {
      // Keep reading so a server blocked on its own writes can go on reading ours.
      char buf[65536];
      ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got > 0)
        buffer_.append(buf, static_cast<size_t>(got));
      else if (got == 0 || (errno != EAGAIN && errno != EINTR))
        peer_closed_ = true;
    }
    if (p.revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent > 0) {
        bytes.remove_prefix(static_cast<size_t>(sent));
      } else if (sent < 0 && errno != EAGAIN && errno != EINTR) {
        return false;
      }
    }
  }
  return true;
}

std::optional<RawResponse> RawConnection::readResponse(std::chrono::milliseconds timeout,
                                                       bool head_request) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto r = takeResponse(buffer_, head_request, peer_closed_)) return r;
    if (peer_closed_) return std::nullopt;
    if (fill(deadline) == Fill::Timeout) return std::nullopt;
  }
}

bool RawConnection::waitForClose(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!peer_closed_) {
    if (fill(deadline) == Fill::Timeout) return false;
  }
  return true;
}

void RawConnection::readFor(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!peer_closed_ && fill(deadline) != Fill::Timeout) {
  }
}

bool RawConnection::readUntil(std::string_view needle, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.find(needle) == std::string::npos) {
    if (fill(deadline) != Fill::Data) return buffer_.find(needle) != std::string::npos;
  }
  return true;
}

bool canConnect(int port) {
  try {
    RawConnection c(port, std::chrono::milliseconds(500));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace redge_test
