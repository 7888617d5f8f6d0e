#pragma once
// The app service on its own listener: hello, the self-destructing message
// (/set, /get), the recently visited URLs (/recent) and the image stack
// (/upload, /meow). Its Redis keys live under <prefix>app:.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "net/http/http_server.hpp"
#include "redis/redis_client.hpp"
#include "redis/replica_reads.hpp"
#include "services/app/recent_urls.hpp"
#include "services/service.hpp"

namespace redge {

// The app's configuration section (app.*), and what the service takes.
struct AppOptions {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int64_t port = 3000;
  int64_t message_ttl_s = 10;
  int64_t recent_size = 5;
  int64_t max_images = 100;
  int64_t max_upload_bytes = 8388608;
  // Route pattern -> feature flag: while the flag is off for a request the
  // route answers 404 feature_disabled (flags/flag_route_guard.hpp).
  std::map<std::string, std::string> flags;
  // Not a key of its own: redis.key_prefix, filled in by the module.
  std::string key_prefix = "redge:";
};

class AppService final : public Service {
 public:
  // Declares the routes on `server`; batches /recent from an after-poll hook.
  // /recent reads through `reads` (attached for this service; detached in
  // close()).
  AppService(Runtime& runtime, HttpServer& server, RedisClient& redis,
             std::shared_ptr<ReplicaReads> reads, AppOptions options);
  AppService(const AppService&) = delete;
  AppService& operator=(const AppService&) = delete;

  void start() override;
  void close(std::function<void()> done) override;

  static constexpr std::string_view kMessage = "this message will self-destruct in 10 seconds";

 private:
  void hello(HttpRequest& req, const HttpResponder& res);
  void set(HttpRequest& req, const HttpResponder& res);
  void get(HttpRequest& req, const HttpResponder& res);
  void recent(HttpRequest& req, const HttpResponder& res);
  void upload(HttpRequest& req, const HttpResponder& res);
  void meow(HttpRequest& req, const HttpResponder& res);

  // Every request is recorded; the batch goes to Redis at the end of the
  // loop iteration (or just before /recent reads the list), as one LPUSH +
  // LTRIM however many requests arrived.
  void flushRecent();

  LoopHooks& hooks_;
  LoopHooks::HookId flush_hook_ = 0;
  HttpServer& server_;
  RedisClient& redis_;
  std::shared_ptr<ReplicaReads> reads_;
  bool closed_ = false;
  AppOptions options_;
  std::string message_key_;
  std::string recent_key_;
  std::string images_key_;
  std::string recent_trim_stop_;
  RecentUrls recent_;
  std::vector<std::string_view> recent_args_;
  Counter& images_stored_;
  Counter& images_served_;
};

}  // namespace redge
