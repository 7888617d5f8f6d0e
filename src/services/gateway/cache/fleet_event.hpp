#pragma once
// The messages gateways sharing a cache through Redis send one another on
// the events channel: "an entry was filled" (waiters elsewhere may read it
// now) and "these entries are gone" (a write's invalidation or an
// operator's purge, to be applied to every gateway's memory). Pure: the
// text form and its parsing.
//
// Wire form: fields joined by '\n' (no field may hold one; URIs, hosts and
// tags cannot, and purge requests are checked for control characters):
//
//   <origin>\n<verb>\n<route>\n<arg>[\n<arg>]
//
// `origin` names the sending gateway (a gateway ignores its own messages);
// `route` is the route's label ("<host><prefix>"), empty for "every route".

#include <optional>
#include <string>
#include <string_view>

namespace redge {

struct FleetEvent {
  enum class Kind {
    Filled,       // a: the key an entry was stored under (or given up on)
    Uri,          // a: a key to remove (with its Vary variants)
    Collection,   // a: a key whose path, with any query or none, goes
    PurgeUrl,     // a: host (empty: any), b: origin-form target
    PurgePrefix,  // a: host (empty: any), b: path prefix
    PurgeTag,     // a: tag
  };
  std::string origin;
  Kind kind = Kind::Uri;
  std::string route;
  std::string a;
  std::string b;

  bool operator==(const FleetEvent&) const = default;
};

std::string encodeFleetEvent(const FleetEvent& event);
// Nothing when `text` is not a message of this form (another program's on
// the channel, or a later version's verb).
std::optional<FleetEvent> decodeFleetEvent(std::string_view text);

}  // namespace redge
