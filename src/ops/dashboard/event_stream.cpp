// The admin event stream: Server-Sent Events (WHATWG HTML 9.2) of the
// dashboard's snapshot. See event_stream.hpp for its cost and bounds.

#include "ops/dashboard/event_stream.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"

namespace redge {

// One connected page. The connection calls it until onClosed() or until the
// stream ends its exchange.
class EventStream::Client final : public HttpStreamHandler {
 public:
  Client(EventStream& owner, const HttpExchange& exchange) : owner_(owner), exchange_(exchange) {}

  void onRequestData(std::string_view) override {}  // a GET has no body to read
  void onRequestEnd() override {}
  void onClosed() override { owner_.remove(this); }  // frees this

  const HttpExchange& exchange() const { return exchange_; }
  int skipped = 0;  // ticks skipped in a row

 private:
  EventStream& owner_;
  HttpExchange exchange_;
};

namespace {

inline AdminEventsStats bindAdminEventsStats(MetricsRegistry& metrics) {
  StatsBinder stats_binder(metrics, "redge_admin_events_", {});
  return REDGE_STATS_BIND(REDGE_ADMIN_EVENTS_STATS);
}

// The browser's EventSource reconnects this long after a stream ends (a
// restart, a drain), instead of its default of about 3 s.
constexpr std::string_view kRetryLine = "retry: 2000\n\n";

}  // namespace

EventStream::EventStream(Runtime& runtime, const Dashboard& dashboard, int64_t interval_ms)
    : runtime_(runtime),
      dashboard_(dashboard),
      interval_ms_(interval_ms),
      stats_(bindAdminEventsStats(runtime.metrics)),
      render_seconds_(
          runtime.metrics.histogram("redge_admin_events_render_seconds",
                                    "Time to collect and render one dashboard snapshot")),
      timer_(runtime.timers.createTimer([this] { onTick(); })) {}

EventStream::~EventStream() {
  close();
}

void EventStream::accept(HttpRequest& request, const HttpExchange& exchange) {
  if (closed_) {
    stats_.refused_total.inc();
    exchange.sendError(503, "shutting_down",
                       "This redge is shutting down; the page reconnects to it or another one.", 2);
    return;
  }
  if (clients_.size() >= kMaxClients) {
    stats_.refused_total.inc();
    exchange.sendError(503, "too_many_event_clients",
                       "Too many dashboards are connected to this redge; close one and retry.", 5);
    return;
  }
  auto client = std::make_unique<Client>(*this, exchange);
  exchange.attach(client.get());
  HttpStreamHead head;
  head.status = 200;
  head.headers = {{"Content-Type", "text/event-stream; charset=utf-8"},
                  {"Cache-Control", "no-store"},
                  {"X-Content-Type-Options", "nosniff"},
                  {"Server", "redge"}};
  if (!exchange.writeHead(head)) {
    exchange.attach(nullptr);
    return;
  }
  if (request.method == HttpMethod::Head) {
    // The head is the whole answer: no stream to keep.
    exchange.attach(nullptr);
    exchange.end();
    return;
  }
  clients_.push_back(std::move(client));
  stats_.clients.set(static_cast<double>(clients_.size()));
  std::string first(kRetryLine);
  first += frame(false);
  exchange.writeBody(first);
  stats_.frames_total.inc();
  if (timer_ && !timer_->enabled()) timer_->enable(interval_ms_);
}

const std::string& EventStream::frame(bool fresh) {
  int64_t now = runtime_.clock.nowMs();
  if (fresh || rendered_ms_ < 0 || now - rendered_ms_ >= interval_ms_) {
    int64_t started_us = runtime_.clock.nowUs();
    // Gauges that are read from elsewhere (CPU, RSS, flag counts) are
    // refreshed as a scrape refreshes them.
    runtime_.metrics.collect();
    frame_.assign("data: ");
    dashboard_.render(frame_, ++seq_, wallClockMs());
    // The JSON writer escapes control characters, so the snapshot is one
    // line, as a data: field must be.
    frame_.append("\n\n");
    rendered_ms_ = now;
    stats_.ticks_total.inc();
    stats_.snapshot_bytes.set(static_cast<double>(frame_.size()));
    render_seconds_.observe(static_cast<double>(runtime_.clock.nowUs() - started_us) / 1e6);
  }
  return frame_;
}

void EventStream::onTick() {
  if (clients_.empty()) return;  // no one to tell: the timer rests until the next page
  const std::string& bytes = frame(true);
  for (auto it = clients_.begin(); it != clients_.end();) {
    Client& c = **it;
    const HttpExchange& ex = c.exchange();
    if (!ex.alive()) {
      ex.attach(nullptr);
      it = clients_.erase(it);
      continue;
    }
    if (!ex.wantsMore()) {
      stats_.skipped_total.inc();
      if (++c.skipped < kMaxSkippedTicks) {
        ++it;
        continue;
      }
      REDGE_LOG(Info, "event_client_dropped")
          .kv("reason", "not reading")
          .kv("skipped_ticks", c.skipped);
      stats_.dropped_total.inc();
      ex.attach(nullptr);
      ex.abort();
      it = clients_.erase(it);
      continue;
    }
    c.skipped = 0;
    if (ex.writeBody(bytes)) {
      stats_.frames_total.inc();
      ++it;
    } else {
      ex.attach(nullptr);
      it = clients_.erase(it);
    }
  }
  stats_.clients.set(static_cast<double>(clients_.size()));
  if (!clients_.empty() && timer_) timer_->enable(interval_ms_);
}

void EventStream::remove(Client* client) {
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (it->get() == client) {
      clients_.erase(it);
      break;
    }
  }
  stats_.clients.set(static_cast<double>(clients_.size()));
}

void EventStream::close() {
  if (closed_) return;
  closed_ = true;
  timer_.reset();  // its handle closes with the rest, before the loop ends
  for (auto& c : clients_) {
    c->exchange().attach(nullptr);
    c->exchange().end();
  }
  clients_.clear();
  stats_.clients.set(0);
}

}  // namespace redge
