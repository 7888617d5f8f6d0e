// The dashboard's pure parts: the snapshot's shape (panels in order, a
// broken panel as null, markup kept as JSON text), numbers as JSON, the
// sample window and the histogram quantile the services panel computes,
// and the traffic panel over a real registry.

#include "ops/dashboard/dashboard.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "ops/dashboard/panels.hpp"

namespace redge {
namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

TEST_CASE("dashboard: panels write their members in order, a broken one is null", "[dashboard]") {
  Dashboard board;
  board.addPanel("first", [](JsonWriter& w) { w.startObject().key("n").integer(1).endObject(); });
  board.addPanel("broken", [](JsonWriter& w) { w.startObject().key("half"); });
  board.addPanel("markup", [](JsonWriter& w) { w.string("<script>alert(1)</script>\n"); });
  board.addPanel("first", [](JsonWriter& w) { w.integer(2); });  // replaces, keeps its place
  std::string out;
  board.render(out, 7, 1234);
  CHECK(out.find('\n') == std::string::npos);  // one SSE data line
  auto d = parse(out);
  CHECK(d["seq"].GetInt64() == 7);
  CHECK(d["t"].GetInt64() == 1234);
  CHECK(d["first"].GetInt64() == 2);
  CHECK(d["broken"].IsNull());
  CHECK(std::string(d["markup"].GetString()) == "<script>alert(1)</script>\n");
  auto it = d.MemberBegin();
  CHECK(std::string((it + 2)->name.GetString()) == "first");
  CHECK(std::string((it + 3)->name.GetString()) == "broken");
  CHECK(board.panelCount() == 3);
}

TEST_CASE("dashboard: numbers are JSON numbers or null", "[dashboard]") {
  auto one = [](double v) {
    std::string out;
    JsonWriter w(out);
    writeJsonNumber(w, v);
    return out;
  };
  CHECK(one(3) == "3");
  CHECK(one(-2) == "-2");
  CHECK(one(0.25) == "0.25");
  CHECK(one(1.0 / 3) == "0.333333");
  CHECK(one(NAN) == "null");
  CHECK(one(INFINITY) == "null");
}

TEST_CASE("dashboard: the sample window keeps one sample at least a window old", "[dashboard]") {
  SampleWindow w(10000);
  CHECK(w.start() == nullptr);
  w.push(0, {0});
  CHECK(w.start() == nullptr);
  CHECK(w.previous() == nullptr);
  w.push(1000, {1});
  REQUIRE(w.start() != nullptr);
  CHECK(w.start()->ms == 0);
  CHECK(w.previous()->ms == 0);
  for (int64_t t = 2000; t <= 15000; t += 1000) w.push(t, {static_cast<double>(t / 1000)});
  CHECK(w.latest()->ms == 15000);
  CHECK(w.previous()->ms == 14000);
  CHECK(w.start()->ms == 5000);  // the newest one at least 10 s before 15 s
}

TEST_CASE("dashboard: the histogram quantile interpolates within its bucket", "[dashboard]") {
  std::vector<double> bounds = {0.1, 0.2, 0.4};
  // 100 observations: 50 <= 0.1, 40 in (0.1, 0.2], 10 in (0.2, 0.4].
  std::vector<double> cumulative = {50, 90, 100, 100};
  CHECK(histogramQuantile(0.5, bounds, cumulative) == Approx(0.1));
  CHECK(histogramQuantile(0.7, bounds, cumulative) == Approx(0.15));
  CHECK(histogramQuantile(0.99, bounds, cumulative) == Approx(0.38));
  CHECK(std::isnan(histogramQuantile(0.99, bounds, {0, 0, 0, 0})));
  // Beyond the last bound: the last bound, as Prometheus answers.
  CHECK(histogramQuantile(0.99, bounds, {0, 0, 0, 10}) == Approx(0.4));
  CHECK(std::isnan(histogramQuantile(0.99, bounds, {1, 2})));  // mismatched sizes
}

TEST_CASE("dashboard: the services panel's rate, error ratio and p99 from the registry",
          "[dashboard]") {
  MetricsRegistry metrics;
  ManualClock clock;
  Dashboard board;
  addTrafficPanel(board, metrics, clock);
  Labels ok = {{"service", "app"}, {"route", "/"}, {"status", "200"}};
  Labels bad = {{"service", "app"}, {"route", "/"}, {"status", "503"}};
  Counter& ok_count = metrics.counter("redge_http_requests_total", "h", ok);
  Counter& bad_count = metrics.counter("redge_http_requests_total", "h", bad);
  Histogram& latency = metrics.histogram("redge_http_request_duration_seconds", "h",
                                         {{"service", "app"}, {"route", "/"}});
  auto snapshot = [&] {
    std::string out;
    board.render(out, 1, 0);
    return parse(out);
  };
  auto first = snapshot();
  CHECK(first["services"]["app"]["rps"].IsNull());
  CHECK(first["services"]["app"]["p99_ms"].IsNull());

  clock.advanceMs(1000);
  ok_count.inc(90);
  bad_count.inc(10);
  for (int i = 0; i < 100; ++i) latency.observe(0.002);
  auto second = snapshot();
  const auto& app = second["services"]["app"];
  CHECK(app["requests"].GetDouble() == 100);
  CHECK(app["rps"].GetDouble() == Approx(100));
  CHECK(app["error_ratio"].GetDouble() == Approx(0.1));
  double p99 = app["p99_ms"].GetDouble();
  CHECK(p99 > 1.0);
  CHECK(p99 <= 2.5);  // within the bucket that holds 2 ms

  clock.advanceMs(2000);
  ok_count.inc(50);
  auto third = snapshot();
  CHECK(third["services"]["app"]["rps"].GetDouble() == Approx(25));
  CHECK(third["services"]["app"]["error_ratio"].GetDouble() == Approx(10.0 / 150));
}

}  // namespace
}  // namespace redge
