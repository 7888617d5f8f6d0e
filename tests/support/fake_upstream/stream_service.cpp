// StreamService: the behaviours of the fake upstream's streaming listener,
// one Exchange object per request, chosen by path (see README.md).
//
// Every body written here follows the exchange's backpressure: a piece at a
// time while wantsMore(), then onResponseDrained() for the next; every body
// read can be slowed by pausing the request and resuming on a timer. So the
// service itself holds at most a piece or two per exchange, whatever the
// sizes it is asked for.

#include "stream_service.hpp"

#include <charconv>
#include <cstring>
#include <string_view>

#include "core/log.hpp"
#include "core/timer.hpp"
#include "net/http/http_response.hpp"

namespace redge_test {
namespace {

using redge::HttpExchange;
using redge::HttpRequest;
using redge::HttpResponse;
using redge::HttpStreamHead;

constexpr size_t kPiece = 64 << 10;

// kPiece bytes of the pattern starting at any offset: the piece for offset o
// starts at pattern()[o % 251].
const char* pattern() {
  static const std::string bytes = [] {
    std::string s(kPiece + 251, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = patternByte(i);
    return s;
  }();
  return bytes.data();
}

// The integer value of `name` in a query string ("a=1&b=2"), or `fallback`.
int64_t queryInt(std::string_view query, std::string_view name, int64_t fallback) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string_view value = pair.substr(eq + 1);
    int64_t n = 0;
    auto res = std::from_chars(value.data(), value.data() + value.size(), n);
    if (res.ec == std::errc() && res.ptr == value.data() + value.size()) return n;
  }
  return fallback;
}

// "/bytes/123" with prefix "/bytes/" -> 123; -1 if not a number.
int64_t pathNumber(std::string_view path, std::string_view prefix) {
  std::string_view rest = path.substr(prefix.size());
  int64_t n = 0;
  auto res = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  return res.ec == std::errc() && res.ptr == rest.data() + rest.size() ? n : -1;
}

}  // namespace

class StreamService::Exchange final : public redge::HttpStreamHandler {
 public:
  enum class Kind {
    Plain,        // 200 naming the request
    Headers,      // 200 listing the request's header lines
    Bytes,        // /bytes/N: N pattern bytes (?chunked=1, ?pause_ms=, ?every=)
    Sink,         // /sink: reads the body (?pause_ms=, ?every=), answers its size and check
    Echo,         // /echo: the body back as it comes (chunked unless its length is known)
    Hints,        // /hints: a 103, then 200
    Upgrade,      // /upgrade: a 101, then every tunnel byte echoed
    ResetBefore,  // /reset-before-head: the connection closed, no answer
    ResetAfter,   // /reset-after-head: a head announcing more than is sent, then closed
    Hang,         // /hang: never answered
    Delay,        // /delay/MS: 200 after MS
    Status,       // /status/N: that status
  };

  Exchange(StreamService& service, const HttpExchange& exchange, HttpRequest& request)
      : service_(service), exchange_(exchange) {
    std::string_view path = request.path();
    std::string_view query = request.query();
    head_request_ = request.method == redge::HttpMethod::Head;
    pause_ms_ = queryInt(query, "pause_ms", 0);
    pause_every_ = queryInt(query, "every", static_cast<int64_t>(kPiece));
    if (path.rfind("/bytes/", 0) == 0) {
      kind_ = Kind::Bytes;
      total_ = pathNumber(path, "/bytes/");
      chunked_ = queryInt(query, "chunked", 0) != 0;
    } else if (path == "/sink") {
      kind_ = Kind::Sink;
    } else if (path == "/echo") {
      kind_ = Kind::Echo;
    } else if (path == "/hints") {
      kind_ = Kind::Hints;
    } else if (path == "/upgrade") {
      kind_ = Kind::Upgrade;
    } else if (path == "/reset-before-head") {
      kind_ = Kind::ResetBefore;
    } else if (path == "/reset-after-head") {
      kind_ = Kind::ResetAfter;
    } else if (path == "/hang") {
      kind_ = Kind::Hang;
    } else if (path.rfind("/delay/", 0) == 0) {
      kind_ = Kind::Delay;
      total_ = pathNumber(path, "/delay/");
    } else if (path.rfind("/status/", 0) == 0) {
      kind_ = Kind::Status;
      total_ = pathNumber(path, "/status/");
    } else if (path == "/headers") {
      kind_ = Kind::Headers;
      for (size_t i = 0; i < request.headerCount(); ++i) {
        text_.append(request.headerName(i)).append(": ").append(request.headerValue(i));
        text_.push_back('\n');
      }
    } else {
      kind_ = Kind::Plain;
      text_ = "stream upstream: " + std::string(request.method_text) + " " + request.target();
    }
    timer_ = service_.runtime_.timers.createTimer([this] { onTimer(); });
  }

  bool done() const { return done_; }

  void start() {
    exchange_.attach(this);
    if (kind_ == Kind::Echo) {
      HttpStreamHead head;
      head.content_length = exchange_.requestBodyLength();
      if (head.content_length == 0) head.content_length = -1;
      exchange_.writeHead(head);
    }
  }

  void onRequestData(std::string_view data) override {
    if (upgraded_) {
      // The tunnel: every byte back, as fast as the client reads.
      if (!exchange_.writeBody(data)) return;
      if (!exchange_.wantsMore()) exchange_.pauseRequest();
      return;
    }
    if (kind_ == Kind::Sink || kind_ == Kind::Echo) {
      for (size_t off = 0; off < data.size() && pattern_ok_; off += kPiece) {
        size_t n = std::min(kPiece, data.size() - off);
        uint64_t at = static_cast<uint64_t>(received_) + off;
        if (std::memcmp(data.data() + off, pattern() + at % 251, n) != 0) pattern_ok_ = false;
      }
      received_ += static_cast<int64_t>(data.size());
      service_.sink_bytes_ += data.size();
      if (kind_ == Kind::Echo) {
        exchange_.writeBody(data);
        if (!exchange_.wantsMore()) exchange_.pauseRequest();
      }
      slowDown(data.size());
    }
  }

  void onRequestEnd() override {
    switch (kind_) {
      case Kind::Plain:
      case Kind::Headers:
        respond(200, text_);
        break;
      case Kind::Bytes: {
        if (total_ < 0) {
          respond(404, "no such size");
          break;
        }
        HttpStreamHead head;
        head.headers.emplace_back("Content-Type", "application/octet-stream");
        head.content_length = chunked_ ? -1 : total_;
        exchange_.writeHead(head);
        if (head_request_) {
          finishAnswer();
          break;
        }
        pump();
        break;
      }
      case Kind::Sink: {
        std::string body = "{\"bytes\":" + std::to_string(received_) +
                           ",\"pattern_ok\":" + (pattern_ok_ ? "true" : "false") + "}";
        respond(200, body, "application/json");
        break;
      }
      case Kind::Echo:
        finishAnswer();
        break;
      case Kind::Hints: {
        std::vector<std::pair<std::string_view, std::string_view>> hints = {
            {"Link", "</style.css>; rel=preload; as=style"}};
        exchange_.writeInterim(103, hints);
        respond(200, "hinted");
        break;
      }
      case Kind::Upgrade: {
        if (!exchange_.upgradeRequested()) {
          respond(426, "upgrade required");
          break;
        }
        HttpStreamHead head;
        head.status = 101;
        head.headers.emplace_back("Upgrade", "websocket");
        head.headers.emplace_back("Connection", "Upgrade");
        exchange_.writeHead(head);
        upgraded_ = true;
        break;
      }
      case Kind::ResetBefore:
        exchange_.abort();
        done_ = true;
        break;
      case Kind::ResetAfter: {
        HttpStreamHead head;
        head.content_length = 100000;
        exchange_.writeHead(head);
        exchange_.writeBody(std::string_view(pattern(), 1000));
        // Closed once those bytes are out, not before: the client must see
        // a head, then a cut.
        timer_->enable(50);
        break;
      }
      case Kind::Hang:
        break;
      case Kind::Delay:
        timer_->enable(total_ < 0 ? 0 : total_);
        break;
      case Kind::Status:
        respond(total_ < 100 || total_ > 599 ? 400 : static_cast<int>(total_), "status");
        break;
    }
  }

  void onResponseDrained() override {
    if (upgraded_ || kind_ == Kind::Echo) {
      exchange_.resumeRequest();
    } else if (kind_ == Kind::Bytes) {
      pump();
    }
  }

  void onClosed() override {
    ++service_.client_closed_;
    done_ = true;
  }

 private:
  void respond(int status, std::string_view body, std::string_view type = "text/plain") {
    exchange_.respond(HttpResponse(status, type, body));
    done_ = true;
  }

  void finishAnswer() {
    exchange_.end();
    done_ = true;
  }

  // Writes pattern pieces while the client takes them; the rest on
  // onResponseDrained() or, for a slow writer, after its pause.
  void pump() {
    while (sent_ < total_ && exchange_.wantsMore() && !paused_) {
      size_t n = static_cast<size_t>(std::min<int64_t>(total_ - sent_, kPiece));
      if (!exchange_.writeBody(std::string_view(pattern() + sent_ % 251, n))) return;
      sent_ += static_cast<int64_t>(n);
      if (pause_ms_ > 0 && (since_pause_ += n) >= static_cast<uint64_t>(pause_every_)) {
        since_pause_ = 0;
        paused_ = true;
        timer_->enable(pause_ms_);
      }
    }
    if (sent_ >= total_) finishAnswer();
  }

  // A slow reader: after every `every` bytes, reading stops for pause_ms.
  void slowDown(size_t n) {
    if (pause_ms_ <= 0) return;
    since_pause_ += n;
    if (since_pause_ < static_cast<uint64_t>(pause_every_)) return;
    since_pause_ = 0;
    paused_ = true;
    exchange_.pauseRequest();
    timer_->enable(pause_ms_);
  }

  void onTimer() {
    if (done_) return;
    switch (kind_) {
      case Kind::ResetAfter:
        exchange_.abort();
        done_ = true;
        break;
      case Kind::Delay:
        respond(200, "delayed");
        break;
      case Kind::Bytes:
        paused_ = false;
        pump();
        break;
      case Kind::Sink:
      case Kind::Echo:
        paused_ = false;
        exchange_.resumeRequest();
        break;
      default:
        break;
    }
  }

  StreamService& service_;
  HttpExchange exchange_;
  Kind kind_ = Kind::Plain;
  std::string text_;
  redge::TimerPtr timer_;
  bool head_request_ = false;
  bool chunked_ = false;
  bool upgraded_ = false;
  bool paused_ = false;
  bool pattern_ok_ = true;
  bool done_ = false;
  int64_t total_ = 0;
  int64_t sent_ = 0;
  int64_t received_ = 0;
  int64_t pause_ms_ = 0;
  int64_t pause_every_ = 0;
  uint64_t since_pause_ = 0;
};

StreamService::StreamService(redge::Runtime& runtime) : runtime_(runtime) {
  hook_ = runtime_.hooks.addAfterPoll([this] { reap(); });
}

StreamService::~StreamService() {
  close();
}

void StreamService::attach(redge::HttpServer& server) {
  server.streamAll("stream", [this](HttpRequest& request, const HttpExchange& exchange) {
    onRequest(request, exchange);
  });
}

void StreamService::onRequest(HttpRequest& request, const HttpExchange& exchange) {
  ++exchanges_;
  live_.push_back(std::make_unique<Exchange>(*this, exchange, request));
  live_.back()->start();
}

void StreamService::reap() {
  std::erase_if(live_, [](const std::unique_ptr<Exchange>& e) { return e->done(); });
}

void StreamService::close() {
  if (hook_ != 0) {
    runtime_.hooks.remove(hook_);
    hook_ = 0;
  }
  live_.clear();
}

std::string StreamService::statsJson() const {
  size_t open = 0;
  for (const auto& e : live_) open += e->done() ? 0 : 1;
  return "{\"exchanges\":" + std::to_string(exchanges_) + ",\"open\":" + std::to_string(open) +
         ",\"client_closed\":" + std::to_string(client_closed_) +
         ",\"sink_bytes\":" + std::to_string(sink_bytes_) + "}";
}

}  // namespace redge_test
