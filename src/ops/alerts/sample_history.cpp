// The alert rules' sample history. bind() walks the registry once per change
// in its series count and keeps direct pointers to the counters, gauges and
// histograms a rule reads (they live as long as the registry), so a sample
// is a few pointer reads per series, with no lookup and no text.

#include "ops/alerts/sample_history.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace redge {

void SampleRing::push(int64_t t_ms, double value) {
  double adjusted = value;
  if (size_ > 0) {
    const Point& last = latest();
    adjusted = last.adjusted + (value >= last.value ? value - last.value : value);
  }
  if (size_ < points_.size()) {
    points_[(head_ + size_) % points_.size()] = {t_ms, value, adjusted};
    ++size_;
    return;
  }
  points_[head_] = {t_ms, value, adjusted};
  head_ = (head_ + 1) % points_.size();
}

size_t SampleRing::firstAfter(int64_t t_ms) const {
  size_t lo = 0, hi = size_;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (at(mid).t_ms <= t_ms) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

void SampleRing::resize(size_t capacity) {
  if (capacity <= points_.size()) return;
  std::vector<Point> grown(capacity);
  for (size_t i = 0; i < size_; ++i) grown[i] = at(i);
  points_ = std::move(grown);
  head_ = 0;
}

std::string formatBound(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", bound);
  return buf;
}

bool SampleHistory::want(std::string_view metric, int64_t range_ms) {
  // Samples inside (now - range, now] at one per interval, plus one for the
  // edge: a window of 1m at 1 s holds 60 or 61.
  int64_t needed = range_ms / interval_ms_ + 2;
  if (needed > static_cast<int64_t>(kMaxSamplesPerSeries)) return false;
  auto [it, added] = metrics_.try_emplace(std::string(metric));
  Metric& m = it->second;
  // A metric wanted from now on (a rule reloaded) is bound at the next
  // sample, whether or not the registry has grown.
  if (added) bound_registry_series_ = static_cast<size_t>(-1);
  size_t capacity = static_cast<size_t>(std::max<int64_t>(needed, 1));
  if (range_ms == 0) capacity = 1;
  deepest_ = std::max(deepest_, capacity);
  if (capacity > m.capacity) {
    m.capacity = capacity;
    for (auto& s : m.series) s->ring.resize(capacity);
  }
  return true;
}

bool SampleHistory::wanted(std::string_view metric) const {
  return metrics_.find(std::string(metric)) != metrics_.end();
}

std::vector<std::string> SampleHistory::wantedNames() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : metrics_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

SampleHistory::Series* SampleHistory::seriesFor(std::string_view metric, Labels labels) {
  auto it = metrics_.find(std::string(metric));
  if (it == metrics_.end()) return nullptr;
  Metric& m = it->second;
  std::sort(labels.begin(), labels.end());
  std::string key = formatLabels(labels);
  auto found = m.by_labels.find(key);
  if (found != m.by_labels.end()) return found->second;
  if (series_total_ >= kMaxSeries) {
    ++dropped_series_;
    return nullptr;
  }
  auto s = std::make_unique<Series>(Series{std::move(labels), SampleRing(m.capacity)});
  Series* raw = s.get();
  m.series.push_back(std::move(s));
  m.by_labels.emplace(std::move(key), raw);
  ++series_total_;
  return raw;
}

void SampleHistory::startAtZero(Series* series, bool born) const {
  if (!born || series->ring.size() != 0) return;
  size_t skip = sample_times_.size() > series->ring.capacity()
                    ? sample_times_.size() - series->ring.capacity()
                    : 0;
  for (size_t i = skip; i < sample_times_.size(); ++i) series->ring.push(sample_times_[i], 0);
}

void SampleHistory::bind(const MetricsRegistry& registry) {
  bindings_.clear();
  std::string name;
  registry.forEachSeries([&](const MetricsRegistry::SeriesView& v) {
    const void* id = v.counter != nullptr   ? static_cast<const void*>(v.counter)
                     : v.gauge != nullptr   ? static_cast<const void*>(v.gauge)
                                            : static_cast<const void*>(v.histogram);
    const bool first_seen = known_registry_series_.insert(id).second;
    // Only what redge counts up from 0 itself: a sampled counter (a gauge
    // here) may start at any value.
    const bool born = first_seen && !sample_times_.empty() &&
                      (v.counter != nullptr || v.histogram != nullptr);
    if (v.histogram == nullptr) {
      if (!wanted(v.name)) return;
      if (Series* s = seriesFor(v.name, *v.labels)) {
        startAtZero(s, born);
        bindings_.push_back({s, v.counter, v.gauge, nullptr, 0});
      }
      return;
    }
    name.assign(v.name).append("_bucket");
    if (wanted(name)) {
      const std::vector<double>& bounds = v.histogram->bounds();
      for (size_t i = 0; i <= bounds.size(); ++i) {
        Labels labels = *v.labels;
        labels.emplace_back(
            "le",
            formatBound(i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity()));
        if (Series* s = seriesFor(name, std::move(labels))) {
          startAtZero(s, born);
          bindings_.push_back({s, nullptr, nullptr, v.histogram, static_cast<int>(i)});
        }
      }
    }
    for (int part : {kSum, kCount}) {
      name.assign(v.name).append(part == kSum ? "_sum" : "_count");
      if (!wanted(name)) continue;
      if (Series* s = seriesFor(name, *v.labels)) {
        startAtZero(s, born);
        bindings_.push_back({s, nullptr, nullptr, v.histogram, part});
      }
    }
  });
  bound_registry_series_ = registry.seriesCount();
}

void SampleHistory::sample(const MetricsRegistry& registry, int64_t now_ms) {
  if (registry.seriesCount() != bound_registry_series_) bind(registry);
  for (const Binding& b : bindings_) {
    double v = 0;
    if (b.counter) {
      v = static_cast<double>(b.counter->value());
    } else if (b.gauge) {
      v = b.gauge->value();
    } else if (b.histogram) {
      if (b.part == kSum) {
        v = b.histogram->sum();
      } else if (b.part == kCount) {
        v = static_cast<double>(b.histogram->count());
      } else {
        v = static_cast<double>(b.histogram->cumulative(static_cast<size_t>(b.part)));
      }
    }
    b.series->ring.push(now_ms, v);
  }
  sample_times_.push_back(now_ms);
  while (sample_times_.size() > deepest_) sample_times_.pop_front();
}

void SampleHistory::record(std::string_view metric, const Labels& labels, int64_t t_ms,
                           double value) {
  if (!wanted(metric)) want(metric, 0);
  if (Series* s = seriesFor(metric, labels)) s->ring.push(t_ms, value);
}

const std::vector<std::unique_ptr<SampleHistory::Series>>* SampleHistory::find(
    std::string_view metric) const {
  auto it = metrics_.find(std::string(metric));
  return it == metrics_.end() ? nullptr : &it->second.series;
}

}  // namespace redge
