#pragma once
// Stats declared once per module as a table, bound once per label set.
//
// A module lists its metrics in one X-macro, name and help side by side
// (twemproxy's nc_stats.h, Envoy's ALL_*_STATS):
//
//   #define REDGE_HTTP_SERVER_STATS(COUNTER, GAUGE, HISTOGRAM)
//     GAUGE(connections_open, "HTTP connections open now")
//     COUNTER(connections_accepted_total, "HTTP connections accepted")
//
//   struct HttpServerStats {
//     REDGE_HTTP_SERVER_STATS(REDGE_STAT_COUNTER_MEMBER, REDGE_STAT_GAUGE_MEMBER,
//                             REDGE_STAT_HISTOGRAM_MEMBER)
//   };
//
// and binds the struct once, when the labels are known (a listener's
// service, an upstream's host), with
//
//   StatsBinder stats_binder(metrics, "redge_http_", {{"service", name}});
//   HttpServerStats stats{REDGE_HTTP_SERVER_STATS(REDGE_STAT_BIND_COUNTER,
//                                                 REDGE_STAT_BIND_GAUGE,
//                                                 REDGE_STAT_BIND_HISTOGRAM)};
//
// The members are references into the registry: counting is an integer add,
// with no string built and no map searched on a request path.

#include <string>
#include <string_view>

#include "core/metrics.hpp"

namespace redge {

class StatsBinder {
 public:
  // help_prefix starts every help text (one table shared by several
  // families, e.g. "HTTP " and "RESP ").
  StatsBinder(MetricsRegistry& metrics, std::string prefix, Labels labels,
              std::string help_prefix = {})
      : metrics_(metrics),
        prefix_(std::move(prefix)),
        labels_(std::move(labels)),
        help_prefix_(std::move(help_prefix)) {}

  Counter& counter(std::string_view name, std::string_view help) const {
    return metrics_.counter(prefix_ + std::string(name), help_prefix_ + std::string(help), labels_);
  }
  Gauge& gauge(std::string_view name, std::string_view help) const {
    return metrics_.gauge(prefix_ + std::string(name), help_prefix_ + std::string(help), labels_);
  }
  Histogram& histogram(std::string_view name, std::string_view help) const {
    return metrics_.histogram(prefix_ + std::string(name), help_prefix_ + std::string(help),
                              labels_);
  }

 private:
  MetricsRegistry& metrics_;
  std::string prefix_;
  Labels labels_;
  std::string help_prefix_;
};

}  // namespace redge

// clang-format off
#define REDGE_STAT_COUNTER_MEMBER(name, help) ::redge::Counter& name;
#define REDGE_STAT_GAUGE_MEMBER(name, help) ::redge::Gauge& name;
#define REDGE_STAT_HISTOGRAM_MEMBER(name, help) ::redge::Histogram& name;
#define REDGE_STAT_BIND_COUNTER(name, help) stats_binder.counter(#name, help),
#define REDGE_STAT_BIND_GAUGE(name, help) stats_binder.gauge(#name, help),
#define REDGE_STAT_BIND_HISTOGRAM(name, help) stats_binder.histogram(#name, help),

// The struct's members, and its binding from a StatsBinder named
// stats_binder in scope.
#define REDGE_STATS_MEMBERS(ALL) \
  ALL(REDGE_STAT_COUNTER_MEMBER, REDGE_STAT_GAUGE_MEMBER, REDGE_STAT_HISTOGRAM_MEMBER)
#define REDGE_STATS_BIND(ALL) \
  { ALL(REDGE_STAT_BIND_COUNTER, REDGE_STAT_BIND_GAUGE, REDGE_STAT_BIND_HISTOGRAM) }
// clang-format on
