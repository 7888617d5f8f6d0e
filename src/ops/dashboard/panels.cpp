// The dashboard's built-in panels (see panels.hpp). Metric-based panels find
// their series once, again only when the registry has grown (a new route
// or status answered), and otherwise read a handful of integers per tick.

#include "ops/dashboard/panels.hpp"

#include <unistd.h>

#include <cmath>
#include <map>
#include <memory>

#include "flags/flag_store.hpp"
#include "ops/alerts/alert_engine.hpp"
#include "ops/dashboard/dashboard.hpp"
#include "redis/redis_client.hpp"
#include "services/discovery/service_registry.hpp"
#include "services/gateway/canary_split.hpp"

namespace redge {

void SampleWindow::push(int64_t now_ms, std::vector<double> values) {
  samples_.push_back(Sample{now_ms, std::move(values)});
  // Keep the newest sample that is at least a window old, and all after it.
  while (samples_.size() > 2 && samples_[1].ms <= now_ms - window_ms_) samples_.pop_front();
}

double histogramQuantile(double q, const std::vector<double>& bounds,
                         const std::vector<double>& cumulative) {
  if (cumulative.empty() || cumulative.size() != bounds.size() + 1) return NAN;
  double total = cumulative.back();
  if (!(total > 0)) return NAN;
  double rank = q * total;
  size_t i = 0;
  while (i < bounds.size() && cumulative[i] < rank) ++i;
  if (i == bounds.size()) return bounds.empty() ? NAN : bounds.back();  // in +Inf
  double lower = i == 0 ? 0 : bounds[i - 1];
  double below = i == 0 ? 0 : cumulative[i - 1];
  double in_bucket = cumulative[i] - below;
  if (!(in_bucket > 0)) return bounds[i];
  return lower + (bounds[i] - lower) * (rank - below) / in_bucket;
}

namespace {

std::string_view labelOf(const Labels& labels, std::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

// ---------------------------------------------------------------- process

class ProcessPanel {
 public:
  ProcessPanel(MetricsRegistry& metrics, const Clock& clock, const RedisClient& redis)
      : metrics_(metrics), clock_(clock), redis_(redis), started_ms_(clock.nowMs()) {}

  void write(JsonWriter& w) {
    // The registry's collector (process_metrics.cpp) has just refreshed
    // these: the event stream collects before each snapshot.
    double cpu = metrics_.valueOf("process_cpu_seconds_total");
    double rss = metrics_.valueOf("process_resident_memory_bytes");
    double fds = metrics_.valueOf("process_open_fds");
    int64_t now = clock_.nowMs();
    cpu_.push(now, {cpu});
    w.startObject();
    w.key("version").string(REDGE_VERSION);
    w.key("pid").integer(static_cast<int64_t>(getpid()));
    w.key("uptime_s").integer((now - started_ms_) / 1000);
    w.key("cpu");
    const SampleWindow::Sample* prev = cpu_.previous();
    if (prev != nullptr && cpu >= 0 && now > prev->ms) {
      writeJsonNumber(w, (cpu - prev->values[0]) * 1000.0 / static_cast<double>(now - prev->ms));
    } else {
      w.null();
    }
    w.key("rss_bytes");
    writeJsonNumber(w, rss);
    w.key("open_fds");
    writeJsonNumber(w, fds);
    w.key("redis").string(redis_.ready() ? "up" : "down");
    w.endObject();
  }

 private:
  MetricsRegistry& metrics_;
  const Clock& clock_;
  const RedisClient& redis_;
  int64_t started_ms_;
  SampleWindow cpu_{kWindowMs};
};

// ---------------------------------------------------------------- traffic

class TrafficPanel {
 public:
  TrafficPanel(const MetricsRegistry& metrics, const Clock& clock)
      : metrics_(metrics), clock_(clock) {}

  void write(JsonWriter& w) {
    if (metrics_.seriesCount() != seen_series_) findSeries();
    int64_t now = clock_.nowMs();
    w.startObject();
    for (auto& [name, s] : services_) {
      // values: requests, 5xx, then the latency buckets (cumulative).
      std::vector<double> v(2 + s.bounds.size() + 1, 0.0);
      for (const Counter* c : s.requests) v[0] += static_cast<double>(c->value());
      for (const Counter* c : s.errors) v[1] += static_cast<double>(c->value());
      for (const Histogram* h : s.latency) {
        for (size_t i = 0; i <= s.bounds.size(); ++i)
          v[2 + i] += static_cast<double>(h->cumulative(i));
      }
      s.window.push(now, std::move(v));
      const auto& cur = s.window.latest()->values;
      const SampleWindow::Sample* prev = s.window.previous();
      const SampleWindow::Sample* start = s.window.start();
      w.key(name).startObject();
      w.key("requests");
      writeJsonNumber(w, cur[0]);
      w.key("rps");
      if (prev != nullptr && now > prev->ms) {
        writeJsonNumber(w,
                        (cur[0] - prev->values[0]) * 1000.0 / static_cast<double>(now - prev->ms));
      } else {
        w.null();
      }
      double answered = start ? cur[0] - start->values[0] : 0;
      w.key("error_ratio");
      writeJsonNumber(w, answered > 0 ? (cur[1] - start->values[1]) / answered : NAN);
      w.key("p99_ms");
      if (start != nullptr) {
        std::vector<double> delta(s.bounds.size() + 1);
        for (size_t i = 0; i < delta.size(); ++i) delta[i] = cur[2 + i] - start->values[2 + i];
        writeJsonNumber(w, histogramQuantile(0.99, s.bounds, delta) * 1000.0);
      } else {
        w.null();
      }
      w.endObject();
    }
    w.endObject();
  }

 private:
  struct Service {
    std::vector<const Counter*> requests;
    std::vector<const Counter*> errors;
    std::vector<const Histogram*> latency;
    std::vector<double> bounds;
    SampleWindow window{kWindowMs};
  };

  void findSeries() {
    seen_series_ = metrics_.seriesCount();
    for (auto& [name, s] : services_) {
      s.requests.clear();
      s.errors.clear();
      s.latency.clear();
    }
    metrics_.forEachSeries([this](const MetricsRegistry::SeriesView& v) {
      if (v.name == "redge_http_requests_total" && v.counter != nullptr) {
        Service& s = services_[std::string(labelOf(*v.labels, "service"))];
        s.requests.push_back(v.counter);
        if (labelOf(*v.labels, "status").starts_with('5')) s.errors.push_back(v.counter);
      } else if (v.name == "redge_http_request_duration_seconds" && v.histogram != nullptr) {
        Service& s = services_[std::string(labelOf(*v.labels, "service"))];
        if (s.bounds.empty()) s.bounds = v.histogram->bounds();
        if (v.histogram->bounds() == s.bounds) s.latency.push_back(v.histogram);
      }
    });
    // The windows go on: a series is created by the first answer it counts
    // (a route's first 200), so what it adds to a total is recent traffic.
  }

  const MetricsRegistry& metrics_;
  const Clock& clock_;
  size_t seen_series_ = static_cast<size_t>(-1);
  std::map<std::string, Service, std::less<>> services_;
};

// ---------------------------------------------------------------- cache

class CachePanel {
 public:
  CachePanel(const MetricsRegistry& metrics, const Clock& clock)
      : metrics_(metrics), clock_(clock) {}

  void write(JsonWriter& w) {
    double hits = metrics_.valueOf("redge_cache_hits_total");
    double misses = metrics_.valueOf("redge_cache_misses_total");
    if (hits < 0 || misses < 0) {
      w.null();  // the cache proxy is not running here
      return;
    }
    window_.push(clock_.nowMs(), {hits, misses});
    const SampleWindow::Sample* start = window_.start();
    w.startObject();
    w.key("hits");
    writeJsonNumber(w, hits);
    w.key("misses");
    writeJsonNumber(w, misses);
    w.key("hit_ratio");
    double lookups = start ? (hits - start->values[0]) + (misses - start->values[1]) : 0;
    writeJsonNumber(w, lookups > 0 ? (hits - start->values[0]) / lookups : NAN);
    w.key("hit_ratio_total");
    writeJsonNumber(w, hits + misses > 0 ? hits / (hits + misses) : NAN);
    w.key("entries");
    writeJsonNumber(w, metrics_.valueOf("redge_cache_entries"));
    w.key("bytes");
    writeJsonNumber(w, metrics_.valueOf("redge_cache_bytes"));
    w.endObject();
  }

 private:
  const MetricsRegistry& metrics_;
  const Clock& clock_;
  SampleWindow window_{kWindowMs};
};

std::string_view breakerName(double state) {
  if (state == 0) return "closed";
  if (state == 1) return "open";
  if (state == 2) return "half_open";
  return "unknown";
}

void writeRelay(JsonWriter& w, const MetricsRegistry& metrics) {
  double depth = metrics.valueOf("redge_relay_queue_depth");
  if (depth < 0) {
    w.null();  // the relay is not running here
    return;
  }
  w.startObject();
  w.key("queue_depth");
  writeJsonNumber(w, depth);
  w.key("inflight");
  writeJsonNumber(w, metrics.valueOf("redge_relay_inflight"));
  w.key("gate").string(metrics.valueOf("redge_relay_enqueue_enabled") == 0 ? "closed" : "open");
  w.key("breaker").string(breakerName(metrics.valueOf("redge_relay_breaker_state")));
  w.key("sent");
  writeJsonNumber(w, metrics.valueOf("redge_relay_messages_total", {{"outcome", "sent"}}));
  w.key("failed");
  writeJsonNumber(w, metrics.valueOf("redge_relay_messages_total", {{"outcome", "failed"}}));
  w.endObject();
}

// ---------------------------------------------------------------- flags

void writeVariants(JsonWriter& w, const Flag& f) {
  w.startArray();
  for (const FlagVariant& v : f.variants) {
    w.startObject();
    w.key("name").string(v.name);
    w.key("weight").integer(v.weight);
    w.endObject();
  }
  w.endArray();
}

void writeFlags(JsonWriter& w, const FlagStore& store) {
  const auto& all = store.snapshot().all();
  w.startObject();
  w.key("version").integer(store.version());
  w.key("stale").boolean(store.stale());
  w.key("count").integer(static_cast<int64_t>(all.size()));
  w.key("items").startArray();
  size_t n = 0;
  for (const auto& [name, f] : all) {
    if (++n > kMaxPanelItems) break;
    w.startObject();
    w.key("name").string(name);
    w.key("enabled").boolean(f.enabled);
    w.key("rollout");
    writeJsonNumber(w, f.rollout);
    w.key("variants");
    writeVariants(w, f);
    w.key("description").string(f.description);
    w.key("updated_by").string(f.updated_by);
    w.endObject();
  }
  w.endArray();
  w.endObject();
}

// The canary routing's flags (services/gateway/canary_split.hpp):
// canary.<pool> holds the canary side's share of the pool (its rollout while
// it is on), canary.<pool>.promoted the members a promotion moved to stable.
// A pool whose canary.flag names another flag shows under that name.
void writeCanary(JsonWriter& w, const FlagStore& store) {
  constexpr std::string_view kPrefix = "canary.";
  constexpr std::string_view kPromoted = ".promoted";
  const auto& all = store.snapshot().all();
  w.startArray();
  size_t n = 0;
  for (auto it = all.lower_bound(kPrefix); it != all.end() && it->first.starts_with(kPrefix);
       ++it) {
    const Flag& f = it->second;
    if (f.name.ends_with(kPromoted)) continue;
    if (++n > kMaxPanelItems) break;
    w.startObject();
    w.key("pool").string(std::string_view(f.name).substr(kPrefix.size()));
    w.key("enabled").boolean(f.enabled);
    w.key("weight");
    writeJsonNumber(w, canaryWeight(&f));
    w.key("updated_by").string(f.updated_by);
    const Flag* promoted = store.find(promotedFlagName(f.name));
    w.key("promoted").integer(promoted != nullptr && promoted->enabled
                                  ? static_cast<int64_t>(promoted->targets.size())
                                  : 0);
    w.endObject();
  }
  w.endArray();
}

// ---------------------------------------------------------------- instances

void writeInstances(JsonWriter& w, const ServiceRegistry& registry) {
  std::vector<InstanceRecord> all = registry.all();
  int64_t now = wallClockMs();
  w.startObject();
  w.key("loaded").boolean(registry.loaded());
  w.key("stale").boolean(registry.stale());
  w.key("count").integer(static_cast<int64_t>(all.size()));
  w.key("items").startArray();
  size_t n = 0;
  for (const InstanceRecord& r : all) {
    if (++n > kMaxPanelItems) break;
    w.startObject();
    w.key("id").string(r.id);
    w.key("service").string(r.service);
    w.key("address").string(r.address);
    w.key("version").string(r.version);
    w.key("host").string(r.host);
    w.key("heartbeat_age_ms").integer(r.heartbeat_at_ms > 0 ? now - r.heartbeat_at_ms : -1);
    std::optional<InstanceTraffic> t = registry.traffic(r);
    w.key("health");
    if (t) {
      w.string(t->health);
    } else {
      w.null();
    }
    w.key("inflight");
    if (t) {
      w.integer(t->inflight);
    } else {
      w.null();
    }
    w.endObject();
  }
  w.endArray();
  w.endObject();
}

// ---------------------------------------------------------------- alerts

void writeAlerts(JsonWriter& w, const AlertEngine& engine) {
  w.startObject();
  w.key("rules").integer(static_cast<int64_t>(engine.rules().size()));
  w.key("evaluations").integer(static_cast<int64_t>(engine.evaluations()));
  w.key("active").startArray();
  size_t n = 0;
  for (const AlertRule& rule : engine.rules()) {
    if (rule.state() == AlertState::Inactive) continue;
    if (++n > kMaxPanelItems) break;
    const AlertRuleSpec& spec = rule.spec();
    w.startObject();
    w.key("name").string(spec.name);
    w.key("state").string(alertStateName(rule.state()));
    w.key("value");
    writeJsonNumber(w, rule.value());
    auto severity = spec.labels.find("severity");
    w.key("severity").string(severity == spec.labels.end() ? "" : severity->second);
    w.key("since_ms").integer(rule.sinceMs() >= 0 ? engine.wallMs(rule.sinceMs()) : -1);
    std::string_view summary;
    for (const Alert& a : rule.alerts()) {
      auto s = a.annotations.find("summary");
      if (s != a.annotations.end()) {
        summary = s->second;
        break;
      }
    }
    w.key("summary").string(summary);
    w.key("alerts").integer(static_cast<int64_t>(rule.alerts().size()));
    w.endObject();
  }
  w.endArray();
  w.endObject();
}

}  // namespace

void addProcessPanel(StatusPanels& panels, MetricsRegistry& metrics, const Clock& clock,
                     const RedisClient& redis) {
  auto panel = std::make_shared<ProcessPanel>(metrics, clock, redis);
  panels.addPanel("process", [panel](JsonWriter& w) { panel->write(w); });
}

void addTrafficPanel(StatusPanels& panels, const MetricsRegistry& metrics, const Clock& clock) {
  auto panel = std::make_shared<TrafficPanel>(metrics, clock);
  panels.addPanel("services", [panel](JsonWriter& w) { panel->write(w); });
}

void addCachePanel(StatusPanels& panels, const MetricsRegistry& metrics, const Clock& clock) {
  auto panel = std::make_shared<CachePanel>(metrics, clock);
  panels.addPanel("cache", [panel](JsonWriter& w) { panel->write(w); });
}

void addRelayPanel(StatusPanels& panels, const MetricsRegistry& metrics) {
  panels.addPanel("relay", [&metrics](JsonWriter& w) { writeRelay(w, metrics); });
}

void addFlagPanels(StatusPanels& panels, const FlagStore& store) {
  panels.addPanel("flags", [&store](JsonWriter& w) { writeFlags(w, store); });
  panels.addPanel("canary", [&store](JsonWriter& w) { writeCanary(w, store); });
}

void addInstancesPanel(StatusPanels& panels, const ServiceRegistry& registry) {
  panels.addPanel("instances", [&registry](JsonWriter& w) { writeInstances(w, registry); });
}

void addAlertsPanel(StatusPanels& panels, const AlertEngine& engine) {
  panels.addPanel("alerts", [&engine](JsonWriter& w) { writeAlerts(w, engine); });
}

}  // namespace redge
