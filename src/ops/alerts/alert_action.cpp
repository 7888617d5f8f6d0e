// Parsing a rule's actions (see the header). Targets are checked as the
// modules that own them check names: a pool name or a flag name.

#include "ops/alerts/alert_action.hpp"

#include "flags/flag.hpp"
#include "services/discovery/instance_record.hpp"
#include "services/gateway/gateway_config.hpp"

namespace redge {

std::optional<AlertAction> parseAlertAction(std::string_view text, std::string& error) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    error = "'" + std::string(text) +
            "' is not an action: write canary_abort:<pool> or flag_off:<flag>";
    return std::nullopt;
  }
  std::string_view kind = text.substr(0, colon);
  std::string target(text.substr(colon + 1));
  AlertAction a;
  a.text = std::string(text);
  a.target = target;
  if (kind == "canary_abort") {
    a.kind = AlertAction::Kind::CanaryAbort;
    if (auto reason = checkPoolName(target)) {
      error = "canary_abort needs a gateway pool's name: " + *reason;
      return std::nullopt;
    }
    return a;
  }
  if (kind == "flag_off") {
    a.kind = AlertAction::Kind::FlagOff;
    if (auto reason = checkFlagName(target)) {
      error = "flag_off needs a flag's name: " + *reason;
      return std::nullopt;
    }
    return a;
  }
  if (kind == "scale_out" || kind == "scale_in") {
    a.kind = kind == "scale_out" ? AlertAction::Kind::ScaleOut : AlertAction::Kind::ScaleIn;
    if (auto reason = checkServiceName(target)) {
      error = std::string(kind) + " needs a registry service's name: " + *reason;
      return std::nullopt;
    }
    return a;
  }
  error = "unknown action '" + std::string(kind) +
          "': write canary_abort:<pool>, flag_off:<flag>, scale_out:<service> or "
          "scale_in:<service>";
  return std::nullopt;
}

}  // namespace redge
