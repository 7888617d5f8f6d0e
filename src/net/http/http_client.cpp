// HttpClientPool: the upstream's connections, the idle list, streamed
// exchanges started on them, the buffered send() as a handler over a
// streamed exchange, the retry for the keep-alive race, and the client's
// metrics.

#include "net/http/http_client.hpp"

#include <strings.h>

#include <algorithm>

#include "net/http/http_client_connection.hpp"

namespace redge {

std::string_view httpClientErrorName(HttpClientError e) {
  switch (e) {
    case HttpClientError::None:
      return "ok";
    case HttpClientError::Connect:
      return "connect_error";
    case HttpClientError::ConnectTimeout:
      return "connect_timeout";
    case HttpClientError::Timeout:
      return "timeout";
    case HttpClientError::Reset:
      return "reset";
    case HttpClientError::BadResponse:
      return "bad_response";
    case HttpClientError::TooLarge:
      return "too_large";
    case HttpClientError::Closed:
      return "closed";
  }
  return "unknown";
}

namespace {

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string_view HttpClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (sameName(k, name)) return v;
  }
  return {};
}

// ---------------------------------------------------------------- response head

void HttpClientResponseHead::reset() {
  status = 0;
  version_major = 1;
  version_minor = 1;
  content_length = -1;
  chunked = false;
  arena_.clear();
  spans_.clear();
  reason_off_ = 0;
  reason_len_ = 0;
  in_name_ = false;
}

void HttpClientResponseHead::appendReason(std::string_view s) {
  if (reason_len_ == 0) reason_off_ = static_cast<uint32_t>(arena_.size());
  arena_.append(s);
  reason_len_ += static_cast<uint32_t>(s.size());
}

void HttpClientResponseHead::appendName(std::string_view s) {
  if (!in_name_) {
    uint32_t off = static_cast<uint32_t>(arena_.size());
    spans_.push_back({off, 0, off, 0});
    in_name_ = true;
  }
  arena_.append(s);
  spans_.back().name_len += static_cast<uint32_t>(s.size());
  spans_.back().value_off = static_cast<uint32_t>(arena_.size());
}

void HttpClientResponseHead::appendValue(std::string_view s) {
  if (spans_.empty()) return;
  arena_.append(s);
  spans_.back().value_len += static_cast<uint32_t>(s.size());
}

std::string_view HttpClientResponseHead::header(std::string_view name) const {
  for (size_t i = 0; i < spans_.size(); ++i) {
    if (sameName(headerName(i), name)) return headerValue(i);
  }
  return {};
}

// ---------------------------------------------------------------- stream handle

bool HttpClientStream::writeBody(std::string_view data) {
  return connection_ != nullptr && connection_->writeBody(data);
}

void HttpClientStream::endRequest() {
  if (connection_ != nullptr) connection_->endRequest();
}

bool HttpClientStream::requestWantsMore() {
  return connection_ != nullptr && connection_->requestWantsMore();
}

void HttpClientStream::pauseResponse() {
  if (connection_ != nullptr) connection_->pauseResponse();
}

void HttpClientStream::resumeResponse() {
  if (connection_ != nullptr) connection_->resumeResponse();
}

void HttpClientStream::abort() {
  if (connection_ == nullptr) return;
  HttpClientConnection* c = connection_;
  connection_ = nullptr;
  c->abandon();
}

// ---------------------------------------------------------------- buffered send

// A buffered request as a streamed exchange: the body written at once, the
// response collected, the callback run once; it deletes itself after.
class HttpClientPool::BufferedExchange final : public HttpClientStreamHandler {
 public:
  BufferedExchange(HttpClientPool& pool, HttpClientRequest request, HttpClientCallback cb)
      : pool_(pool), request_(std::move(request)), cb_(std::move(cb)), stream_(*this) {}

  void start() {
    HttpClientStreamRequest r;
    r.method = request_.method;
    r.target = request_.target;
    r.headers.reserve(request_.headers.size());
    for (const auto& [name, value] : request_.headers) r.headers.emplace_back(name, value);
    if (!request_.authority.empty()) r.headers.emplace_back("Host", request_.authority);
    r.content_length = static_cast<int64_t>(request_.body.size());
    // One deadline over the whole exchange, connecting included.
    r.connect_timeout_ms = request_.connect_timeout_ms > 0
                               ? std::min(request_.connect_timeout_ms, request_.timeout_ms)
                               : request_.timeout_ms;
    r.response_timeout_ms = request_.timeout_ms;
    r.total_timeout_ms = request_.timeout_ms;
    // The whole request is in memory anyway: it can always be sent again.
    HttpClientError e = pool_.startStream(r, stream_, SIZE_MAX);
    if (e != HttpClientError::None) {
      finish(e, nullptr);
      return;
    }
    if (!request_.body.empty()) stream_.writeBody(request_.body);
    stream_.endRequest();
  }

  void onResponseHead(const HttpClientResponseHead& head) override {
    response_.status = head.status;
    response_.headers.reserve(head.headerCount());
    for (size_t i = 0; i < head.headerCount(); ++i) {
      response_.headers.emplace_back(head.headerName(i), head.headerValue(i));
    }
    if (head.status == 101) {
      // Nothing here speaks another protocol: the head is the answer.
      stream_.abort();
      finish(HttpClientError::None, &response_);
    }
  }
  void onResponseData(std::string_view data) override {
    if (static_cast<int64_t>(response_.body.size() + data.size()) >
        pool_.options().max_response_bytes) {
      stream_.abort();
      pool_.record(HttpClientError::TooLarge, 0, started_us_);
      finish(HttpClientError::TooLarge, nullptr);
      return;
    }
    response_.body.append(data);
  }
  void onResponseEnd() override { finish(HttpClientError::None, &response_); }
  void onError(const HttpClientFailure& failure) override { finish(failure.error, nullptr); }

 private:
  void finish(HttpClientError error, const HttpClientResponse* response) {
    HttpClientCallback cb = std::move(cb_);
    HttpClientResponse kept = response != nullptr ? std::move(response_) : HttpClientResponse{};
    delete this;
    cb(error, response != nullptr ? &kept : nullptr);
  }

  HttpClientPool& pool_;
  HttpClientRequest request_;
  HttpClientCallback cb_;
  HttpClientResponse response_;
  HttpClientStream stream_;
  int64_t started_us_ = static_cast<int64_t>(uv_hrtime() / 1000);
};

// ---------------------------------------------------------------- pool

HttpClientPool::HttpClientPool(uv_loop_t* loop, MetricsRegistry& metrics,
                               HttpClientPoolOptions options)
    : loop_(loop),
      options_(std::move(options)),
      read_buffer_(new char[kReadBufferSize]),
      open_gauge_(metrics.gauge("redge_http_client_connections_open",
                                "Upstream connections open, by client",
                                {{"client", options_.name}})),
      duration_(metrics.histogram("redge_http_client_duration_seconds",
                                  "Upstream request time, by client", {{"client", options_.name}})),
      reused_counter_(metrics.counter(
          "redge_http_client_connection_reuse_total",
          "Upstream requests by client, on a kept-alive connection (reused) or a new one (new)",
          {{"client", options_.name}, {"connection", "reused"}})),
      new_counter_(metrics.counter(
          "redge_http_client_connection_reuse_total",
          "Upstream requests by client, on a kept-alive connection (reused) or a new one (new)",
          {{"client", options_.name}, {"connection", "new"}})) {
  // Every outcome's counter bound once, so a request costs an index, not a
  // label string and two map lookups.
  auto outcome = [&](std::string name) {
    return &metrics.counter("redge_http_client_requests_total",
                            "Upstream requests by client and outcome",
                            {{"client", options_.name}, {"outcome", std::move(name)}});
  };
  for (int cls = 1; cls <= 5; ++cls)
    by_status_class_[cls - 1] = outcome(std::to_string(cls) + "xx");
  for (size_t e = 1; e < kErrorKinds; ++e) {
    by_error_[e] = outcome(std::string(httpClientErrorName(static_cast<HttpClientError>(e))));
  }
  if (options_.authority.empty()) {
    options_.authority = options_.host.find(':') != std::string::npos
                             ? "[" + options_.host + "]:" + std::to_string(options_.port)
                             : options_.host + ":" + std::to_string(options_.port);
  }
}

HttpClientPool::~HttpClientPool() = default;  // close() and a loop run come first

void HttpClientPool::send(HttpClientRequest request, HttpClientCallback cb) {
  (new BufferedExchange(*this, std::move(request), std::move(cb)))->start();
}

HttpClientError HttpClientPool::stream(const HttpClientStreamRequest& request,
                                       HttpClientStream& stream) {
  return startStream(request, stream, kReplayBytes);
}

HttpClientError HttpClientPool::startStream(const HttpClientStreamRequest& request,
                                            HttpClientStream& stream, size_t replay_limit) {
  ExchangeState x;
  x.started_us = static_cast<int64_t>(uv_hrtime() / 1000);
  if (closing_) {
    record(HttpClientError::Closed, 0, x.started_us);
    return HttpClientError::Closed;
  }
  stream.abort();  // a stream object used again: its earlier exchange ends
  x.stream = &stream;
  x.connect_timeout_ms = request.connect_timeout_ms;
  x.response_timeout_ms = request.response_timeout_ms;
  if (request.total_timeout_ms > 0) {
    x.total_deadline_ms = uv_now(loop_) + static_cast<uint64_t>(request.total_timeout_ms);
  }
  x.replay_limit = replay_limit;
  x.head_request = request.method == "HEAD";
  x.chunked = request.content_length < 0;
  HttpClientConnection* c;
  if (!idle_.empty()) {
    c = idle_.back();
    idle_.pop_back();
    ++reused_requests_;
    reused_counter_.inc();
  } else {
    c = newConnection();
    if (c->connect() != 0) {
      c->close();
      record(HttpClientError::Connect, 0, x.started_us);
      return HttpClientError::Connect;
    }
    ++new_connection_requests_;
    new_counter_.inc();
  }
  c->begin(x, request);
  return HttpClientError::None;
}

void HttpClientPool::retryOnFreshConnection(const ExchangeState& exchange,
                                            const std::string& bytes) {
  HttpClientConnection* c = newConnection();
  ++new_connection_requests_;
  new_counter_.inc();
  if (c->connect() != 0) {
    c->close();
    record(HttpClientError::Connect, 0, exchange.started_us);
    HttpClientFailure f;
    f.error = HttpClientError::Connect;
    if (exchange.stream != nullptr) exchange.stream->handler_.onError(f);
    return;
  }
  c->beginAgain(exchange, bytes);
}

HttpClientConnection* HttpClientPool::newConnection() {
  auto* c = new HttpClientConnection(*this);
  connections_.insert(c);
  open_gauge_.set(static_cast<double>(connections_.size()));
  return c;
}

bool HttpClientPool::keepIdle(HttpClientConnection* c) {
  if (closing_ || idle_.size() >= options_.max_idle) return false;
  idle_.push_back(c);
  return true;
}

void HttpClientPool::dropIdle(HttpClientConnection* c) {
  auto it = std::find(idle_.begin(), idle_.end(), c);
  if (it != idle_.end()) idle_.erase(it);
}

void HttpClientPool::release(HttpClientConnection* c) {
  connections_.erase(c);
  open_gauge_.set(static_cast<double>(connections_.size()));
  delete c;
}

void HttpClientPool::record(HttpClientError error, int status, int64_t started_us) {
  if (error != HttpClientError::None) {
    by_error_[static_cast<size_t>(error)]->inc();
  } else if (status >= 100 && status <= 599) {
    by_status_class_[status / 100 - 1]->inc();
  }
  duration_.observe(static_cast<double>(static_cast<int64_t>(uv_hrtime() / 1000) - started_us) /
                    1e6);
}

void HttpClientPool::close() {
  if (closing_) return;
  closing_ = true;
  idle_.clear();
  std::vector<HttpClientConnection*> all(connections_.begin(), connections_.end());
  for (HttpClientConnection* c : all) c->close();
}

}  // namespace redge
