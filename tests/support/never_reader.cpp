// NeverReader: a non-blocking socket that only writes, polled with deadlines
// so a server that stops reading ends the push instead of blocking the test.

#include "support/never_reader.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace redge_test {

NeverReader::NeverReader(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  // A small receive window: the answers stay queued in the server.
  int small = 4096;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

NeverReader::~NeverReader() {
  if (fd_ >= 0) ::close(fd_);
}

size_t NeverReader::push(std::string_view request, size_t count, std::chrono::milliseconds stall,
                         std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + limit;
  // Many copies per write(2), so the push is quick.
  std::string batch;
  const size_t per_batch = std::max<size_t>(1, 65536 / std::max<size_t>(1, request.size()));
  for (size_t i = 0; i < per_batch; ++i) batch.append(request);
  size_t sent_bytes = 0;
  const size_t total_bytes = request.size() * count;
  auto last_progress = Clock::now();
  size_t offset = 0;  // into batch
  while (sent_bytes < total_bytes && Clock::now() < end) {
    size_t want = std::min(batch.size() - offset, total_bytes - sent_bytes);
    ssize_t n = ::send(fd_, batch.data() + offset, want, MSG_NOSIGNAL);
    if (n > 0) {
      sent_bytes += static_cast<size_t>(n);
      offset = (offset + static_cast<size_t>(n)) % batch.size();
      last_progress = Clock::now();
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;  // closed
    if (Clock::now() - last_progress >= stall) break;
    pollfd p{fd_, POLLOUT, 0};
    ::poll(&p, 1, 50);
  }
  return sent_bytes / request.size();
}

bool NeverReader::closedByPeer(std::chrono::milliseconds timeout) {
  // POLLRDHUP/POLLHUP/POLLERR tell a close without consuming the data the
  // server sent before it.
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd p{fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 50) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
  }
}

}  // namespace redge_test
