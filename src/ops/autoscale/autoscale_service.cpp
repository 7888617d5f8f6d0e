// The autoscaler's loop (see the header): the lease, the metric read from
// this instance's gateway series, the policy's decision, and the action
// through this instance's own admin API.

#include "ops/autoscale/autoscale_service.hpp"

#include <algorithm>
#include <cmath>

#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "ops/admin_service.hpp"

namespace redge {
namespace {

AutoscalePolicyOptions policyOptions(const AutoscaleServiceOptions& o) {
  AutoscalePolicyOptions p;
  p.min = o.min;
  p.max = o.max;
  p.target = o.target;
  p.tolerance = o.tolerance;
  p.scale_up_stabilization_ms = o.scale_up_stabilization_ms;
  p.scale_down_stabilization_ms = o.scale_down_stabilization_ms;
  p.max_scale_up_step = o.max_scale_up_step;
  p.max_scale_down_step = o.max_scale_down_step;
  p.step_period_ms = o.step_period_ms;
  p.cooldown_ms = o.cooldown_ms;
  return p;
}

bool hasLabel(const Labels& labels, std::string_view name, std::string_view value) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v == value;
  }
  return false;
}

}  // namespace

AutoscaleService::AutoscaleService(ModuleContext& context, const AutoscaleOptions& options)
    : context_(context),
      runtime_(context.runtime()),
      options_(options),
      registry_(context.find<ServiceRegistry>()),
      holder_(RedisLease::newHolderName()),
      lease_(context.redis(), context.config().redis.key_prefix + "autoscale:lease", holder_,
             options.lease_ms),
      timer_(runtime_.timers.createTimer([this] { onTick(); })) {
  for (const auto& [name, o] : options_.services) {
    auto s = std::make_unique<Scaled>(
        Scaled{.name = name, .options = o, .policy = AutoscalePolicy(policyOptions(o))});
    if (s->options.pool.empty()) s->options.pool = name;
    services_.emplace(name, std::move(s));
  }
  MetricsRegistry& m = runtime_.metrics;
  actions_out_ = &m.counter("redge_autoscale_actions_total", "Autoscaler steps taken, by direction",
                            {{"direction", "out"}});
  actions_in_ = &m.counter("redge_autoscale_actions_total", "Autoscaler steps taken, by direction",
                           {{"direction", "in"}});
  failures_ = &m.counter("redge_autoscale_failures_total",
                         "Autoscaler steps that failed (spawn or destroy refused or failed)");
  leader_gauge_ = &m.gauge("redge_autoscale_leader",
                           "1 while this instance holds the autoscale lease and acts");
  if (HttpServer* admin = context.findHttpServer("admin")) {
    admin->route(HttpMethod::Get, "/autoscale",
                 [this](HttpRequest&, const HttpResponder& res) { onStatus(res); });
  }
}

void AutoscaleService::start() {
  if (registry_ == nullptr) {
    REDGE_LOG(Error, "autoscale_disabled")
        .kv("reason", "the discovery module is not running")
        .kv("action", "set discovery.enabled=true");
    return;
  }
  HttpServer* admin = context_.findHttpServer("admin");
  if (admin == nullptr) {
    REDGE_LOG(Error, "autoscale_disabled")
        .kv("reason", "the admin listener is off (spawn and destroy are its routes)")
        .kv("action", "set admin.enabled=true");
    return;
  }
  HttpClientPoolOptions o;
  o.name = "autoscale";
  const std::string& bind = context_.config().module<AdminOptions>().bind;
  o.host = bind == "0.0.0.0" ? "127.0.0.1" : bind == "::" ? "::1" : bind;
  o.port = admin->port();
  o.authority = o.host + ":" + std::to_string(o.port);
  o.max_idle = 2;
  admin_ = std::make_unique<HttpClientPool>(runtime_.loop, runtime_.metrics, std::move(o));
  timer_->enable(options_.interval_ms);
  REDGE_LOG(Info, "autoscale_started")
      .kv("services", static_cast<uint64_t>(services_.size()))
      .kv("interval_ms", options_.interval_ms)
      .kv("lease_ms", options_.lease_ms);
}

void AutoscaleService::close(std::function<void()> done) {
  if (!closed_) {
    closed_ = true;
    timer_.reset();
    if (admin_) admin_->close();
  }
  if (done) done();
}

void AutoscaleService::onTick() {
  if (closed_) return;
  timer_->enable(options_.interval_ms);
  if (!context_.redis().ready()) return;
  lease_.renew([this](bool held) {
    if (closed_) return;
    if (held != leader_) {
      REDGE_LOG(Info, held ? "autoscale_lease_taken" : "autoscale_lease_lost")
          .kv("holder", holder_);
      leader_ = held;
      leader_gauge_->set(held ? 1 : 0);
      // What another leader decided is not known here: the windows start
      // again, so this one scales down only after a whole window of its own.
      if (held) {
        for (auto& [name, s] : services_) s->policy.observeFrom(runtime_.clock.nowMs());
      }
    }
    if (!leader_ || !registry_->loaded()) return;
    runtime_.metrics.collect();
    for (auto& [name, s] : services_) decide(*s);
  });
}

void AutoscaleService::readCpu(Scaled& s) {
  if (s.cpu_read_in_flight) return;
  s.cpu_read_in_flight = true;
  registry_->readCpu(s.name, [this, &s](bool ok, std::map<std::string, double> cpu) {
    if (closed_) return;
    s.cpu_read_in_flight = false;
    if (!ok) return;  // keep the last figures; the next tick asks again
    double total = 0;
    for (const auto& [id, percent] : cpu) total += percent;
    s.cpu_reported = cpu.size();
    s.cpu_mean = cpu.empty() ? 0 : total / static_cast<double>(cpu.size());
  });
}

double AutoscaleService::poolTotal(const Scaled& s, std::string_view metric) const {
  // The pool's members, the canary side's too (its instances count for the
  // service as well).
  const std::string canary = s.options.pool + "/canary";
  double total = 0;
  runtime_.metrics.forEachSeries([&](const MetricsRegistry::SeriesView& v) {
    if (v.name != metric) return;
    if (!hasLabel(*v.labels, "pool", s.options.pool) && !hasLabel(*v.labels, "pool", canary)) {
      return;
    }
    if (v.counter != nullptr) total += static_cast<double>(v.counter->value());
    if (v.gauge != nullptr) total += v.gauge->value();
  });
  return total;
}

void AutoscaleService::decide(Scaled& s) {
  const int64_t now = runtime_.clock.nowMs();
  const int64_t current = static_cast<int64_t>(registry_->countOf(s.name));
  double metric = 0;
  bool known = false;
  if (s.options.metric == "inflight") {
    metric = current > 0 ? poolTotal(s, "redge_gateway_member_inflight") / current : 0;
    known = true;
  } else if (s.options.metric == "cpu") {
    // The instances that reported (a new one does after its first
    // heartbeat period); the read answers for the next decision.
    metric = s.cpu_mean;
    known = s.cpu_reported > 0;
    readCpu(s);
  } else {
    double total = poolTotal(s, "redge_gateway_member_requests_total");
    if (s.have_total && now > s.last_total_ms && current > 0) {
      double per_second =
          (total - s.last_total) * 1000.0 / static_cast<double>(now - s.last_total_ms);
      metric = per_second / static_cast<double>(current);
      known = true;
    }
    s.last_total = total;
    s.last_total_ms = now;
    s.have_total = true;
  }
  AutoscaleDecision d = s.policy.decide(now, current, metric, known);
  s.last = d;
  s.decided = true;
  if (s.busy) return;
  const char* action = d.desired > current   ? "scale_out"
                       : d.desired < current ? "scale_in"
                                             : "none";
  if (d.desired != current || s.logged_desired != d.recommended) {
    s.logged_desired = d.recommended;
    REDGE_LOG(Info, "autoscale_decision")
        .kv("service", s.name)
        .kv("current", current)
        .kv("metric", s.options.metric)
        .kv("value", metric)
        .kv("target", s.options.target)
        .kv("recommended", d.recommended)
        .kv("desired", d.desired)
        .kv("action", action)
        .kv("reason", d.reason);
  }
  if (d.desired > current) {
    scaleOut(s, d.desired - current);
  } else if (d.desired < current) {
    scaleIn(s);
  }
}

void AutoscaleService::post(const std::string& target, std::string body,
                            std::function<void(int status, const std::string& body)> done) {
  HttpClientRequest r;
  r.method = "POST";
  r.target = target;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("X-Redge-Actor", "autoscale@" + holder_);
  // The admin listener asks writes for its token (admin.token): this is one.
  const std::string& token = context_.config().module<AdminOptions>().effective_token;
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
  // A spawn answers once its instances registered (discovery.spawn_timeout_ms).
  r.timeout_ms = 120000;
  admin_->send(std::move(r), [this, done = std::move(done)](HttpClientError error,
                                                            const HttpClientResponse* response) {
    if (closed_) return;
    if (error != HttpClientError::None || response == nullptr) {
      done(0, std::string(httpClientErrorName(error)));
      return;
    }
    done(response->status, response->body);
  });
}

void AutoscaleService::scaleOut(Scaled& s, int64_t count) {
  Step step{"out", static_cast<int64_t>(registry_->countOf(s.name)), 0, {}, 0};
  step.to = step.from + count;
  s.busy = true;
  std::string body;
  JsonWriter w(body);
  w.startObject().key("service").string(s.name).key("count").integer(count).endObject();
  post("/spawn", body, [this, &s, step](int status, const std::string& answer) {
    finishStep(s, step, status == 201, status, answer);
  });
}

void AutoscaleService::scaleIn(Scaled& s) {
  // The instance with the least work in flight (as this gateway sees it),
  // the newest among equals: it has the least warm state to lose.
  const InstanceRecord* pick = nullptr;
  int64_t pick_inflight = 0;
  std::vector<InstanceRecord> instances = registry_->instances(s.name);
  for (const InstanceRecord& i : instances) {
    std::optional<InstanceTraffic> t = registry_->traffic(i);
    int64_t inflight = t ? t->inflight : 0;
    if (pick == nullptr || inflight < pick_inflight ||
        (inflight == pick_inflight && i.started_at_ms > pick->started_at_ms)) {
      pick = &i;
      pick_inflight = inflight;
    }
  }
  if (pick == nullptr) return;
  const int64_t from = static_cast<int64_t>(instances.size());
  Step step{"in", from, from - 1, pick->id, pick_inflight};
  s.busy = true;
  std::string body;
  JsonWriter w(body);
  w.startObject().key("id").string(step.instance).endObject();
  post("/destroy", body, [this, &s, step](int status, const std::string& answer) {
    finishStep(s, step, status == 202, status, answer);
  });
}

void AutoscaleService::finishStep(Scaled& s, const Step& step, bool ok, int status,
                                  const std::string& answer) {
  s.busy = false;
  if (ok) {
    s.policy.record(runtime_.clock.nowMs(), step.from, step.to);
    (step.to > step.from ? actions_out_ : actions_in_)->inc();
  } else {
    failures_->inc();
  }
  LogLine line(ok ? LogLevel::Info : LogLevel::Warn, "autoscale_scaled");
  line.kv("service", s.name)
      .kv("direction", step.direction)
      .kv("from", step.from)
      .kv("to", step.to);
  if (!step.instance.empty()) line.kv("instance", step.instance).kv("inflight", step.inflight);
  line.kv("outcome", ok ? "done" : "failed")
      .kv("status", status)
      .kv("detail", ok ? std::string() : answer.substr(0, 300));
  std::string a;
  JsonWriter j(a);
  j.startObject().key("direction").string(step.direction).key("from").integer(step.from);
  j.key("to").integer(step.to);
  if (!step.instance.empty()) j.key("instance").string(step.instance);
  j.key("outcome").string(ok ? "done" : "failed").key("status").integer(status).endObject();
  s.last_action = a;
}

std::string AutoscaleService::order(const std::string& service, int delta, const std::string& why) {
  if (closed_ || admin_ == nullptr) return "refused: the autoscaler is not running";
  auto it = services_.find(service);
  if (it == services_.end()) return "refused: '" + service + "' is not in autoscale.services";
  if (!leader_) return "skipped: the autoscale lease is held by another instance, which acts";
  Scaled& s = *it->second;
  if (s.busy) return "skipped: an action on '" + service + "' is in flight";
  const int64_t current = static_cast<int64_t>(registry_->countOf(service));
  const int64_t to = std::clamp<int64_t>(current + delta, s.options.min, s.options.max);
  if (to == current) {
    return "skipped: '" + service + "' is at its " + (delta > 0 ? "max" : "min") + " (" +
           std::to_string(current) + ")";
  }
  REDGE_LOG(Info, "autoscale_order")
      .kv("service", service)
      .kv("current", current)
      .kv("desired", to)
      .kv("by", why);
  if (to > current) {
    scaleOut(s, to - current);
  } else {
    scaleIn(s);
  }
  return "started";
}

void AutoscaleService::onStatus(const HttpResponder& responder) {
  std::string body;
  JsonWriter w(body);
  w.startObject();
  w.key("leader").boolean(leader_);
  w.key("holder").string(holder_);
  w.key("services").startArray();
  for (const auto& [name, s] : services_) {
    w.startObject();
    w.key("service").string(name);
    w.key("pool").string(s->options.pool);
    w.key("metric").string(s->options.metric);
    w.key("target").rawValue(std::to_string(s->options.target));
    w.key("min").integer(s->options.min);
    w.key("max").integer(s->options.max);
    if (s->decided) {
      w.key("current").integer(s->last.current);
      w.key("value").rawValue(std::isfinite(s->last.metric) ? std::to_string(s->last.metric)
                                                            : "null");
      w.key("metric_known").boolean(s->last.metric_known);
      w.key("recommended").integer(s->last.recommended);
      w.key("desired").integer(s->last.desired);
      w.key("reason").string(s->last.reason);
    }
    w.key("busy").boolean(s->busy);
    w.key("last_action");
    if (s->last_action.empty()) {
      w.null();
    } else {
      w.rawValue(s->last_action);
    }
    w.endObject();
  }
  w.endArray();
  w.endObject();
  body.push_back('\n');
  responder.send(HttpResponse(200, "application/json", body));
}

}  // namespace redge
