// The shared gateway cache across a fleet: two real redge gateways on one
// real redis-server (the same redis.key_prefix), one fake_upstream behind
// both, spoken to with libcurl. Whether the member was asked is read from
// its own counters (/stats echoed); which request fetched the answer a
// client got is read from the echo itself: every request carries its own
// X-Probe header, and the member's echo repeats it, so an answer holding
// another request's probe came from a cache (this gateway's memory or
// Redis) and one holding its own was fetched for it. Coherence (B serves
// what A fetched), one member request for 100 concurrent misses spread over
// both gateways, writes on one gateway clearing the other's memory,
// invalidate_parent across gateways, the admin purge by url, prefix and tag,
// and a shared route that keeps caching locally while Redis is stopped or
// frozen.
//
// The cache key is http://<host><target>, the host without its port: the
// gateways are asked with one Host (kHost), as clients reach a fleet under
// one name, except where a test shows that the port is left out.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kHost = "shop.test";
// Where the gateways publish invalidations, under the default key prefix.
constexpr const char* kEventsChannel = "redge:gateway:cache:events";

using Labels = std::vector<std::pair<std::string, std::string>>;

// The sum of every sample of `name` whose labels include all of `labels`
// (in any order, others allowed); nullopt when no sample matches, so a
// missing series is told apart from a zero.
std::optional<double> metricSum(const std::string& text, const std::string& name,
                                const Labels& labels) {
  std::optional<double> sum;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.rfind(name + "{", 0) != 0) continue;
    size_t close = line.find("} ");
    if (close == std::string::npos) continue;
    // ",a=\"1\",b=\"2\"," so that each label is found whole.
    std::string set(1, ',');
    set.append(line, name.size() + 1, close - name.size() - 1).push_back(',');
    bool all = true;
    for (const auto& [key, value] : labels) {
      std::string needle(1, ',');
      needle.append(key).append("=\"").append(value).append("\",");
      if (set.find(needle) == std::string::npos) all = false;
    }
    if (!all) continue;
    sum = sum.value_or(0) + std::strtod(line.c_str() + close + 2, nullptr);
  }
  return sum;
}

std::optional<double> metric(const RedgeProcess& gw, const std::string& name,
                             const Labels& labels = {{"route", "/"}}) {
  HttpReply r = httpGet(gw.adminUrl("/metrics"), {}, 2000ms);
  if (r.status != 200) return std::nullopt;
  return metricSum(r.body, name, labels);
}

bool isHit(const HttpReply& r) {
  return r.header("Cache-Status").rfind("redge; hit", 0) == 0;
}

// The probe of the request whose fetch produced this answer ("" if the body
// is not an echo).
std::string fetchedBy(const HttpReply& r) {
  std::vector<std::string> v = parseEcho(r.body).values("X-Probe");
  return v.empty() ? "" : v.front();
}

long ageOf(const HttpReply& r) {
  std::string a = r.header("Age");
  return a.empty() ? -1 : std::stol(a);
}

// Two gateways (a, b) on one Redis with the same cached route, in front of
// one fake upstream (up). Ready once both have subscribed to the events
// channel, so no test publishes before the other gateway listens.
class Fleet {
 public:
  explicit Fleet(const std::string& cache_json, std::vector<std::string> extra = {})
      : redis(dir),
        up(dir, {"--name", "up"}),
        a(dir, redis, gatewaySettings(cachedRoute(cache_json), webPool(up), extra)),
        b(dir, redis, gatewaySettings(cachedRoute(cache_json), webPool(up), extra)) {
    a.waitUntilReady();
    b.waitUntilReady();
    // redge's Redis client subscribes with PSUBSCRIBE (the channel's name
    // as the pattern), which PUBSUB NUMSUB does not count and NUMPAT counts
    // once for both: count the connections that subscribed instead. No
    // other subscriber runs here (no discovery, no cache proxy).
    bool subscribed = waitUntil(
        [&] {
          RedisValue clients = redis.command({"CLIENT", "LIST"});
          int n = 0;
          size_t at = 0;
          while (at < clients.str.size()) {
            size_t end = clients.str.find('\n', at);
            if (end == std::string::npos) end = clients.str.size();
            std::string line = clients.str.substr(at, end - at);
            at = end + 1;
            if (line.find(" sub=0 ") == std::string::npos ||
                line.find(" psub=0 ") == std::string::npos) {
              ++n;
            }
          }
          return n >= 2;
        },
        5000ms);
    if (!subscribed) {
      FAIL("both gateways should subscribe to " << kEventsChannel << " within 5 s; log of a:\n"
                                                << a.logText());
    }
  }

  // GET through `gw` with the fleet's Host and a new probe.
  HttpReply get(const RedgeProcess& gw, const std::string& target,
                std::chrono::milliseconds timeout = kHttpTimeout) {
    return httpGet(gw.gatewayUrl(target), {std::string("Host: ") + kHost, "X-Probe: " + probe()},
                   timeout);
  }
  // The same with the Host curl sends itself: 127.0.0.1:<the gateway's port>.
  HttpReply getByAddress(const RedgeProcess& gw, const std::string& target) {
    return httpGet(gw.gatewayUrl(target), {"X-Probe: " + probe()});
  }
  HttpReply post(const RedgeProcess& gw, const std::string& target,
                 std::chrono::milliseconds timeout = kHttpTimeout) {
    return httpPost(gw.gatewayUrl(target), "{}",
                    {std::string("Host: ") + kHost, "Content-Type: application/json"}, timeout);
  }
  HttpReply purge(const RedgeProcess& gw, const std::string& body) {
    return httpPost(gw.adminUrl("/cache/purge"), body, {"Content-Type: application/json"});
  }

  // Fetches `target` through a (a miss, stored), waits until it is in Redis,
  // then has b take it from Redis, so both hold it in memory. The probe of
  // the fetch.
  std::string holdOnBoth(const std::string& target) {
    double stores = metric(a, "redge_gateway_cache_shared_stores_total").value_or(0);
    HttpReply first = get(a, target);
    REQUIRE(first.status == 200);
    REQUIRE(first.header("Cache-Status") == "redge; fwd=uri-miss; stored");
    REQUIRE(waitUntil(
        [&] {
          return metric(a, "redge_gateway_cache_shared_stores_total").value_or(0) == stores + 1;
        },
        2000ms));
    HttpReply on_b = get(b, target);
    REQUIRE(on_b.status == 200);
    REQUIRE(isHit(on_b));
    REQUIRE(fetchedBy(on_b) == fetchedBy(first));
    return fetchedBy(first);
  }

  // Whether `gw` still answers `target` with the copy `probe` fetched.
  bool servesCopy(const RedgeProcess& gw, const std::string& target, const std::string& probe) {
    HttpReply r = get(gw, target);
    return r.status == 200 && fetchedBy(r) == probe;
  }

  // Polls `gw` until its answer for `target` is no longer the copy `probe`
  // fetched: the milliseconds it took, or -1 at the timeout.
  long long untilGone(const RedgeProcess& gw, const std::string& target, const std::string& probe,
                      std::chrono::milliseconds timeout) {
    auto start = std::chrono::steady_clock::now();
    bool gone = waitUntil([&] { return !servesCopy(gw, target, probe); }, timeout, 1ms);
    return gone ? msSince(start) : -1;
  }

  TempDir dir;
  RedisServer redis;
  FakeUpstreamProcess up;
  RedgeProcess a;
  RedgeProcess b;

 private:
  std::string probe() { return "probe-" + std::to_string(++probes_); }
  std::atomic<int> probes_{0};
};

const std::string kFresh = "cc=max-age%3D60&nocookie=1";

}  // namespace

TEST_CASE("shared gateway cache: what one gateway fetched, the other serves from Redis",
          "[gateway][cache][shared]") {
  Fleet fleet(R"({"enabled": true, "shared": true})");
  const std::string target = "/items?" + kFresh;

  // Each gateway is asked by its own address: 127.0.0.1:<port> as the Host.
  HttpReply first = fleet.getByAddress(fleet.a, target);
  REQUIRE(first.status == 200);
  CHECK(first.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  CHECK(fleet.up.stats().echoed == 1);
  REQUIRE(waitUntil([&] { return metric(fleet.a, "redge_gateway_cache_shared_stores_total") == 1; },
                    2000ms));

  HttpReply on_b = fleet.getByAddress(fleet.b, target);
  REQUIRE(on_b.status == 200);
  CHECK(fetchedBy(on_b) == fetchedBy(first));
  CHECK(on_b.body == first.body);
  CHECK(fleet.up.stats().echoed == 1);  // the member was not asked again
  std::string cs = on_b.header("Cache-Status");
  CHECK(cs.rfind("redge; hit; ttl=", 0) == 0);
  CHECK(cs.find("; detail=shared") != std::string::npos);
  CHECK(on_b.header("Cache-Control") == "max-age=60");
  CHECK(on_b.header("X-Upstream") == "up");
  CHECK(on_b.header("Date") == first.header("Date"));
  CHECK(ageOf(on_b) >= 0);
  CHECK(ageOf(on_b) <= 2);
  CHECK(metric(fleet.b, "redge_gateway_cache_shared_hits_total") == 1);
  CHECK(metric(fleet.a, "redge_gateway_cache_shared_hits_total").value_or(0) == 0);

  // Asked again, b answers from its own memory: still the member is not asked.
  HttpReply again = fleet.getByAddress(fleet.b, target);
  CHECK(isHit(again));
  CHECK(fetchedBy(again) == fetchedBy(first));
  CHECK(fleet.up.stats().echoed == 1);

  // A gateway on the same Redis under another key prefix is another fleet.
  RedgeProcess other(fleet.dir, fleet.redis,
                     gatewaySettings(cachedRoute(R"({"enabled": true, "shared": true})"),
                                     webPool(fleet.up), {"redis.key_prefix=other:"}));
  other.waitUntilReady();
  HttpReply elsewhere = fleet.getByAddress(other, target);
  CHECK(elsewhere.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  CHECK(fleet.up.stats().echoed == 2);
}

TEST_CASE("shared gateway cache: 100 concurrent misses on two gateways make one member request",
          "[gateway][cache][shared]") {
  Fleet fleet(R"({"enabled": true, "shared": true})");
  // The member takes 1 s, so every request arrives while the one fetch is
  // under way; fill_lock_ms (5000 by default) outlasts it.
  const std::string target = "/slow?" + kFresh + "&delay_ms=1000";
  constexpr int kClients = 100;
  std::vector<HttpReply> replies(kClients);
  std::latch go(kClients);
  std::vector<std::thread> clients;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const RedgeProcess& gw = i % 2 == 0 ? fleet.a : fleet.b;
      std::string url = gw.gatewayUrl(target);
      go.arrive_and_wait();
      replies[static_cast<size_t>(i)] =
          httpGet(url, {std::string("Host: ") + kHost, "X-Probe: client-" + std::to_string(i)});
    });
  }
  for (auto& t : clients) t.join();
  long long took = msSince(start);

  CHECK(fleet.up.stats().echoed == 1);
  int stored = 0;
  int collapsed = 0;
  // Each gateway's Cache-Status values (ttl=N written as is), for the
  // failure message.
  std::map<std::string, int> seen[2];
  for (size_t i = 0; i < replies.size(); ++i) {
    const HttpReply& r = replies[i];
    CHECK(r.status == 200);
    CHECK(r.body == replies[0].body);
    std::string cs = r.header("Cache-Status");
    if (cs == "redge; fwd=uri-miss; stored") ++stored;
    // RFC 9211 collapsed: the request waited for another's fetch, whichever
    // gateway made it.
    if (cs.rfind("redge; hit; ttl=", 0) == 0 && cs.find("; collapsed") != std::string::npos) {
      ++collapsed;
    }
    size_t ttl = cs.find("ttl=");
    if (ttl != std::string::npos) {
      size_t end = cs.find(';', ttl);
      std::string shown(cs, 0, ttl + 4);
      shown.push_back('N');
      if (end != std::string::npos) shown.append(cs, end, std::string::npos);
      cs = std::move(shown);
    }
    ++seen[i % 2][cs];
  }
  std::string tally;
  for (int g = 0; g < 2; ++g) {
    for (const auto& [value, n] : seen[g]) {
      tally.append(g == 0 ? "a: " : "b: ").append(std::to_string(n)).append(" x ");
      tally.append(value).push_back('\n');
    }
  }
  INFO("Cache-Status values seen:\n" << tally);
  CHECK(stored == 1);
  CHECK(collapsed == kClients - 1);
  CHECK(took < 4000);  // no waiter went on by itself after fill_lock_ms

  double shared_stores = metric(fleet.a, "redge_gateway_cache_shared_stores_total").value_or(0) +
                         metric(fleet.b, "redge_gateway_cache_shared_stores_total").value_or(0);
  CHECK(shared_stores == 1);
  // The gateway that did not fetch waited for the other's fill.
  double waits = metric(fleet.a, "redge_gateway_cache_fill_waits_total").value_or(0) +
                 metric(fleet.b, "redge_gateway_cache_fill_waits_total").value_or(0);
  CHECK(waits >= 1);
  CHECK(waits <= kClients / 2);
}

TEST_CASE("shared gateway cache: a fetch whose answer stays in memory releases the fleet's waiters",
          "[gateway][cache][shared]") {
  // An answer with Vary is kept by the gateway that fetched it alone (its
  // variants are not shared): the others must not sit out fill_lock_ms
  // waiting for an entry that will never reach Redis, but go on as soon as
  // the fetch ends.
  Fleet fleet(R"({"enabled": true, "shared": true, "fill_lock_ms": 10000})");
  const std::string target = "/varied?" + kFresh + "&vary=Accept-Encoding&delay_ms=500";
  std::optional<HttpReply> from_a;
  std::thread first([&] { from_a = fleet.get(fleet.a, target); });
  // B's miss arrives while A holds the fill lock.
  REQUIRE(waitUntil(
      [&] {
        return fleet.redis.command({"KEYS", "redge:gateway:cache:*:l:*"}).elements.size() == 1;
      },
      2000ms, 5ms));
  auto start = std::chrono::steady_clock::now();
  HttpReply from_b = fleet.get(fleet.b, target);
  long long waited = msSince(start);
  first.join();
  REQUIRE(from_a.has_value());
  CHECK(from_a->status == 200);
  CHECK(from_b.status == 200);
  INFO("B answered " << waited << " ms after its request");
  CHECK(waited < 3000);                 // well before fill_lock_ms
  CHECK(fleet.up.stats().echoed == 2);  // nothing in Redis for B: it fetched too
}

TEST_CASE("shared gateway cache: a write through one gateway clears the other's memory",
          "[gateway][cache][shared]") {
  Fleet fleet(R"({"enabled": true, "shared": true})");
  const std::string item = "/item?" + kFresh;
  const std::string marker = "/marker?" + kFresh;
  const std::string item_probe = fleet.holdOnBoth(item);
  const std::string marker_probe = fleet.holdOnBoth(marker);
  REQUIRE(fleet.servesCopy(fleet.a, item, item_probe));
  REQUIRE(fleet.servesCopy(fleet.b, item, item_probe));

  // An error answer to a write clears nothing, on either gateway.
  fleet.up.configure(R"({"echo_status": 500})");
  REQUIRE(fleet.post(fleet.a, item).status == 500);
  fleet.up.configure(R"({"echo_status": 200})");
  // A good write on another URI afterwards: once b has seen its event, any
  // event of the failed write (published before it) has arrived too.
  REQUIRE(fleet.post(fleet.a, marker).status == 200);
  CHECK(fleet.untilGone(fleet.b, marker, marker_probe, 2000ms) >= 0);
  CHECK(fleet.servesCopy(fleet.a, item, item_probe));
  CHECK(fleet.servesCopy(fleet.b, item, item_probe));

  // A 2xx write through a: b stops serving its copy within about 100 ms.
  HttpReply write = fleet.post(fleet.a, item);
  REQUIRE(write.status == 200);
  long long gone_ms = fleet.untilGone(fleet.b, item, item_probe, 2000ms);
  WARN("b stopped serving the entry " << gone_ms << " ms after the write's answer through a");
  CHECK(gone_ms >= 0);
  CHECK(gone_ms < 500);
  // Neither a's memory nor Redis kept it (b's poll fetched it anew, so a
  // may now take that one from Redis, never the old copy).
  CHECK_FALSE(fleet.servesCopy(fleet.a, item, item_probe));

  const Labels peer = {{"route", "/"}, {"cause", "peer"}};
  const Labels write_cause = {{"route", "/"}, {"cause", "write"}};
  CHECK(metric(fleet.b, "redge_gateway_cache_invalidations_total", peer) == 2);  // marker, item
  CHECK(metric(fleet.b, "redge_gateway_cache_invalidations_total", write_cause).value_or(0) == 0);
  CHECK(metric(fleet.a, "redge_gateway_cache_invalidations_total", write_cause) == 2);
  CHECK(metric(fleet.a, "redge_gateway_cache_invalidations_total", peer).value_or(0) == 0);
}

TEST_CASE("shared gateway cache: invalidate_parent clears the collection on every gateway",
          "[gateway][cache][shared]") {
  Fleet fleet(R"({"enabled": true, "shared": true, "invalidate_parent": true})");
  const std::string list = "/courses?" + kFresh;
  const std::string other = "/lessons?" + kFresh;
  const std::string list_probe = fleet.holdOnBoth(list);
  const std::string other_probe = fleet.holdOnBoth(other);

  REQUIRE(fleet.post(fleet.a, "/courses/7").status == 200);
  long long gone_ms = fleet.untilGone(fleet.b, list, list_probe, 2000ms);
  WARN("b dropped /courses " << gone_ms << " ms after the write to /courses/7 through a");
  CHECK(gone_ms >= 0);
  CHECK(gone_ms < 500);
  CHECK_FALSE(fleet.servesCopy(fleet.a, list, list_probe));
  // Another collection stays on both.
  CHECK(fleet.servesCopy(fleet.a, other, other_probe));
  CHECK(fleet.servesCopy(fleet.b, other, other_probe));
  CHECK(metric(fleet.b, "redge_gateway_cache_invalidations_total",
               {{"route", "/"}, {"cause", "peer"}}) == 1);
}

TEST_CASE("shared gateway cache: the admin purge by url, prefix and tag reaches every gateway",
          "[gateway][cache][shared]") {
  Fleet fleet(R"({"enabled": true, "shared": true})");
  const std::string by_full_url = "/p/url?" + kFresh;
  const std::string by_path_url = "/p/path?" + kFresh;
  const std::string pre_a = "/p/pre/a?" + kFresh;
  const std::string pre_b = "/p/pre/b?" + kFresh;
  const std::string tagged = "/t/1?" + kFresh + "&cache_tag=course-7%2C%20courses";
  const std::string keyed = "/t/2?" + kFresh + "&surrogate_key=other%20course-8";
  const std::string untagged = "/t/3?" + kFresh + "&cache_tag=course-9";
  const std::string kept = "/p/kept?" + kFresh;
  std::map<std::string, std::string> probe;
  for (const std::string& t :
       {by_full_url, by_path_url, pre_a, pre_b, tagged, keyed, untagged, kept}) {
    probe[t] = fleet.holdOnBoth(t);
  }

  // Each purge, sent to one gateway, is seen on the other first (its
  // memory cleared by the event, Redis cleared: a fetch of its own), then on
  // the one that was asked (its memory cleared: never the old copy).
  auto purged_everywhere = [&](const RedgeProcess& asked, const RedgeProcess& peer,
                               const std::vector<std::string>& targets) {
    for (const std::string& t : targets) {
      INFO(t);
      CHECK(fleet.untilGone(peer, t, probe[t], 2000ms) >= 0);
      CHECK_FALSE(fleet.servesCopy(asked, t, probe[t]));
    }
  };
  // {"purged": <removed from the asked gateway's memory>, "shared": <from Redis>}
  auto answered = [](const HttpReply& r, int64_t purged, int64_t shared) {
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(jsonInt(r.body, "purged") == purged);
    CHECK(jsonInt(r.body, "shared") == shared);
  };

  HttpReply url = fleet.purge(fleet.a, R"({"url": "http://shop.test/p/url?)" + kFresh + "\"}");
  answered(url, 1, 1);
  purged_everywhere(fleet.a, fleet.b, {by_full_url});

  HttpReply path =
      fleet.purge(fleet.b, R"({"url": "/p/path?)" + kFresh + R"(", "host": "shop.test"})");
  answered(path, 1, 1);
  purged_everywhere(fleet.b, fleet.a, {by_path_url});

  HttpReply prefix = fleet.purge(fleet.a, R"({"prefix": "/p/pre/"})");
  answered(prefix, 2, 2);
  purged_everywhere(fleet.a, fleet.b, {pre_a, pre_b});

  // Cache-Tag (comma-separated) and Surrogate-Key (space-separated).
  HttpReply tags = fleet.purge(fleet.b, R"({"tags": ["course-7", "course-8"]})");
  answered(tags, 2, 2);
  purged_everywhere(fleet.b, fleet.a, {tagged, keyed});

  // What no purge named is still on both.
  for (const std::string& t : {untagged, kept}) {
    INFO(t);
    CHECK(fleet.servesCopy(fleet.a, t, probe[t]));
    CHECK(fleet.servesCopy(fleet.b, t, probe[t]));
  }
  CHECK(fleet.a.waitForLog("event=gateway_cache_purged", 2000ms));
  CHECK(fleet.b.waitForLog("event=gateway_cache_purged", 2000ms));

  // Bad bodies: 400 with a stable code and a sentence.
  for (const std::string& body :
       {std::string("{}"), std::string(R"({"url": 7})"), std::string(R"({"tags": "course-7"})"),
        std::string(R"({"tags": [7]})"), std::string(R"({"host": "shop.test"})"),
        std::string("[1, 2]")}) {
    INFO(body);
    HttpReply bad = fleet.purge(fleet.a, body);
    CHECK(bad.status == 400);
    CHECK(errorCode(bad.body) == "invalid_purge");
  }
  HttpReply not_json = fleet.purge(fleet.a, R"({"tags": ["course-7")");
  CHECK(not_json.status == 400);
  CHECK(errorCode(not_json.body) == "invalid_json");
  // Nothing was purged by them.
  CHECK(fleet.servesCopy(fleet.a, kept, probe[kept]));
  CHECK(fleet.servesCopy(fleet.b, kept, probe[kept]));
}

TEST_CASE("shared gateway cache: with Redis stopped or frozen a shared route caches locally",
          "[gateway][cache][shared]") {
  constexpr int kCommandTimeoutMs = 300;
  Fleet fleet(R"({"enabled": true, "shared": true})",
              {"redis.command_timeout_ms=" + std::to_string(kCommandTimeoutMs)});
  const auto bound = std::chrono::milliseconds(kCommandTimeoutMs + 1000);

  SECTION("frozen (SIGSTOP): each Redis step gives up at its command timeout") {
    fleet.redis.pause();
    const std::string target = "/frozen?" + kFresh;
    HttpReply miss = fleet.get(fleet.a, target, 10s);
    WARN("a miss with Redis frozen took " << miss.elapsed.count() << " ms (command timeout "
                                          << kCommandTimeoutMs << " ms)");
    CHECK(miss.status == 200);
    CHECK(miss.header("Cache-Status").find("fwd=uri-miss") != std::string::npos);
    CHECK(miss.elapsed < bound);
    HttpReply hit = fleet.get(fleet.a, target, 10s);
    CHECK(hit.status == 200);
    CHECK(isHit(hit));
    CHECK(fetchedBy(hit) == fetchedBy(miss));
    CHECK(hit.elapsed < std::chrono::milliseconds(kCommandTimeoutMs));
    HttpReply on_b = fleet.get(fleet.b, target, 10s);
    CHECK(on_b.status == 200);
    CHECK(on_b.elapsed < bound);
    HttpReply write = fleet.post(fleet.a, "/frozen/1", 10s);
    CHECK(write.status == 200);
    CHECK(write.elapsed < bound);
    CHECK(fleet.up.stats().echoed == 3);
    fleet.redis.resume();
  }

  SECTION("stopped: answers at once, and local entries are dropped when Redis is back") {
    fleet.redis.stop();
    const std::string target = "/stopped?" + kFresh;
    HttpReply miss = fleet.get(fleet.a, target, 10s);
    CHECK(miss.status == 200);
    CHECK(miss.header("Cache-Status").find("fwd=uri-miss") != std::string::npos);
    CHECK(miss.elapsed < bound);
    HttpReply hit = fleet.get(fleet.a, target, 10s);
    CHECK(isHit(hit));
    CHECK(fetchedBy(hit) == fetchedBy(miss));
    CHECK(hit.elapsed < std::chrono::milliseconds(kCommandTimeoutMs));
    HttpReply purge = fleet.purge(fleet.a, R"({"prefix": "/nothing"})");
    CHECK(purge.status != 0);  // an answer, whatever it is, in time
    CHECK(purge.elapsed < bound);
    CHECK(fleet.up.stats().echoed == 1);

    // Invalidations published while a was cut off never reached it: when
    // it reconnects it drops its shared routes' local entries.
    fleet.redis.start();
    fleet.a.waitUntilReady();
    CHECK(fleet.untilGone(fleet.a, target, fetchedBy(miss), 5000ms) >= 0);
  }
}
