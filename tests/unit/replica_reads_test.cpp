// Which answers of a replica send a read to the master instead
// (replicaFallbackReason), over replies hiredis's reader builds from RESP
// bytes as a replica sends them.

#include "redis/replica_reads.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string_view>

#include "wire_reply.hpp"

namespace redge {
namespace {

using redge_test::parseWireReply;

}  // namespace

TEST_CASE("replica reads: what the master is asked again", "[replica]") {
  // An answer, even nil or an error the master would repeat, is the answer.
  CHECK(replicaFallbackReason(RedisStatus::Ok, parseWireReply("$3\r\none\r\n").get()).empty());
  CHECK(replicaFallbackReason(RedisStatus::Ok, parseWireReply("$-1\r\n").get()).empty());
  CHECK(replicaFallbackReason(
            RedisStatus::ErrorReply,
            parseWireReply("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
                .get())
            .empty());
  // A replica that cannot serve yet, or not any more.
  CHECK(replicaFallbackReason(
            RedisStatus::ErrorReply,
            parseWireReply("-LOADING Redis is loading the dataset in memory\r\n").get()) ==
        "loading");
  CHECK(replicaFallbackReason(RedisStatus::ErrorReply,
                              parseWireReply("-MASTERDOWN Link with MASTER is down and "
                                             "replica-serve-stale-data is set to 'no'.\r\n")
                                  .get()) == "masterdown");
  // No answer at all.
  CHECK(replicaFallbackReason(RedisStatus::Timeout, nullptr) == "timeout");
  CHECK(replicaFallbackReason(RedisStatus::ConnectionLost, nullptr) == "connection_lost");
  CHECK(replicaFallbackReason(RedisStatus::Unavailable, nullptr) == "unavailable");
  CHECK(replicaFallbackReason(RedisStatus::Closed, nullptr) == "closed");
}

}  // namespace redge
