#pragma once
// The flags as one process sees them: every flag, kept current from full
// loads and change messages, which come over two Redis connections (the
// load on the command connection, messages on the subscriber), so their
// relative order is not known. Every change in Redis takes the next number
// of one counter (the version) and a load says which version it saw:
//
// - while a load is out, messages are held; its answer becomes the base
//   and the held messages numbered after it are applied on top;
// - otherwise a message numbered at or below the version is stale (ignored),
//   and one that skips a number means a message was lost (load again).
//
// A snapshot read back from the file at start (Redis down) serves until the
// first load, which is the truth even at a lower version (Redis may have
// lost its data and counted again from zero).
//
// Pure: no libuv, no Redis, no file I/O; the caller gets the differences
// back, in order, to log, count and pass on.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flags/flag.hpp"

namespace redge {

enum class FlagOp { Put, Delete };

// One change as the store script publishes it:
//   {"version":V,"at":ms,"op":"put","name":N,"flag":{...}} or
//   {"version":V,"at":ms,"op":"delete","name":N}
// ("at": Redis's TIME when the change was made, for the propagation lag).
struct FlagMessage {
  int64_t version = 0;
  int64_t at_ms = 0;
  FlagOp op = FlagOp::Put;
  std::string name;
  std::optional<Flag> flag;  // for put
};
std::optional<FlagMessage> parseFlagMessage(std::string_view json);

// A whole load, from Redis or from the snapshot file.
struct FlagLoad {
  int64_t version = 0;
  std::vector<Flag> flags;
  size_t unreadable = 0;    // stored flags this redge could not read (skipped)
  int64_t saved_at_ms = 0;  // file only: when it was written (wall clock)
};

// The snapshot file: {"version":V,"saved_at":ms,"flags":[stored flags]}.
std::string snapshotFileJson(const std::map<std::string, Flag, std::less<>>& flags, int64_t version,
                             int64_t saved_at_ms);
std::optional<FlagLoad> parseSnapshotFile(std::string_view json);

struct FlagChange {
  FlagOp op = FlagOp::Put;
  // "message" (a change published), "resync" (a difference a full load
  // revealed).
  std::string_view cause;
  std::optional<Flag> before;  // the flag as it was, if it existed
  std::optional<Flag> after;   // for put
  const std::string& name() const { return after ? after->name : before->name; }
};

class FlagSnapshot {
 public:
  static constexpr size_t kMaxHeld = 4096;

  // The file's flags, before any load (ignored once loaded).
  void restore(const FlagLoad& load);
  void beginLoad();
  std::vector<FlagChange> finishLoad(const FlagLoad& load, bool& gap);
  std::vector<FlagChange> abandonLoad(bool& gap);
  std::vector<FlagChange> apply(const FlagMessage& message, bool& gap);

  const Flag* find(std::string_view name) const;
  // Changes with every call that may change what find() gives (a pointer
  // from find() is valid while it stays the same).
  uint64_t generation() const { return generation_; }
  const std::map<std::string, Flag, std::less<>>& all() const { return flags_; }
  int64_t version() const { return version_; }
  size_t size() const { return flags_.size(); }
  // A load from Redis has answered at least once.
  bool loaded() const { return loaded_; }
  // Serving what the file held, not confirmed by Redis yet.
  bool restored() const { return restored_ && !loaded_; }
  bool loading() const { return loading_; }

 private:
  void applyOne(const FlagMessage& m, std::vector<FlagChange>& out);
  void applyHeld(std::vector<FlagChange>& out, bool& gap);

  std::map<std::string, Flag, std::less<>> flags_;
  int64_t version_ = 0;
  uint64_t generation_ = 0;
  bool loaded_ = false;
  bool restored_ = false;
  bool loading_ = false;
  bool held_overflow_ = false;
  std::vector<FlagMessage> held_;
};

}  // namespace redge
