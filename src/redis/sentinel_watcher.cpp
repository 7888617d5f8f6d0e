// The shared Sentinel follower (see the header for what it promises).
//
// Both connections to the sentinels are ordinary RedisClients with a
// rotation: a refused, timed-out or lost sentinel is replaced by the next
// one on the next connect, so "try each sentinel in turn" costs nothing
// here. A lookup is one SENTINEL get-master-addr-by-name on the `lookups`
// connection; while that connection is not ready, clients wait (at most
// connect + command timeout) for it to become ready.

#include "redis/sentinel_watcher.hpp"

#include <algorithm>

#include "core/config.hpp"
#include "core/log.hpp"

namespace redge {
namespace {

constexpr std::string_view kSwitchChannel = "+switch-master";

RedisClientOptions sentinelClientOptions(const SentinelOptions& o, std::string name) {
  RedisClientOptions c;
  c.name = std::move(name);
  c.url.user = o.user;
  c.url.password = o.password;
  c.connect_timeout_ms = o.connect_timeout_ms;
  c.command_timeout_ms = o.command_timeout_ms;
  c.reconnect_min_ms = o.reconnect_min_ms;
  c.reconnect_max_ms = o.reconnect_max_ms;
  c.rotation = o.sentinels;
  return c;
}

void eraseClient(std::vector<RedisClient*>& list, RedisClient* client) {
  list.erase(std::remove(list.begin(), list.end(), client), list.end());
}

}  // namespace

SentinelWatcher::SentinelWatcher(Runtime& runtime, SentinelOptions options)
    : options_(std::move(options)),
      clock_(runtime.clock),
      lookups_(std::make_unique<RedisClient>(runtime, sentinelClientOptions(options_, "sentinel"))),
      watch_(std::make_unique<RedisClient>(runtime,
                                           sentinelClientOptions(options_, "sentinel_watch"))),
      lookup_deadline_(runtime.timers.createTimer([this] { onLookupDeadline(); })),
      failovers_(runtime.metrics.counter("redge_redis_failovers_total",
                                         "Redis master changes followed through the sentinels")),
      lookup_failures_(runtime.metrics.counter(
          "redge_redis_sentinel_lookup_failures_total",
          "master lookups that no sentinel answered with an address in time")) {
  lookups_->onReady([this] { query(); });
  watch_->psubscribe(
      std::string(kSwitchChannel),
      [this](std::string_view, std::string_view payload) { onSwitchMessage(payload); });
  // Subscribed again after a gap: a failover may have been announced while
  // nobody listened.
  watch_->onReady([this] {
    check_wanted_ = true;
    query();
  });
}

SentinelWatcher::~SentinelWatcher() {
  close();
}

void SentinelWatcher::attach(RedisClient& client) {
  clients_.push_back(&client);
  if (state_ == State::Idle) start();
}

void SentinelWatcher::detach(RedisClient& client) {
  eraseClient(clients_, &client);
  eraseClient(waiters_, &client);
  if (clients_.empty()) close();
}

void SentinelWatcher::start() {
  state_ = State::Running;
  lookups_->start();
  watch_->start();
}

void SentinelWatcher::close() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  lookup_deadline_.reset();
  // Fails a lookup in flight with Closed, which onLookupReply ignores.
  if (lookups_) lookups_->close();
  if (watch_) watch_->close();
  std::vector<RedisClient*> waiting = std::move(waiters_);
  waiters_.clear();
  for (RedisClient* c : waiting) c->onMasterResolved(std::nullopt);
}

void SentinelWatcher::lookup(RedisClient& client) {
  if (state_ != State::Running) {
    client.onMasterResolved(std::nullopt);
    return;
  }
  waiters_.push_back(&client);
  if (!lookup_deadline_->enabled()) {
    lookup_deadline_->enable(options_.connect_timeout_ms + options_.command_timeout_ms);
  }
  query();
}

void SentinelWatcher::cancelLookup(RedisClient& client) {
  eraseClient(waiters_, &client);
}

void SentinelWatcher::query() {
  if (state_ != State::Running || query_in_flight_ || !lookups_->ready()) return;
  if (waiters_.empty() && !check_wanted_) return;
  query_in_flight_ = true;
  query_is_check_ = check_wanted_;
  check_wanted_ = false;
  lookups_->command(
      {"SENTINEL", "get-master-addr-by-name", options_.master_name},
      [this](RedisStatus status, const redisReply* reply) { onLookupReply(status, reply); });
}

void SentinelWatcher::onLookupReply(RedisStatus status, const redisReply* reply) {
  query_in_flight_ = false;
  if (status == RedisStatus::Closed || state_ != State::Running) return;
  std::optional<RedisAddress> master;
  if (status == RedisStatus::Ok) master = parseMasterAddrReply(reply);
  if (!master) {
    lookup_failures_.inc();
    REDGE_LOG(Warn, "sentinel_lookup_failed")
        .kv("master", options_.master_name)
        .kv("sentinel", lookups_->targetText())
        .kv("status", redisStatusName(status))
        .kv("reply",
            reply != nullptr && reply->type == REDIS_REPLY_ERROR ? replyText(reply) : "no address");
    // A sentinel that answered without an address does not know the master
    // (or lost its quorum): ask the next one. A timeout or a lost connection
    // already moved the rotation on.
    if (status == RedisStatus::Ok || status == RedisStatus::ErrorReply) {
      lookups_->reconnectNow("sentinel does not know the master");
    }
    finishLookups(std::nullopt);
    return;
  }
  if (master_ && *master != *master_ && former_masters_.replaced(*master, clock_.nowMs())) {
    // The sentinel has not heard of the failover that took redge off this
    // address yet. Waiting clients get the master redge follows; the next
    // lookup asks another sentinel.
    REDGE_LOG(Info, "sentinel_behind")
        .kv("master", options_.master_name)
        .kv("sentinel", lookups_->targetText())
        .kv("named", master->text())
        .kv("following", master_->text());
    lookups_->reconnectNow("sentinel names a master a failover replaced");
    finishLookups(master_);
    return;
  }
  moved_since_answer_ = false;
  noteMaster(*master, "lookup");
  finishLookups(master);
  // After a gap in the watch, clients still on another server (a failover
  // announced while nobody listened) move. An ordinary lookup moves only
  // the clients that asked: a lagging sentinel must not pull healthy
  // connections away from the master.
  if (query_is_check_) followAll(*master);
}

void SentinelWatcher::onLookupDeadline() {
  if (waiters_.empty()) return;
  lookup_failures_.inc();
  REDGE_LOG(Warn, "sentinel_lookup_timeout")
      .kv("master", options_.master_name)
      .kv("sentinel", lookups_->targetText())
      .kv("timeout_ms", options_.connect_timeout_ms + options_.command_timeout_ms);
  finishLookups(std::nullopt);
}

void SentinelWatcher::finishLookups(const std::optional<RedisAddress>& master) {
  if (lookup_deadline_) lookup_deadline_->disable();
  // A client answered here may ask again from inside the call: it then
  // joins the next lookup, not this list.
  std::vector<RedisClient*> waiting = std::move(waiters_);
  waiters_.clear();
  for (RedisClient* c : waiting) c->onMasterResolved(master);
}

void SentinelWatcher::replicas(ReplicasCallback cb) {
  if (state_ != State::Running || !lookups_->ready()) {
    cb(std::nullopt);
    return;
  }
  lookups_->command({"SENTINEL", "replicas", options_.master_name},
                    [cb = std::move(cb)](RedisStatus status, const redisReply* reply) {
                      if (status != RedisStatus::Ok) return cb(std::nullopt);
                      cb(parseSentinelReplicasReply(reply));
                    });
}

uint64_t SentinelWatcher::addMasterListener(MasterListener fn) {
  uint64_t id = next_listener_id_++;
  master_listeners_.emplace_back(id, std::move(fn));
  return id;
}

void SentinelWatcher::removeMasterListener(uint64_t id) {
  std::erase_if(master_listeners_, [id](const auto& l) { return l.first == id; });
}

void SentinelWatcher::reportUnusable(const RedisAddress& address) {
  if (state_ != State::Running || moved_since_answer_ || master_ != address) return;
  // Once per answer, however many clients found the same replica.
  moved_since_answer_ = true;
  lookups_->reconnectNow("sentinel named a server that is not a usable master");
}

void SentinelWatcher::onSwitchMessage(std::string_view payload) {
  if (state_ != State::Running) return;
  std::optional<SwitchMaster> m = parseSwitchMaster(payload);
  if (!m) {
    REDGE_LOG(Warn, "sentinel_message_ignored")
        .kv("channel", kSwitchChannel)
        .kv("reason", "malformed");
    return;
  }
  if (m->master_name != options_.master_name) return;
  noteMaster(m->new_address, "switch_master");
  followAll(m->new_address);
}

void SentinelWatcher::noteMaster(const RedisAddress& address, std::string_view source) {
  if (master_ == address) return;
  if (master_) {
    former_masters_.noteReplaced(*master_, address, clock_.nowMs());
    failovers_.inc();
    REDGE_LOG(Warn, "redis_failover")
        .kv("master", options_.master_name)
        .kv("old", master_->text())
        .kv("new", address.text())
        .kv("source", source);
  } else {
    REDGE_LOG(Info, "sentinel_master")
        .kv("master", options_.master_name)
        .kv("address", address.text())
        .kv("sentinel", lookups_->targetText());
  }
  master_ = address;
  // A copy: a listener may remove itself (or another) from inside the call.
  auto listeners = master_listeners_;
  for (auto& [id, fn] : listeners) fn(address);
}

void SentinelWatcher::followAll(const RedisAddress& address) {
  // followMaster never attaches or detaches, but a copy costs nothing here
  // and keeps the loop safe from any future change.
  std::vector<RedisClient*> clients = clients_;
  for (RedisClient* c : clients) c->followMaster(address);
}

std::shared_ptr<SentinelWatcher> makeSentinelWatcher(Runtime& runtime, const RedisConfig& config) {
  if (config.sentinels.empty()) return nullptr;
  SentinelOptions o;
  for (const std::string& text : config.sentinels) {
    RedisAddress a;
    // Checked with the configuration; an entry that still fails is skipped.
    if (parseRedisAddress(text, a).empty()) o.sentinels.push_back(std::move(a));
  }
  if (o.sentinels.empty()) return nullptr;
  o.master_name = config.master_name;
  o.user = config.sentinel_user;
  o.password = config.sentinel_password;
  o.connect_timeout_ms = config.connect_timeout_ms;
  o.command_timeout_ms = config.command_timeout_ms;
  o.reconnect_min_ms = config.reconnect_min_ms;
  o.reconnect_max_ms = config.reconnect_max_ms;
  return std::make_shared<SentinelWatcher>(runtime, std::move(o));
}

}  // namespace redge
