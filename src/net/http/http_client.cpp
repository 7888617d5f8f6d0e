// HttpClientPool: the upstream's connections, the idle list, the one retry
// for the keep-alive race, and the client's metrics.

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

std::string_view HttpClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
  }
  return {};
}

HttpClientPool::HttpClientPool(uv_loop_t* loop, MetricsRegistry& metrics,
                               HttpClientPoolOptions options)
    : loop_(loop),
      options_(std::move(options)),
      open_gauge_(metrics.gauge("redge_http_client_connections_open",
                                "Upstream connections open, by client",
                                {{"client", options_.name}})),
      duration_(metrics.histogram("redge_http_client_duration_seconds",
                                  "Upstream request time, by client",
                                  {{"client", options_.name}})) {
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
  start(std::move(request), std::move(cb), static_cast<int64_t>(uv_hrtime() / 1000), false);
}

void HttpClientPool::retryOnFreshConnection(HttpClientRequest request, HttpClientCallback cb,
                                            int64_t started_us) {
  start(std::move(request), std::move(cb), started_us, true);
}

void HttpClientPool::start(HttpClientRequest request, HttpClientCallback cb, int64_t started_us,
                           bool retried) {
  if (closing_) {
    record(HttpClientError::Closed, 0, started_us);
    cb(HttpClientError::Closed, nullptr);
    return;
  }
  if (!retried && !idle_.empty()) {
    HttpClientConnection* c = idle_.back();
    idle_.pop_back();
    c->start(std::move(request), std::move(cb), started_us, retried);
    return;
  }
  auto* c = new HttpClientConnection(*this);
  connections_.insert(c);
  open_gauge_.set(static_cast<double>(connections_.size()));
  int rc = c->connect();  // initialises the handles, even when it fails
  c->start(std::move(request), std::move(cb), started_us, retried);
  if (rc != 0) c->finish(HttpClientError::Connect);
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
