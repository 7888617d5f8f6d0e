// FakeUpstream: the routes of the fake external service and the timers of
// its delayed answers.
//
// POST /message decides everything when the request arrives, in arrival
// order: its ordinal (for spike_every), one draw of the seeded generator (for
// error_ratio, drawn even when unused so the Nth request always gets the Nth
// draw), and whether "down" applies. Only the sending waits, on a timer of
// its own. The control routes change settings_ and then bring the listeners
// and the parked (hung) requests in line with it.

#include "fake_upstream.hpp"

#include <rapidjson/document.h>

#include <charconv>

#include "core/log.hpp"
#include "core/uri.hpp"
#include "net/http/http_response.hpp"

namespace redge_test {
namespace {

using redge::HttpMethod;
using redge::HttpRequest;
using redge::HttpResponder;
using redge::HttpResponse;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kOkBody = "{\"ok\":true}";
// Message ids are short tokens; anything else in the header is a relay bug
// the test should see as a 400, and it keeps /stats valid JSON without
// having to escape arbitrary bytes.
constexpr size_t kMaxKeyBytes = 200;

bool validKey(std::string_view key) {
  if (key.size() > kMaxKeyBytes) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

void sendJson(const HttpResponder& responder, int status, std::string_view body) {
  responder.send(HttpResponse(status, kJson, body));
}

}  // namespace

FakeUpstream::FakeUpstream(uv_loop_t* loop, redge::MetricsRegistry& metrics,
                           FakeUpstreamOptions options)
    : loop_(loop),
      metrics_(metrics),
      timers_(loop),
      runtime_{loop, clock_, timers_, hooks_, metrics},
      uv_hooks_(loop, hooks_),
      options_(std::move(options)),
      settings_(options_.settings),
      rng_(options_.seed) {}

FakeUpstream::~FakeUpstream() = default;

int FakeUpstream::start() {
  main_ = makeMainServer(options_.port);
  int rc = main_->listen();
  if (rc != 0) {
    REDGE_LOG(Error, "listen_failed")
        .kv("service", "fake_upstream")
        .kv("bind", options_.bind)
        .kv("port", options_.port)
        .kv("error", uv_strerror(rc));
    return rc;
  }
  main_port_ = main_->port();

  redge::HttpServerOptions o;
  o.service = "fake_upstream_control";
  o.bind = options_.bind;
  o.port = options_.control_port;
  control_ = std::make_unique<redge::HttpServer>(runtime_, o);
  addControlRoutes(*control_);
  rc = control_->listen();
  if (rc != 0) {
    REDGE_LOG(Error, "listen_failed")
        .kv("service", o.service)
        .kv("bind", o.bind)
        .kv("port", o.port)
        .kv("error", uv_strerror(rc));
    return rc;
  }
  if (options_.stream_port >= 0) {
    redge::HttpServerOptions so;
    so.service = "fake_upstream_stream";
    so.bind = options_.bind;
    so.port = options_.stream_port;
    stream_ = std::make_unique<redge::HttpServer>(runtime_, so);
    stream_service_ = std::make_unique<StreamService>(runtime_);
    stream_service_->attach(*stream_);
    rc = stream_->listen();
    if (rc != 0) {
      REDGE_LOG(Error, "listen_failed")
          .kv("service", so.service)
          .kv("bind", so.bind)
          .kv("port", so.port)
          .kv("error", uv_strerror(rc));
      return rc;
    }
  }
  // Started with --down --down-mode=close: the main listener opened all the
  // same, so its port is known and logged, and closes right away.
  closeMainIfUnwanted();
  return 0;
}

void FakeUpstream::close() {
  if (closed_) return;
  closed_ = true;
  for (PendingAnswer* a : pending_) {
    uv_timer_stop(&a->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&a->timer), &onAnswerClosedCb);
  }
  pending_.clear();
  parked_.clear();
  if (main_) main_->close();
  for (auto& s : retired_) s->close();
  if (control_) control_->close();
  // The streaming exchanges hear onClosed() as their connections close;
  // then the service frees them.
  if (stream_) stream_->close();
  if (stream_service_) stream_service_->close();
  uv_hooks_.close();
}

// ---------------------------------------------------------------- servers

std::unique_ptr<redge::HttpServer> FakeUpstream::makeMainServer(int port) {
  redge::HttpServerOptions o;
  o.service = "fake_upstream";
  o.bind = options_.bind;
  o.port = port;
  auto server = std::make_unique<redge::HttpServer>(runtime_, o);
  server->route(HttpMethod::Post, "/message",
                [this](HttpRequest& request, const HttpResponder& responder) {
                  onMessage(request, responder);
                });
  addControlRoutes(*server);
  server->route(HttpMethod::Get, "/healthz",
                [this](HttpRequest&, const HttpResponder& responder) { onHealth(responder); });
  server->routeAll(
      [this](HttpRequest& request, const HttpResponder& responder) { onEcho(request, responder); });
  return server;
}

void FakeUpstream::addControlRoutes(redge::HttpServer& server) {
  server.route(HttpMethod::Get, "/control",
               [this](HttpRequest&, const HttpResponder& responder) { onControlGet(responder); });
  server.route(HttpMethod::Post, "/control",
               [this](HttpRequest& request, const HttpResponder& responder) {
                 onControlPost(request, responder);
               });
  server.route(HttpMethod::Get, "/stats",
               [this](HttpRequest&, const HttpResponder& responder) { onStats(responder); });
  server.route(HttpMethod::Post, "/reset",
               [this](HttpRequest&, const HttpResponder& responder) { onReset(responder); });
  server.route(HttpMethod::Get, "/stream-stats", [this](HttpRequest&, const HttpResponder& r) {
    std::string body = stream_service_ ? stream_service_->statsJson() : "{}";
    sendJson(r, 200, body);
  });
}

bool FakeUpstream::wantMainOpen() const {
  return !(settings_.down && settings_.down_mode == DownMode::Close);
}

int FakeUpstream::openMainIfWanted() {
  if (!wantMainOpen() || main_ || closed_) return 0;
  auto server = makeMainServer(main_port_);
  int rc = server->listen();
  if (rc != 0) {
    // Another process may have taken the port while it was closed. The
    // server is closed and kept like the others; a later POST /control
    // tries again.
    REDGE_LOG(Error, "listen_failed")
        .kv("service", "fake_upstream")
        .kv("bind", options_.bind)
        .kv("port", main_port_)
        .kv("error", uv_strerror(rc));
    server->close();
    retired_.push_back(std::move(server));
    return rc;
  }
  main_ = std::move(server);
  return 0;
}

void FakeUpstream::closeMainIfUnwanted() {
  if (wantMainOpen() || !main_) return;
  // Drain rather than close: the listener closes (connects are refused) and
  // idle keep-alive connections with it, while requests already accepted
  // still get their answers, with Connection: close.
  main_->beginDrain();
  REDGE_LOG(Info, "listener_closed").kv("service", "fake_upstream").kv("port", main_port_);
  retired_.push_back(std::move(main_));
}

void FakeUpstream::dropParkedIfUnwanted() {
  if (settings_.down && settings_.down_mode == DownMode::Hang) return;
  if (parked_.empty()) return;
  // Forgotten, never answered: a hung service that comes back does not
  // answer what it swallowed. The client's own timeout (or its closing the
  // connection) ends those requests.
  REDGE_LOG(Info, "parked_dropped").kv("count", static_cast<uint64_t>(parked_.size()));
  parked_.clear();
}

void FakeUpstream::pruneParked() {
  // A client that gave up has closed its connection: nothing is left to
  // hang, and /stats should not count it as parked.
  std::erase_if(parked_, [](const HttpResponder& r) { return !r.alive(); });
}

// ---------------------------------------------------------------- /message

void FakeUpstream::onMessage(HttpRequest& request, const HttpResponder& responder) {
  uint64_t ordinal = ++ordinal_;
  uint32_t draw = static_cast<uint32_t>(rng_());
  std::string_view key = request.header("Idempotency-Key");
  if (!validKey(key)) {
    ledger_.recordRequest({});
    ledger_.recordAnswer({}, 400, false);
    responder.sendError(400, "invalid_idempotency_key",
                        "Idempotency-Key must be 1 to 200 visible ASCII characters.");
    return;
  }
  ledger_.recordRequest(key);

  if (settings_.down) {
    if (settings_.down_mode == DownMode::Hang) {
      ledger_.recordHung();
      pruneParked();
      parked_.push_back(responder);
      REDGE_LOG(Debug, "message_hung").kv("n", ordinal).kv("key", key);
      return;
    }
    // Refuse; or Close, for a request on a connection accepted before the
    // listener closed (the draining server closes it after this answer).
    ledger_.recordRefused();
    sendAnswer(responder, key, Outcome::Refused, 503, settings_.retry_after_s, epoch_);
    return;
  }

  rapidjson::Document doc;
  doc.Parse(request.body().data(), request.body().size());
  if (doc.HasParseError() || !doc.IsObject()) {
    ledger_.recordAnswer(key, 400, false);
    responder.sendError(400, "invalid_json", "The body must be a JSON object.");
    return;
  }

  // Exact in both limits: a ratio of 1 beats every 32-bit draw, 0 none.
  bool fail = static_cast<double>(draw) < settings_.error_ratio * 4294967296.0;
  bool spike =
      settings_.spike_every > 0 && ordinal % static_cast<uint64_t>(settings_.spike_every) == 0;
  int64_t delay_ms = spike ? settings_.spike_ms : settings_.latency_ms;
  REDGE_LOG(Debug, "message")
      .kv("n", ordinal)
      .kv("key", key)
      .kv("fail", fail)
      .kv("spike", spike)
      .kv("delay_ms", delay_ms);
  if (fail) {
    scheduleAnswer(responder, key, Outcome::Failed, settings_.fail_status, delay_ms);
  } else {
    scheduleAnswer(responder, key, Outcome::Delivered, 200, delay_ms);
  }
}

void FakeUpstream::scheduleAnswer(const HttpResponder& responder, std::string_view key,
                                  Outcome outcome, int status, int64_t delay_ms) {
  if (delay_ms <= 0) {
    sendAnswer(responder, key, outcome, status, settings_.retry_after_s, epoch_);
    return;
  }
  auto* a = new PendingAnswer{
      {},     this, responder, std::string(key), outcome, status, settings_.retry_after_s,
      epoch_, {},   false};
  uv_timer_init(loop_, &a->timer);
  a->timer.data = a;
  uv_timer_start(&a->timer, &onAnswerTimerCb, static_cast<uint64_t>(delay_ms), 0);
  pending_.insert(a);
}

// ---------------------------------------------------------------- echo

void FakeUpstream::onHealth(const HttpResponder& responder) {
  ++health_checks_;
  if (settings_.healthy) {
    sendJson(responder, 200, kOkBody);
  } else {
    responder.send(HttpResponse(503, kJson, redge::errorBody("unhealthy", "switched off.")));
  }
}

// The request as it arrived, so a test reads what a proxy in front changed:
// {"name","method","target","headers":[[name,value],...],"body_bytes",
// "body"} (body: its first 1024 bytes). The query may ask for a status
// (?status=503), a delay (?delay_ms=300) and hop-by-hop headers (?hop=1).
void FakeUpstream::onEcho(HttpRequest& request, const HttpResponder& responder) {
  ++echoed_;
  std::string_view query = request.query();
  auto param = [&](std::string_view name) -> int64_t {
    std::string needle = std::string(name) + "=";
    size_t at = query.find(needle);
    if (at == std::string_view::npos || (at > 0 && query[at - 1] != '&')) return -1;
    int64_t v = 0;
    std::string_view rest = query.substr(at + needle.size());
    auto r = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    return r.ec == std::errc() ? v : -1;
  };
  int64_t status = param("status");
  if (status < 200 || status > 599) status = settings_.echo_status;
  if (settings_.echo_fail_over_bytes > 0 &&
      static_cast<int64_t>(request.body().size()) > settings_.echo_fail_over_bytes) {
    status = settings_.fail_status;
  }
  int64_t delay = param("delay_ms");
  if (delay < 0 || delay > 3600000) delay = settings_.echo_delay_ms;
  bool hop = param("hop") == 1;
  // The caching fields, percent-decoded: cc=<Cache-Control>, etag=<tag>
  // (answered 304 without a body when If-None-Match names it), vary=<Vary>,
  // location=<Location> (what a write's answer may name), cache_tag=<Cache-Tag>
  // and surrogate_key=<Surrogate-Key> (the tags a purge may name),
  // nocookie=1 (no Set-Cookie, which would keep a shared cache from storing).
  auto text = [&](std::string_view name) -> std::string {
    std::string needle = std::string(name) + "=";
    size_t at = query.find(needle);
    while (at != std::string_view::npos && at > 0 && query[at - 1] != '&') {
      at = query.find(needle, at + 1);
    }
    if (at == std::string_view::npos) return {};
    std::string_view raw = query.substr(at + needle.size());
    raw = raw.substr(0, raw.find('&'));
    std::string out;
    if (!redge::percentDecode(raw, out)) return {};
    return out;
  };
  EchoHeaders echo_headers;
  echo_headers.cache_control = text("cc");
  echo_headers.vary = text("vary");
  echo_headers.location = text("location");
  echo_headers.cache_tag = text("cache_tag");
  echo_headers.surrogate_key = text("surrogate_key");
  echo_headers.cookies = param("nocookie") != 1;
  if (std::string tag = text("etag"); !tag.empty()) {
    echo_headers.etag = "\"" + tag + "\"";
    if (request.header("If-None-Match").find(echo_headers.etag) != std::string_view::npos) {
      ++not_modified_;
      sendEcho(responder, 304, {}, echo_headers, false);
      return;
    }
  }

  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](std::string_view v) {
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  w.Key("name");
  str(options_.name);
  w.Key("method");
  str(request.method_text);
  w.Key("target");
  str(request.target());
  w.Key("version");
  str(request.version_minor == 0 ? "1.0" : "1.1");
  w.Key("headers");
  w.StartArray();
  for (size_t i = 0; i < request.headerCount(); ++i) {
    w.StartArray();
    str(request.headerName(i));
    str(request.headerValue(i));
    w.EndArray();
  }
  w.EndArray();
  w.Key("body_bytes");
  w.Uint64(request.body().size());
  w.Key("body");
  str(std::string_view(request.body()).substr(0, 1024));
  w.EndObject();
  std::string body(buf.GetString(), buf.GetSize());
  if (delay <= 0) {
    sendEcho(responder, static_cast<int>(status), body, echo_headers, hop);
    return;
  }
  auto* a = new PendingAnswer{
      {}, this,   responder,       {},  Outcome::Echo,          static_cast<int>(status),
      0,  epoch_, std::move(body), hop, std::move(echo_headers)};
  uv_timer_init(loop_, &a->timer);
  a->timer.data = a;
  uv_timer_start(&a->timer, &onAnswerTimerCb, static_cast<uint64_t>(delay), 0);
  pending_.insert(a);
}

void FakeUpstream::sendEcho(const HttpResponder& responder, int status, const std::string& body,
                            const EchoHeaders& headers, bool hop) {
  HttpResponse r(status, kJson, body);
  if (status == 304) {
    r.content_type = {};
    r.content_length = HttpResponse::kNoContentLength;
  }
  r.header("X-Upstream", options_.name);
  if (headers.cookies) {
    r.header("Set-Cookie", "first=1");
    r.header("Set-Cookie", "second=2");
  }
  if (!headers.cache_control.empty()) r.header("Cache-Control", headers.cache_control);
  if (!headers.etag.empty()) r.header("ETag", headers.etag);
  if (!headers.vary.empty()) r.header("Vary", headers.vary);
  if (!headers.location.empty()) r.header("Location", headers.location);
  if (!headers.cache_tag.empty()) r.header("Cache-Tag", headers.cache_tag);
  if (!headers.surrogate_key.empty()) r.header("Surrogate-Key", headers.surrogate_key);
  if (hop) {
    r.header("Keep-Alive", "timeout=5");
    r.header("Connection", "X-Upstream-Hop");
    r.header("X-Upstream-Hop", "must not pass a proxy");
  }
  responder.send(r);
}

void FakeUpstream::onAnswerTimerCb(uv_timer_t* timer) noexcept {
  auto* a = static_cast<PendingAnswer*>(timer->data);
  if (a == nullptr || a->owner == nullptr) return;
  a->owner->onAnswerTimer(a);
}

void FakeUpstream::onAnswerTimer(PendingAnswer* a) {
  pending_.erase(a);
  if (a->outcome == Outcome::Echo) {
    sendEcho(a->responder, a->status, a->body, a->echo_headers, a->hop);
  } else {
    sendAnswer(a->responder, a->key, a->outcome, a->status, a->retry_after_s, a->epoch);
  }
  a->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&a->timer), &onAnswerClosedCb);
}

void FakeUpstream::onAnswerClosedCb(uv_handle_t* handle) noexcept {
  delete static_cast<PendingAnswer*>(handle->data);
}

void FakeUpstream::sendAnswer(const HttpResponder& responder, std::string_view key, Outcome outcome,
                              int status, int64_t retry_after_s, uint64_t epoch) {
  // Counted before sending: alive() is about this answer, and false once the
  // client has closed the connection (a timed-out relay, typically).
  if (epoch == epoch_) ledger_.recordAnswer(key, status, !responder.alive());
  if (outcome == Outcome::Delivered) {
    sendJson(responder, status, kOkBody);
    return;
  }
  // Simulated failures are expected traffic: sent as plain answers rather
  // than through sendError, which would log every one of them.
  std::string body =
      outcome == Outcome::Refused
          ? redge::errorBody("down", "fake_upstream is down on purpose.")
          : redge::errorBody("simulated_failure", "fake_upstream failed this request on purpose.");
  HttpResponse r(status, kJson, body);
  std::string retry_after = std::to_string(retry_after_s);
  if (retry_after_s > 0) r.header("Retry-After", retry_after);
  responder.send(r);
}

// ---------------------------------------------------------------- control

std::string FakeUpstream::settingsJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  writeSettingsObject(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void FakeUpstream::writeSettingsObject(rapidjson::Writer<rapidjson::StringBuffer>& w) const {
  w.StartObject();
  writeSettings(w, settings_);
  w.Key("seed");
  w.Uint(options_.seed);
  w.Key("port");
  w.Int(main_port_);
  w.Key("control_port");
  w.Int(control_ ? control_->port() : 0);
  // What the listener is about to be: the control answer goes out before a
  // wanted close happens.
  w.Key("listening");
  w.Bool(main_ != nullptr && wantMainOpen());
  w.EndObject();
}

void FakeUpstream::onControlGet(const HttpResponder& responder) {
  sendJson(responder, 200, settingsJson());
}

void FakeUpstream::onControlPost(HttpRequest& request, const HttpResponder& responder) {
  rapidjson::Document doc;
  // An empty body changes nothing, which retries a failed reopen.
  if (request.body().empty()) {
    doc.SetObject();
  } else {
    doc.Parse(request.body().data(), request.body().size());
  }
  if (doc.HasParseError() || !doc.IsObject()) {
    responder.sendError(400, "invalid_json", "The body must be a JSON object of settings.");
    return;
  }
  bool was_down = settings_.down;
  DownMode was_mode = settings_.down_mode;
  std::string err = applySettingsPatch(doc, settings_);
  if (!err.empty()) {
    responder.sendError(400, "invalid_setting", err);
    return;
  }
  if (was_down != settings_.down || was_mode != settings_.down_mode) {
    REDGE_LOG(Info, settings_.down ? "down" : "up")
        .kv("mode", downModeName(settings_.down_mode))
        .kv("was_down", was_down)
        .kv("was_mode", downModeName(was_mode));
  }
  REDGE_LOG(Info, "settings_changed")
      .kv("latency_ms", settings_.latency_ms)
      .kv("error_ratio", settings_.error_ratio)
      .kv("spike_every", settings_.spike_every)
      .kv("spike_ms", settings_.spike_ms)
      .kv("down", settings_.down)
      .kv("down_mode", downModeName(settings_.down_mode))
      .kv("fail_status", settings_.fail_status)
      .kv("retry_after_s", settings_.retry_after_s)
      .kv("healthy", settings_.healthy)
      .kv("echo_delay_ms", settings_.echo_delay_ms)
      .kv("echo_status", settings_.echo_status)
      .kv("echo_fail_over_bytes", settings_.echo_fail_over_bytes);
  dropParkedIfUnwanted();
  int rc = openMainIfWanted();
  if (rc != 0) {
    // The error body carries the settings, which did change: an error body
    // of its own, since sendError takes no nested object.
    std::string message = std::string("Could not listen again on the main port: ") +
                          uv_strerror(rc) + "; POST /control again to retry.";
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("error");
    w.String("listen_failed");
    w.Key("message");
    w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
    w.Key("settings");
    writeSettingsObject(w);
    w.EndObject();
    sendJson(responder, 500, std::string_view(buf.GetString(), buf.GetSize()));
    return;
  }
  sendJson(responder, 200, settingsJson());
  closeMainIfUnwanted();
}

void FakeUpstream::onStats(const HttpResponder& responder) {
  pruneParked();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  ledger_.writeStats(w);
  w.Key("pending");
  w.Uint64(pending_.size());
  w.Key("parked");
  w.Uint64(parked_.size());
  w.Key("echoed");
  w.Uint64(echoed_);
  w.Key("not_modified");
  w.Uint64(not_modified_);
  w.Key("health_checks");
  w.Uint64(health_checks_);
  w.EndObject();
  sendJson(responder, 200, std::string_view(buf.GetString(), buf.GetSize()));
}

void FakeUpstream::onReset(const HttpResponder& responder) {
  // A fresh run: counters, the request ordinal and the generator all start
  // over, so the decisions after a reset are those of a new process with the
  // same seed. Answers still pending for older requests go out uncounted.
  ledger_.reset();
  ordinal_ = 0;
  echoed_ = 0;
  not_modified_ = 0;
  health_checks_ = 0;
  ++epoch_;
  rng_.seed(options_.seed);
  sendJson(responder, 200, kOkBody);
}

}  // namespace redge_test
