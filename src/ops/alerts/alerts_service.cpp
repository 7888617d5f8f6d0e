// The alerts service: the tick (sample, evaluate, notify), the ALERTS
// series, the notification log lines and counters, and GET /alerts.

#include "ops/alerts/alerts_service.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "core/host_name.hpp"
#include "core/log.hpp"
#include "ops/autoscale/autoscale_service.hpp"
#include "services/gateway/canary_split.hpp"
#include "services/gateway/gateway_config.hpp"

namespace redge {
namespace {

std::string numberText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

AlertRuleSpec builtinRule(const char* name, std::string expr, const AlertDefaultsOptions& d,
                          std::string summary) {
  AlertRuleSpec s;
  s.name = name;
  s.expr = std::move(expr);
  s.for_ms = d.for_ms;
  s.labels = {{"severity", "warning"}, {"source", "redge"}};
  s.annotations = {{"summary", std::move(summary)}};
  s.receivers = d.receivers;
  return s;
}

// MemTotal from /proc/meminfo, in bytes; 0 when unreadable. Read once, at
// start-up, off the request path.
double memTotalBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemTotal:") return kb * 1024;
  }
  return 0;
}

// Who claimed a notification, for an operator reading the key in Redis.
std::string alertsInstanceName() {
  return hostName() + ":" + std::to_string(getpid());
}

// Bounds on what one fleet read takes from Redis.
constexpr size_t kMaxFleetInstances = 1000;
constexpr size_t kMaxFleetSamples = 5000;  // per instance

AlertsStats bindAlertsStats(MetricsRegistry& metrics) {
  StatsBinder stats_binder(metrics, "redge_alerts_", {});
  return REDGE_STATS_BIND(REDGE_ALERTS_STATS);
}

}  // namespace

std::optional<std::string> alertRuleSpecs(const AlertsOptions& o, std::vector<AlertRuleSpec>& out) {
  const AlertDefaultsOptions& d = o.defaults;
  if (d.cpu) {
    out.push_back(builtinRule("RedgeHighCpu",
                              "rate(process_cpu_seconds_total[1m]) > " + numberText(d.cpu_ratio), d,
                              "redge uses {{ $value }} of a core"));
  }
  if (d.memory) {
    out.push_back(builtinRule("RedgeHighMemory",
                              "process_resident_memory_bytes / redge_host_memory_total_bytes > " +
                                  numberText(d.memory_ratio),
                              d, "redge's resident memory is {{ $value }} of MemTotal"));
  }
  if (d.app_error_ratio) {
    out.push_back(
        builtinRule("RedgeAppErrorRatio",
                    "sum(rate(redge_http_requests_total{service=\"app\",status=~\"5..\"}[1m])) / "
                    "sum(rate(redge_http_requests_total{service=\"app\"}[1m])) > " +
                        numberText(d.app_error_ratio_max),
                    d, "{{ $value }} of the app's answers are 5xx"));
  }
  if (d.app_p99) {
    out.push_back(
        builtinRule("RedgeAppLatencyP99",
                    "histogram_quantile(0.99, sum by (le) "
                    "(rate(redge_http_request_duration_seconds_bucket{service=\"app\"}[1m]))) > " +
                        numberText(d.app_p99_seconds),
                    d, "the app's p99 latency is {{ $value }} s"));
  }
  for (const AlertRuleOptions& r : o.rules) {
    AlertRuleSpec s;
    s.name = r.name;
    s.expr = r.expr;
    s.for_ms = r.for_ms;
    s.keep_firing_for_ms = r.keep_firing_for_ms;
    s.resolve_expr = r.resolve_expr;
    s.labels = r.labels;
    s.annotations = r.annotations;
    s.receivers = r.receivers;
    s.actions = r.actions;
    out.push_back(std::move(s));
  }
  for (const AlertRuleSpec& s : out) {
    for (const std::string& r : s.receivers) {
      if (!o.receivers.count(r)) {
        return "rule '" + s.name + "': no receiver named '" + r + "' in alerts.receivers";
      }
    }
  }
  return std::nullopt;
}

AlertsService::AlertsService(ModuleContext& context, const AlertsOptions& options,
                             std::vector<AlertRuleSpec> specs)
    : context_(context),
      runtime_(context.runtime()),
      redis_(context.redis()),
      key_prefix_(context.config().redis.key_prefix),
      holder_(alertsInstanceName()),
      options_(options),
      engine_(runtime_.clock, wallClockMs(), options.interval_ms),
      timer_(runtime_.timers.createTimer([this] { onTick(); })),
      stats_(bindAlertsStats(runtime_.metrics)) {
  MetricsRegistry& metrics = runtime_.metrics;
  metrics.gauge("redge_host_memory_total_bytes", "MemTotal of the host, bytes")
      .set(memTotalBytes());
  flags_ = context.find<FlagStore>();
  readCanaryFlags(context.config());
  for (AlertRuleSpec& s : specs) {
    addRuleState(s);
    engine_.addRule(std::move(s));  // checked in prepare
  }
  setUpReceivers(options_.receivers);
  setUpFleet();
  if (HttpServer* admin = context.findHttpServer("admin")) {
    admin->route(HttpMethod::Get, "/alerts", [this](HttpRequest&, const HttpResponder& res) {
      res.send(HttpResponse(200, "application/json", engine_.statusJson()));
    });
  }
  REDGE_LOG(Info, "alerts_started")
      .kv("rules", static_cast<uint64_t>(engine_.rules().size()))
      .kv("receivers", static_cast<uint64_t>(receivers_.size()))
      .kv("interval_ms", options_.interval_ms);
}

void AlertsService::addRuleState(const AlertRuleSpec& spec) {
  std::vector<AlertAction> actions;
  for (const std::string& text : spec.actions) {
    std::string reason;
    if (auto a = parseAlertAction(text, reason)) actions.push_back(std::move(*a));  // checked
  }
  action_states_.emplace_back(actions.size());
  actions_.push_back(std::move(actions));
  was_firing_.push_back(false);
  const char* help = "Alerts of the rule in this state (pending or firing)";
  MetricsRegistry& metrics = runtime_.metrics;
  alerts_series_.emplace_back(
      &metrics.gauge("ALERTS", help, {{"alertname", spec.name}, {"alertstate", "pending"}}),
      &metrics.gauge("ALERTS", help, {{"alertname", spec.name}, {"alertstate", "firing"}}));
}

void AlertsService::readCanaryFlags(const Config& config) {
  canary_flags_.clear();
  if (!config.modules.has<GatewayOptions>()) return;
  for (const auto& [pool, p] : config.module<GatewayOptions>().pools) {
    if (!p.canary.flag.empty()) canary_flags_[pool] = p.canary.flag;
  }
}

namespace {

// What an operator writes of a receiver (its parsed url aside).
bool sameReceiver(const AlertReceiverOptions& a, const AlertReceiverOptions& b) {
  return a.type == b.type && a.url == b.url && a.argv == b.argv && a.format == b.format &&
         a.email_to == b.email_to && a.email_from == b.email_from && a.timeout_ms == b.timeout_ms &&
         a.repeat_interval_ms == b.repeat_interval_ms && a.max_retries == b.max_retries;
}

}  // namespace

// Receivers as `wanted` says: an unchanged one is kept (its connections,
// its queue); a changed or removed one closes after what it holds, a new
// one is made. The options kept are the ones of the receivers running.
void AlertsService::setUpReceivers(const std::map<std::string, AlertReceiverOptions>& wanted) {
  std::map<std::string, std::unique_ptr<AlertReceiver>> running;
  std::map<std::string, AlertReceiverOptions> running_options;
  for (const auto& [name, want] : wanted) {
    auto old = receivers_.find(name);
    auto old_options = options_.receivers.find(name);
    if (old != receivers_.end() && old_options != options_.receivers.end() &&
        sameReceiver(old_options->second, want)) {
      running[name] = std::move(old->second);
      receivers_.erase(old);
      running_options[name] = old_options->second;
      continue;
    }
    // Prepared as at start-up (the daemon runs the module's prepare step on
    // a reload's configuration too): a webhook's url is parsed already.
    running[name] = makeAlertReceiver(runtime_, name, want);
    running_options[name] = want;
    for (const char* status : {"sent", "failed", "timeout", "dropped", "deduplicated"}) {
      notificationCounter(name, status);
    }
  }
  for (auto& [name, r] : receivers_) {
    r->close();
    retired_receivers_.push_back(std::move(r));
  }
  receivers_ = std::move(running);
  for (const auto& [name, o] : running_options)
    engine_.setRepeatInterval(name, o.repeat_interval_ms);
  options_.receivers = std::move(running_options);
}

// Rules over the fleet need this instance's values of their metrics
// published, and one instance (the lease holder) to read everyone's.
void AlertsService::setUpFleet() {
  std::vector<std::string> names = fleetMetricNames(engine_.history());
  if (names == fleet_names_) return;
  fleet_names_ = std::move(names);
  fleet_local_ = std::make_unique<SampleHistory>(options_.interval_ms);
  for (const std::string& name : fleet_names_) fleet_local_->want(name, 0);
  if (fleet_lease_) return;
  fleet_lease_ = std::make_unique<RedisLease>(redis_, key_prefix_ + "alerts:fleet:lease", holder_,
                                              3 * options_.fleet_publish_ms);
  MetricsRegistry& metrics = runtime_.metrics;
  fleet_reader_gauge_ =
      &metrics.gauge("redge_alerts_fleet_reader",
                     "1 while this instance reads every instance's metrics for the fleet: rules");
  fleet_instances_gauge_ = &metrics.gauge("redge_alerts_fleet_instances",
                                          "Instances whose metrics the last fleet read merged");
}

void AlertsService::reload(const Config& next, std::vector<std::string>& live) {
  const AlertsOptions& o = next.module<AlertsOptions>();
  if (!o.enabled) return;  // alerts.enabled itself needs a restart
  live.insert(live.end(), {"alerts.rules", "alerts.receivers", "alerts.fleet_dedupe",
                           "alerts.defaults.cpu", "alerts.defaults.cpu_ratio",
                           "alerts.defaults.memory", "alerts.defaults.memory_ratio",
                           "alerts.defaults.app_error_ratio", "alerts.defaults.app_error_ratio_max",
                           "alerts.defaults.app_p99", "alerts.defaults.app_p99_seconds",
                           "alerts.defaults.for_ms", "alerts.defaults.receivers"});
  std::set<std::string> old_names;
  for (const AlertRule& r : engine_.rules()) old_names.insert(r.spec().name);
  std::vector<AlertRuleSpec> specs;
  std::vector<int> kept;
  std::optional<std::string> error = alertRuleSpecs(o, specs);  // checked by the schema's rule
  if (!error) error = engine_.replaceRules(specs, kept);
  if (error) {
    REDGE_LOG(Error, "alerts_reload_refused").kv("reason", *error).kv("kept", "the running rules");
    return;
  }
  // The per-rule state follows its rule; a removed rule's ALERTS series
  // read 0 (the registry keeps series).
  auto actions = std::move(actions_);
  auto states = std::move(action_states_);
  auto firing = std::move(was_firing_);
  auto series = std::move(alerts_series_);
  actions_.clear();
  action_states_.clear();
  was_firing_.clear();
  alerts_series_.clear();
  std::vector<bool> carried(series.size(), false);
  size_t kept_count = 0, changed = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (kept[i] < 0) {
      if (old_names.count(specs[i].name)) ++changed;
      addRuleState(specs[i]);
      continue;
    }
    const size_t j = static_cast<size_t>(kept[i]);
    actions_.push_back(std::move(actions[j]));
    action_states_.push_back(std::move(states[j]));
    was_firing_.push_back(firing[j]);
    alerts_series_.push_back(series[j]);
    carried[j] = true;
    ++kept_count;
  }
  for (size_t j = 0; j < series.size(); ++j) {
    bool reused = std::any_of(alerts_series_.begin(), alerts_series_.end(),
                              [&](const auto& p) { return p.first == series[j].first; });
    if (carried[j] || reused) continue;
    series[j].first->set(0);
    series[j].second->set(0);
  }
  setUpReceivers(o.receivers);
  options_.rules = o.rules;
  options_.defaults = o.defaults;
  options_.fleet_dedupe = o.fleet_dedupe;
  readCanaryFlags(next);
  setUpFleet();
  REDGE_LOG(Info, "alerts_reloaded")
      .kv("rules", static_cast<uint64_t>(specs.size()))
      .kv("kept", static_cast<uint64_t>(kept_count))
      .kv("changed", static_cast<uint64_t>(changed))
      .kv("added", static_cast<uint64_t>(specs.size() - kept_count - changed))
      .kv("removed", static_cast<uint64_t>(old_names.size() - kept_count - changed))
      .kv("receivers", static_cast<uint64_t>(receivers_.size()));
}

void AlertsService::start() {
  timer_->enable(options_.interval_ms);
}

Counter& AlertsService::notificationCounter(const std::string& receiver,
                                            const std::string& status) {
  std::string key = receiver + '\n' + status;
  auto it = notification_counters_.find(key);
  if (it != notification_counters_.end()) return *it->second;
  Counter& c = runtime_.metrics.counter("redge_alert_notifications_total",
                                        "Alert notifications, by receiver and outcome",
                                        {{"receiver", receiver}, {"status", status}});
  notification_counters_.emplace(std::move(key), &c);
  return c;
}

void AlertsService::onTick() {
  const int64_t started_us = runtime_.clock.nowUs();
  std::erase_if(retired_receivers_, [](const auto& r) { return r->closed(); });
  runtime_.metrics.collect();
  engine_.sample(runtime_.metrics);
  engine_.evaluate();
  const auto& rules = engine_.rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    alerts_series_[i].first->set(static_cast<double>(rules[i].count(AlertState::Pending)));
    alerts_series_[i].second->set(static_cast<double>(rules[i].count(AlertState::Firing)));
    if (!rules[i].lastError().empty()) stats_.rule_errors_total.inc();
  }
  stats_.evaluations_total.inc();
  stats_.series.set(static_cast<double>(engine_.history().seriesCount()));
  uint64_t dropped = engine_.history().droppedSeries();
  if (dropped > rule_errors_seen_) {
    stats_.series_dropped_total.inc(dropped - rule_errors_seen_);
    rule_errors_seen_ = dropped;
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    bool firing = rules[i].count(AlertState::Firing) > 0;
    if (firing && !was_firing_[i]) {
      for (ActionState& st : action_states_[i]) st = ActionState{true, false};
    }
    if (firing) {
      for (size_t a = 0; a < actions_[i].size(); ++a) {
        if (action_states_[i][a].pending) {
          runAction(rules[i].spec().name, actions_[i][a], action_states_[i][a]);
        }
      }
    }
    was_firing_[i] = firing;
  }
  if (fleet_local_ && started_us / 1000 >= next_publish_ms_) {
    next_publish_ms_ = started_us / 1000 + options_.fleet_publish_ms;
    publishFleet(started_us / 1000);
  }
  std::vector<AlertNotification> due = engine_.due();
  stats_.evaluation_seconds.observe(static_cast<double>(runtime_.clock.nowUs() - started_us) / 1e6);
  for (AlertNotification& n : due) notify(std::move(n));
  timer_->enable(options_.interval_ms);
}

void AlertsService::publishFleet(int64_t now_ms) {
  if (!redis_.ready()) return;
  fleet_local_->sample(runtime_.metrics, now_ms);  // collected by this tick already
  const std::string ttl = std::to_string(3 * options_.fleet_publish_ms);
  const std::string key = key_prefix_ + "alerts:fleet:instance:" + holder_;
  redis_.command({"SET", key, renderFleetSummary(*fleet_local_, fleet_names_), "PX", ttl},
                 [](RedisStatus, const redisReply*) {});
  redis_.command(
      {"ZADD", key_prefix_ + "alerts:fleet:instances", std::to_string(wallClockMs()), holder_},
      [](RedisStatus, const redisReply*) {});
  fleet_lease_->renew([this](bool held) {
    if (closing_) return;
    if (held != fleet_reader_) {
      fleet_reader_ = held;
      fleet_reader_gauge_->set(held ? 1 : 0);
      REDGE_LOG(Info, held ? "alerts_fleet_reader" : "alerts_fleet_reader_lost")
          .kv("holder", holder_);
    }
    if (held) collectFleet();
  });
}

// The lease holder reads every instance published lately (this one
// included) into its history as fleet:<metric>{…, instance="<holder>"}.
void AlertsService::collectFleet() {
  const std::string set = key_prefix_ + "alerts:fleet:instances";
  const std::string since = std::to_string(wallClockMs() - 3 * options_.fleet_publish_ms);
  redis_.command({"ZREMRANGEBYSCORE", set, "-inf", "(" + since},
                 [](RedisStatus, const redisReply*) {});
  redis_.command(
      {"ZRANGEBYSCORE", set, since, "+inf"}, [this](RedisStatus status, const redisReply* reply) {
        if (closing_ || status != RedisStatus::Ok || reply == nullptr ||
            reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
          return;
        }
        auto holders = std::make_shared<std::vector<std::string>>();
        std::vector<std::string> args = {"MGET"};
        for (size_t i = 0; i < reply->elements && i < kMaxFleetInstances; ++i) {
          const redisReply* e = reply->element[i];
          if (e->type != REDIS_REPLY_STRING || e->len > 256) continue;
          holders->emplace_back(e->str, e->len);
          args.push_back(key_prefix_ + "alerts:fleet:instance:" + holders->back());
        }
        std::vector<std::string_view> views(args.begin(), args.end());
        redis_.command(views, [this, holders](RedisStatus status, const redisReply* reply) {
          if (closing_ || status != RedisStatus::Ok || reply == nullptr ||
              reply->type != REDIS_REPLY_ARRAY) {
            return;
          }
          const int64_t now = runtime_.clock.nowMs();
          size_t merged = 0;
          for (size_t i = 0; i < reply->elements && i < holders->size(); ++i) {
            const redisReply* e = reply->element[i];
            if (e->type != REDIS_REPLY_STRING) continue;
            std::vector<FleetSample> samples;
            if (!parseFleetSummary(std::string_view(e->str, e->len), kMaxFleetSamples, samples)) {
              continue;
            }
            ++merged;
            for (FleetSample& s : samples) {
              s.labels.emplace_back("instance", (*holders)[i]);
              engine_.history().record(std::string(kFleetMetricPrefix) + s.name, s.labels, now,
                                       s.value);
            }
          }
          fleet_instances_gauge_->set(static_cast<double>(merged));
        });
      });
}

std::string AlertsService::canaryFlagOf(const std::string& pool) const {
  auto it = canary_flags_.find(pool);
  return it != canary_flags_.end() ? it->second : defaultCanaryFlag(pool);
}

void AlertsService::runAction(const std::string& rule, const AlertAction& action,
                              ActionState& state) {
  state.pending = false;
  auto done = [this, rule, text = action.text](std::string_view outcome,
                                               const std::string& detail) {
    if (closing_) return;
    actionCounter(text, std::string(outcome)).inc();
    LogLine(outcome == "done"      ? LogLevel::Warn
            : outcome == "skipped" ? LogLevel::Info
                                   : LogLevel::Error,
            "alert_action")
        .kv("rule", rule)
        .kv("action", text)
        .kv("outcome", outcome)
        .kv("detail", detail);
  };
  if (action.kind == AlertAction::Kind::ScaleOut || action.kind == AlertAction::Kind::ScaleIn) {
    // Found now, not at start: the autoscale module is created after this one.
    AutoscaleService* scaler = context_.find<AutoscaleService>();
    if (scaler == nullptr) {
      done("failed", "the autoscale module is off (autoscale.enabled)");
      return;
    }
    std::string r = scaler->order(
        action.target, action.kind == AlertAction::Kind::ScaleOut ? 1 : -1, "alert:" + rule);
    if (r.starts_with("skipped")) {
      // Not now (another instance holds the lease, a step is under way):
      // asked again every evaluation while the rule fires, said once.
      state.pending = true;
      if (state.skip_logged) return;
      state.skip_logged = true;
    }
    done(r == "started" ? "done" : r.substr(0, r.find(':')), r);
    return;
  }
  if (flags_ == nullptr) {
    done("failed", "the flags module is off: the action changes a flag");
    return;
  }
  std::string flag =
      action.kind == AlertAction::Kind::CanaryAbort ? canaryFlagOf(action.target) : action.target;
  flags_->setEnabled(flag, false, "alert:" + rule,
                     [done, flag](RedisStatus status, const redisReply*, const FlagWriteResult& r) {
                       if (status != RedisStatus::Ok) {
                         done("failed", "flag " + flag + " not switched off: Redis did not answer");
                       } else if (r.status == FlagWriteStatus::NotFound) {
                         done("done", "flag " + flag + " does not exist (nothing was on)");
                       } else {
                         done("done", "flag " + flag + " off");
                       }
                     });
}

Counter& AlertsService::actionCounter(const std::string& action, const std::string& outcome) {
  std::string key = action + '\n' + outcome;
  auto it = action_counters_.find(key);
  if (it != action_counters_.end()) return *it->second;
  Counter& c = runtime_.metrics.counter("redge_alert_actions_total",
                                        "Actions of firing alert rules, by action and outcome",
                                        {{"action", action}, {"outcome", outcome}});
  action_counters_.emplace(std::move(key), &c);
  return c;
}

void AlertsService::notify(AlertNotification n) {
  if (!options_.fleet_dedupe || !redis_.ready()) {
    deliver(std::move(n));
    return;
  }
  std::string identity = notificationIdentity(n.payload);
  if (identity.empty()) {
    deliver(std::move(n));
    return;
  }
  // The first instance of the fleet to claim it sends it. The claim lasts
  // until a repeat may go (0.9 of repeat_interval_ms), or a minute.
  auto receiver = options_.receivers.find(n.receiver);
  int64_t repeat = receiver != options_.receivers.end() ? receiver->second.repeat_interval_ms : 0;
  int64_t hold_ms = repeat > 0 ? std::max<int64_t>(1000, repeat * 9 / 10) : 60000;
  std::string key = key_prefix_ + "alerts:sent:" + identity;
  auto shared = std::make_shared<AlertNotification>(std::move(n));
  redis_.command(
      {"SET", key, holder_, "NX", "PX", std::to_string(hold_ms)},
      [this, shared](RedisStatus status, const redisReply* reply) {
        if (closing_) return;
        if (status == RedisStatus::Ok && reply != nullptr && reply->type == REDIS_REPLY_NIL) {
          const AlertNotification& n = *shared;
          notificationCounter(n.receiver, "deduplicated").inc();
          REDGE_LOG(Info, "alert_notification")
              .kv("rule", n.rule_name)
              .kv("receiver", n.receiver)
              .kv("status", n.status)
              .kv("firing", static_cast<uint64_t>(n.firing))
              .kv("resolved", static_cast<uint64_t>(n.resolved))
              .kv("outcome", "deduplicated")
              .kv("detail", "another instance of the fleet sent it");
          return;
        }
        // Claimed, or Redis could not say: better twice than never.
        deliver(std::move(*shared));
      });
}

void AlertsService::deliver(AlertNotification n) {
  const std::string rule = n.rule_name;
  auto it = receivers_.find(n.receiver);
  if (it == receivers_.end()) {
    // Not expected: a rule names only receivers of the same configuration.
    notificationCounter(n.receiver, "dropped").inc();
    REDGE_LOG(Warn, "alert_notification")
        .kv("rule", rule)
        .kv("receiver", n.receiver)
        .kv("status", n.status)
        .kv("outcome", "dropped")
        .kv("detail", "the receiver is not running");
    return;
  }
  const std::string receiver = n.receiver;
  const std::string status = n.status;
  const size_t firing = n.firing;
  const size_t resolved = n.resolved;
  it->second->deliver(
      std::move(n.payload), [this, rule, receiver, status, firing, resolved](
                                const std::string& outcome, const std::string& detail) {
        if (closing_) return;
        notificationCounter(receiver, outcome).inc();
        engine_.recordDelivery(rule, receiver, status, outcome);
        LogLine(outcome == "sent" ? LogLevel::Info : LogLevel::Warn, "alert_notification")
            .kv("rule", rule)
            .kv("receiver", receiver)
            .kv("status", status)
            .kv("firing", static_cast<uint64_t>(firing))
            .kv("resolved", static_cast<uint64_t>(resolved))
            .kv("outcome", outcome)
            .kv("detail", detail);
      });
}

void AlertsService::close(std::function<void()> done) {
  if (closing_) return;
  closing_ = true;
  timer_.reset();
  for (auto& [name, r] : receivers_) r->close();
  // The retired ones are closing already; they are destroyed with the service.
  if (done) done();
}

}  // namespace redge
