// HttpHealthProbe: the HTTP client pools the active checks go through, one
// per member, and their close path (a removed member's pool waits in
// closing_ until its connections are gone, then is freed).

#include "upstream/http_health_probe.hpp"

#include <algorithm>
#include <utility>

namespace redge {

HttpHealthProbe::HttpHealthProbe(uv_loop_t* loop, MetricsRegistry& metrics, std::string pool)
    : loop_(loop), metrics_(metrics), pool_(std::move(pool)) {}

// close() and a loop run until closed() come first; a pool is only freed
// once it has no connection left.
HttpHealthProbe::~HttpHealthProbe() = default;

bool HttpHealthProbe::addMember(uint32_t member, const std::string& name, const std::string& host,
                                int port, const std::string& authority) {
  if (closed_) return false;
  reapClosing();
  if (member >= clients_.size()) clients_.resize(static_cast<size_t>(member) + 1);
  if (clients_[member]) return false;
  HttpClientPoolOptions o;
  o.name = "health/" + pool_ + "/" + name;
  o.host = host;
  o.port = port;
  o.authority = authority;
  o.max_idle = 1;
  o.idle_timeout_ms = kIdleTimeoutMs;
  o.max_response_bytes = kMaxResponseBytes;
  clients_[member] = std::make_unique<HttpClientPool>(loop_, metrics_, std::move(o));
  return true;
}

bool HttpHealthProbe::removeMember(uint32_t member) {
  if (member >= clients_.size() || !clients_[member]) return false;
  // Out of clients_ first: the Closed answer close() gives a probe in flight
  // may lead straight to a new probe, which must not find this pool.
  std::unique_ptr<HttpClientPool> client = std::move(clients_[member]);
  HttpClientPool& c = *client;
  closing_.push_back(std::move(client));
  c.close();
  return true;
}

void HttpHealthProbe::probe(uint32_t member, std::string_view path, int64_t timeout_ms,
                            HealthProbeCallback cb) {
  reapClosing();
  if (closed_ || member >= clients_.size() || !clients_[member]) {
    cb(HttpClientError::Closed, 0);
    return;
  }
  HttpClientRequest request;
  request.method = "GET";
  request.target.assign(path);
  request.headers.emplace_back("User-Agent", "redge-health-check");
  request.timeout_ms = timeout_ms;
  clients_[member]->send(
      std::move(request),
      [cb = std::move(cb)](HttpClientError error, const HttpClientResponse* response) {
        cb(error, response != nullptr ? response->status : 0);
      });
}

void HttpHealthProbe::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& client : clients_) {
    if (!client) continue;
    HttpClientPool& c = *client;
    closing_.push_back(std::move(client));
    c.close();
  }
  clients_.clear();
}

bool HttpHealthProbe::closed() {
  reapClosing();
  return closed_ && closing_.empty();
}

void HttpHealthProbe::reapClosing() {
  // A pool with no connection left has no callback pending: freeing it is safe.
  closing_.erase(std::remove_if(closing_.begin(), closing_.end(),
                                [](const std::unique_ptr<HttpClientPool>& c) {
                                  return c->openConnections() == 0;
                                }),
                 closing_.end());
}

}  // namespace redge
