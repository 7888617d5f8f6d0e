#pragma once
// Process-level gauges refreshed at each /metrics scrape: CPU seconds,
// resident memory, open file descriptors, start time.

#include "core/metrics.hpp"

namespace redge {

void registerProcessMetrics(MetricsRegistry& metrics);

}  // namespace redge
