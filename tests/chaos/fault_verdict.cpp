// The chaos suite's verdicts on a load run around one fault (see the header).

#include "fault_verdict.hpp"

#include <map>

namespace redge_test {

std::vector<std::string> slowOrUnanswered(const LoadDriver& driver,
                                          const std::vector<LoadOutcome>& outcomes, double limit_ms,
                                          size_t limit) {
  std::vector<std::string> out;
  for (const auto& o : outcomes) {
    if ((!o.answered || o.latencyMs() > limit_ms) && out.size() < limit) {
      out.push_back(describeOutcome(driver, o));
    }
  }
  return out;
}

std::vector<std::string> improperFailures(const LoadDriver& driver,
                                          const std::vector<LoadOutcome>& outcomes,
                                          const std::set<std::string>& codes,
                                          const std::set<std::string>& never_fail, size_t limit) {
  std::vector<std::string> out;
  for (const auto& o : outcomes) {
    if (o.ok) continue;
    const LoadRequest& r = driver.mix()[o.request];
    bool proper;
    if (never_fail.count(r.name) != 0 || !o.answered) {
      proper = false;
    } else if (r.wire == LoadRequest::Wire::Resp) {
      proper = o.reply == "-ERR redis unavailable" || o.reply == "-ERR redis timeout";
    } else {
      proper = o.status == 503 && o.retry_after && codes.count(o.error_code) != 0;
    }
    if (!proper && out.size() < limit) out.push_back(describeOutcome(driver, o));
  }
  return out;
}

std::vector<std::string> failuresOutside(const LoadDriver& driver,
                                         const std::vector<LoadOutcome>& outcomes, double from_ms,
                                         double to_ms, size_t limit) {
  std::vector<std::string> out;
  for (const auto& o : outcomes) {
    if (!o.ok && (o.sent_ms < from_ms || o.sent_ms > to_ms) && out.size() < limit) {
      out.push_back(describeOutcome(driver, o));
    }
  }
  return out;
}

std::vector<Recovery> recoveryTimes(const LoadDriver& driver,
                                    const std::vector<LoadOutcome>& outcomes, double back_ms) {
  std::map<std::string, double> first;
  for (const auto& r : driver.mix()) first.emplace(r.name, -1);
  for (const auto& o : outcomes) {
    if (!o.ok || o.done_ms < back_ms) continue;
    double& f = first[driver.mix()[o.request].name];
    double after = o.done_ms - back_ms;
    if (f < 0 || after < f) f = after;
  }
  std::vector<Recovery> out;
  for (const auto& [name, after] : first) out.push_back({name, after});
  return out;
}

size_t failedCount(const std::vector<LoadOutcome>& outcomes) {
  size_t n = 0;
  for (const auto& o : outcomes) n += (o.answered && !o.ok) ? 1 : 0;
  return n;
}

}  // namespace redge_test
