// Loopback peers for the proxy tests (see the header).

#include "support/loopback_peers.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "support/stream_pattern.hpp"

namespace redge_test {
namespace {

sockaddr_in loopbackAny() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

int closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopbackAny();
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

BlackholeListener::BlackholeListener() {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopbackAny();
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_, 0) != 0) {
    ::close(listener_);
    throw std::runtime_error("BlackholeListener: cannot listen on loopback");
  }
  socklen_t len = sizeof a;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  // Backlog 0 holds one completed connection; it is never accepted.
  filler_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(filler_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(filler_);
    ::close(listener_);
    throw std::runtime_error("BlackholeListener: cannot fill the accept queue");
  }
}

BlackholeListener::~BlackholeListener() {
  ::close(filler_);
  ::close(listener_);
}

std::string patternString(int64_t offset, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = patternByte(static_cast<uint64_t>(offset) + i);
  return s;
}

}  // namespace redge_test
