// WireStream and the two answer parsers the chaos suite reads with: plain
// non-blocking sockets and offset-based parsing, so the load driver's threads
// and the pipelined floods never block past a deadline and never copy a
// large input more than once.

#include "support/wire_stream.hpp"

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

namespace redge_test {
namespace {

int msUntil(WireStream::Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - WireStream::Clock::now())
          .count();
  return left < 0 ? 0 : static_cast<int>(left);
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// A chunked body from `at`; the position after its trailers, or npos.
size_t chunkedEnd(std::string_view in, size_t at, std::string& body) {
  while (true) {
    size_t line_end = in.find("\r\n", at);
    if (line_end == std::string_view::npos) return std::string_view::npos;
    std::string size_text(in.substr(at, line_end - at));
    char* end = nullptr;
    unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) throw std::runtime_error("bad chunk size: " + size_text);
    at = line_end + 2;
    if (size == 0) {
      // Trailers, then the empty line.
      while (true) {
        size_t e = in.find("\r\n", at);
        if (e == std::string_view::npos) return std::string_view::npos;
        if (e == at) return e + 2;
        at = e + 2;
      }
    }
    if (in.size() < at + size + 2) return std::string_view::npos;
    body.append(in.substr(at, size));
    at += size + 2;
  }
}

// A CRLF-terminated line from `at`; npos when incomplete.
size_t lineEnd(std::string_view in, size_t at) {
  return in.find("\r\n", at);
}

std::optional<RespReply> parseRespAt(std::string_view in, size_t& at) {
  if (at >= in.size()) return std::nullopt;
  size_t e = lineEnd(in, at);
  if (e == std::string_view::npos) return std::nullopt;
  RespReply r;
  r.type = in[at];
  std::string_view line = in.substr(at + 1, e - at - 1);
  size_t next = e + 2;
  switch (r.type) {
    case '+':
    case '-':
    case ':':
      r.text = std::string(line);
      at = next;
      return r;
    case '$': {
      long long len = std::strtoll(std::string(line).c_str(), nullptr, 10);
      if (len < 0) {
        r.nil = true;
        at = next;
        return r;
      }
      if (in.size() < next + static_cast<size_t>(len) + 2) return std::nullopt;
      r.text = std::string(in.substr(next, static_cast<size_t>(len)));
      at = next + static_cast<size_t>(len) + 2;
      return r;
    }
    case '*': {
      long long count = std::strtoll(std::string(line).c_str(), nullptr, 10);
      if (count < 0) {
        r.nil = true;
        at = next;
        return r;
      }
      size_t pos = next;
      for (long long i = 0; i < count; ++i) {
        auto element = parseRespAt(in, pos);
        if (!element) return std::nullopt;
        r.elements.push_back(std::move(*element));
      }
      at = pos;
      return r;
    }
    default:
      throw std::runtime_error("not a RESP reply: " + std::string(in.substr(at, 40)));
  }
}

}  // namespace

WireStream::WireStream(int port, std::chrono::milliseconds timeout, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (receive_buffer > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = rc == 0 ? 0 : errno;
  if (rc != 0 && err == EINPROGRESS) {
    pollfd p{fd_, POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    socklen_t len = sizeof err;
    err = 0;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (n <= 0 && err == 0) err = ETIMEDOUT;
  }
  if (err != 0) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect: ") + std::strerror(err));
  }
}

WireStream::~WireStream() {
  if (fd_ >= 0) ::close(fd_);
}

void WireStream::consume(size_t n) {
  offset_ += n;
  // Compact now and then, not on every answer.
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > (1u << 20) && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
}

WireStream::Fill WireStream::fill(Clock::time_point deadline) {
  if (peer_closed_) return Fill::Closed;
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
    peer_closed_ = true;
    return Fill::Closed;
  }
}

long WireStream::sendSome(std::string_view bytes) {
  ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (sent >= 0) return static_cast<long>(sent);
  if (errno == EAGAIN || errno == EINTR) return 0;
  return -1;
}

bool WireStream::sendAll(std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    pollfd p{fd_, POLLOUT | POLLIN, 0};
    int n = ::poll(&p, 1, msUntil(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if ((p.revents & POLLIN) && !peer_closed_) {
      char buf[65536];
      ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got > 0) {
        buffer_.append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        peer_closed_ = true;
      }
    }
    if (p.revents & (POLLOUT | POLLERR | POLLHUP)) {
      long sent = sendSome(bytes);
      if (sent < 0) return false;
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
  }
  return true;
}

bool WireStream::waitForClose(Clock::time_point deadline) {
  while (!peer_closed_) {
    if (fill(deadline) == Fill::Timeout) return false;
  }
  return true;
}

std::optional<RawResponse> parseHttpResponse(std::string_view in, size_t& used, bool head_request) {
  size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  if (in.substr(0, 5) != "HTTP/") {
    throw std::runtime_error("not an HTTP response: " + std::string(in.substr(0, 80)));
  }
  RawResponse r;
  std::string_view head = in.substr(0, head_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  size_t sp = status_line.find(' ');
  if (sp == std::string_view::npos || status_line.size() < sp + 4) {
    throw std::runtime_error("bad status line: " + std::string(status_line));
  }
  r.version = std::string(status_line.substr(0, sp));
  r.status = std::atoi(std::string(status_line.substr(sp + 1, 3)).c_str());
  if (status_line.size() > sp + 5) r.reason = std::string(status_line.substr(sp + 5));
  size_t content_length = std::string_view::npos;
  bool chunked = false;
  size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    size_t e = head.find("\r\n", at);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(at, e - at);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name = trimmed(line.substr(0, colon));
      std::string value = trimmed(line.substr(colon + 1));
      if (equalsNoCase(name, "Content-Length"))
        content_length = std::strtoull(value.c_str(), nullptr, 10);
      if (equalsNoCase(name, "Transfer-Encoding") && value.find("chunked") != std::string::npos)
        chunked = true;
      r.headers.emplace_back(std::move(name), std::move(value));
    }
    at = e + 2;
  }
  size_t body_start = head_end + 4;
  bool no_body =
      head_request || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  if (no_body) {
    used = body_start;
  } else if (chunked) {
    size_t end = chunkedEnd(in, body_start, r.body);
    if (end == std::string_view::npos) return std::nullopt;
    used = end;
  } else if (content_length != std::string_view::npos) {
    if (in.size() < body_start + content_length) return std::nullopt;
    r.body = std::string(in.substr(body_start, content_length));
    used = body_start + content_length;
  } else {
    throw std::runtime_error("an answer framed by the end of the connection: " +
                             std::string(head.substr(0, 80)));
  }
  return r;
}

std::string RespReply::summary() const {
  std::string out(1, type);
  switch (type) {
    case '$':
      out += nil ? "nil" : text.substr(0, 40);
      break;
    case '*':
      out += nil ? "nil" : std::to_string(elements.size());
      break;
    default:
      out += text.substr(0, 80);
  }
  return out;
}

std::optional<RespReply> parseRespReply(std::string_view in, size_t& used) {
  size_t at = 0;
  auto r = parseRespAt(in, at);
  if (r) used = at;
  return r;
}

}  // namespace redge_test
