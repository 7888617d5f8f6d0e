#pragma once
// The one metrics registry every layer counts into; ops/ renders it as
// Prometheus text at /metrics. Metrics are declared once per module (name,
// type, help, label names) and the module keeps references to the series it
// updates, so the hot path is a plain integer add with no lookup.
//
// Single-threaded like the rest of redge: no atomics.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

enum class MetricType { Counter, Gauge, Histogram };

class Counter {
 public:
  void inc(uint64_t n = 1) { value_ += n; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

class Gauge {
 public:
  void set(double v) { value_ = v; }
  void add(double v) { value_ += v; }
  void inc() { value_ += 1; }
  void dec() { value_ -= 1; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void observe(double v);
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Cumulative count of observations <= bounds[i]; index bounds.size() is +Inf.
  uint64_t cumulative(size_t i) const;
  // Observations in bucket i alone (not cumulative); the last is +Inf's.
  uint64_t bucket(size_t i) const { return buckets_[i]; }
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  const std::vector<double>* bounds_;
  std::vector<uint64_t> buckets_;  // non-cumulative; last is +Inf
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Latency buckets in seconds, from 50 µs to 10 s.
const std::vector<double>& latencyBuckets();

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  // Returns the series with these labels, creating family and series on
  // first use. References stay valid for the registry's lifetime. Declaring
  // the same name with another type or help text is a programming error.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                       const std::vector<double>& bounds = latencyBuckets());
  // A counter whose value is read from elsewhere at scrape time (a
  // collector sets it from a total the kernel keeps, such as CPU seconds):
  // typed counter, and fractional.
  Gauge& sampledCounter(std::string_view name, std::string_view help, const Labels& labels = {});

  // Runs before each render, to refresh gauges read from elsewhere (process
  // CPU and RSS, queue depths).
  void addCollector(std::function<void()> collector);

  // Prometheus text exposition format 0.0.4: renderLocal(), passed through
  // the exposition hook when one is set.
  std::string render();
  // This registry's series alone.
  std::string renderLocal();
  // Replaces what render() answers with hook(renderLocal()): a worker of a
  // process group answers for the whole group (ops/workers/worker_group).
  void setExpositionHook(std::function<std::string(std::string local)> hook) {
    exposition_hook_ = std::move(hook);
  }

  // The value of a counter or gauge series, for tests and status pages;
  // -1 when the series does not exist.
  double valueOf(std::string_view name, const Labels& labels = {}) const;

  // Reading the registry without rendering it (the alert rules sample it
  // once per evaluation). A view's pointers stay valid for the registry's
  // lifetime, so a reader may keep them and re-read the values later; it
  // visits again only when seriesCount() has changed.
  struct SeriesView {
    std::string_view name;
    MetricType type;
    const Labels* labels;
    const Counter* counter;      // a counter, or null
    const Gauge* gauge;          // a gauge or sampled counter, or null
    const Histogram* histogram;  // a histogram, or null
  };
  void forEachSeries(const std::function<void(const SeriesView&)>& visit) const;
  // Series created so far; series are never removed.
  size_t seriesCount() const { return series_count_; }
  // Runs the collectors, as render() does first.
  void collect();

 private:
  struct Series {
    std::string label_text;  // `{a="b",c="d"}` or empty
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<double> bounds;
    std::map<std::string, Series> series;  // keyed by label_text, sorted for stable output
  };
  Family& family(std::string_view name, std::string_view help, MetricType type);
  Series& series(Family& family, const Labels& labels);

  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void()>> collectors_;
  std::function<std::string(std::string)> exposition_hook_;
  size_t series_count_ = 0;
};

// Formats labels as `{a="b",c="d"}` with Prometheus escaping.
std::string formatLabels(const Labels& labels);

}  // namespace redge
