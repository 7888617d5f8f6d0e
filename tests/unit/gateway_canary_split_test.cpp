// Canary routing's pure decisions (services/gateway/canary_split.hpp): the
// weight a flag gives, the split's uniformity and its monotonic ramp, the
// random draw, targets, and the promoted list.

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "services/gateway/canary_split.hpp"

using namespace redge;

namespace {

Flag weightFlag(double rollout, bool enabled = true) {
  Flag f;
  f.name = "canary.web";
  f.enabled = enabled;
  f.rollout = rollout;
  return f;
}

}  // namespace

TEST_CASE("canary split: the weight is the flag's rollout while it is on, else 0", "[canary]") {
  CHECK(canaryWeight(nullptr) == 0);
  Flag f = weightFlag(25);
  CHECK(canaryWeight(&f) == 25);
  f.enabled = false;
  CHECK(canaryWeight(&f) == 0);
  CHECK(defaultCanaryFlag("web") == "canary.web");
  CHECK(promotedFlagName("canary.web") == "canary.web.promoted");
}

TEST_CASE("canary split: 100k users split within 1% of the weight, and a ramp keeps them",
          "[canary]") {
  Flag at10 = weightFlag(10);
  Flag at25 = weightFlag(25);
  int in10 = 0;
  int in25 = 0;
  int left = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string user = "user-" + std::to_string(i);
    bool a = routeToCanary(&at10, user, 0);
    bool b = routeToCanary(&at25, user, 0);
    in10 += a;
    in25 += b;
    if (a && !b) ++left;
  }
  CHECK(in10 >= 9000);
  CHECK(in10 <= 11000);
  CHECK(in25 >= 24000);
  CHECK(in25 <= 26000);
  CHECK(left == 0);  // nobody on the canary at 10% is sent back at 25%
}

TEST_CASE("canary split: no stickiness draws, off or missing sends nobody", "[canary]") {
  Flag f = weightFlag(25);
  CHECK(routeToCanary(&f, std::nullopt, 0));
  CHECK(routeToCanary(&f, std::nullopt, 24999));
  CHECK_FALSE(routeToCanary(&f, std::nullopt, 25000));
  CHECK(routeToCanary(&f, std::nullopt, 100000 + 10));  // taken modulo the buckets
  CHECK_FALSE(routeToCanary(nullptr, std::nullopt, 0));
  CHECK_FALSE(routeToCanary(nullptr, std::string_view("u"), 0));
  f.enabled = false;
  CHECK_FALSE(routeToCanary(&f, std::nullopt, 0));
  CHECK_FALSE(routeToCanary(&f, std::string_view("u"), 0));
  Flag all = weightFlag(100);
  CHECK(routeToCanary(&all, std::nullopt, 99999));
  CHECK(routeToCanary(&all, std::string_view("anyone"), 0));
}

TEST_CASE("canary split: a flag's targets are on the canary whatever the weight", "[canary]") {
  Flag f = weightFlag(0);
  f.targets = {"tester-1"};
  CHECK(routeToCanary(&f, std::string_view("tester-1"), 0));
  CHECK_FALSE(routeToCanary(&f, std::string_view("someone-else"), 0));
}

TEST_CASE("canary split: promotion keeps earlier names still in the pool and adds the canary",
          "[canary]") {
  Flag before;
  before.name = "canary.web.promoted";
  before.enabled = true;
  before.targets = {"127.0.0.1:9001", "127.0.0.1:9002"};
  std::set<std::string> now = {"127.0.0.1:9001", "127.0.0.1:9003", "127.0.0.1:9004"};
  Flag f = promotedFlag("canary.web", "web", &before, now, {"127.0.0.1:9004", "127.0.0.1:9003"});
  CHECK(f.name == "canary.web.promoted");
  CHECK(f.enabled);
  CHECK(f.rollout == 0);
  // 9002 is gone from the pool: dropped, so its address is free for a new canary.
  CHECK(f.targets ==
        std::vector<std::string>{"127.0.0.1:9001", "127.0.0.1:9003", "127.0.0.1:9004"});
  CHECK(isPromoted(&f, "127.0.0.1:9003"));
  CHECK_FALSE(isPromoted(&f, "127.0.0.1:9002"));
  CHECK_FALSE(isPromoted(nullptr, "127.0.0.1:9003"));
  f.enabled = false;  // switched off: nobody is promoted
  CHECK_FALSE(isPromoted(&f, "127.0.0.1:9003"));
  // Fresh: only the canary members.
  Flag first = promotedFlag("canary.web", "web", nullptr, now, {"127.0.0.1:9003"});
  CHECK(first.targets == std::vector<std::string>{"127.0.0.1:9003"});
  CHECK(first.description.find("POST /canary/web/promote") != std::string::npos);
}
