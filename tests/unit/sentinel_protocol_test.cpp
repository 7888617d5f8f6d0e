// The Sentinel readers over replies that hiredis's own reader builds from
// RESP bytes as a sentinel or a server sends them, the +switch-master
// payload as sentinels publish it, and the order sentinels are tried in.

#include "redis/sentinel_protocol.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "wire_reply.hpp"

namespace redge {
namespace {

using redge_test::parseWireReply;

}  // namespace

TEST_CASE("sentinel: get-master-addr-by-name replies", "[sentinel]") {
  auto a = parseMasterAddrReply(parseWireReply("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n").get());
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 6380);
  CHECK(a->text() == "127.0.0.1:6380");
  auto v6 = parseMasterAddrReply(parseWireReply("*2\r\n$3\r\n::1\r\n$4\r\n6379\r\n").get());
  REQUIRE(v6);
  CHECK(v6->text() == "[::1]:6379");

  // The master is unknown to this sentinel (RESP2 nil array and nil bulk).
  CHECK_FALSE(parseMasterAddrReply(parseWireReply("*-1\r\n").get()));
  CHECK_FALSE(parseMasterAddrReply(parseWireReply("$-1\r\n").get()));
  CHECK_FALSE(parseMasterAddrReply(parseWireReply("-IDONTKNOW No such master\r\n").get()));
  CHECK_FALSE(parseMasterAddrReply(nullptr));
  // Malformed: a name instead of an address, a bad port, a short array, integers.
  CHECK_FALSE(
      parseMasterAddrReply(parseWireReply("*2\r\n$9\r\nredis.lan\r\n$4\r\n6379\r\n").get()));
  CHECK_FALSE(
      parseMasterAddrReply(parseWireReply("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n70000\r\n").get()));
  CHECK_FALSE(parseMasterAddrReply(parseWireReply("*2\r\n$9\r\n127.0.0.1\r\n$0\r\n\r\n").get()));
  CHECK_FALSE(parseMasterAddrReply(parseWireReply("*1\r\n$9\r\n127.0.0.1\r\n").get()));
  CHECK_FALSE(parseMasterAddrReply(parseWireReply("*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n").get()));
}

TEST_CASE("sentinel: +switch-master payloads", "[sentinel]") {
  auto m = parseSwitchMaster("mymaster 127.0.0.1 6379 127.0.0.1 6380");
  REQUIRE(m);
  CHECK(m->master_name == "mymaster");
  CHECK(m->old_address == RedisAddress{"127.0.0.1", 6379});
  CHECK(m->new_address == RedisAddress{"127.0.0.1", 6380});
  CHECK(parseSwitchMaster("m ::1 1 ::1 2")->new_address.text() == "[::1]:2");

  CHECK_FALSE(parseSwitchMaster(""));
  CHECK_FALSE(parseSwitchMaster("mymaster 127.0.0.1 6379 127.0.0.1"));
  CHECK_FALSE(parseSwitchMaster("mymaster 127.0.0.1 6379 127.0.0.1 6380 extra"));
  CHECK_FALSE(parseSwitchMaster("mymaster 127.0.0.1 6379 host.lan 6380"));
  CHECK_FALSE(parseSwitchMaster("mymaster 127.0.0.1 port 127.0.0.1 6380"));
}

TEST_CASE("sentinel: ROLE replies", "[sentinel]") {
  CHECK(parseRoleReply(parseWireReply("*3\r\n$6\r\nmaster\r\n:3129659\r\n*0\r\n").get()) ==
        RedisRole::Master);
  CHECK(parseRoleReply(
            parseWireReply(
                "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:9999\r\n$9\r\nconnected\r\n:3167038\r\n")
                .get()) == RedisRole::Replica);
  CHECK(parseRoleReply(parseWireReply("*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n").get()) ==
        RedisRole::Sentinel);
  CHECK(parseRoleReply(parseWireReply("-NOPERM no permission\r\n").get()) == RedisRole::Unknown);
  CHECK(parseRoleReply(parseWireReply("*0\r\n").get()) == RedisRole::Unknown);
  CHECK(parseRoleReply(parseWireReply("$6\r\nmaster\r\n").get()) == RedisRole::Unknown);
  CHECK(parseRoleReply(nullptr) == RedisRole::Unknown);
  CHECK(redisRoleName(RedisRole::Replica) == "replica");
}

TEST_CASE("sentinel: addresses in the configuration", "[sentinel]") {
  RedisAddress a;
  CHECK(parseRedisAddress("127.0.0.1:26379", a).empty());
  CHECK(a == RedisAddress{"127.0.0.1", 26379});
  CHECK(parseRedisAddress("[::1]:26380", a).empty());
  CHECK(a == RedisAddress{"::1", 26380});
  CHECK(parseRedisAddress("127.0.0.1", a) == "needs a port (host:port)");
  CHECK(parseRedisAddress("sentinel.lan:26379", a) ==
        "host must be a literal IPv4 or IPv6 address");
  CHECK(parseRedisAddress("127.0.0.1:0", a) == "port must be 1..65535");
  CHECK_FALSE(parseRedisAddress(":26379", a).empty());
}

TEST_CASE("sentinel: the rotation keeps a good sentinel and moves past a failed one",
          "[sentinel]") {
  SentinelRotation r(3);
  CHECK(r.current() == 0);
  CHECK(r.advance() == 1);
  CHECK(r.current() == 1);  // it answered: it stays current
  CHECK(r.advance() == 2);
  CHECK(r.advance() == 0);  // round the list
  SentinelRotation one(1);
  CHECK(one.advance() == 0);
  SentinelRotation none(0);  // never indexes past an empty list's one slot
  CHECK(none.advance() == 0);
}

}  // namespace redge

namespace redge {
namespace {

// One replica entry as a sentinel sends it (a subset of its fields, in its
// order; the readers must not depend on the others).
std::string replicaEntry(std::string_view ip, std::string_view port, std::string_view flags,
                         std::string_view link, std::string_view offset) {
  auto bulk = [](std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
  };
  std::string name = std::string(ip) + ":" + std::string(port);
  return "*14\r\n" + bulk("name") + bulk(name) + bulk("ip") + bulk(ip) + bulk("port") + bulk(port) +
         bulk("flags") + bulk(flags) + bulk("master-link-status") + bulk(link) +
         bulk("slave-priority") + bulk("100") + bulk("slave-repl-offset") + bulk(offset);
}

}  // namespace

TEST_CASE("sentinel: SENTINEL replicas replies", "[sentinel]") {
  std::string wire = "*3\r\n" + replicaEntry("127.0.0.1", "6381", "slave", "ok", "1500") +
                     replicaEntry("127.0.0.1", "6382", "s_down,slave,disconnected", "err", "0") +
                     replicaEntry("replica.lan", "6383", "slave", "ok", "9");
  auto list = parseSentinelReplicasReply(parseWireReply(wire).get());
  REQUIRE(list);
  // The entry named by a host name is skipped: redge connects to literals only.
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].address.text() == "127.0.0.1:6381");
  CHECK((*list)[0].flags == "slave");
  CHECK((*list)[0].master_link_status == "ok");
  CHECK((*list)[0].repl_offset == 1500);
  CHECK((*list)[1].address.port == 6382);
  CHECK_FALSE(replicaUsable((*list)[1]));
  CHECK(replicaUsable((*list)[0]));

  auto none = parseSentinelReplicasReply(parseWireReply("*0\r\n").get());
  REQUIRE(none);
  CHECK(none->empty());
  CHECK_FALSE(
      parseSentinelReplicasReply(parseWireReply("-ERR No such master with that name\r\n").get()));
  CHECK_FALSE(parseSentinelReplicasReply(nullptr));
}

TEST_CASE("sentinel: which replica reads go to", "[sentinel]") {
  auto at = [](int port, std::string flags, std::string link, int64_t offset) {
    return SentinelReplica{RedisAddress{"127.0.0.1", port}, std::move(flags), std::move(link),
                           offset};
  };
  const RedisAddress a{"127.0.0.1", 7001}, b{"127.0.0.1", 7002};
  // Down in any way, or with its master link down: never chosen.
  CHECK_FALSE(chooseReplica({at(7001, "slave,s_down", "ok", 10)}, std::nullopt));
  CHECK_FALSE(chooseReplica({at(7001, "slave,o_down", "ok", 10)}, std::nullopt));
  CHECK_FALSE(chooseReplica({at(7001, "slave,disconnected", "ok", 10)}, std::nullopt));
  CHECK_FALSE(chooseReplica({at(7001, "slave", "err", 10)}, std::nullopt));
  CHECK_FALSE(chooseReplica({}, a));
  // The least stale of the usable ones; the first on a tie.
  CHECK(chooseReplica({at(7001, "slave", "ok", 10), at(7002, "slave", "ok", 20)}, std::nullopt) ==
        b);
  CHECK(chooseReplica({at(7001, "slave", "ok", 20), at(7002, "slave", "ok", 20)}, std::nullopt) ==
        a);
  // The current one stays while usable, even a little behind another.
  CHECK(chooseReplica({at(7001, "slave", "ok", 10), at(7002, "slave", "ok", 20)}, a) == a);
  // ... and is left when it is not.
  CHECK(chooseReplica({at(7001, "slave,s_down", "ok", 10), at(7002, "slave", "ok", 5)}, a) == b);
  CHECK(chooseReplica({at(7002, "slave", "ok", 5)}, a) == b);
}

TEST_CASE("sentinel: replication offsets from ROLE", "[sentinel]") {
  CHECK(parseRoleOffset(parseWireReply("*3\r\n$6\r\nmaster\r\n:3129659\r\n*0\r\n").get()) ==
        3129659);
  CHECK(parseRoleOffset(
            parseWireReply(
                "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$9\r\nconnected\r\n:3129242\r\n")
                .get()) == 3129242);
  // A replica still connecting reports -1: no offset yet.
  CHECK_FALSE(parseRoleOffset(
      parseWireReply("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$7\r\nconnect\r\n:-1\r\n")
          .get()));
  CHECK_FALSE(parseRoleOffset(parseWireReply("*2\r\n$8\r\nsentinel\r\n*0\r\n").get()));
  CHECK_FALSE(parseRoleOffset(parseWireReply("*1\r\n$6\r\nmaster\r\n").get()));
  CHECK_FALSE(parseRoleOffset(parseWireReply("-NOPERM\r\n").get()));
  CHECK_FALSE(parseRoleOffset(nullptr));
}

TEST_CASE("sentinel: a master redge left is a lagging sentinel's answer for a while",
          "[sentinel]") {
  const RedisAddress a{"127.0.0.1", 7001}, b{"127.0.0.1", 7002}, c{"127.0.0.1", 7003};
  FormerMasters former(15000);
  CHECK_FALSE(former.replaced(a, 0));

  // A fails over to B at t=1 s: naming A is stale until t=16 s, naming B
  // never is.
  former.noteReplaced(a, b, 1000);
  CHECK(former.replaced(a, 1000));
  CHECK(former.replaced(a, 15999));
  CHECK_FALSE(former.replaced(a, 16000));
  CHECK_FALSE(former.replaced(b, 2000));
  CHECK_FALSE(former.replaced(c, 2000));

  // B fails over to C: both A and B are stale now.
  former.noteReplaced(b, c, 5000);
  CHECK(former.replaced(a, 5000));
  CHECK(former.replaced(b, 5000));
  CHECK_FALSE(former.replaced(c, 5000));

  // A switch back to A (announced by +switch-master) makes A current: a
  // sentinel naming it is right again.
  former.noteReplaced(c, a, 6000);
  CHECK_FALSE(former.replaced(a, 6000));
  CHECK(former.replaced(b, 6000));
  CHECK(former.replaced(c, 6000));

  // Expired entries go when the next failover is noted: the list stays as
  // long as the failovers of the last 15 s.
  former.noteReplaced(a, b, 30000);
  CHECK(former.size() == 1);
  CHECK(former.replaced(a, 30000));
  CHECK_FALSE(former.replaced(c, 30000));
}

}  // namespace redge
