#pragma once
// The byte pattern of every streamed body in the streaming tests, shared by
// fake_upstream's streaming listener and the tests that check what came
// through: byte `offset` is offset % 251 (a prime, so a byte lost, doubled or
// moved anywhere in a gigabyte changes what follows).

#include <cstdint>

namespace redge_test {

inline char patternByte(uint64_t offset) {
  return static_cast<char>(offset % 251);
}

}  // namespace redge_test
