// MetricsRegistry: series identity, the three metric types, collectors,
// valueOf(), and the exact Prometheus text (format 0.0.4) of small registries.

#include "core/metrics.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace redge {
namespace {

size_t countLines(const std::string& text, std::string_view prefix) {
  size_t n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (std::string_view(text).substr(pos, end - pos).substr(0, prefix.size()) == prefix) ++n;
    pos = end + 1;
  }
  return n;
}

}  // namespace

TEST_CASE("metrics: counter and gauge arithmetic", "[metrics]") {
  Counter c;
  CHECK(c.value() == 0);
  c.inc();
  c.inc(41);
  CHECK(c.value() == 42);

  Gauge g;
  CHECK(g.value() == 0);
  g.set(10);
  g.inc();
  g.dec();
  g.dec();
  g.add(0.5);
  CHECK(g.value() == Approx(9.5));
  g.add(-20);
  CHECK(g.value() == Approx(-10.5));
}

TEST_CASE("metrics: histogram buckets are cumulative, bounds inclusive", "[metrics]") {
  const std::vector<double> bounds{1, 2, 5};
  Histogram h(&bounds);
  CHECK(h.count() == 0);
  CHECK(h.sum() == 0);
  for (size_t i = 0; i <= bounds.size(); ++i) CHECK(h.cumulative(i) == 0);

  h.observe(0.5);  // <= 1
  h.observe(1);    // == 1 counts in le=1
  h.observe(1.5);  // <= 2
  h.observe(5);    // == 5
  h.observe(6);    // +Inf only
  h.observe(100);  // +Inf only
  CHECK(h.count() == 6);
  CHECK(h.sum() == Approx(114));
  CHECK(h.cumulative(0) == 2);
  CHECK(h.cumulative(1) == 3);
  CHECK(h.cumulative(2) == 4);
  CHECK(h.cumulative(3) == 6);
  // Past the +Inf index it stays at the total.
  CHECK(h.cumulative(10) == 6);
  CHECK(&h.bounds() == &bounds);
}

TEST_CASE("metrics: latency buckets run from 50us to 10s, ascending", "[metrics]") {
  const std::vector<double>& b = latencyBuckets();
  REQUIRE(b.size() == 17);
  CHECK(b.front() == Approx(0.00005));
  CHECK(b.back() == 10);
  for (size_t i = 1; i < b.size(); ++i) CHECK(b[i - 1] < b[i]);
}

TEST_CASE("metrics: the same name and labels return the same series", "[metrics]") {
  MetricsRegistry reg;
  Counter& a = reg.counter("redge_hits_total", "Hits.", {{"route", "/a"}});
  Counter& a2 = reg.counter("redge_hits_total", "Hits.", {{"route", "/a"}});
  Counter& b = reg.counter("redge_hits_total", "Hits.", {{"route", "/b"}});
  Counter& none = reg.counter("redge_hits_total", "Hits.");
  CHECK(&a == &a2);
  CHECK(&a != &b);
  CHECK(&a != &none);
  a.inc(2);
  a2.inc();
  CHECK(a.value() == 3);
  CHECK(b.value() == 0);

  Gauge& g = reg.gauge("redge_open", "Open.");
  CHECK(&g == &reg.gauge("redge_open", "Open."));
  Histogram& h = reg.histogram("redge_lat", "Lat.", {{"k", "v"}});
  CHECK(&h == &reg.histogram("redge_lat", "Lat.", {{"k", "v"}}));

  SECTION("references stay valid while many more series are added") {
    Counter& first = reg.counter("redge_many_total", "Many.", {{"i", "0"}});
    first.inc(7);
    for (int i = 1; i < 500; ++i) {
      reg.counter("redge_many_total", "Many.", {{"i", std::to_string(i)}}).inc();
      reg.gauge("redge_g" + std::to_string(i), "G.").set(i);
    }
    CHECK(first.value() == 7);
    CHECK(&first == &reg.counter("redge_many_total", "Many.", {{"i", "0"}}));
    CHECK(a.value() == 3);
  }
}

TEST_CASE("metrics: one name with two types is a programming error", "[metrics]") {
  MetricsRegistry reg;
  reg.counter("redge_x", "X.");
  CHECK_THROWS_AS(reg.gauge("redge_x", "X."), std::logic_error);
  CHECK_THROWS_AS(reg.histogram("redge_x", "X."), std::logic_error);
  reg.gauge("redge_y", "Y.");
  CHECK_THROWS_AS(reg.counter("redge_y", "Y."), std::logic_error);
}

TEST_CASE("metrics: valueOf", "[metrics]") {
  MetricsRegistry reg;
  reg.counter("redge_c_total", "C.", {{"a", "1"}}).inc(5);
  reg.gauge("redge_g", "G.").set(-2.5);
  Histogram& h = reg.histogram("redge_h", "H.", {}, {1});
  h.observe(0.5);
  h.observe(3);

  CHECK(reg.valueOf("redge_c_total", {{"a", "1"}}) == 5);
  CHECK(reg.valueOf("redge_g") == -2.5);
  CHECK(reg.valueOf("redge_h") == 2);  // a histogram's count
  CHECK(reg.valueOf("redge_missing") == -1);
  CHECK(reg.valueOf("redge_c_total") == -1);                // no unlabelled series
  CHECK(reg.valueOf("redge_c_total", {{"a", "2"}}) == -1);  // another label value
  CHECK(reg.valueOf("redge_c_total", {{"b", "1"}}) == -1);  // another label name
}

TEST_CASE("metrics: formatLabels escapes backslash, quote and newline", "[metrics]") {
  CHECK(formatLabels({}).empty());
  CHECK(formatLabels({{"a", "b"}}) == R"({a="b"})");
  CHECK(formatLabels({{"a", "b"}, {"c", "d"}}) == R"({a="b",c="d"})");
  CHECK(formatLabels({{"v", "x\\y\"z\nw"}}) == R"({v="x\\y\"z\nw"})");
  CHECK(formatLabels({{"empty", ""}}) == R"({empty=""})");
  // Other bytes, UTF-8 included, pass through.
  CHECK(formatLabels({{"v", "tab\there caf\xC3\xA9"}}) == "{v=\"tab\there caf\xC3\xA9\"}");
}

TEST_CASE("metrics: render of a small registry, byte for byte", "[metrics]") {
  MetricsRegistry reg;
  reg.counter("redge_requests_total", "Requests answered.", {{"route", "/get"}, {"status", "200"}})
      .inc(3);
  reg.counter("redge_requests_total", "Requests answered.",
              {{"route", "/a\"b\\c\nd"}, {"status", "500"}})
      .inc();
  reg.gauge("redge_connections", "Open connections.").set(2.5);
  Histogram& h =
      reg.histogram("redge_latency_seconds", "Latency.", {{"method", "GET"}}, {0.1, 0.5, 1});
  h.observe(0.05);
  h.observe(0.1);
  h.observe(0.3);
  h.observe(2);

  // Families sorted by name, series by label text.
  const std::string expected =
      "# HELP redge_connections Open connections.\n"
      "# TYPE redge_connections gauge\n"
      "redge_connections 2.5\n"
      "# HELP redge_latency_seconds Latency.\n"
      "# TYPE redge_latency_seconds histogram\n"
      "redge_latency_seconds_bucket{method=\"GET\",le=\"0.1\"} 2\n"
      "redge_latency_seconds_bucket{method=\"GET\",le=\"0.5\"} 3\n"
      "redge_latency_seconds_bucket{method=\"GET\",le=\"1\"} 3\n"
      "redge_latency_seconds_bucket{method=\"GET\",le=\"+Inf\"} 4\n"
      "redge_latency_seconds_sum{method=\"GET\"} 2.45\n"
      "redge_latency_seconds_count{method=\"GET\"} 4\n"
      "# HELP redge_requests_total Requests answered.\n"
      "# TYPE redge_requests_total counter\n"
      "redge_requests_total{route=\"/a\\\"b\\\\c\\nd\",status=\"500\"} 1\n"
      "redge_requests_total{route=\"/get\",status=\"200\"} 3\n";
  CHECK(reg.render() == expected);
  // Rendering changes nothing.
  CHECK(reg.render() == expected);
}

TEST_CASE("metrics: render of an empty registry is empty", "[metrics]") {
  MetricsRegistry reg;
  CHECK(reg.render().empty());
}

TEST_CASE("metrics: render of an unlabelled histogram", "[metrics]") {
  MetricsRegistry reg;
  reg.histogram("redge_size_bytes", "Sizes.", {}, {10, 100});
  const std::string empty =
      "# HELP redge_size_bytes Sizes.\n"
      "# TYPE redge_size_bytes histogram\n"
      "redge_size_bytes_bucket{le=\"10\"} 0\n"
      "redge_size_bytes_bucket{le=\"100\"} 0\n"
      "redge_size_bytes_bucket{le=\"+Inf\"} 0\n"
      "redge_size_bytes_sum 0\n"
      "redge_size_bytes_count 0\n";
  CHECK(reg.render() == empty);

  reg.histogram("redge_size_bytes", "Sizes.").observe(1000);
  const std::string one =
      "# HELP redge_size_bytes Sizes.\n"
      "# TYPE redge_size_bytes histogram\n"
      "redge_size_bytes_bucket{le=\"10\"} 0\n"
      "redge_size_bytes_bucket{le=\"100\"} 0\n"
      "redge_size_bytes_bucket{le=\"+Inf\"} 1\n"
      "redge_size_bytes_sum 1000\n"
      "redge_size_bytes_count 1\n";
  CHECK(reg.render() == one);
}

TEST_CASE("metrics: a family keeps the bounds it was first declared with", "[metrics]") {
  MetricsRegistry reg;
  Histogram& a = reg.histogram("redge_h", "H.", {{"s", "a"}}, {1, 2});
  Histogram& b = reg.histogram("redge_h", "H.", {{"s", "b"}}, {5, 6, 7});
  CHECK(a.bounds() == std::vector<double>{1, 2});
  CHECK(b.bounds() == std::vector<double>{1, 2});
  const std::string text = reg.render();
  CHECK(countLines(text, "redge_h_bucket{") == 6);
}

TEST_CASE("metrics: default histogram bounds render as le values", "[metrics]") {
  MetricsRegistry reg;
  reg.histogram("redge_latency", "L.").observe(0.003);
  const std::string text = reg.render();
  CHECK(countLines(text, "redge_latency_bucket{le=") == latencyBuckets().size() + 1);
  CHECK(text.find("redge_latency_bucket{le=\"0.0025\"} 0\n") != std::string::npos);
  CHECK(text.find("redge_latency_bucket{le=\"0.005\"} 1\n") != std::string::npos);
  CHECK(text.find("redge_latency_bucket{le=\"10\"} 1\n") != std::string::npos);
  CHECK(text.find("redge_latency_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
  CHECK(text.find("redge_latency_count 1\n") != std::string::npos);
}

TEST_CASE("metrics: help text escapes backslash and newline", "[metrics]") {
  MetricsRegistry reg;
  reg.counter("redge_odd_total", "one\\two\nthree \"quoted\"");
  CHECK(reg.render() ==
        "# HELP redge_odd_total one\\\\two\\nthree \"quoted\"\n"
        "# TYPE redge_odd_total counter\n"
        "redge_odd_total 0\n");
}

TEST_CASE("metrics: sample values", "[metrics]") {
  MetricsRegistry reg;
  Gauge& g = reg.gauge("redge_v", "V.");
  auto sample = [&] {
    const std::string text = reg.render();
    const std::string_view prefix = "\nredge_v ";
    const size_t at = text.find(prefix);
    REQUIRE(at != std::string::npos);
    const size_t begin = at + prefix.size();
    return text.substr(begin, text.find('\n', begin) - begin);
  };
  g.set(0);
  CHECK(sample() == "0");
  g.set(-3);
  CHECK(sample() == "-3");
  g.set(123456789);
  CHECK(sample() == "123456789");
  g.set(0.25);
  CHECK(sample() == "0.25");
  g.set(std::numeric_limits<double>::infinity());
  CHECK(sample() == "+Inf");
  g.set(-std::numeric_limits<double>::infinity());
  CHECK(sample() == "-Inf");
  g.set(std::nan(""));
  CHECK(sample() == "NaN");

  reg.counter("redge_big_total", "Big.").inc(uint64_t{1} << 40);
  CHECK(reg.render().find("redge_big_total 1099511627776\n") != std::string::npos);
}

TEST_CASE("metrics: collectors run before each render", "[metrics]") {
  MetricsRegistry reg;
  Gauge& depth = reg.gauge("redge_queue_depth", "Queue depth.");
  int runs = 0;
  reg.addCollector([&] {
    ++runs;
    depth.set(runs * 10);
  });
  reg.addCollector([&] { reg.gauge("redge_collected", "Made by a collector.").set(runs); });
  CHECK(runs == 0);
  CHECK(reg.valueOf("redge_queue_depth") == 0);

  std::string text = reg.render();
  CHECK(runs == 1);
  CHECK(text.find("redge_queue_depth 10\n") != std::string::npos);
  CHECK(text.find("redge_collected 1\n") != std::string::npos);

  text = reg.render();
  CHECK(runs == 2);
  CHECK(text.find("redge_queue_depth 20\n") != std::string::npos);
  CHECK(text.find("redge_collected 2\n") != std::string::npos);

  // valueOf does not run collectors.
  CHECK(reg.valueOf("redge_queue_depth") == 20);
  CHECK(runs == 2);
}

}  // namespace redge
