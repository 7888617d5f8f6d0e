// RegistrySnapshot and the registry's messages: the view a gateway follows,
// kept right whatever order loads and change messages arrive in.

#include "services/discovery/registry_snapshot.hpp"

#include <catch2/catch.hpp>

using namespace redge;

namespace {

InstanceRecord instance(const std::string& id, const std::string& service = "web",
                        int port = 3000) {
  InstanceRecord r;
  r.id = id;
  r.service = service;
  r.address = "127.0.0.1:" + std::to_string(port);
  r.tags = {"zone=a"};
  r.version = "0.1.0";
  r.host = "h1";
  r.pid = 100;
  r.lease_ms = 5000;
  r.started_at_ms = 1000;
  r.heartbeat_at_ms = 1000;
  r.expires_at_ms = 6000;
  return r;
}

RegistryMessage added(int64_t seq, const InstanceRecord& r) {
  return {seq, ChangeOp::Added, "registered", r.id, r};
}

RegistryMessage removed(int64_t seq, const std::string& id, const std::string& reason) {
  return {seq, ChangeOp::Removed, reason, id, std::nullopt};
}

std::vector<RegistryChange> apply(RegistrySnapshot& s, const RegistryMessage& m,
                                  bool* gap_out = nullptr) {
  bool gap = false;
  auto out = s.apply(m, gap);
  if (gap_out) *gap_out = gap;
  return out;
}

std::vector<RegistryChange> load(RegistrySnapshot& s, int64_t seq, std::vector<InstanceRecord> list,
                                 bool* gap_out = nullptr) {
  bool gap = false;
  s.beginLoad();
  auto out = s.finishLoad(RegistryLoad{seq, std::move(list)}, gap);
  if (gap_out) *gap_out = gap;
  return out;
}

}  // namespace

TEST_CASE("registry snapshot: messages add, update and remove instances", "[discovery]") {
  RegistrySnapshot s;
  load(s, 0, {});
  auto c = apply(s, added(1, instance("a")));
  REQUIRE(c.size() == 1);
  CHECK(c[0].op == ChangeOp::Added);
  CHECK(c[0].reason == "registered");
  CHECK(s.ofService("web").size() == 1);

  InstanceRecord moved = instance("a", "web", 3001);
  c = apply(s, {2, ChangeOp::Updated, "changed", "a", moved});
  REQUIRE(c.size() == 1);
  CHECK(c[0].op == ChangeOp::Updated);
  CHECK(s.find("a")->address == "127.0.0.1:3001");

  c = apply(s, removed(3, "a", "expired"));
  REQUIRE(c.size() == 1);
  CHECK(c[0].op == ChangeOp::Removed);
  CHECK(c[0].reason == "expired");
  CHECK(c[0].instance.address == "127.0.0.1:3001");  // the last record known
  CHECK(s.size() == 0);
  CHECK(s.seq() == 3);
}

TEST_CASE("registry snapshot: instances by service", "[discovery]") {
  RegistrySnapshot s;
  load(s, 3, {instance("a"), instance("b", "api"), instance("c")});
  CHECK(s.ofService("web").size() == 2);
  CHECK(s.countOf("api") == 1);
  CHECK(s.countOf("none") == 0);
  CHECK(s.find("b")->service == "api");
  CHECK(s.find("zz") == nullptr);
}

TEST_CASE("registry snapshot: a re-registration with the same data changes nothing",
          "[discovery]") {
  RegistrySnapshot s;
  load(s, 1, {instance("a")});
  InstanceRecord later = instance("a");
  later.heartbeat_at_ms = 9000;  // its hash had expired; the heartbeat wrote it again
  later.expires_at_ms = 14000;
  CHECK(apply(s, added(2, later)).empty());
  CHECK(s.find("a")->heartbeat_at_ms == 9000);
  CHECK(apply(s, removed(3, "nobody", "expired")).empty());
}

TEST_CASE("registry snapshot: a message the load already had is ignored", "[discovery]") {
  RegistrySnapshot s;
  load(s, 5, {instance("a")});
  CHECK(apply(s, removed(4, "a", "deregistered")).empty());  // older than the load
  CHECK(apply(s, removed(5, "a", "deregistered")).empty());
  CHECK(s.find("a") != nullptr);
  bool gap = true;
  CHECK(apply(s, removed(6, "a", "deregistered"), &gap).size() == 1);
  CHECK_FALSE(gap);
}

TEST_CASE("registry snapshot: a skipped number means a lost message", "[discovery]") {
  RegistrySnapshot s;
  load(s, 1, {});
  bool gap = false;
  apply(s, added(2, instance("a")), &gap);
  CHECK_FALSE(gap);
  auto c = apply(s, added(5, instance("b")), &gap);
  CHECK(gap);            // 3 and 4 never came: the caller loads again
  CHECK(c.size() == 1);  // applied all the same: it is newer than anything here
}

TEST_CASE("registry snapshot: messages that arrive while a load is out are replayed on it",
          "[discovery]") {
  RegistrySnapshot s;
  load(s, 1, {instance("a")});
  s.beginLoad();
  // Published after the load ran (7, 8) and before it (6): the order they
  // arrive in says nothing.
  CHECK(apply(s, removed(7, "b", "deregistered")).empty());
  CHECK(apply(s, added(6, instance("b"))).empty());
  CHECK(apply(s, added(8, instance("c"))).empty());
  CHECK(s.size() == 1);  // held, not applied yet
  bool gap = true;
  // The load ran at 6: it has a and b (b registered at 6); a's removal came
  // through no message we hold, so it shows as a resync difference.
  auto c = s.finishLoad(RegistryLoad{6, {instance("b")}}, gap);
  CHECK_FALSE(gap);
  CHECK(s.find("a") == nullptr);
  CHECK(s.find("b") == nullptr);  // removed at 7, after the load
  CHECK(s.find("c") != nullptr);  // added at 8
  CHECK(s.seq() == 8);
  REQUIRE(c.size() == 4);
  CHECK((c[0].op == ChangeOp::Removed && c[0].instance.id == "a" && c[0].reason == "resync"));
  CHECK((c[1].op == ChangeOp::Added && c[1].instance.id == "b" && c[1].reason == "resync"));
  CHECK((c[2].op == ChangeOp::Removed && c[2].instance.id == "b" && c[2].reason == "deregistered"));
  CHECK((c[3].op == ChangeOp::Added && c[3].instance.id == "c"));
}

TEST_CASE("registry snapshot: a held message past a gap asks for another load", "[discovery]") {
  RegistrySnapshot s;
  s.beginLoad();
  apply(s, added(9, instance("x")));
  bool gap = false;
  s.finishLoad(RegistryLoad{6, {}}, gap);
  CHECK(gap);  // 7 and 8 were lost
  CHECK(s.find("x") != nullptr);
}

TEST_CASE("registry snapshot: a failed load applies what it held", "[discovery]") {
  RegistrySnapshot s;
  load(s, 1, {instance("a")});
  s.beginLoad();
  apply(s, removed(2, "a", "expired"));
  bool gap = true;
  auto c = s.abandonLoad(gap);
  CHECK_FALSE(gap);
  REQUIRE(c.size() == 1);
  CHECK(c[0].reason == "expired");
  CHECK_FALSE(s.loading());
}

TEST_CASE("registry snapshot: after Redis restarted empty the lower numbers count again",
          "[discovery]") {
  RegistrySnapshot s;
  load(s, 500, {instance("a"), instance("b")});
  // Redis came back without its data: the reload sees seq 0 and nothing.
  auto c = load(s, 0, {});
  CHECK(c.size() == 2);
  CHECK(s.seq() == 0);
  // The instances register again, numbered from 1.
  CHECK(apply(s, added(1, instance("a"))).size() == 1);
  CHECK(s.find("a") != nullptr);
}

TEST_CASE("registry snapshot: a load shows what changed since the last one", "[discovery]") {
  RegistrySnapshot s;
  load(s, 1, {instance("a"), instance("b")});
  InstanceRecord b2 = instance("b", "web", 4000);
  InstanceRecord a_beat = instance("a");
  a_beat.heartbeat_at_ms = 7000;  // a heartbeat is no change
  auto c = load(s, 9, {a_beat, b2, instance("c")});
  REQUIRE(c.size() == 2);
  CHECK((c[0].op == ChangeOp::Updated && c[0].instance.id == "b"));
  CHECK((c[1].op == ChangeOp::Added && c[1].instance.id == "c"));
  CHECK(s.find("a")->heartbeat_at_ms == 7000);
}

TEST_CASE("registry messages: change, load and control messages as the scripts write them",
          "[discovery]") {
  InstanceRecord r = instance("web-1");
  RegistryMessage m{42, ChangeOp::Added, "registered", "web-1", r};
  auto parsed = parseRegistryMessage(encodeRegistryMessage(m));
  REQUIRE(parsed.has_value());
  CHECK(parsed->seq == 42);
  CHECK(parsed->op == ChangeOp::Added);
  CHECK(parsed->reason == "registered");
  REQUIRE(parsed->instance.has_value());
  CHECK(*parsed->instance == r);

  // cjson's own forms: seq a number, a removal with the last record or none,
  // an empty list written as an object.
  auto gone = parseRegistryMessage(R"({"op":"removed","reason":"expired","id":"x","seq":7})");
  REQUIRE(gone.has_value());
  CHECK(gone->op == ChangeOp::Removed);
  CHECK_FALSE(gone->instance.has_value());
  auto empty = parseRegistryLoad(R"({"seq":0,"instances":{}})");
  REQUIRE(empty.has_value());
  CHECK(empty->instances.empty());
  auto one = parseRegistryLoad(
      R"({"seq":3,"instances":[{"id":"a","service":"web","address":"h:1","tags":"x,y",)"
      R"("pid":"12","lease_ms":"5000","started_at":"1","heartbeat_at":"2","expires_at":"5002"}]})");
  REQUIRE(one.has_value());
  REQUIRE(one->instances.size() == 1);
  CHECK(one->instances[0].tags == std::vector<std::string>{"x", "y"});
  CHECK(one->instances[0].expires_at_ms == 5002);
  CHECK(one->instances[0].pid == 12);

  auto stop = parseControlMessage(R"({"op":"stop","id":"web-1"})");
  REQUIRE(stop.has_value());
  CHECK(stop->op == "stop");
  CHECK(stop->id == "web-1");
}

TEST_CASE("registry messages: what is not understood is refused, not guessed", "[discovery]") {
  CHECK_FALSE(parseRegistryMessage("not json").has_value());
  CHECK_FALSE(parseRegistryMessage("[]").has_value());
  CHECK_FALSE(parseRegistryMessage(R"({"seq":1,"op":"exploded","id":"a"})").has_value());
  CHECK_FALSE(parseRegistryMessage(R"({"seq":0,"op":"removed","id":"a"})").has_value());
  CHECK_FALSE(parseRegistryMessage(R"({"op":"removed","id":"a"})").has_value());
  CHECK_FALSE(parseRegistryMessage(R"({"seq":1,"op":"added","id":"a"})").has_value());
  CHECK_FALSE(
      parseRegistryMessage(
          R"({"seq":1,"op":"added","id":"a","instance":{"id":"b","service":"s","address":"x"}})")
          .has_value());  // the record names another instance
  CHECK_FALSE(
      parseRegistryMessage(
          R"({"seq":1,"op":"added","id":"a","instance":{"id":"a","service":"s","address":"x","pid":"12x"}})")
          .has_value());
  CHECK_FALSE(parseRegistryLoad(R"({"instances":[]})").has_value());
  CHECK_FALSE(parseRegistryLoad(R"({"seq":1,"instances":[{"id":"a"}]})").has_value());
  CHECK_FALSE(parseControlMessage(R"({"op":"stop"})").has_value());
  CHECK_FALSE(parseRegistryMessage(std::string(1000, '{')).has_value());
}
