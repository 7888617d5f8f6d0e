// The metrics registry and its Prometheus text rendering. Families are kept
// in a sorted map so /metrics output is stable between scrapes, which makes
// it diffable and testable.

#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace redge {
namespace {

void appendEscapedLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out.append("\\\\");
    else if (c == '"')
      out.append("\\\"");
    else if (c == '\n')
      out.append("\\n");
    else
      out.push_back(c);
  }
}

void appendNumber(std::string& out, double v) {
  if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (std::isnan(v)) {
    out.append("NaN");
    return;
  }
  // to_chars, not snprintf: a worker renders its series every second and a
  // scrape renders them all, and most are whole numbers.
  char buf[64];
  std::to_chars_result r;
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 9);  // as %.9g
  }
  out.append(buf, r.ptr);
}

const char* typeName(MetricType t) {
  switch (t) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

// label_text ("" or "{a=\"b\"}") with le="x" added last.
void appendWithLe(std::string& out, const std::string& label_text, const std::string& le) {
  if (label_text.empty()) {
    out.append("{le=\"");
  } else {
    out.append(label_text, 0, label_text.size() - 1).append(",le=\"");
  }
  out.append(le).append("\"}");
}

}  // namespace

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(bounds->size() + 1, 0) {}

void Histogram::observe(double v) {
  // The first bound >= v (le="bound" holds it); past the last: +Inf.
  const auto& b = *bounds_;
  size_t i = static_cast<size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  ++buckets_[i];
  ++count_;
  sum_ += v;
}

uint64_t Histogram::cumulative(size_t i) const {
  uint64_t total = 0;
  for (size_t k = 0; k <= i && k < buckets_.size(); ++k) total += buckets_[k];
  return total;
}

const std::vector<double>& latencyBuckets() {
  static const std::vector<double> kBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                               0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                               0.5,     1,      2.5,     5,      10};
  return kBuckets;
}

std::string formatLabels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(k).append("=\"");
    appendEscapedLabelValue(out, v);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help,
                                                 MetricType type) {
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.type != type) {
      throw std::logic_error("metric " + std::string(name) + " declared with two types");
    }
    return it->second;
  }
  Family f;
  f.name = std::string(name);
  f.help = std::string(help);
  f.type = type;
  return families_.emplace(std::string(name), std::move(f)).first->second;
}

MetricsRegistry::Series& MetricsRegistry::series(Family& fam, const Labels& labels) {
  std::string text = formatLabels(labels);
  auto it = fam.series.find(text);
  if (it != fam.series.end()) return it->second;
  Series s;
  s.label_text = text;
  s.labels = labels;
  ++series_count_;
  return fam.series.emplace(std::move(text), std::move(s)).first->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  Series& s = series(family(name, help, MetricType::Counter), labels);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  Series& s = series(family(name, help, MetricType::Gauge), labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const Labels& labels, const std::vector<double>& bounds) {
  Family& fam = family(name, help, MetricType::Histogram);
  if (fam.bounds.empty()) fam.bounds = bounds;
  Series& s = series(fam, labels);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(&fam.bounds);
  return *s.histogram;
}

Gauge& MetricsRegistry::sampledCounter(std::string_view name, std::string_view help,
                                       const Labels& labels) {
  Series& s = series(family(name, help, MetricType::Counter), labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

void MetricsRegistry::addCollector(std::function<void()> collector) {
  collectors_.push_back(std::move(collector));
}

double MetricsRegistry::valueOf(std::string_view name, const Labels& labels) const {
  auto it = families_.find(name);
  if (it == families_.end()) return -1;
  auto s = it->second.series.find(formatLabels(labels));
  if (s == it->second.series.end()) return -1;
  if (s->second.counter) return static_cast<double>(s->second.counter->value());
  if (s->second.gauge) return s->second.gauge->value();
  if (s->second.histogram) return static_cast<double>(s->second.histogram->count());
  return -1;
}

void MetricsRegistry::forEachSeries(const std::function<void(const SeriesView&)>& visit) const {
  for (const auto& [name, fam] : families_) {
    for (const auto& [label_text, s] : fam.series) {
      visit(
          SeriesView{name, fam.type, &s.labels, s.counter.get(), s.gauge.get(), s.histogram.get()});
    }
  }
}

void MetricsRegistry::collect() {
  for (auto& c : collectors_) c();
}

std::string MetricsRegistry::render() {
  if (exposition_hook_) return exposition_hook_(renderLocal());
  return renderLocal();
}

std::string MetricsRegistry::renderLocal() {
  collect();
  std::string out;
  out.reserve(16384);
  for (const auto& [name, fam] : families_) {
    out.append("# HELP ").append(name).push_back(' ');
    for (char c : fam.help) {
      if (c == '\\')
        out.append("\\\\");
      else if (c == '\n')
        out.append("\\n");
      else
        out.push_back(c);
    }
    out.append("\n# TYPE ").append(name).push_back(' ');
    out.append(typeName(fam.type)).push_back('\n');
    std::vector<std::string> le;
    for (const auto& [label_text, s] : fam.series) {
      if (s.counter || s.gauge) {
        out.append(name).append(label_text).push_back(' ');
        appendNumber(out, s.counter ? static_cast<double>(s.counter->value()) : s.gauge->value());
        out.push_back('\n');
      } else if (s.histogram) {
        const Histogram& h = *s.histogram;
        if (le.empty()) {  // the family's bounds, formatted once per render
          for (double bound : fam.bounds) appendNumber(le.emplace_back(), bound);
          le.emplace_back("+Inf");
        }
        uint64_t cumulative = 0;
        for (size_t i = 0; i < le.size(); ++i) {
          cumulative += h.bucket(i);
          out.append(name).append("_bucket");
          appendWithLe(out, label_text, le[i]);
          out.push_back(' ');
          appendNumber(out, static_cast<double>(cumulative));
          out.push_back('\n');
        }
        out.append(name).append("_sum").append(label_text).push_back(' ');
        appendNumber(out, h.sum());
        out.push_back('\n');
        out.append(name).append("_count").append(label_text).push_back(' ');
        appendNumber(out, static_cast<double>(h.count()));
        out.push_back('\n');
      }
    }
  }
  return out;
}

}  // namespace redge
