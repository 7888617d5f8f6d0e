#pragma once
// Rules over the whole fleet. A rule's metric named with the prefix
// `fleet:` (fleet:redge_http_requests_total) reads every instance's series
// of that metric, each with an `instance` label: each instance publishes the
// latest values of the metrics fleet rules name to Redis every
// alerts.fleet_publish_ms, and the one instance holding the fleet lease
// reads them all into its history under the prefixed names. The rule then
// fires on that instance only: one alert for the fleet.
//
// This file: which metrics to publish, and the summary's text both ways
// (a JSON array of [name, {labels}, value]). Pure.

#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.hpp"
#include "ops/alerts/sample_history.hpp"

namespace redge {

inline constexpr std::string_view kFleetMetricPrefix = "fleet:";

// The metric names (without the prefix) `history`'s rules read over the fleet.
std::vector<std::string> fleetMetricNames(const SampleHistory& history);

// The latest value of every series of `names` in `local`, as the summary.
std::string renderFleetSummary(const SampleHistory& local, const std::vector<std::string>& names);

struct FleetSample {
  std::string name;
  Labels labels;
  double value = 0;
};

// Reads a summary into `out` (appended); false when it is not one. At most
// `max_samples` are read; names and label texts longer than 256 bytes are
// skipped: a summary comes from Redis, which anyone with access may write.
bool parseFleetSummary(std::string_view json, size_t max_samples, std::vector<FleetSample>& out);

}  // namespace redge
