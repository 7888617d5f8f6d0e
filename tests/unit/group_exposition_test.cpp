// Unit tests for the group's /metrics text: the worker label on every
// sample, and families merged so each keeps one HELP/TYPE header with every
// worker's samples under it (what a Prometheus scraper accepts).

#include "ops/workers/group_exposition.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>

#include "core/metrics.hpp"

namespace redge {
namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST_CASE("group exposition: the worker label goes first on every sample", "[workers]") {
  std::string text =
      "# HELP a_total things\n"
      "# TYPE a_total counter\n"
      "a_total 3\n"
      "a_total{service=\"app\",code=\"x}y\"} 4\n"
      "b{} 1\n";
  CHECK(labelWorker(text, "1") ==
        "# HELP a_total things\n"
        "# TYPE a_total counter\n"
        "a_total{worker=\"1\"} 3\n"
        "a_total{worker=\"1\",service=\"app\",code=\"x}y\"} 4\n"
        "b{worker=\"1\"} 1\n");
  // No trailing newline: the last line is still labelled.
  CHECK(labelWorker("x 1", "0") == "x{worker=\"0\"} 1\n");
}

TEST_CASE("group exposition: families merge with one header each", "[workers]") {
  MetricsRegistry w0;
  MetricsRegistry w1;
  w0.counter("redge_requests_total", "requests", {{"service", "app"}}).inc(5);
  w1.counter("redge_requests_total", "requests", {{"service", "app"}}).inc(7);
  w0.histogram("redge_latency_seconds", "latency").observe(0.001);
  w1.histogram("redge_latency_seconds", "latency").observe(0.002);
  w1.gauge("redge_only_in_one", "a family one worker has").set(2);
  std::string a = labelWorker(w0.renderLocal(), "0");
  std::string b = labelWorker(w1.renderLocal(), "1");
  std::string merged = mergeExpositions({a, b});

  CHECK(count(merged, "# HELP redge_requests_total ") == 1);
  CHECK(count(merged, "# TYPE redge_requests_total ") == 1);
  CHECK(count(merged, "# TYPE redge_latency_seconds histogram") == 1);
  CHECK(count(merged, "# TYPE redge_only_in_one gauge") == 1);
  CHECK(count(merged, "redge_requests_total{worker=\"0\",service=\"app\"} 5\n") == 1);
  CHECK(count(merged, "redge_requests_total{worker=\"1\",service=\"app\"} 7\n") == 1);
  CHECK(count(merged, "redge_latency_seconds_count{worker=\"1\"} 1\n") == 1);

  // Every sample sits under its own family's header: walk the text and
  // check that no family's samples appear after another family began, and
  // that no line is lost.
  std::istringstream in(merged);
  std::string line;
  std::string family;
  std::set<std::string> closed;
  size_t samples = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      CHECK(closed.count(name) == 0);
      if (!family.empty()) closed.insert(family);
      family = name;
      continue;
    }
    if (line.starts_with("#")) continue;
    ++samples;
    CHECK(line.starts_with(family));
  }
  size_t input_samples = 0;
  for (const std::string* part : {&a, &b}) {
    std::istringstream p(*part);
    while (std::getline(p, line)) input_samples += !line.empty() && line[0] != '#';
  }
  CHECK(samples == input_samples);
}

}  // namespace
}  // namespace redge
