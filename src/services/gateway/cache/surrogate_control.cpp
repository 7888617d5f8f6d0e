// Reading Surrogate-Control for the gateway (see surrogate_control.hpp).

#include "services/gateway/cache/surrogate_control.hpp"

#include "core/ascii.hpp"
#include "services/gateway/cache/field_values.hpp"

namespace redge {

SurrogateControl parseSurrogateControl(std::span<const HttpHeaderField> headers,
                                       std::string_view device) {
  SurrogateControl sc;
  forEachFieldLine(headers, "surrogate-control", [&](std::string_view line) {
    forEachListMember(line, [&](std::string_view member) {
      std::string_view directive = member;
      size_t semi = member.find(';');
      if (semi != std::string_view::npos) {
        directive = member.substr(0, semi);
        if (!equalsIgnoreCase(trimFieldOws(member.substr(semi + 1)), device)) return;
      }
      size_t eq = directive.find('=');
      std::string_view name = directive.substr(0, eq);
      if (equalsIgnoreCase(name, "no-store")) {
        if (eq == std::string_view::npos) sc.no_store = true;
        return;
      }
      if (!equalsIgnoreCase(name, "max-age") || eq == std::string_view::npos || sc.max_age) return;
      std::string_view value = directive.substr(eq + 1);
      value = value.substr(0, value.find('+'));  // the stale extension is not used
      if (std::optional<int64_t> s = parseDeltaSeconds(value)) sc.max_age = *s;
    });
  });
  return sc;
}

}  // namespace redge
