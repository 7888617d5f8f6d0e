#pragma once
// What the registry knows of one redge instance (its Redis hash, carried by
// the change messages), the checks names and addresses pass, and the JSON
// the admin routes show. Pure: no libuv, no Redis.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

struct InstanceRecord {
  std::string id;
  std::string service;
  std::string address;  // host:port where others reach it
  std::vector<std::string> tags;
  std::string version;
  std::string host;  // the machine's name
  int64_t pid = 0;
  int64_t lease_ms = 0;
  // Redis time (ms since the epoch), so instances on different machines
  // agree on deadlines.
  int64_t started_at_ms = 0;    // its first registration in this run
  int64_t heartbeat_at_ms = 0;  // its last heartbeat this view has read
  int64_t expires_at_ms = 0;    // lease deadline: the reaper removes it after this

  bool operator==(const InstanceRecord&) const = default;
  // Same instance, same data: heartbeats (times only) aside.
  bool sameIdentity(const InstanceRecord& o) const {
    return id == o.id && service == o.service && address == o.address && tags == o.tags &&
           version == o.version && host == o.host && pid == o.pid && lease_ms == o.lease_ms &&
           started_at_ms == o.started_at_ms;
  }
};

// Ids and service names: 1 to 64 of [A-Za-z0-9_.-]; an id is none of the
// registry's own key names (leases, changes, control, seq).
std::optional<std::string> checkServiceName(const std::string& value);
std::optional<std::string> checkInstanceId(const std::string& value);
// A tag: 1 to 64 of [A-Za-z0-9_.:=/-] (no comma: the hash keeps them joined).
std::optional<std::string> checkTag(const std::string& value);
// Empty, or host:port with a port of 1 to 65535 ("[v6]:port" too).
std::optional<std::string> checkAdvertise(const std::string& value);

// The port of a host:port address; 0 when it has none.
int addressPort(std::string_view address);

std::string joinTags(const std::vector<std::string>& tags);
std::vector<std::string> splitTags(std::string_view joined);

// Appends the record's fields as JSON members ("id":...,"service":...,
// "tags":[...],...), without the braces, so a caller can add its own.
void appendInstanceFields(std::string& out, const InstanceRecord& record);

}  // namespace redge
