// What the alert rules cost: 100 rules of the kinds operators write (gauge
// thresholds, rates, error ratios, p99 from a histogram, canary against
// stable) over a registry shaped like a busy redge's (12 routes x 5
// statuses of request counters, a latency histogram per route), sampled and
// evaluated once per simulated second for 10 simulated minutes. Prints the
// CPU time per evaluation and what that is of one core at one evaluation a
// second. Built by hand: cmake --build build --target alerts_eval_bench.

#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "ops/alerts/alert_engine.hpp"

using namespace redge;

namespace {

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main() {
  MetricsRegistry metrics;
  std::vector<Counter*> requests;
  std::vector<Histogram*> latency;
  const char* statuses[] = {"200", "304", "404", "500", "503"};
  for (int r = 0; r < 12; ++r) {
    std::string route = "/r" + std::to_string(r);
    for (const char* st : statuses) {
      for (const char* pool : {"stable", "canary"}) {
        requests.push_back(&metrics.counter(
            "redge_http_requests_total", "h",
            {{"service", "app"}, {"route", route}, {"status", st}, {"pool", pool}}));
      }
    }
    latency.push_back(&metrics.histogram("redge_http_request_duration_seconds", "h",
                                         {{"service", "app"}, {"route", route}}));
  }
  Gauge& rss = metrics.gauge("process_resident_memory_bytes", "h");
  Gauge& cpu = metrics.sampledCounter("process_cpu_seconds_total", "h");
  metrics.gauge("redge_host_memory_total_bytes", "h").set(8e9);

  const char* kinds[] = {
      "rate(process_cpu_seconds_total[1m]) > 0.8",
      "process_resident_memory_bytes / redge_host_memory_total_bytes > 0.8",
      "sum(rate(redge_http_requests_total{service=\"app\",status=~\"5..\"}[1m])) / "
      "sum(rate(redge_http_requests_total{service=\"app\"}[1m])) > 0.05",
      "histogram_quantile(0.99, sum by (le) "
      "(rate(redge_http_request_duration_seconds_bucket{service=\"app\"}[1m]))) > 0.5",
      "sum by (pool) (rate(redge_http_requests_total{pool=\"canary\",status=~\"5..\"}[5m])) / "
      "sum by (pool) (rate(redge_http_requests_total{pool=\"canary\"}[5m])) > ignoring(pool) 2 * "
      "sum by (pool) (rate(redge_http_requests_total{pool=\"stable\",status=~\"5..\"}[5m])) / "
      "sum by (pool) (rate(redge_http_requests_total{pool=\"stable\"}[5m]))",
  };
  ManualClock clock(0);
  AlertEngine engine(clock, 0, 1000);
  for (int i = 0; i < 100; ++i) {
    AlertRuleSpec spec;
    spec.name = "rule" + std::to_string(i);
    spec.expr = kinds[i % 5];
    spec.for_ms = 60000;
    spec.annotations = {{"summary", "value {{ $value }}"}};
    if (auto e = engine.addRule(spec)) {
      std::fprintf(stderr, "%s\n", e->c_str());
      return 1;
    }
  }
  const int kTicks = 600;
  double busy = 0;
  uint64_t n = 0;
  for (int t = 0; t < kTicks; ++t) {
    // A second of traffic: ~2000 requests spread over the series.
    for (int k = 0; k < 2000; ++k) {
      requests[(k * 7 + t) % requests.size()]->inc();
      latency[k % latency.size()]->observe(0.001 * (k % 50));
    }
    rss.set(1e8 + t);
    cpu.set(t * 0.1);
    clock.advanceMs(1000);
    double before = cpuSeconds();
    engine.sample(metrics);
    engine.evaluate();
    n += engine.due().size();
    busy += cpuSeconds() - before;
  }
  double per_tick_us = busy / kTicks * 1e6;
  std::printf("rules=100 series=%zu ticks=%d cpu_per_evaluation_us=%.0f share_of_one_core=%.3f%%\n",
              engine.history().seriesCount(), kTicks, per_tick_us, per_tick_us / 1e6 * 100);
  std::printf("notifications=%llu\n", static_cast<unsigned long long>(n));
  return 0;
}
