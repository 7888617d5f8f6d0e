#pragma once

#include <optional>
#include <string>

#include "support/redge_process.hpp"

namespace redge_test {

// The value of one series in a Prometheus text exposition. `series` is the
// metric name with its labels exactly as redge writes them:
// "redge_cache_hits_total", "redge_redis_connected{client=\"redis\"}".
// nullopt when no sample line has it, so a CHECK shows the series is missing
// rather than zero.
std::optional<double> metricValue(const std::string& text, const std::string& series);

// Fetches admin /metrics from `redge` and reads one series; nullopt when the
// scrape fails or the series is absent.
std::optional<double> scrapeMetric(const RedgeProcess& redge, const std::string& series);

}  // namespace redge_test
