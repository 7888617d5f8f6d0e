// FlagStore: the snapshot's I/O (see the header). The subscriber is a second
// RedisClient in subscriber mode on the changes channel. Each time it is
// (re)subscribed, and each time the command connection comes back, the
// whole store is loaded again: messages published while either was away
// are lost to it, and the version check catches any other miss.
//
// A write through this process applies its own result to the snapshot at
// once (as the message would), so the admin API reads its writes; the
// message that follows is then stale and ignored.

#include "flags/flag_store.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"

namespace redge {
namespace {

enum EvalResult : size_t { kOn = 0, kOff = 1, kNotFound = 2, kError = 3 };

FlagStats bindFlagStats(MetricsRegistry& metrics) {
  StatsBinder stats_binder(metrics, "redge_flags_", {});
  return REDGE_STATS_BIND(REDGE_FLAG_STATS);
}

std::string escapeGlob(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

FlagStore::FlagStore(Runtime& runtime, RedisClient& commands, RedisClientOptions subscriber_options,
                     FlagStoreOptions options)
    : runtime_(runtime),
      commands_(commands),
      options_(std::move(options)),
      keys_(options_.key_prefix),
      stats_(bindFlagStats(runtime.metrics)),
      put_script_(commands, "flags_put", std::string(flagPutScript())),
      switch_script_(commands, "flags_switch", std::string(flagSwitchScript())),
      delete_script_(commands, "flags_delete", std::string(flagDeleteScript())),
      load_script_(commands, "flags_load", std::string(flagLoadScript())),
      check_timer_(runtime.timers.createTimer([this] { checkConnections(); })) {
  subscriber_options.name = "flags";
  subscriber_ = std::make_unique<RedisClient>(runtime, std::move(subscriber_options));
  // PSUBSCRIBE on the exact channel (glob characters of the prefix escaped):
  // the client's one subscription mode.
  subscriber_->psubscribe(
      escapeGlob(keys_.channel),
      [this](std::string_view channel, std::string_view payload) { onMessage(channel, payload); });
  subscriber_->onReady([this] { refresh(); });
  commands_.onReady([this] { refresh(); });
  runtime.metrics.addCollector([this] { collect(); });
  stats_.stale.set(1);
  if (!options_.snapshot_path.empty()) {
    file_ = std::make_unique<SnapshotFileWriter>(
        runtime.loop, options_.snapshot_path, [this](bool ok, std::string_view error) {
          if (ok) {
            stats_.snapshot_writes_total.inc();
            return;
          }
          stats_.snapshot_write_failures_total.inc();
          REDGE_LOG(Warn, "flags_snapshot_write_failed")
              .kv("path", options_.snapshot_path)
              .kv("error", error)
              .kv("note",
                  "the flags still apply; a start while Redis is down would serve an "
                  "older file");
        });
    restoreFile();
  }
}

void FlagStore::restoreFile() {
  std::string error;
  std::optional<std::string> text = readSnapshotFile(options_.snapshot_path, error);
  if (!text) {
    REDGE_LOG(Info, "flags_snapshot_not_read")
        .kv("path", options_.snapshot_path)
        .kv("reason", error)
        .kv("note", "flags come from Redis only, once it answers");
    return;
  }
  std::optional<FlagLoad> load = parseSnapshotFile(*text);
  if (!load) {
    REDGE_LOG(Warn, "flags_snapshot_unreadable")
        .kv("path", options_.snapshot_path)
        .kv("note", "not a flag snapshot this redge wrote; flags come from Redis only");
    return;
  }
  snapshot_.restore(*load);
  last_current_ms_ = load->saved_at_ms;
  stats_.flags.set(static_cast<double>(snapshot_.size()));
  stats_.snapshot_version.set(static_cast<double>(snapshot_.version()));
  REDGE_LOG(Info, "flags_snapshot_restored")
      .kv("path", options_.snapshot_path)
      .kv("flags", static_cast<uint64_t>(snapshot_.size()))
      .kv("version", snapshot_.version())
      .kv("unreadable", static_cast<uint64_t>(load->unreadable))
      .kv("note", "serving these until Redis answers");
}

void FlagStore::start() {
  subscriber_->start();
  check_timer_->enable(kCheckIntervalMs);
}

void FlagStore::close() {
  if (closed_) return;
  closed_ = true;
  watchers_.clear();
  check_timer_.reset();
  subscriber_->close();
  if (file_) file_->close();
}

namespace {

size_t evaluationResult(const FlagEvaluation& e) {
  return e.error == FlagErrorCode::FlagNotFound ? kNotFound
         : e.error != FlagErrorCode::None       ? kError
         : e.on                                 ? kOn
                                                : kOff;
}

}  // namespace

FlagEvaluation FlagStore::evaluate(std::string_view name, std::optional<std::string_view> key) {
  FlagEvaluation e = evaluateFlag(snapshot_.find(name), key);
  countersFor(name).by_result[evaluationResult(e)]->inc();
  return e;
}

FlagEvaluation FlagStore::evaluateCounted(const Flag& flag, std::optional<std::string_view> key,
                                          const EvaluationCounters& counters) {
  FlagEvaluation e = evaluateFlag(&flag, key);
  counters[evaluationResult(e)]->inc();
  return e;
}

FlagStore::EvalCounters& FlagStore::countersFor(std::string_view name) {
  // A label per flag the store holds; names it does not hold (a typo in an
  // OFREP call) share one label, so a client cannot grow the registry
  // without bound.
  std::string_view label = snapshot_.find(name) ? name : std::string_view("(unknown)");
  auto it = eval_counters_.find(label);
  if (it != eval_counters_.end()) return it->second;
  EvalCounters& c = eval_counters_[std::string(label)];
  static constexpr std::array<std::string_view, 4> kResults = {"on", "off", "not_found", "error"};
  for (size_t i = 0; i < kResults.size(); ++i) {
    c.by_result[i] = &runtime_.metrics.counter(
        "redge_flags_evaluations_total", "Flag evaluations, by flag and result",
        {{"flag", std::string(label)}, {"result", std::string(kResults[i])}});
  }
  return c;
}

FlagStore::WatchId FlagStore::watch(ChangeCallback cb) {
  WatchId id = next_watch_++;
  watchers_.emplace(id, std::move(cb));
  return id;
}

void FlagStore::unwatch(WatchId id) {
  watchers_.erase(id);
}

void FlagStore::refresh() {
  if (closed_) return;
  if (!commands_.ready()) {
    if (snapshot_.loaded() || snapshot_.restored()) markStale("redis_down");
    return;
  }
  if (load_in_flight_) {
    load_again_ = true;
    return;
  }
  startLoad();
}

void FlagStore::startLoad() {
  load_in_flight_ = true;
  stats_.loads_total.inc();
  snapshot_.beginLoad();
  load_script_.call({}, {keys_.hash}, [this](RedisStatus status, const redisReply* reply) {
    std::optional<FlagLoad> load;
    if (status == RedisStatus::Ok) {
      load = parseFlagLoadReply(reply);
      if (!load) status = RedisStatus::ErrorReply;  // a shape this redge does not understand
    }
    onLoaded(status, std::move(load));
  });
}

void FlagStore::onLoaded(RedisStatus status, std::optional<FlagLoad> load) {
  if (closed_) return;
  load_in_flight_ = false;
  bool gap = false;
  if (status == RedisStatus::Ok && load) {
    if (load->unreadable > 0) {
      REDGE_LOG(Warn, "flags_unreadable")
          .kv("count", static_cast<uint64_t>(load->unreadable))
          .kv("note", "flags in Redis this redge cannot read are left out of its snapshot");
    }
    deliver(snapshot_.finishLoad(*load, gap));
    if (following()) {
      last_current_ms_ = wallClockMs();
      markFresh();
    }
    writeFile();
  } else {
    deliver(snapshot_.abandonLoad(gap));
    REDGE_LOG(Warn, "flags_load_failed").kv("error", redisStatusName(status));
    if (status != RedisStatus::ErrorReply && status != RedisStatus::Ok) markStale("redis_down");
  }
  if (gap) load_again_ = true;
  if (load_again_ && commands_.ready()) {
    load_again_ = false;
    startLoad();
  } else {
    load_again_ = false;
  }
}

void FlagStore::onMessage(std::string_view channel, std::string_view payload) {
  if (closed_ || channel != keys_.channel) return;
  std::optional<FlagMessage> m = parseFlagMessage(payload);
  if (!m) {
    stats_.messages_ignored_total.inc();
    if (!bad_message_logged_) {
      bad_message_logged_ = true;
      REDGE_LOG(Warn, "flags_message_ignored")
          .kv("channel", channel)
          .kv("reason", "not a flag change message")
          .kv("payload", payload.substr(0, 200))
          .kv("action", "reload");
    }
    refresh();
    return;
  }
  if (m->at_ms > 0) {
    int64_t lag_ms = wallClockMs() - m->at_ms;
    stats_.propagation_lag_seconds.observe(static_cast<double>(lag_ms < 0 ? 0 : lag_ms) / 1000.0);
  }
  applyLocal(*m);
}

void FlagStore::applyLocal(const FlagMessage& message) {
  bool gap = false;
  std::vector<FlagChange> changes = snapshot_.apply(message, gap);
  deliver(changes);
  if (!changes.empty()) writeFile();
  if (gap) {
    REDGE_LOG(Info, "flags_gap").kv("version", message.version).kv("action", "reload");
    refresh();
  }
}

void FlagStore::deliver(const std::vector<FlagChange>& changes) {
  stats_.flags.set(static_cast<double>(snapshot_.size()));
  stats_.snapshot_version.set(static_cast<double>(snapshot_.version()));
  for (const FlagChange& c : changes) {
    if (closed_) return;
    stats_.changes_total.inc();
    if (c.cause == "resync") stats_.resynced_total.inc();
    if (c.op == FlagOp::Delete) {
      REDGE_LOG(Info, "flag_deleted")
          .kv("flag", c.name())
          .kv("version", snapshot_.version())
          .kv("cause", c.cause);
    } else {
      const Flag& f = *c.after;
      REDGE_LOG(Info, c.before ? "flag_changed" : "flag_created")
          .kv("flag", f.name)
          .kv("enabled", f.enabled ? "true" : "false")
          .kv("rollout", formatNumber(f.rollout))
          .kv("was_enabled", c.before ? (c.before->enabled ? "true" : "false") : "none")
          .kv("version", f.version)
          .kv("updated_by", f.updated_by)
          .kv("cause", c.cause);
    }
    std::vector<WatchId> ids;
    ids.reserve(watchers_.size());
    for (const auto& [id, cb] : watchers_) ids.push_back(id);
    for (WatchId id : ids) {
      auto it = watchers_.find(id);
      if (it == watchers_.end()) continue;
      ChangeCallback cb = it->second;  // survives an unwatch from inside
      cb(c);
      if (closed_) return;
    }
  }
}

void FlagStore::writeFile() {
  if (!file_ || closed_ || !snapshot_.loaded()) return;
  file_->write(snapshotFileJson(snapshot_.all(), snapshot_.version(), wallClockMs()));
}

void FlagStore::markStale(std::string_view reason) {
  if (!stale_) {
    stale_ = true;
    stats_.stale.set(1);
  }
  if (stale_logged_) return;
  stale_logged_ = true;
  REDGE_LOG(Warn, "flags_stale")
      .kv("reason", reason)
      .kv("flags", static_cast<uint64_t>(snapshot_.size()))
      .kv("version", snapshot_.version())
      .kv("source", snapshot_.loaded()     ? "last_load"
                    : snapshot_.restored() ? "file"
                                           : "none")
      .kv("action", "evaluating the last snapshot until Redis is back");
}

void FlagStore::markFresh() {
  if (!stale_) return;
  stale_ = false;
  stats_.stale.set(0);
  if (stale_logged_) {
    stale_logged_ = false;
    REDGE_LOG(Info, "flags_resynced")
        .kv("flags", static_cast<uint64_t>(snapshot_.size()))
        .kv("version", snapshot_.version());
  }
}

void FlagStore::checkConnections() {
  if (closed_) return;
  if (snapshot_.loaded() && following()) {
    last_current_ms_ = wallClockMs();
    markFresh();
  } else {
    markStale(commands_.ready() || subscriber_->ready() ? "redis_partly_down" : "redis_down");
  }
  check_timer_->enable(kCheckIntervalMs);
}

void FlagStore::collect() {
  if (closed_) return;
  double age = 0;
  if (stale_ && last_current_ms_ > 0) {
    age = static_cast<double>(wallClockMs() - last_current_ms_) / 1000.0;
  }
  stats_.snapshot_age_seconds.set(age < 0 ? 0 : age);
}

void FlagStore::finishWrite(RedisStatus status, const redisReply* reply, FlagOp op,
                            std::string_view name, const WriteCallback& cb) {
  FlagWriteResult result;
  if (status == RedisStatus::Ok) {
    result = parseFlagWriteReply(reply);
    if (result.status == FlagWriteStatus::Written) {
      applyLocal(writeMessage(result, op, name));
    }
  }
  if (closed_) return;
  cb(status, reply, result);
}

void FlagStore::put(const Flag& flag, const std::string& expected, WriteCallback cb) {
  std::string body = flagBodyJson(flag);
  std::string name = flag.name;
  put_script_.call({}, {keys_.hash, name, body, expected},
                   [this, name, cb = std::move(cb)](RedisStatus s, const redisReply* r) {
                     finishWrite(s, r, FlagOp::Put, name, cb);
                   });
}

void FlagStore::setEnabled(std::string_view name, bool enabled, std::string_view actor,
                           WriteCallback cb) {
  std::string actor_json;
  {
    JsonWriter w(actor_json);
    w.string(actor);
  }
  std::string flag_name(name);
  switch_script_.call({}, {keys_.hash, flag_name, enabled ? "true" : "false", actor_json},
                      [this, flag_name, cb = std::move(cb)](RedisStatus s, const redisReply* r) {
                        finishWrite(s, r, FlagOp::Put, flag_name, cb);
                      });
}

void FlagStore::remove(std::string_view name, const std::string& expected, WriteCallback cb) {
  std::string flag_name(name);
  delete_script_.call({}, {keys_.hash, flag_name, expected},
                      [this, flag_name, cb = std::move(cb)](RedisStatus s, const redisReply* r) {
                        finishWrite(s, r, FlagOp::Delete, flag_name, cb);
                      });
}

}  // namespace redge
