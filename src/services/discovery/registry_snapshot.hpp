#pragma once
// The registry as one process sees it: every instance, kept current from
// full loads and change messages, which reach it over two different Redis
// connections (the load on the command connection, the messages on the
// subscriber), so their relative order is not known. Every change in Redis
// takes the next number of one counter (<prefix>instances:seq) and a load
// says which number it saw, which settles the order:
//
// - while a load is out, messages are held; its answer becomes the base and
//   the held messages numbered after it are applied on top;
// - otherwise a message numbered at or below the last one seen is stale
//   (ignored), and one that skips a number means a message was lost (the
//   caller loads again).
//
// Pure: no libuv, no Redis; the caller reports what happened and gets the
// differences back, in order, to pass on to whoever follows the registry.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "services/discovery/instance_record.hpp"
#include "services/discovery/registry_messages.hpp"

namespace redge {

struct RegistryChange {
  ChangeOp op = ChangeOp::Added;
  // Why: the message's reason (registered, deregistered, expired, destroyed,
  // changed), or "resync" for a difference a full load revealed.
  std::string reason;
  InstanceRecord instance;  // for removed: the last record known
};

class RegistrySnapshot {
 public:
  // Held messages beyond this while a load is out are dropped and the load
  // that follows is marked incomplete (another load is needed).
  static constexpr size_t kMaxHeld = 4096;

  // A full load was sent: hold messages until its answer.
  void beginLoad();
  // The answer of the load begun last. `gap` is set when the held messages
  // skip a number (load again).
  std::vector<RegistryChange> finishLoad(const RegistryLoad& load, bool& gap);
  // The load failed: what was held is applied as it came.
  std::vector<RegistryChange> abandonLoad(bool& gap);
  // One change message; `gap` is set when it skips a number.
  std::vector<RegistryChange> apply(const RegistryMessage& message, bool& gap);

  bool loaded() const { return loaded_; }
  bool loading() const { return loading_; }
  int64_t seq() const { return seq_; }
  size_t size() const { return instances_.size(); }
  const std::map<std::string, InstanceRecord, std::less<>>& all() const { return instances_; }
  const InstanceRecord* find(std::string_view id) const;
  std::vector<InstanceRecord> ofService(std::string_view service) const;
  size_t countOf(std::string_view service) const;

 private:
  void applyOne(const RegistryMessage& m, std::vector<RegistryChange>& out);
  void applyHeld(std::vector<RegistryChange>& out, bool& gap);

  std::map<std::string, InstanceRecord, std::less<>> instances_;
  int64_t seq_ = 0;
  bool loaded_ = false;
  bool loading_ = false;
  bool held_overflow_ = false;
  std::vector<RegistryMessage> held_;
};

}  // namespace redge
