#pragma once
// The app service on its own listener: hello, the self-destructing message
// (/set, /get), the recently visited URLs (/recent) and the image stack
// (/upload, /meow). Its Redis keys live under <prefix>app:.

#include <uv.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "redis/redis_client.hpp"
#include "services/app/recent_urls.hpp"

namespace redge {

struct AppOptions {
  std::string key_prefix = "redge:";
  int64_t message_ttl_s = 10;
  int64_t recent_size = 5;
  int64_t max_images = 100;
  int64_t max_upload_bytes = 8388608;
};

class AppService {
 public:
  // Declares the routes on `server`. Owns one uv_check_t (closed by close()).
  AppService(uv_loop_t* loop, HttpServer& server, RedisClient& redis, MetricsRegistry& metrics,
             AppOptions options);
  AppService(const AppService&) = delete;
  AppService& operator=(const AppService&) = delete;

  void close();
  bool closed() const { return closed_; }

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
  static void onCheckCb(uv_check_t* check) noexcept;

  HttpServer& server_;
  RedisClient& redis_;
  AppOptions options_;
  std::string message_key_;
  std::string recent_key_;
  std::string images_key_;
  std::string recent_trim_stop_;
  RecentUrls recent_;
  std::vector<std::string_view> recent_args_;
  uv_check_t check_;
  bool closed_ = false;
  bool closing_ = false;
  Counter& images_stored_;
  Counter& images_served_;
};

}  // namespace redge
