#pragma once
// A command receiver's `format: "email"`: the notification as an RFC 5322
// message (From, To, Subject, Date, a plain-text body), so `msmtp -t` or
// `sendmail -t` on stdin sends it as it is. Rendered from the Alertmanager
// payload the receiver would otherwise get. Pure.
//
//   Subject: [FIRING:1] CanaryErrorRatio (page)
//
// Header values never carry a line break of the data (a label value with
// CR or LF is folded to spaces), so no alert can add a header or a recipient.

#include <cstdint>
#include <string>
#include <string_view>

namespace redge {

struct AlertEmailOptions {
  std::string from = "redge <redge@localhost>";
  std::string to;  // one or more addresses, comma separated
};

// The message for `payload` (Alertmanager v4 JSON); empty if the payload does
// not parse (it always does when redge built it).
std::string renderAlertEmail(std::string_view payload, const AlertEmailOptions& options,
                             int64_t now_wall_ms);

// RFC 5322 date: "Sun, 29 Nov 2026 13:55:00 +0000".
std::string formatRfc5322Date(int64_t wall_ms);

}  // namespace redge
