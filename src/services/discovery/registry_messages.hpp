#pragma once
// The JSON the registry's Lua scripts write (cjson) and the view reads: a
// change message on <prefix>instances:changes, a full load, and a control
// message on <prefix>instances:control. Pure; every parser refuses what it
// does not understand (nullopt) rather than guessing.
//
//   change:  {"seq":N,"op":"added|updated|removed","reason":"...","id":"...",
//             "instance":{hash fields as strings, "expires_at"}}   (instance
//             optional for removed)
//   load:    {"seq":N,"instances":[{...}, ...]}   (cjson writes [] as {})
//   control: {"op":"stop","id":"..."}

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/discovery/instance_record.hpp"

namespace redge {

enum class ChangeOp { Added, Updated, Removed };

std::string_view changeOpName(ChangeOp op);

struct RegistryMessage {
  int64_t seq = 0;
  ChangeOp op = ChangeOp::Added;
  std::string reason;  // registered, changed, deregistered, expired, destroyed
  std::string id;
  std::optional<InstanceRecord> instance;  // always for added/updated
};

struct RegistryLoad {
  int64_t seq = 0;
  std::vector<InstanceRecord> instances;
};

struct ControlMessage {
  std::string op;
  std::string id;
};

std::optional<RegistryMessage> parseRegistryMessage(std::string_view json);
std::optional<RegistryLoad> parseRegistryLoad(std::string_view json);
std::optional<ControlMessage> parseControlMessage(std::string_view json);
// One instance object, as a change message's "instance" holds it.
std::optional<InstanceRecord> parseInstanceRecord(std::string_view json);

// Encoders for tests and tools that speak to the registry the way the
// scripts do.
std::string encodeRegistryMessage(const RegistryMessage& message);

}  // namespace redge
