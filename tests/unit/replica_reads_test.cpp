// Which answers of a replica send a read to the master instead
// (replicaFallbackReason), over replies hiredis's reader builds from RESP
// bytes as a replica sends them.

#include "redis/replica_reads.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string_view>

namespace redge {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

ReplyPtr parseWire(std::string_view wire) {
  redisReader* reader = redisReaderCreate();
  REQUIRE(reader != nullptr);
  REQUIRE(redisReaderFeed(reader, wire.data(), wire.size()) == REDIS_OK);
  void* reply = nullptr;
  const int rc = redisReaderGetReply(reader, &reply);
  redisReaderFree(reader);
  REQUIRE(rc == REDIS_OK);
  REQUIRE(reply != nullptr);
  return ReplyPtr(static_cast<redisReply*>(reply));
}

}  // namespace

TEST_CASE("replica reads: what the master is asked again", "[replica]") {
  // An answer, even nil or an error the master would repeat, is the answer.
  CHECK(replicaFallbackReason(RedisStatus::Ok, parseWire("$3\r\none\r\n").get()).empty());
  CHECK(replicaFallbackReason(RedisStatus::Ok, parseWire("$-1\r\n").get()).empty());
  CHECK(
      replicaFallbackReason(
          RedisStatus::ErrorReply,
          parseWire("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n").get())
          .empty());
  // A replica that cannot serve yet, or not any more.
  CHECK(replicaFallbackReason(
            RedisStatus::ErrorReply,
            parseWire("-LOADING Redis is loading the dataset in memory\r\n").get()) == "loading");
  CHECK(replicaFallbackReason(RedisStatus::ErrorReply,
                              parseWire("-MASTERDOWN Link with MASTER is down and "
                                        "replica-serve-stale-data is set to 'no'.\r\n")
                                  .get()) == "masterdown");
  // No answer at all.
  CHECK(replicaFallbackReason(RedisStatus::Timeout, nullptr) == "timeout");
  CHECK(replicaFallbackReason(RedisStatus::ConnectionLost, nullptr) == "connection_lost");
  CHECK(replicaFallbackReason(RedisStatus::Unavailable, nullptr) == "unavailable");
  CHECK(replicaFallbackReason(RedisStatus::Closed, nullptr) == "closed");
}

}  // namespace redge
