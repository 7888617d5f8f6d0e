// The gateway cache's CacheRefresher without a network: a Send that keeps
// each request's callback so the test answers (or never answers) it by
// hand. One refresh per entry at a time, an error keeps nothing running,
// and after close() a late callback touches neither the refresher nor the
// cache.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/manual_timer.hpp"
#include "core/metrics.hpp"
#include "services/gateway/cache_refresh.hpp"
#include "services/gateway/gateway_cache.hpp"

namespace redge {
namespace {

struct SentRefresh {
  HttpClientRequest request;
  HttpClientCallback done;
};

RefreshJob jobFor(const std::string& key) {
  RefreshJob job;
  job.key = key;
  job.host = "shop.example";
  job.target = "/items?x=1";
  job.fields = {{"If-None-Match", "\"v1\""}, {"Accept-Encoding", "gzip"}};
  return job;
}

double results(const MetricsRegistry& m, const char* result) {
  return m.valueOf("redge_gateway_cache_background_refreshes_total",
                   {{"route", "/"}, {"result", result}});
}

}  // namespace

TEST_CASE("cache refresher: one refresh per entry at a time, as a conditional GET",
          "[gateway_cache]") {
  ManualClock clock;
  MetricsRegistry metrics;
  GatewayCacheOptions options;
  ManualTimerFactory timers(clock);
  RouteCache cache(clock, timers, metrics, "/", options, nullptr);
  std::vector<SentRefresh> sent;
  auto refresher = std::make_unique<CacheRefresher>(
      cache, metrics, "/", [&](HttpClientRequest request, HttpClientCallback done) {
        sent.push_back({std::move(request), std::move(done)});
      });

  CHECK(refresher->start(jobFor("http://shop.example/items?x=1")));
  CHECK(refresher->running("http://shop.example/items?x=1"));
  CHECK_FALSE(refresher->start(jobFor("http://shop.example/items?x=1")));
  CHECK(refresher->start(jobFor("http://shop.example/other")));
  REQUIRE(sent.size() == 2);
  CHECK(refresher->inflight() == 2);
  const HttpClientRequest& r = sent[0].request;
  CHECK(r.method == "GET");
  CHECK(r.target == "/items?x=1");
  CHECK(r.authority == "shop.example");
  CHECK(r.headers == jobFor("").fields);

  // A failed refresh leaves the entry (here: none) and frees the key.
  sent[0].done(HttpClientError::Connect, nullptr);
  CHECK_FALSE(refresher->running("http://shop.example/items?x=1"));
  CHECK(results(metrics, "error") == 1);
  HttpClientResponse unavailable;
  unavailable.status = 503;
  sent[1].done(HttpClientError::None, &unavailable);
  CHECK(results(metrics, "error") == 2);
  CHECK(refresher->inflight() == 0);
  CHECK(refresher->start(jobFor("http://shop.example/items?x=1")));
  REQUIRE(sent.size() == 3);

  // A storable 200 is stored; a 304 for it then refreshes it; another
  // answer drops it.
  HttpClientResponse fresh;
  fresh.status = 200;
  fresh.headers = {{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}};
  fresh.body = "new";
  sent[2].done(HttpClientError::None, &fresh);
  CHECK(results(metrics, "replaced") == 1);
  CHECK(cache.entries() == 1);
  REQUIRE(refresher->start(jobFor("http://shop.example/items?x=1")));
  HttpClientResponse not_modified;
  not_modified.status = 304;
  not_modified.headers = {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=120"}};
  sent[3].done(HttpClientError::None, &not_modified);
  CHECK(results(metrics, "not_modified") == 1);
  CHECK(cache.entries() == 1);
  REQUIRE(refresher->start(jobFor("http://shop.example/items?x=1")));
  HttpClientResponse gone;
  gone.status = 404;
  sent[4].done(HttpClientError::None, &gone);
  CHECK(results(metrics, "other") == 1);
  CHECK(cache.entries() == 0);
}

TEST_CASE("cache refresher: a Send that fails at once frees the key at once", "[gateway_cache]") {
  ManualClock clock;
  MetricsRegistry metrics;
  ManualTimerFactory timers(clock);
  RouteCache cache(clock, timers, metrics, "/", GatewayCacheOptions{}, nullptr);
  int sends = 0;
  CacheRefresher refresher(cache, metrics, "/", [&](HttpClientRequest, HttpClientCallback done) {
    ++sends;
    done(HttpClientError::Connect, nullptr);  // no member
  });
  CHECK(refresher.start(jobFor("k")));
  CHECK(refresher.start(jobFor("k")));
  CHECK(sends == 2);
  CHECK(refresher.inflight() == 0);
  CHECK(results(metrics, "error") == 2);
}

TEST_CASE("cache refresher: after close a late answer does nothing", "[gateway_cache]") {
  ManualClock clock;
  MetricsRegistry metrics;
  ManualTimerFactory timers(clock);
  RouteCache cache(clock, timers, metrics, "/", GatewayCacheOptions{}, nullptr);
  std::vector<SentRefresh> sent;
  auto refresher = std::make_unique<CacheRefresher>(
      cache, metrics, "/", [&](HttpClientRequest request, HttpClientCallback done) {
        sent.push_back({std::move(request), std::move(done)});
      });
  REQUIRE(refresher->start(jobFor("k")));
  refresher->close();
  CHECK(refresher->inflight() == 0);
  CHECK_FALSE(refresher->start(jobFor("k")));
  CHECK(sent.size() == 1);
  // The refresher is gone altogether before its answer comes.
  refresher.reset();
  HttpClientResponse ok;
  ok.status = 200;
  ok.headers = {{"Cache-Control", "max-age=60"}};
  ok.body = "late";
  sent[0].done(HttpClientError::None, &ok);
  sent[0].done(HttpClientError::Closed, nullptr);
  CHECK(cache.entries() == 0);
  for (const char* result : {"not_modified", "replaced", "other", "error"}) {
    CHECK(results(metrics, result) == 0);
  }
}

}  // namespace redge
