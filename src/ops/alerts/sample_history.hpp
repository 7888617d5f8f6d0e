#pragma once
// The recent past of the metrics the alert rules read: one ring buffer of
// (time, value) per series, filled once per evaluation from the
// MetricsRegistry. Only the metric names some rule selects are kept, each as
// deep as its longest window needs, so memory is bounded by the rules
// (kMaxSamplesPerSeries per series, kMaxSeries series in all).
//
// Histograms are kept as Prometheus exposes them: name_bucket{le="..."}
// (cumulative), name_sum and name_count.
//
// Pure apart from reading the registry: time is passed in.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/metrics.hpp"

namespace redge {

class SampleRing {
 public:
  struct Point {
    int64_t t_ms;
    double value;
    // The counter's value with every reset before it added back, so the
    // increase between two points is one subtraction (rate over a long
    // window costs no walk).
    double adjusted;
  };
  explicit SampleRing(size_t capacity) : points_(capacity) {}
  void push(int64_t t_ms, double value);
  size_t size() const { return size_; }
  // i = 0 is the oldest sample kept.
  const Point& at(size_t i) const { return points_[(head_ + i) % points_.size()]; }
  const Point& latest() const { return at(size_ - 1); }
  // Index of the first point later than t_ms (size() if none).
  size_t firstAfter(int64_t t_ms) const;
  size_t capacity() const { return points_.size(); }
  void resize(size_t capacity);

 private:
  std::vector<Point> points_;
  size_t head_ = 0;  // index of the oldest
  size_t size_ = 0;
};

struct HistorySeries {
  Labels labels;  // sorted by name; no metric name
  SampleRing ring;
};

class SampleHistory {
 public:
  static constexpr size_t kMaxSamplesPerSeries = 4096;
  static constexpr size_t kMaxSeries = 20000;

  using Series = HistorySeries;

  explicit SampleHistory(int64_t interval_ms) : interval_ms_(interval_ms) {}

  // Keep `metric` for windows up to range_ms (0: the latest value only).
  // Returns false when the window needs more than kMaxSamplesPerSeries
  // samples at this interval.
  bool want(std::string_view metric, int64_t range_ms);
  bool wanted(std::string_view metric) const;
  // Every metric name kept, in name order.
  std::vector<std::string> wantedNames() const;
  int64_t intervalMs() const { return interval_ms_; }

  // One sample of every wanted series, at now_ms. Re-reads the registry's
  // list of series only when it has grown or a metric became wanted.
  //
  // A counter or histogram series created in the registry since the last
  // sample was 0 before: it gets a 0 at every earlier sample time its ring
  // holds (as Prometheus's created-timestamp zero injection, carried back).
  // Its first increments count, and a rate over a window it was born in
  // spans what its peers' rates span. Without that, a ratio over a young
  // error series (5xx ÷ requests) could read above 1.
  void sample(const MetricsRegistry& registry, int64_t now_ms);

  // A sample recorded by hand (tests, and replaying recorded series).
  void record(std::string_view metric, const Labels& labels, int64_t t_ms, double value);

  // The series of one metric, or null.
  const std::vector<std::unique_ptr<Series>>* find(std::string_view metric) const;

  size_t seriesCount() const { return series_total_; }
  // Changes whenever a series is added: selectors cache what they matched
  // until it does.
  uint64_t generation() const { return series_total_; }
  // Series refused because kMaxSeries was reached.
  uint64_t droppedSeries() const { return dropped_series_; }

 private:
  struct Metric {
    size_t capacity = 1;
    std::vector<std::unique_ptr<Series>> series;
    std::map<std::string, Series*> by_labels;  // formatLabels(sorted labels)
  };
  // What one registry series feeds: a series of ours and where to read.
  struct Binding {
    Series* series;
    const Counter* counter;
    const Gauge* gauge;
    const Histogram* histogram;
    int part;  // histograms: bucket index, or kSum / kCount
  };
  static constexpr int kSum = -1;
  static constexpr int kCount = -2;

  Series* seriesFor(std::string_view metric, Labels labels);
  void bind(const MetricsRegistry& registry);
  // The zeros a series born since the last sample starts from.
  void startAtZero(Series* series, bool born) const;

  int64_t interval_ms_;
  std::unordered_map<std::string, Metric> metrics_;
  std::vector<Binding> bindings_;
  size_t bound_registry_series_ = static_cast<size_t>(-1);
  // Every registry series seen by a bind, wanted or not (by the address of
  // its value, which lives as long as the registry): what is not in here at
  // a later bind was born since the last sample.
  std::unordered_set<const void*> known_registry_series_;
  // The times of the last samples, as many as the deepest ring holds.
  std::deque<int64_t> sample_times_;
  size_t deepest_ = 1;
  size_t series_total_ = 0;
  uint64_t dropped_series_ = 0;
};

// The text of a bucket bound in an le label ("0.25", "+Inf").
std::string formatBound(double bound);

}  // namespace redge
