// The ticker: the smallest whole module, and the proof that the module seam
// holds. It has a config section, a listener, a timer from the Runtime's
// factory, a stats table and a close path, and it was added as this one
// folder plus one line in src/modules.cpp, touching nothing in core or main.
// Disabled by default; the tests of the seam switch it on. Copy it to start
// a new module.
//
//   GET /ticks   {"ticks": N, "interval_ms": M}

#include <string>

#include "core/json_writer.hpp"
#include "core/stats.hpp"
#include "services/service.hpp"

namespace redge {
namespace {

using namespace config_limits;

struct TickerOptions {
  bool enabled = false;
  std::string bind = "127.0.0.1";
  int64_t port = 0;
  int64_t interval_ms = 1000;
};

// clang-format off
#define REDGE_TICKER_STATS(COUNTER, GAUGE, HISTOGRAM) \
  COUNTER(ticks_total, "Timer ticks the ticker module has counted")
// clang-format on

struct TickerStats {
  REDGE_STATS_MEMBERS(REDGE_TICKER_STATS)
};

class TickerService final : public Service {
 public:
  explicit TickerService(ModuleContext& context)
      : options_(context.config().module<TickerOptions>()),
        timer_(context.runtime().timers.createTimer([this] { onTick(); })),
        stats_(bind(context.runtime().metrics)) {
    HttpServer& http =
        context.addHttpServer(context.httpServerOptions("ticker", options_.bind, options_.port));
    http.route(HttpMethod::Get, "/ticks", [this](HttpRequest&, const HttpResponder& res) {
      std::string body;
      JsonWriter w(body);
      w.startObject();
      w.key("ticks").integer(static_cast<int64_t>(ticks_));
      w.key("interval_ms").integer(options_.interval_ms);
      w.endObject();
      res.send(HttpResponse(200, "application/json", body));
    });
  }
  void start() override { timer_->enable(options_.interval_ms); }
  void close(std::function<void()> done) override {
    timer_.reset();  // its handle closes now, while the loop runs
    if (done) done();
  }

 private:
  static TickerStats bind(MetricsRegistry& metrics) {
    StatsBinder stats_binder(metrics, "redge_ticker_", {});
    return REDGE_STATS_BIND(REDGE_TICKER_STATS);
  }
  void onTick() {
    ++ticks_;
    stats_.ticks_total.inc();
    timer_->enable(options_.interval_ms);
  }

  TickerOptions options_;
  TimerPtr timer_;
  TickerStats stats_;
  uint64_t ticks_ = 0;
};

void declareKeys(ConfigSchema& schema) {
  schema.moduleSection<TickerOptions>("ticker")
      .boolKey(REDGE_FIELD(TickerOptions, enabled),
               "run the ticker, the example module (GET /ticks counts timer ticks)")
      .stringKey(REDGE_FIELD(TickerOptions, bind), "address the ticker listens on",
                 checkBindAddress)
      .intKey(REDGE_FIELD(TickerOptions, port), 0, kMaxPort, "ticker port (0: any free port)")
      .port()
      .intKey(REDGE_FIELD(TickerOptions, interval_ms), 1, kMaxDurationMs, "time between ticks");
}

}  // namespace

Module tickerModule() {
  return {"ticker", &declareKeys, [](const Config& c) { return c.module<TickerOptions>().enabled; },
          nullptr,
          [](ModuleContext& context) -> std::unique_ptr<Service> {
            return std::make_unique<TickerService>(context);
          }};
}

}  // namespace redge
