#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace redge_test {

// A hostile client that writes and never reads: it pushes the same request
// (or command) again and again until the server stops taking bytes for a
// while, or `count` copies are out, or the time is up. Its receive buffer is
// kept small so the server's unread answers pile up on the server's side,
// where the test can see what they cost.
class NeverReader {
 public:
  explicit NeverReader(int port);
  ~NeverReader();
  NeverReader(const NeverReader&) = delete;
  NeverReader& operator=(const NeverReader&) = delete;

  // Writes up to `count` copies of `request`. Stops early once the server has
  // taken nothing for `stall` (it stopped reading), or at `limit`. Returns
  // how many whole copies went out.
  size_t push(std::string_view request, size_t count,
              std::chrono::milliseconds stall = std::chrono::milliseconds(1000),
              std::chrono::milliseconds limit = std::chrono::seconds(10));
  // True once the server has closed or reset the connection (looked at
  // without reading any data).
  bool closedByPeer(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

}  // namespace redge_test
