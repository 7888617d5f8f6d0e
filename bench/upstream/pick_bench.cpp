// What one pick costs, per balancer and pool size, and what the per-request
// health and retry bookkeeping costs: a quick micro-benchmark, run by hand
// (`cmake --build build --target upstream_pick_bench && build/upstream_pick_bench`),
// never by the tests. It also counts heap allocations inside the timed loops,
// which must be 0: pick() is on every request's path.

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "upstream/load_balancer.hpp"
#include "upstream/pool_health.hpp"
#include "upstream/random_source.hpp"
#include "upstream/retry_budget.hpp"

namespace {

size_t g_allocations = 0;

}  // namespace

void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace {

using namespace redge;

constexpr int kPicks = 2'000'000;

struct Result {
  double ns;
  size_t allocations;
};

// CPU time of this thread, not wall time: other processes sharing the cores
// (a build, other benchmarks) then inflate the numbers much less.
int64_t threadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

template <typename Fn>
Result timeIt(int iterations, Fn&& fn) {
  for (int i = 0; i < iterations / 10; ++i) fn(i);  // warm up
  size_t allocs = g_allocations;
  int64_t start = threadCpuNs();
  for (int i = 0; i < iterations; ++i) fn(i);
  int64_t end = threadCpuNs();
  return {static_cast<double>(end - start) / iterations, g_allocations - allocs};
}

volatile uint64_t g_sink = 0;

void benchPolicy(BalancePolicy policy, size_t n, bool some_down, bool retry) {
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i)
    names.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
                    ":8080");
  std::vector<Member> table(n);
  for (size_t i = 0; i < n; ++i) {
    table[i].index = static_cast<uint32_t>(i);
    table[i].weight = 1 + static_cast<uint32_t>(i % 3);
    table[i].eligible = !(some_down && i % 4 == 1);
    table[i].active_requests = static_cast<uint32_t>(i * 7 % 5);
    table[i].name = names[i];
  }
  SplitMixRandom random(1);
  auto lb = makeLoadBalancer(policy, random);
  lb->setMembers(table);
  // Keys as a gateway sees them: client addresses, prepared outside the loop.
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i)
    keys.push_back("192.168." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  uint32_t avoid[1] = {0};
  Result r = timeIt(kPicks, [&](int i) {
    PickContext ctx;
    ctx.hash_key = keys[static_cast<size_t>(i) & 4095];
    if (retry) ctx.avoid = avoid;
    auto pick = lb->pick(ctx);
    g_sink = g_sink + pick.value_or(0);
  });
  std::printf("| %-14s | %4zu | %-9s | %-5s | %7.1f | %zu |\n",
              std::string(balancePolicyName(policy)).c_str(), n, some_down ? "25% down" : "all up",
              retry ? "yes" : "no", r.ns, r.allocations);
}

// The harness alone (fetch a key, build the context, keep the answer), to
// read the rows above against.
void benchHarness() {
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back("192.168.0." + std::to_string(i));
  Result r = timeIt(kPicks, [&](int i) {
    PickContext ctx;
    ctx.hash_key = keys[static_cast<size_t>(i) & 4095];
    g_sink = g_sink + ctx.hash_key.size();
  });
  std::printf("| (harness only) |      |           |       | %7.1f | %zu |\n", r.ns, r.allocations);
}

}  // namespace

int main() {
  std::printf("| policy         |    n | members   | retry | ns/pick | allocs |\n");
  std::printf("|---|---|---|---|---|---|\n");
  benchHarness();
  for (BalancePolicy policy : {BalancePolicy::RoundRobin, BalancePolicy::LeastRequest,
                               BalancePolicy::Hash, BalancePolicy::RedisRotation}) {
    for (size_t n : {4, 16, 64, 256}) {
      benchPolicy(policy, n, false, false);
      benchPolicy(policy, n, true, false);
    }
    benchPolicy(policy, 16, false, true);
  }

  // Per response: the outcome reported to the pool's health.
  ManualClock clock(0);
  HealthOptions o;
  o.active_checks = false;
  PoolHealth health(clock, o);
  for (uint32_t m = 0; m < 16; ++m) health.addMember(m);
  Result ok =
      timeIt(kPicks, [&](int i) { health.onRequestSucceeded(static_cast<uint32_t>(i) & 15); });
  Result mixed = timeIt(kPicks, [&](int i) {
    // A failure in four: runs never reach 5, so no ejection (no event).
    uint32_t m = static_cast<uint32_t>(i) & 15;
    if ((i >> 4) % 4 == 3) {
      health.onRequestFailed(m);
    } else {
      health.onRequestSucceeded(m);
    }
  });
  RetryBudget budget;
  Result retry = timeIt(kPicks, [&](int) {
    budget.onRequestStarted();
    if (budget.tryStartRetry()) budget.onRetryFinished();
    budget.onRequestFinished();
  });
  std::printf("\n| per request | ns | allocs |\n|---|---|---|\n");
  std::printf("| PoolHealth::onRequestSucceeded | %.1f | %zu |\n", ok.ns, ok.allocations);
  std::printf("| PoolHealth success/failure mix | %.1f | %zu |\n", mixed.ns, mixed.allocations);
  std::printf("| RetryBudget start + retry + finish | %.1f | %zu |\n", retry.ns, retry.allocations);
  return 0;
}
