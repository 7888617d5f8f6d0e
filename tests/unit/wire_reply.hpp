#pragma once
// One redisReply built from RESP bytes by hiredis's own reader, as a server
// would send them: what the unit tests of reply readers (sentinel, replica
// fallback, reply text) feed their functions.

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string_view>

namespace redge_test {

struct WireReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using WireReply = std::unique_ptr<redisReply, WireReplyFree>;

// Parses one whole reply from `wire`; fails the test if it is not one.
inline WireReply parseWireReply(std::string_view wire) {
  redisReader* reader = redisReaderCreate();
  REQUIRE(reader != nullptr);
  REQUIRE(redisReaderFeed(reader, wire.data(), wire.size()) == REDIS_OK);
  void* reply = nullptr;
  const int rc = redisReaderGetReply(reader, &reply);
  redisReaderFree(reader);
  REQUIRE(rc == REDIS_OK);
  REQUIRE(reply != nullptr);
  return WireReply(static_cast<redisReply*>(reply));
}

}  // namespace redge_test
