#pragma once
// Loopback peers that misbehave in the ways a proxy must survive, shared by
// the streaming and gateway tests: a port nothing listens on (connects are
// refused at once) and a listener whose accept queue is full (connects hang
// until the connector gives up). Also the stream pattern as a string, for
// bodies the tests send or expect.

#include <cstddef>
#include <cstdint>
#include <string>

namespace redge_test {

// A loopback port nothing listens on (bound, then closed).
int closedPort();

// A listener whose accept queue is full: the kernel drops further SYNs, so
// a connect to it neither succeeds nor fails until the connector gives up.
class BlackholeListener {
 public:
  BlackholeListener();
  ~BlackholeListener();
  BlackholeListener(const BlackholeListener&) = delete;
  BlackholeListener& operator=(const BlackholeListener&) = delete;
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int listener_ = -1;
  int filler_ = -1;
  int port_ = 0;
};

// `n` bytes of the stream pattern (stream_pattern.hpp) from `offset`.
std::string patternString(int64_t offset, size_t n);

}  // namespace redge_test
