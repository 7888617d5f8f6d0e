#pragma once
// What a firing rule does besides notifying: its `actions`, each one text
// "<kind>:<target>". Pure: parsing and the names; the alerts service runs
// them when a rule begins firing (once per firing episode, not every tick).
//
//   canary_abort:<pool>  the pool's canary weight flag off, so every gateway
//                        on the same Redis stops sending to the canary
//   flag_off:<name>      the feature flag off
//   scale_out:<service>  one more instance, through the autoscaler (within
//   scale_in:<service>   its max / min; only the instance holding its lease
//                        acts, so a rule firing everywhere scales once)

#include <optional>
#include <string>
#include <string_view>

namespace redge {

struct AlertAction {
  enum class Kind { CanaryAbort, FlagOff, ScaleOut, ScaleIn };
  Kind kind = Kind::FlagOff;
  std::string target;  // the pool, the flag, or the service
  std::string text;    // as written, for logs and the metric's label
};

// The action `text` names, or nullopt with `error` set (a sentence fragment
// naming what is wrong).
std::optional<AlertAction> parseAlertAction(std::string_view text, std::string& error);

}  // namespace redge
