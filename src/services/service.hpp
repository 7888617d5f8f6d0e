#pragma once
// The module seam. A Module declares its configuration section and, when
// enabled, creates its Service from a ModuleContext: the Runtime, the shared
// Redis client and the listeners modules create through it. The daemon then
// runs every service and listener alike: listen, start, drain on SIGTERM,
// close. Adding a module is one folder under services/ (or ops/) and one line
// in src/modules.cpp; nothing in core or main changes.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "core/config.hpp"
#include "core/runtime.hpp"
#include "net/http/http_server.hpp"
#include "net/listener.hpp"
#include "net/resp/resp_server.hpp"
#include "redis/redis_client.hpp"

namespace redge {

class Service {
 public:
  virtual ~Service() = default;
  // Every listener listens and Redis is connecting: begin background work.
  virtual void start() {}
  // SIGTERM: take no new work; what is in flight may finish.
  virtual void beginDrain() {}
  // Work in flight the drain waits for, besides open connections.
  virtual size_t inflight() const { return 0; }
  // SIGHUP: `next` is the configuration read again, valid as a whole. Apply
  // what can change while serving and append the dotted paths of the keys
  // this service takes live to `live` (whether or not they changed); the
  // daemon names every other changed key as needing a restart. The service
  // must not keep a reference to `next`. Default: nothing is live.
  virtual void reload(const Config& /*next*/, std::vector<std::string>& /*live*/) {}
  // The one close path: stop timers, close handles; `done` runs once, after
  // the last of them has closed. Idempotent.
  virtual void close(std::function<void()> done) = 0;
};

// What a module's create() is handed. The daemon keeps it until the services
// are destroyed, so a service may hold on to it.
class ModuleContext {
 public:
  ModuleContext(Runtime& runtime, const Config& config, RedisClient& redis,
                const RedisClientOptions& redis_options)
      : runtime_(runtime), config_(config), redis_(redis), redis_options_(redis_options) {}

  Runtime& runtime() { return runtime_; }
  const Config& config() const { return config_; }
  RedisClient& redis() { return redis_; }
  // How the shared client connects (for a module that needs a connection of
  // its own, e.g. a subscriber).
  const RedisClientOptions& redisOptions() const { return redis_options_; }

  // The http.* limits with this listener's name and address.
  HttpServerOptions httpServerOptions(std::string service, const std::string& bind,
                                      int64_t port) const;
  // Listeners the daemon will listen on, drain and close.
  HttpServer& addHttpServer(HttpServerOptions options);
  RespServer& addRespServer(RespServerOptions options, RespHandler handler);
  // Another module's HTTP listener, to mount routes on it (the relay on app).
  HttpServer* findHttpServer(std::string_view service) const;

  std::vector<std::unique_ptr<Listener>> takeListeners() { return std::move(listeners_); }

  // One object per type that a module offers the modules created after it
  // (the discovery module's ServiceRegistry, for the gateway). The provider
  // owns it and keeps it until the services are destroyed.
  template <class T>
  void provide(T& object) {
    provided_[std::type_index(typeid(T))] = &object;
  }
  template <class T>
  T* find() const {
    auto it = provided_.find(std::type_index(typeid(T)));
    return it == provided_.end() ? nullptr : static_cast<T*>(it->second);
  }

  // Stops the process gracefully, as SIGTERM does (a module told to stop
  // through Redis). Idempotent; a drain already under way goes on.
  void requestStop() const {
    if (stop_) stop_();
  }
  // Set by the daemon.
  void setStopHandler(std::function<void()> handler) { stop_ = std::move(handler); }

 private:
  Runtime& runtime_;
  const Config& config_;
  RedisClient& redis_;
  const RedisClientOptions& redis_options_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<HttpServer*> http_servers_;
  std::unordered_map<std::type_index, void*> provided_;
  std::function<void()> stop_;
};

struct Module {
  std::string_view name;
  // Declares the module's section (and its cross-key rules).
  void (*declareKeys)(ConfigSchema& schema);
  bool (*enabled)(const Config& config);
  // Checks what the schema cannot before anything starts (a host that does
  // not resolve), filling derived fields of its section. May be null.
  std::optional<ConfigError> (*prepare)(Config& config);
  // Creates the service; null when there is nothing to run (logged).
  std::unique_ptr<Service> (*create)(ModuleContext& context);
};

}  // namespace redge
