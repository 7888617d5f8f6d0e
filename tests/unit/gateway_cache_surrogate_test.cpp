// Surrogate-Control for the gateway: which directives are its own
// (untargeted, or targeted at "redge"), and how they come before
// Cache-Control in storing and freshness.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "services/gateway/cache/freshness.hpp"
#include "services/gateway/cache/surrogate_control.hpp"

namespace redge {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::vector<HttpHeaderField> views(const Fields& fields) {
  std::vector<HttpHeaderField> out;
  for (const auto& [n, v] : fields) out.push_back({n, v});
  return out;
}

SurrogateControl parse(const Fields& f) {
  return parseSurrogateControl(views(f));
}

}  // namespace

TEST_CASE("surrogate control: the directives for the gateway are read", "[gateway_cache]") {
  CHECK(parse({{"Surrogate-Control", "max-age=60"}}).max_age == 60);
  CHECK(parse({{"Surrogate-Control", "MaX-aGe=60"}}).max_age == 60);
  CHECK(parse({{"Surrogate-Control", "max-age=60;redge"}}).max_age == 60);
  CHECK(parse({{"Surrogate-Control", "max-age=60+600"}}).max_age == 60);
  CHECK(parse({{"Surrogate-Control", "foobar, max-age=60"}}).max_age == 60);
  CHECK(parse({{"Surrogate-Control", "max-age=60, max-age=5"}}).max_age == 60);
  CHECK(parse({{"Surrogate-Control", "no-store"}}).no_store);
  CHECK(parse({{"Surrogate-Control", "no-store;redge"}}).no_store);
  CHECK_FALSE(parse({}).speaks());
}

TEST_CASE("surrogate control: other targets and malformed values are ignored", "[gateway_cache]") {
  CHECK_FALSE(parse({{"Surrogate-Control", "max-age=60;not-for-you"}}).speaks());
  CHECK_FALSE(parse({{"Surrogate-Control", "no-store;other"}}).speaks());
  CHECK_FALSE(parse({{"Surrogate-Control", "max-age =60"}}).speaks());
  CHECK_FALSE(parse({{"Surrogate-Control", "max-age= 60"}}).speaks());
  CHECK_FALSE(parse({{"Surrogate-Control", "max-age=-1"}}).speaks());
  CHECK_FALSE(parse({{"Surrogate-Control", "max-age"}}).speaks());
  CHECK_FALSE(parse({{"Surrogate-Control", "no-store=1"}}).speaks());
}

TEST_CASE("surrogate control: comes before Cache-Control for the gateway", "[gateway_cache]") {
  const int64_t t = 1'700'000'000'000;
  CachePolicy policy;
  CacheRequestFacts get;
  auto facts = [&](const Fields& f) { return cacheResponseFacts(200, views(f), t, t); };

  // A short surrogate lifetime wins over a long Cache-Control one, and a
  // zero one over a future Expires.
  auto short_one = facts({{"Cache-Control", "max-age=3600"}, {"Surrogate-Control", "max-age=1"}});
  CHECK(freshnessLifetime(short_one, policy).ms == 1000);
  CHECK(freshnessLifetime(short_one, policy).source == FreshnessSource::SurrogateMaxAge);
  auto zero = facts({{"Surrogate-Control", "max-age=0"},
                     {"Expires", "Tue, 14 Nov 2023 23:00:00 GMT"},
                     {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"}});
  CHECK(freshnessLifetime(zero, policy).ms == 0);

  // Stored for the surrogate even when Cache-Control keeps others from it.
  CHECK(decideStore(get,
                    facts({{"Cache-Control", "no-store"}, {"Surrogate-Control", "max-age=60"}}),
                    policy)
            .store);
  CHECK(decideStore(get, facts({{"Cache-Control", "private"}, {"Surrogate-Control", "max-age=60"}}),
                    policy)
            .store);
  // And not stored when it says no-store, whatever Cache-Control says.
  StoreDecision d = decideStore(
      get, facts({{"Cache-Control", "max-age=10000"}, {"Surrogate-Control", "no-store"}}), policy);
  CHECK_FALSE(d.store);
  CHECK(d.refusal == StoreRefusal::NoStore);
  // Aimed at another surrogate: Cache-Control alone decides.
  CHECK_FALSE(
      decideStore(get,
                  facts({{"Cache-Control", "no-store"}, {"Surrogate-Control", "max-age=60;other"}}),
                  policy)
          .store);
}

}  // namespace redge
