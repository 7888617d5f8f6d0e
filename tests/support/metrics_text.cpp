// Reading single series out of redge's /metrics text, for the tests that use
// gauges and counters as their view into the server (how many lookups wait,
// how many misses were coalesced).

#include "support/metrics_text.hpp"

#include <cstdlib>

#include "support/http_client.hpp"

namespace redge_test {

std::optional<double> metricValue(const std::string& text, const std::string& series) {
  size_t at = 0;
  while (at < text.size()) {
    size_t line_end = text.find('\n', at);
    if (line_end == std::string::npos) line_end = text.size();
    // A sample line is the series, one space, the value; comments start with '#'.
    if (text.compare(at, series.size(), series) == 0 && at + series.size() < line_end &&
        text[at + series.size()] == ' ') {
      std::string value = text.substr(at + series.size() + 1, line_end - at - series.size() - 1);
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (end != value.c_str()) return v;
    }
    at = line_end + 1;
  }
  return std::nullopt;
}

std::optional<double> scrapeMetric(const RedgeProcess& redge, const std::string& series) {
  HttpReply r = httpGet(redge.adminUrl("/metrics"), {}, std::chrono::milliseconds(2000));
  if (r.status != 200) return std::nullopt;
  return metricValue(r.body, series);
}

}  // namespace redge_test
