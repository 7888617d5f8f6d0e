// The gateway cache's fleet messages in text (see fleet_event.hpp).

#include "services/gateway/cache/fleet_event.hpp"

#include <array>
#include <vector>

namespace redge {
namespace {

struct VerbName {
  FleetEvent::Kind kind;
  std::string_view name;
  size_t args;
};

constexpr std::array<VerbName, 6> kVerbs = {{
    {FleetEvent::Kind::Filled, "filled", 1},
    {FleetEvent::Kind::Uri, "uri", 1},
    {FleetEvent::Kind::Collection, "collection", 1},
    {FleetEvent::Kind::PurgeUrl, "purge-url", 2},
    {FleetEvent::Kind::PurgePrefix, "purge-prefix", 2},
    {FleetEvent::Kind::PurgeTag, "purge-tag", 1},
}};

const VerbName* verbOf(FleetEvent::Kind kind) {
  for (const VerbName& v : kVerbs) {
    if (v.kind == kind) return &v;
  }
  return nullptr;
}

}  // namespace

std::string encodeFleetEvent(const FleetEvent& event) {
  const VerbName* verb = verbOf(event.kind);
  std::string out;
  out.reserve(event.origin.size() + event.route.size() + event.a.size() + event.b.size() + 24);
  out.append(event.origin).append("\n").append(verb->name).append("\n").append(event.route);
  out.append("\n").append(event.a);
  if (verb->args == 2) out.append("\n").append(event.b);
  return out;
}

std::optional<FleetEvent> decodeFleetEvent(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t at = 0;
  while (fields.size() < 6) {
    size_t nl = text.find('\n', at);
    fields.push_back(text.substr(at, nl == std::string_view::npos ? nl : nl - at));
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  if (fields.size() < 4 || fields[0].empty()) return std::nullopt;
  for (const VerbName& v : kVerbs) {
    if (fields[1] != v.name) continue;
    if (fields.size() != 3 + v.args) return std::nullopt;
    FleetEvent e;
    e.origin = fields[0];
    e.kind = v.kind;
    e.route = fields[2];
    e.a = fields[3];
    if (v.args == 2) e.b = fields[4];
    return e;
  }
  return std::nullopt;
}

}  // namespace redge
