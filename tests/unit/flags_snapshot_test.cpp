// The flag snapshot's versioning: messages applied in order, stale ones
// ignored, a skipped number reported as a gap, messages held during a load
// and applied on top of it, a load as the truth even at a lower version
// (Redis lost its data), the file's flags served until the first load, and
// the message and file formats.

#include <catch2/catch.hpp>
#include <string>

#include "flags/flag.hpp"
#include "flags/flag_snapshot.hpp"

using redge::Flag;
using redge::FlagChange;
using redge::FlagLoad;
using redge::FlagMessage;
using redge::FlagOp;
using redge::FlagSnapshot;

namespace {

Flag flagAt(const std::string& name, bool enabled, int64_t version) {
  Flag f;
  f.name = name;
  f.enabled = enabled;
  f.version = version;
  f.updated_at_ms = 1000 + version;
  return f;
}

FlagMessage put(const std::string& name, bool enabled, int64_t version) {
  return FlagMessage{version, 0, FlagOp::Put, name, flagAt(name, enabled, version)};
}

FlagMessage del(const std::string& name, int64_t version) {
  return FlagMessage{version, 0, FlagOp::Delete, name, std::nullopt};
}

FlagLoad loadOf(int64_t version, std::vector<Flag> flags) {
  FlagLoad l;
  l.version = version;
  l.flags = std::move(flags);
  return l;
}

}  // namespace

TEST_CASE("flags snapshot: messages in order with stale ones ignored and a gap reported",
          "[flags]") {
  FlagSnapshot s;
  s.beginLoad();
  bool gap = true;
  std::vector<FlagChange> first = s.finishLoad(loadOf(3, {flagAt("a", false, 3)}), gap);
  CHECK_FALSE(gap);
  REQUIRE(first.size() == 1);  // the empty view learned "a" from the load
  CHECK(first[0].cause == "resync");
  CHECK_FALSE(first[0].before);
  CHECK(s.loaded());
  std::vector<FlagChange> c = s.apply(put("a", true, 4), gap);
  CHECK_FALSE(gap);
  REQUIRE(c.size() == 1);
  CHECK(c[0].before->enabled == false);
  CHECK(c[0].after->enabled == true);
  CHECK(c[0].cause == "message");
  CHECK(s.find("a")->enabled);
  // The same version again (the message of a write already applied): nothing.
  CHECK(s.apply(put("a", false, 4), gap).empty());
  CHECK(s.find("a")->enabled);
  // 5 was lost: 6 is applied and the gap reported (the caller reloads).
  c = s.apply(del("a", 6), gap);
  CHECK(gap);
  REQUIRE(c.size() == 1);
  CHECK(c[0].op == FlagOp::Delete);
  CHECK(c[0].name() == "a");
  CHECK(s.find("a") == nullptr);
  CHECK(s.version() == 6);
}

TEST_CASE("flags snapshot: messages during a load are held and applied on top", "[flags]") {
  FlagSnapshot s;
  bool gap = false;
  s.beginLoad();
  CHECK(s.apply(put("a", true, 5), gap).empty());  // held
  CHECK(s.apply(put("b", true, 6), gap).empty());
  // The load saw version 5: "a" at 5 already, "b" not yet.
  std::vector<FlagChange> c = s.finishLoad(loadOf(5, {flagAt("a", true, 5)}), gap);
  CHECK_FALSE(gap);
  REQUIRE(c.size() == 2);
  CHECK(c[0].name() == "a");
  CHECK(c[0].cause == "resync");
  CHECK(c[1].name() == "b");
  CHECK(c[1].cause == "message");
  CHECK(s.version() == 6);
  // A held message beyond a lost one: the load's answer reports the gap.
  s.beginLoad();
  CHECK(s.apply(put("c", true, 9), gap).empty());
  s.finishLoad(loadOf(6, {flagAt("a", true, 5), flagAt("b", true, 6)}), gap);
  CHECK(gap);
}

TEST_CASE("flags snapshot: a load is the truth even at a lower version", "[flags]") {
  FlagSnapshot s;
  bool gap = false;
  s.beginLoad();
  s.finishLoad(loadOf(40, {flagAt("a", true, 40), flagAt("b", true, 12)}), gap);
  // Redis restarted empty and counted again: version 2 holds only "c".
  s.beginLoad();
  std::vector<FlagChange> c = s.finishLoad(loadOf(2, {flagAt("c", false, 2)}), gap);
  REQUIRE(c.size() == 3);
  CHECK(s.version() == 2);
  CHECK(s.find("a") == nullptr);
  CHECK(s.find("c") != nullptr);
  // And what follows it numbers from there.
  s.apply(put("c", true, 3), gap);
  CHECK_FALSE(gap);
  CHECK(s.find("c")->enabled);
  // An unchanged flag in a load is no change.
  s.beginLoad();
  CHECK(s.finishLoad(loadOf(3, {*s.find("c")}), gap).empty());
}

TEST_CASE("flags snapshot: the file's flags serve until the first load", "[flags]") {
  std::map<std::string, Flag, std::less<>> flags = {{"a", flagAt("a", false, 7)}};
  std::string text = redge::snapshotFileJson(flags, 7, 123456);
  std::optional<FlagLoad> file = redge::parseSnapshotFile(text);
  REQUIRE(file);
  CHECK(file->version == 7);
  CHECK(file->saved_at_ms == 123456);
  REQUIRE(file->flags.size() == 1);
  CHECK(file->flags[0] == flags["a"]);

  FlagSnapshot s;
  s.restore(*file);
  CHECK(s.restored());
  CHECK_FALSE(s.loaded());
  CHECK_FALSE(s.find("a")->enabled);
  // A message before the first load: applied, and a load asked for.
  bool gap = false;
  s.apply(put("a", true, 8), gap);
  CHECK(gap);
  CHECK(s.find("a")->enabled);
  s.beginLoad();
  s.finishLoad(loadOf(8, {flagAt("a", true, 8)}), gap);
  CHECK_FALSE(s.restored());
  // Restoring after a load changes nothing.
  s.restore(*file);
  CHECK(s.find("a")->enabled);

  CHECK_FALSE(redge::parseSnapshotFile("{\"flags\":[]}"));
  CHECK_FALSE(redge::parseSnapshotFile("not json"));
}

TEST_CASE("flags snapshot: change messages as the scripts publish them", "[flags]") {
  auto m = redge::parseFlagMessage(
      R"({"version":3,"at":99,"op":"put","name":"a","flag":{"name":"a","enabled":true,"rollout":100,
          "stickiness":"client_address","targets":[],"variants":[],"description":"",
          "updated_by":"x","updated_at":99,"version":3}})");
  REQUIRE(m);
  CHECK(m->version == 3);
  CHECK(m->at_ms == 99);
  CHECK(m->flag->enabled);
  auto d = redge::parseFlagMessage(R"({"version":4,"at":1,"op":"delete","name":"a"})");
  REQUIRE(d);
  CHECK(d->op == FlagOp::Delete);
  CHECK_FALSE(redge::parseFlagMessage(R"({"version":4,"op":"rename","name":"a"})"));
  CHECK_FALSE(redge::parseFlagMessage(R"({"version":"4","op":"delete","name":"a"})"));
  CHECK_FALSE(redge::parseFlagMessage(R"({"version":4,"op":"put","name":"a"})"));
  CHECK_FALSE(
      redge::parseFlagMessage(R"({"version":4,"op":"put","name":"a","flag":{"name":"b"}})"));
  CHECK_FALSE(redge::parseFlagMessage("nope"));
}
