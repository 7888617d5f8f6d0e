// GatewayPool: the members' table (slots by index, the balancer's contiguous
// view, names), the health checker's events mirrored into the view, and
// the bookkeeping of each try (see the header).
//
// Order on joining: the transport first (the member's connections and its
// probe client), then the view (so an Up event finds its position), then
// the checker, which may probe at once or, with active checks off, report
// the member Up before addMember returns. Leaving is the reverse.

#include "services/gateway/gateway_pool.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>

#include "core/log.hpp"
#include "core/uri.hpp"
#include "upstream/smooth_weighted_round_robin.hpp"

namespace redge {
namespace {

constexpr uint32_t kNoPosition = std::numeric_limits<uint32_t>::max();
constexpr int kMaxRetryAfterS = 60;

bool isLiteralAddress(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

HealthCheckerOptions checkerOptions(const std::string& pool, const GatewayPoolOptions& o,
                                    bool active) {
  HealthCheckerOptions c;
  c.pool = pool;
  c.path = o.health.path;
  c.interval_ms = o.health.interval_ms;
  c.timeout_ms = o.health.timeout_ms;
  c.health.active_checks = active;
  c.health.rise = o.health.rise;
  c.health.fall = o.health.fall;
  c.health.consecutive_failures = o.passive.consecutive_failures;
  c.health.base_ejection_ms = o.passive.base_ejection_ms;
  c.health.max_ejection_ms = o.passive.max_ejection_ms;
  c.health.max_ejection_percent = o.passive.max_ejection_percent;
  return c;
}

}  // namespace

GatewayPool::GatewayPool(std::string name, const GatewayPoolOptions& options,
                         RetryBudgetOptions retry_budget, GatewayPoolDeps deps)
    : name_(std::move(name)),
      discover_(options.discover),
      deps_(deps),
      active_checks_(options.health.enabled && deps.probe != nullptr),
      check_interval_ms_(options.health.interval_ms),
      rise_(options.health.rise),
      retry_budget_(retry_budget),
      stats_(bindGatewayPoolStats(deps.metrics, name_)) {
  parseBalancePolicy(options.balance, policy_);
  if (auto h = parseHashBy(options.hash_by)) hash_by_ = *h;
  checker_ = std::make_unique<HealthChecker>(deps.timers, deps.clock, deps.metrics,
                                             active_checks_ ? deps.probe : nullptr,
                                             checkerOptions(name_, options, active_checks_));
  checker_->setListener([this](const HealthEvent& e) { onHealthEvent(e); });
  balancer_ = makeLoadBalancer(policy_, deps.random);
  balancer_->setMembers(view_);
}

GatewayPool::~GatewayPool() {
  stop();
}

void GatewayPool::start() {
  if (checker_) checker_->start();
}

void GatewayPool::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Destroyed now, while the loop runs: its timers' handles close with it.
  checker_.reset();
}

// ---------------------------------------------------------------- membership

bool GatewayPool::addMember(std::string_view name, std::string host, int port, uint32_t weight) {
  auto found = by_name_.find(name);
  if (found != by_name_.end()) {
    ++slots_[found->second]->refs;
    return false;
  }
  if (stopped_) return false;
  uint32_t index = 0;
  while (index < slots_.size() && slots_[index]) ++index;
  if (index == slots_.size()) slots_.emplace_back();
  slots_[index] = std::make_unique<PoolMember>(index, next_generation_++, std::string(name),
                                               std::move(host), port, weight,
                                               bindGatewayMemberStats(deps_.metrics, name_, name));
  PoolMember& m = *slots_[index];
  m.refs = 1;
  m.stats.member_inflight.set(0);
  by_name_.emplace(m.name, index);
  if (deps_.transport != nullptr) deps_.transport->memberAdded(m);
  Member v;
  v.index = index;
  v.weight = weight;
  v.eligible = false;
  v.name = m.name;
  view_.push_back(v);
  rebuildView();
  REDGE_LOG(Info, "gateway_member_added")
      .kv("pool", name_)
      .kv("member", m.name)
      .kv("weight", static_cast<uint64_t>(weight))
      .kv("members", static_cast<uint64_t>(view_.size()));
  checker_->addMember(index, m.name);
  if (membership_listener_) membership_listener_();
  return true;
}

bool GatewayPool::releaseMember(std::string_view name) {
  auto found = by_name_.find(name);
  if (found == by_name_.end()) return false;
  uint32_t index = found->second;
  PoolMember& m = *slots_[index];
  if (--m.refs > 0) return false;
  if (checker_) checker_->removeMember(index);
  view_.erase(view_.begin() + position_[index]);
  rebuildView();
  by_name_.erase(found);
  REDGE_LOG(Info, "gateway_member_removed")
      .kv("pool", name_)
      .kv("member", m.name)
      .kv("inflight", m.inflight)
      .kv("members", static_cast<uint64_t>(view_.size()));
  m.stats.member_inflight.set(0);
  if (deps_.transport != nullptr) deps_.transport->memberRemoved(m);
  slots_[index].reset();
  if (membership_listener_) membership_listener_();
  return true;
}

void GatewayPool::onInstance(const std::string& id, std::string_view address, bool present) {
  auto known = instances_.find(id);
  if (present && known != instances_.end() && known->second == address) return;
  if (known != instances_.end()) {
    std::string old = std::move(known->second);
    instances_.erase(known);
    releaseMember(old);
  }
  if (!present) {
    skipped_.erase(id);
    return;
  }
  std::string host;
  int port = 0;
  std::string error = parseHostPort(address, host, port);
  if (error.empty() && port == 0) error = "the port is missing";
  if (error.empty() && !isLiteralAddress(host)) {
    error = "the host is not a literal address (names are resolved only at start-up)";
  }
  if (!error.empty()) {
    auto [it, inserted] = skipped_.try_emplace(id, address);
    if (inserted || it->second != address) {
      it->second = std::string(address);
      REDGE_LOG(Warn, "gateway_instance_skipped")
          .kv("pool", name_)
          .kv("id", id)
          .kv("address", address)
          .kv("reason", error);
    }
    return;
  }
  skipped_.erase(id);
  instances_.emplace(id, std::string(address));
  addMember(address, std::move(host), port, 1);
}

void GatewayPool::rebuildView() {
  position_.assign(slots_.size(), kNoPosition);
  for (size_t i = 0; i < view_.size(); ++i) position_[view_[i].index] = static_cast<uint32_t>(i);
  balancer_->setMembers(view_);
}

void GatewayPool::onHealthEvent(const HealthEvent& e) {
  if (e.member >= position_.size() || position_[e.member] == kNoPosition) return;
  view_[position_[e.member]].eligible = e.eligible;
}

// ---------------------------------------------------------------- choosing

size_t GatewayPool::eligibleCount() const {
  return checker_ ? checker_->health().eligibleCount() : 0;
}

std::optional<uint32_t> GatewayPool::pick(std::string_view hash_key,
                                          std::span<const uint32_t> avoid) {
  // Known beforehand, so a hash pick never walks the whole ring for nothing.
  if (eligibleCount() == 0) return std::nullopt;
  PickContext ctx;
  ctx.hash_key = hash_key;
  ctx.avoid = avoid;
  return balancer_->pick(ctx);
}

std::optional<uint32_t> GatewayPool::pickNamed(std::string_view name,
                                               std::span<const uint32_t> avoid) {
  auto found = by_name_.find(name);
  if (found != by_name_.end() && eligible(found->second) &&
      std::find(avoid.begin(), avoid.end(), found->second) == avoid.end()) {
    return found->second;
  }
  return pick({}, avoid);
}

const PoolMember* GatewayPool::member(uint32_t index) const {
  return index < slots_.size() ? slots_[index].get() : nullptr;
}

const PoolMember* GatewayPool::findByName(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : slots_[found->second].get();
}

bool GatewayPool::eligible(uint32_t index) const {
  return index < position_.size() && position_[index] != kNoPosition &&
         view_[position_[index]].eligible;
}

std::vector<std::string> GatewayPool::rotationOrder() const {
  // One turn of nginx's smooth weighted order, over every member whatever
  // its health here: health is each gateway's own verdict, the list is
  // shared. Sorted by name first, so every gateway writes the same list.
  std::vector<Member> all = view_;
  std::sort(all.begin(), all.end(),
            [](const Member& a, const Member& b) { return a.name < b.name; });
  uint64_t total = 0;
  for (Member& m : all) {
    m.eligible = true;
    total += m.weight;
  }
  total = std::min<uint64_t>(total, kMaxRotationEntries);
  SmoothWeightedRoundRobin order;
  order.setMembers(all);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(total));
  for (uint64_t i = 0; i < total; ++i) {
    std::optional<uint32_t> index = order.pick(PickContext{});
    if (!index) break;
    out.push_back(slots_[*index]->name);
  }
  return out;
}

// ---------------------------------------------------------------- tries

MemberTicket GatewayPool::beginTry(uint32_t index) {
  PoolMember& m = *slots_[index];
  ++view_[position_[index]].active_requests;
  ++m.requests;
  ++m.inflight;
  m.stats.member_requests_total.inc();
  m.stats.member_inflight.inc();
  return MemberTicket{index, m.generation};
}

void GatewayPool::endTry(MemberTicket ticket, TryResult result) {
  if (ticket.index >= slots_.size()) return;
  PoolMember* m = slots_[ticket.index].get();
  if (m == nullptr || m->generation != ticket.generation) return;  // it left meanwhile
  Member& v = view_[position_[ticket.index]];
  if (v.active_requests > 0) --v.active_requests;
  --m->inflight;
  m->stats.member_inflight.dec();
  if (result == TryResult::Failure) m->stats.member_failures_total.inc();
  if (!checker_ || result == TryResult::Abandoned) return;
  if (result == TryResult::Success) {
    checker_->health().onRequestSucceeded(ticket.index);
  } else {
    checker_->health().onRequestFailed(ticket.index);
  }
}

void GatewayPool::countRetry() {
  if (checker_) checker_->poolStats().retries_total.inc();
}

void GatewayPool::countRetryRefused() {
  if (checker_) checker_->poolStats().retries_refused_total.inc();
}

int GatewayPool::retryAfterSeconds() const {
  int64_t ms = -1;
  if (checker_) {
    int64_t back = checker_->health().msUntilNextReturn();
    if (back >= 0) ms = back;
  }
  // A member that is down comes back after `rise` passed checks.
  if (active_checks_ && !view_.empty()) {
    int64_t checks = check_interval_ms_ * rise_;
    ms = ms < 0 ? checks : std::min(ms, checks);
  }
  if (ms < 0) return 1;
  return static_cast<int>(std::clamp<int64_t>((ms + 999) / 1000, 1, kMaxRetryAfterS));
}

void GatewayPool::republishStats() {
  for (const auto& m : slots_) {
    if (m) m->stats.member_inflight.set(static_cast<double>(m->inflight));
  }
  if (checker_) checker_->republishGauges();
}

void GatewayPool::clearStats() {
  for (const auto& m : slots_) {
    if (m) m->stats.member_inflight.set(0);
  }
  if (checker_) checker_->clearGauges();
}

std::string_view GatewayPool::healthWord(uint32_t index) const {
  const MemberHealth* h = checker_ ? checker_->health().find(index) : nullptr;
  if (h == nullptr) return "unknown";
  if (h->eligible()) return "healthy";
  if (h->ejected()) return "ejected";
  return memberActiveName(h->active());
}

}  // namespace redge
