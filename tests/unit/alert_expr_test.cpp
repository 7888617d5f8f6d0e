// The alert expression language: what parses, the errors (with columns) for
// what does not, and evaluation against recorded series.

#include "ops/alerts/alert_expr.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "core/metrics.hpp"
#include "ops/alerts/alert_eval.hpp"
#include "ops/alerts/sample_history.hpp"

namespace redge {
namespace {

std::string parseError(const std::string& text) {
  return parseAlertExpr(text).error;
}

ExprValue evalAt(const std::string& text, const SampleHistory& history, int64_t now_ms) {
  ExprParseResult p = parseAlertExpr(text);
  INFO(text << ": " << p.error);
  REQUIRE(p.expr);
  EvalResult r = evaluateExpr(*p.expr, history, now_ms);
  INFO(r.error);
  REQUIRE(r.error.empty());
  return r.value;
}

}  // namespace

TEST_CASE("alert expr: the documented subset parses, typed", "[alerts]") {
  const char* ok[] = {
      "process_resident_memory_bytes > 1e9",
      "rate(redge_http_requests_total{status=~\"5..\"}[1m]) > 0",
      "sum(rate(redge_http_requests_total{service='app',status=~'5..'}[1m])) / "
      "sum(rate(redge_http_requests_total{service='app'}[1m])) > 0.05",
      "histogram_quantile(0.99, sum by (le) "
      "(rate(redge_http_request_duration_seconds_bucket[5m]))) "
      "> 0.5",
      "histogram_quantile(0.99, rate(x_bucket[1m])) > 0.25",
      "sum without (route) (rate(x[30s])) >= 2",
      "max(x) by (service) < -3",
      "rate(e{pool=\"canary\"}[1m]) > ignoring(pool) 2 * rate(e{pool=\"stable\"}[1m])",
      "a / on(service) b != 0",
      "increase(x[1m30s]) == 10",
      "avg_over_time(g[5m]) <= 1 and_not_a_keyword",
  };
  for (const char* text : ok) {
    ExprParseResult p = parseAlertExpr(text);
    if (std::string(text).find("and_not_a_keyword") != std::string::npos) {
      CHECK(!p.expr);  // a trailing identifier is an error, not ignored
      continue;
    }
    INFO(text << " -> " << p.error);
    REQUIRE(p.expr);
    CHECK(p.expr->type == ExprType::Vector);
  }
  CHECK(parseAlertExpr("1 + 2 * 3").expr->type == ExprType::Scalar);
  CHECK(parseAlertExpr("x[5m]").expr->type == ExprType::Range);
  CHECK(parseAlertExpr("x[5m]").expr->range_ms == 300000);
}

TEST_CASE("alert expr: errors name the column and what was expected", "[alerts]") {
  CHECK(parseError("") == "column 1: the expression is empty");
  CHECK(parseError("rate(x) > 1") ==
        "column 6: rate() argument 1 must be a range vector such as metric[1m], not an instant "
        "vector");
  CHECK(parseError("x[1m] > 1") ==
        "column 1: a range vector cannot be an operand of '>'; wrap it in rate(), increase() or "
        "*_over_time()");
  CHECK(parseError("x{a=\"b\"") == "column 8: expected ',' or '}', found end of expression");
  CHECK(parseError("x{a=b}") == "column 5: expected a quoted value for label 'a', found 'b'");
  CHECK(parseError("x{a=~\"(\"}") == "column 6: invalid regular expression \"(\"");
  CHECK(parseError("1 > 2") ==
        "column 3: '>' between two numbers is always true or always false; compare a metric");
  CHECK(parseError("foo(x)").find("column 1: unknown function 'foo'") == 0);
  CHECK(parseError("x[1q]") ==
        "column 2: '[1q]' is not a window; write one such as [30s], [1m] or [1m30s]");
  CHECK(parseError("sum(x") == "column 6: expected ')' to close sum(, found end of expression");
  CHECK(parseError("x > bool 1") ==
        "column 5: the 'bool' modifier is not supported; compare "
        "without it");
  CHECK(parseError("x > on(a) group_left b").find("group_left") != std::string::npos);
  CHECK(parseError("x > \"s").find("unterminated string") != std::string::npos);
  CHECK(parseError("x ) ") == "column 3: unexpected ')' after a complete expression");
  CHECK(parseError("histogram_quantile(x, y)").find("argument 1 must be a number") !=
        std::string::npos);
  CHECK(parseError("{a=\"b\"}") == "column 1: a selector needs a metric name before '{'");
}

TEST_CASE("alert expr: durations", "[alerts]") {
  CHECK(parseDurationMs("500ms") == 500);
  CHECK(parseDurationMs("30s") == 30000);
  CHECK(parseDurationMs("1m30s") == 90000);
  CHECK(parseDurationMs("2h") == 7200000);
  CHECK(parseDurationMs("1d") == 86400000);
  CHECK(parseDurationMs("") == -1);
  CHECK(parseDurationMs("5") == -1);
  CHECK(parseDurationMs("m") == -1);
}

TEST_CASE("alert expr: selectors and matchers over recorded series", "[alerts]") {
  SampleHistory h(1000);
  h.record("req", {{"service", "app"}, {"status", "200"}}, 1000, 10);
  h.record("req", {{"service", "app"}, {"status", "503"}}, 1000, 3);
  h.record("req", {{"service", "gw"}, {"status", "500"}}, 1000, 7);
  CHECK(evalAt("req", h, 1000).vector.size() == 3);
  CHECK(evalAt("req{service=\"app\"}", h, 1000).vector.size() == 2);
  CHECK(evalAt("req{status=~\"5..\"}", h, 1000).vector.size() == 2);
  CHECK(evalAt("req{status!~\"5..\",service!=\"gw\"}", h, 1000).vector.size() == 1);
  CHECK(evalAt("req{missing=\"\"}", h, 1000).vector.size() == 3);  // absent label is ""
  CHECK(evalAt("req{status=~\"5\"}", h, 1000).vector.empty());     // anchored
  CHECK(evalAt("nothing", h, 1000).vector.empty());
  ExprValue s = evalAt("sum by (service) (req)", h, 1000);
  REQUIRE(s.vector.size() == 2);
  CHECK(s.vector[0].labels == Labels{{"service", "app"}});
  CHECK(s.vector[0].value == 13);
  CHECK(evalAt("count(req)", h, 1000).vector[0].value == 3);
  CHECK(evalAt("max(req)", h, 1000).vector[0].value == 10);
  CHECK(evalAt("min without (status) (req)", h, 1000).vector.size() == 2);
  CHECK(evalAt("avg(req)", h, 1000).vector[0].value == Approx(20.0 / 3));
  CHECK(evalAt("req > 5", h, 1000).vector.size() == 2);
  CHECK(evalAt("5 < req", h, 1000).vector.size() == 2);
  CHECK(evalAt("-req < -5", h, 1000).vector.size() == 2);
  CHECK(evalAt("req * 2 + 1 == 21", h, 1000).vector.size() == 1);
  // Set operations, matched on labels.
  CHECK(evalAt("req > 5 and req{service=\"app\"}", h, 1000).vector.size() == 1);
  CHECK(evalAt("req unless req{service=\"app\"}", h, 1000).vector.size() == 1);
  CHECK(evalAt("req{service=\"gw\"} or req{status=\"200\"}", h, 1000).vector.size() == 2);
  CHECK(evalAt("sum(req) > 1 and on() count(req) > 2", h, 1000).vector.size() == 1);
  CHECK(parseError("req and 1") == "column 5: 'and' needs a vector on both sides");
}

TEST_CASE("alert expr: rate and increase, with a counter reset", "[alerts]") {
  SampleHistory h(1000);
  REQUIRE(h.want("c", 60000));
  for (int i = 0; i <= 120; ++i) h.record("c", {}, i * 1000, i * 2.0);  // 2 per second
  CHECK(evalAt("rate(c[1m])", h, 120000).vector[0].value == Approx(2.0));
  CHECK(evalAt("increase(c[1m])", h, 120000).vector[0].value == Approx(120.0));
  // Restarted at t=121 s: counted from zero, no negative rate.
  for (int i = 0; i < 10; ++i) h.record("c", {}, 121000 + i * 1000, i * 2.0 + 2);
  CHECK(evalAt("rate(c[1m])", h, 130000).vector[0].value == Approx(2.0));
  // One sample in the window: no element.
  SampleHistory one(1000);
  one.want("c", 60000);
  one.record("c", {}, 1000, 5);
  CHECK(evalAt("rate(c[1m])", one, 1000).vector.empty());
  CHECK(evalAt("max_over_time(c[1m])", h, 130000).vector[0].value == Approx(240));
  CHECK(evalAt("min_over_time(c[5s])", h, 130000).vector[0].value == Approx(12));
  CHECK(evalAt("avg_over_time(c[2s])", h, 130000).vector[0].value == Approx(19));
}

TEST_CASE("alert expr: error ratio and canary against stable", "[alerts]") {
  SampleHistory h(1000);
  h.want("req", 60000);
  for (int i = 0; i <= 60; ++i) {
    int64_t t = i * 1000;
    h.record("req", {{"pool", "stable"}, {"status", "200"}}, t, i * 100.0);
    h.record("req", {{"pool", "stable"}, {"status", "500"}}, t, i * 1.0);
    h.record("req", {{"pool", "canary"}, {"status", "200"}}, t, i * 10.0);
    h.record("req", {{"pool", "canary"}, {"status", "500"}}, t, i * 2.0);
  }
  const std::string ratio =
      "sum by (pool) (rate(req{status=~\"5..\"}[1m])) / sum by (pool) (rate(req[1m]))";
  ExprValue r = evalAt(ratio, h, 60000);
  REQUIRE(r.vector.size() == 2);
  CHECK(r.vector[0].labels == Labels{{"pool", "canary"}});
  CHECK(r.vector[0].value == Approx(2.0 / 12));
  CHECK(r.vector[1].value == Approx(1.0 / 101));
  CHECK(evalAt(ratio + " > 0.05", h, 60000).vector.size() == 1);
  const std::string canary =
      "sum by (pool) (rate(req{pool=\"canary\",status=~\"5..\"}[1m])) / sum by (pool) "
      "(rate(req{pool=\"canary\"}[1m])) > ignoring(pool) 2 * sum by (pool) "
      "(rate(req{pool=\"stable\",status=~\"5..\"}[1m])) / sum by (pool) "
      "(rate(req{pool=\"stable\"}[1m]))";
  ExprValue c = evalAt(canary, h, 60000);
  REQUIRE(c.vector.size() == 1);
  CHECK(c.vector[0].labels.empty());
  // Without ignoring(), the pool labels differ and nothing matches.
  CHECK(evalAt("sum by (pool) (rate(req{pool=\"canary\"}[1m])) > sum by (pool) "
               "(rate(req{pool=\"stable\"}[1m]))",
               h, 60000)
            .vector.empty());
  // Many-to-many is an evaluation error, not a guess.
  ExprParseResult p = parseAlertExpr("req / on(pool) req");
  EvalResult bad = evaluateExpr(*p.expr, h, 60000);
  CHECK(bad.error.find("many-to-many") != std::string::npos);
  // No traffic: 0/0 is NaN and compares false.
  SampleHistory idle(1000);
  idle.want("req", 60000);
  for (int i = 0; i <= 5; ++i) idle.record("req", {{"status", "500"}}, i * 1000, 0);
  CHECK(evalAt("sum(rate(req{status=~\"5..\"}[1m])) / sum(rate(req[1m])) > 0.05", idle, 5000)
            .vector.empty());
}

TEST_CASE("alert expr: histogram_quantile interpolates inside the bucket", "[alerts]") {
  SampleHistory h(1000);
  h.want("lat_bucket", 60000);
  // 100 observations per second: 50 <= 0.1, 40 in (0.1, 0.5], 10 in (0.5, 1].
  const std::pair<const char*, double> buckets[] = {
      {"0.1", 50}, {"0.5", 90}, {"1", 100}, {"+Inf", 100}};
  for (int i = 0; i <= 60; ++i) {
    for (const auto& [le, per_s] : buckets) {
      h.record("lat_bucket", {{"route", "/"}, {"le", le}}, i * 1000, per_s * i);
    }
  }
  ExprValue q = evalAt("histogram_quantile(0.99, rate(lat_bucket[1m]))", h, 60000);
  REQUIRE(q.vector.size() == 1);
  CHECK(q.vector[0].labels == Labels{{"route", "/"}});
  CHECK(q.vector[0].value == Approx(0.5 + 0.5 * 9.0 / 10));
  CHECK(evalAt("histogram_quantile(0.5, rate(lat_bucket[1m]))", h, 60000).vector[0].value ==
        Approx(0.1));
  CHECK(evalAt("histogram_quantile(0.7, sum by (le) (rate(lat_bucket[1m])))", h, 60000)
            .vector[0]
            .value == Approx(0.1 + 0.4 * 20.0 / 40));
  // Everything above the last finite bound: that bound.
  SampleHistory tail(1000);
  tail.want("t_bucket", 60000);
  for (int i = 0; i <= 2; ++i) {
    tail.record("t_bucket", {{"le", "1"}}, i * 1000, 0);
    tail.record("t_bucket", {{"le", "+Inf"}}, i * 1000, 10.0 * i);
  }
  CHECK(evalAt("histogram_quantile(0.99, rate(t_bucket[1m]))", tail, 2000).vector[0].value == 1);
}

TEST_CASE("alert history: samples from the registry, bounded rings", "[alerts]") {
  MetricsRegistry metrics;
  Counter& c = metrics.counter("redge_x_total", "x", {{"service", "app"}});
  Gauge& g = metrics.gauge("redge_g", "g");
  Histogram& hist = metrics.histogram("redge_lat_seconds", "lat", {{"route", "/"}}, {0.1, 1});
  metrics.counter("redge_unread_total", "not selected");
  SampleHistory h(1000);
  REQUIRE(h.want("redge_x_total", 3000));
  REQUIRE(h.want("redge_g", 0));
  REQUIRE(h.want("redge_lat_seconds_bucket", 0));
  REQUIRE(h.want("redge_lat_seconds_count", 0));
  CHECK_FALSE(h.want("too_long", 5000 * 1000));
  for (int i = 1; i <= 10; ++i) {
    c.inc(5);
    g.set(i);
    hist.observe(0.05);
    hist.observe(0.5);
    h.sample(metrics, i * 1000);
  }
  const auto* xs = h.find("redge_x_total");
  REQUIRE(xs);
  REQUIRE(xs->size() == 1);
  CHECK((*xs)[0]->ring.size() == 5);  // 3 s at 1 s, plus 2
  CHECK((*xs)[0]->ring.latest().value == 50);
  CHECK((*xs)[0]->ring.at(0).value == 30);
  CHECK(h.find("redge_g")->at(0)->ring.size() == 1);
  CHECK(h.find("redge_unread_total") == nullptr);
  const auto* buckets = h.find("redge_lat_seconds_bucket");
  REQUIRE(buckets);
  REQUIRE(buckets->size() == 3);
  ExprValue inf = evalAt("redge_lat_seconds_bucket{le=\"+Inf\"}", h, 10000);
  REQUIRE(inf.vector.size() == 1);
  CHECK(inf.vector[0].value == 20);
  CHECK(evalAt("redge_lat_seconds_bucket{le=\"0.1\"}", h, 10000).vector[0].value == 10);
  CHECK(evalAt("redge_lat_seconds_count", h, 10000).vector[0].value == 20);
  // A series created later is picked up.
  metrics.counter("redge_x_total", "x", {{"service", "gw"}}).inc();
  h.sample(metrics, 11000);
  CHECK(h.find("redge_x_total")->size() == 2);
}

TEST_CASE("alert history: a counter born between samples was 0 at the earlier ones", "[alerts]") {
  MetricsRegistry metrics;
  Counter& requests = metrics.counter("redge_requests_total", "r");
  Counter& old = metrics.counter("redge_old_total", "o");
  old.inc(500);
  SampleHistory h(1000);
  REQUIRE(h.want("redge_requests_total", 5000));
  REQUIRE(h.want("redge_responses_total", 5000));
  for (int i = 1; i <= 8; ++i) {
    requests.inc(10);
    h.sample(metrics, i * 1000);
  }
  // The first 5xx answers come in a burst just before the ninth sample: a
  // canary that fails every request from then on.
  Counter& errors = metrics.counter("redge_responses_total", "r", {{"code", "5xx"}});
  for (int i = 9; i <= 10; ++i) {
    requests.inc(10);
    errors.inc(10);
    h.sample(metrics, i * 1000);
  }
  const auto* series = h.find("redge_responses_total");
  REQUIRE(series);
  REQUIRE(series->size() == 1);
  const SampleRing& ring = (*series)[0]->ring;
  REQUIRE(ring.size() == 7);  // as deep as the window needs, zeros before the burst
  CHECK(ring.at(0).t_ms == 4000);
  CHECK(ring.at(0).value == 0);
  CHECK(ring.at(4).value == 0);
  CHECK(ring.at(5).value == 10);
  // Both rates span the same samples (6 s to 10 s), so the ratio is what
  // happened: 20 of the 40 requests counted failed. From the young series'
  // own first sample it would read 10 a second against 10 a second: all.
  ExprValue ratio = evalAt(
      "sum(rate(redge_responses_total{code=\"5xx\"}[5s])) / sum(rate(redge_requests_total[5s]))",
      h, 10000);
  REQUIRE(ratio.vector.size() == 1);
  CHECK(ratio.vector[0].value == Approx(0.5));
  CHECK(evalAt("increase(redge_responses_total[5s])", h, 10000).vector[0].value == Approx(25));

  // A metric wanted only later (a rule reloaded) is read at the next sample
  // although the registry did not grow, and an old series gets no zeros: its
  // 500 are not an increase.
  REQUIRE(h.want("redge_old_total", 5000));
  old.inc(5);
  h.sample(metrics, 11000);
  old.inc(5);
  h.sample(metrics, 12000);
  const auto* olds = h.find("redge_old_total");
  REQUIRE(olds);
  REQUIRE(olds->size() == 1);
  CHECK((*olds)[0]->ring.size() == 2);
  CHECK((*olds)[0]->ring.at(0).value == 505);
  CHECK(evalAt("increase(redge_old_total[5s])", h, 12000).vector[0].value == Approx(25));
}

}  // namespace redge
