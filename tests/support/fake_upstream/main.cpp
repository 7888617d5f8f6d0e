// fake_upstream: the command line, the loop and the signals around
// FakeUpstream. SIGTERM or SIGINT stops at once (no drain: a test wants the
// process gone): pending answers are cancelled, every server and the signal
// handles close, the loop runs out of handles, and the exit code says
// whether uv_loop_close found it empty (0) or not (1). Bad flags exit 2.

#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "fake_upstream.hpp"

namespace redge_test {
namespace {

constexpr const char* kUsage =
    "usage: fake_upstream [flags]\n"
    "  --port N            main listener port (0: any free port; default 0)\n"
    "  --control-port N    control listener port (0: any free port; default 0)\n"
    "  --stream-port N     streaming listener port (0: any free port; default: none)\n"
    "  --bind ADDR         address of both listeners (default 127.0.0.1)\n"
    "  --latency-ms N      delay of every answer (default 5)\n"
    "  --error-ratio R     fraction 0..1 of requests answered --fail-status (default 0)\n"
    "  --fail-status N     status of those failures, 400..599 (default 500)\n"
    "  --spike-every N     every Nth request waits --spike-ms instead (default 0: never)\n"
    "  --spike-ms N        delay of those requests (default 2000)\n"
    "  --down              start down\n"
    "  --down-mode M       refuse (503), hang (no answer) or close (no listener); default refuse\n"
    "  --retry-after S     Retry-After seconds on 503-down and failures (default 0: none)\n"
    "  --seed S            std::mt19937 seed of the error draws (default 1)\n"
    "  --name NAME         who answers, in echo answers and X-Upstream (default fake_upstream)\n"
    "  --unhealthy         start with GET /healthz answering 503\n"
    "  --echo-delay-ms N   delay of every echo answer (default 0)\n"
    "  --echo-fail-over-bytes N  echoes of bodies over N bytes answer --fail-status (0: never)\n"
    "  --log-level L       debug | info | warn | error (default info)\n"
    "Flags take their value as the next argument or after '='.\n";

template <typename T>
bool parseNumber(std::string_view text, T& out) {
  auto res = std::from_chars(text.data(), text.data() + text.size(), out);
  return res.ec == std::errc() && res.ptr == text.data() + text.size();
}

bool takesValue(std::string_view name) {
  static constexpr std::string_view kValued[] = {
      "--port",       "--control-port", "--bind",          "--stream-port",
      "--latency-ms", "--error-ratio",  "--fail-status",   "--spike-every",
      "--spike-ms",   "--down-mode",    "--retry-after",   "--seed",
      "--log-level",  "--name",         "--echo-delay-ms", "--echo-fail-over-bytes"};
  for (std::string_view v : kValued) {
    if (v == name) return true;
  }
  return false;
}

// Returns "" or the reason the command line is refused.
std::string parseFlags(int argc, char** argv, FakeUpstreamOptions& o, bool& help) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view name = arg;
    std::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (name == "--help" || name == "-h") {
      help = true;
      continue;
    }
    if (name == "--down") {
      if (has_value) return "--down takes no value";
      o.settings.down = true;
      continue;
    }
    if (name == "--unhealthy") {
      if (has_value) return "--unhealthy takes no value";
      o.settings.healthy = false;
      continue;
    }
    if (!takesValue(name)) return "unknown flag " + std::string(name);
    if (!has_value) {
      if (i + 1 >= argc) return std::string(name) + " needs a value";
      value = argv[++i];
    }
    int64_t n = 0;
    auto needInt = [&](int64_t lo, int64_t hi) -> bool {
      return parseNumber(value, n) && n >= lo && n <= hi;
    };
    std::string bad = std::string(name) + ": bad value '" + std::string(value) + "'";
    if (name == "--port") {
      if (!needInt(0, 65535)) return bad;
      o.port = static_cast<int>(n);
    } else if (name == "--control-port") {
      if (!needInt(0, 65535)) return bad;
      o.control_port = static_cast<int>(n);
    } else if (name == "--stream-port") {
      if (!needInt(0, 65535)) return bad;
      o.stream_port = static_cast<int>(n);
    } else if (name == "--bind") {
      o.bind = std::string(value);
    } else if (name == "--latency-ms") {
      if (!needInt(0, INT64_MAX)) return bad;
      o.settings.latency_ms = n;
    } else if (name == "--error-ratio") {
      if (!parseNumber(value, o.settings.error_ratio)) return bad;
    } else if (name == "--fail-status") {
      if (!needInt(0, 999)) return bad;
      o.settings.fail_status = static_cast<int>(n);
    } else if (name == "--spike-every") {
      if (!needInt(0, INT64_MAX)) return bad;
      o.settings.spike_every = n;
    } else if (name == "--spike-ms") {
      if (!needInt(0, INT64_MAX)) return bad;
      o.settings.spike_ms = n;
    } else if (name == "--down-mode") {
      if (!parseDownMode(value, o.settings.down_mode)) return bad;
    } else if (name == "--retry-after") {
      if (!needInt(0, INT64_MAX)) return bad;
      o.settings.retry_after_s = n;
    } else if (name == "--seed") {
      if (!needInt(0, UINT32_MAX)) return bad;
      o.seed = static_cast<uint32_t>(n);
    } else if (name == "--name") {
      o.name = std::string(value);
    } else if (name == "--echo-delay-ms") {
      if (!needInt(0, INT64_MAX)) return bad;
      o.settings.echo_delay_ms = n;
    } else if (name == "--echo-fail-over-bytes") {
      if (!needInt(0, INT64_MAX)) return bad;
      o.settings.echo_fail_over_bytes = n;
    } else if (name == "--log-level") {
      redge::LogLevel level;
      if (!redge::parseLogLevel(value, level)) return bad;
      redge::Log::setLevel(level);
    }
  }
  return checkSettings(o.settings);
}

class FakeUpstreamProcess {
 public:
  explicit FakeUpstreamProcess(FakeUpstreamOptions options) {
    uv_loop_init(&loop_);
    upstream_ = std::make_unique<FakeUpstream>(&loop_, metrics_, std::move(options));
  }

  int run(const FakeUpstreamOptions& options) {
    uv_signal_init(&loop_, &sigterm_);
    uv_signal_init(&loop_, &sigint_);
    sigterm_.data = sigint_.data = this;
    uv_signal_start(&sigterm_, &onSignalCb, SIGTERM);
    uv_signal_start(&sigint_, &onSignalCb, SIGINT);
    int exit_code = 0;
    if (upstream_->start() != 0) {
      exit_code = 1;
      stop();
    } else {
      const UpstreamSettings& s = options.settings;
      REDGE_LOG(Info, "started")
          .kv("service", "fake_upstream")
          .kv("pid", static_cast<int64_t>(getpid()))
          .kv("seed", static_cast<uint64_t>(options.seed))
          .kv("latency_ms", s.latency_ms)
          .kv("error_ratio", s.error_ratio)
          .kv("spike_every", s.spike_every)
          .kv("spike_ms", s.spike_ms)
          .kv("down", s.down)
          .kv("down_mode", downModeName(s.down_mode))
          .kv("fail_status", s.fail_status);
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    upstream_.reset();  // every handle has closed: uv_run ran out of them
    int rc = uv_loop_close(&loop_);
    if (rc != 0) {
      REDGE_LOG(Error, "loop_not_empty").kv("error", uv_strerror(rc));
      return 1;
    }
    REDGE_LOG(Info, "stopped").kv("service", "fake_upstream");
    return exit_code;
  }

 private:
  static void onSignalCb(uv_signal_t* handle, int signum) noexcept {
    auto* self = static_cast<FakeUpstreamProcess*>(handle->data);
    if (self == nullptr) return;
    REDGE_LOG(Info, "stopping").kv("signal", signum);
    self->stop();
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    upstream_->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  }

  uv_loop_t loop_;
  redge::MetricsRegistry metrics_;  // HttpServer counts into it; nobody reads it here
  std::unique_ptr<FakeUpstream> upstream_;
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  bool stopped_ = false;
};

}  // namespace
}  // namespace redge_test

int main(int argc, char** argv) {
  using namespace redge_test;
  FakeUpstreamOptions options;
  bool help = false;
  std::string err = parseFlags(argc, argv, options, help);
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!err.empty()) {
    std::fprintf(stderr, "fake_upstream: %s (see --help)\n", err.c_str());
    return 2;
  }
  // A client that hangs up mid-answer must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  FakeUpstreamProcess process(options);
  return process.run(options);
}
