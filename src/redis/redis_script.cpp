// RedisScript: EVALSHA with a transparent EVAL fallback.

#include "redis/redis_script.hpp"

#include "core/log.hpp"
#include "redis/redis_reply.hpp"

namespace redge {

RedisScript::RedisScript(RedisClient& redis, std::string name, std::string source)
    : redis_(redis), name_(std::move(name)), source_(std::move(source)) {
  redis_.onReady([this] { load(); });
}

void RedisScript::load() {
  redis_.command({"SCRIPT", "LOAD", source_}, [this](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok && r->type == REDIS_REPLY_STRING) {
      sha_.assign(replyText(r));
      return;
    }
    sha_.clear();  // EVAL still works; the failure shows in the next call if it is real
    REDGE_LOG(Warn, "redis_script_load_failed")
        .kv("script", name_)
        .kv("error", replyText(r, redisStatusName(s)));
  });
}

void RedisScript::call(const std::vector<std::string_view>& keys,
                       const std::vector<std::string_view>& args, RedisCallback cb) {
  // The arguments are copied: a NOSCRIPT retry resends them after the
  // caller's views are gone.
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back();  // script or SHA, filled by send()
  argv.emplace_back(std::to_string(keys.size()));
  for (auto k : keys) argv.emplace_back(k);
  for (auto a : args) argv.emplace_back(a);
  send(!sha_.empty(), std::move(argv), std::move(cb));
}

void RedisScript::send(bool by_sha, std::vector<std::string> argv, RedisCallback cb) {
  std::vector<std::string_view> views;
  views.reserve(argv.size() + 1);
  views.push_back(by_sha ? "EVALSHA" : "EVAL");
  views.push_back(by_sha ? std::string_view(sha_) : std::string_view(source_));
  for (size_t i = 1; i < argv.size(); ++i) views.push_back(argv[i]);
  if (!by_sha) {
    redis_.command(views, std::move(cb));
    return;
  }
  redis_.command(views, [this, argv = std::move(argv), cb = std::move(cb)](
                            RedisStatus s, const redisReply* r) mutable {
    if (s == RedisStatus::ErrorReply && replyText(r).starts_with("NOSCRIPT")) {
      load();
      send(false, std::move(argv), std::move(cb));
      return;
    }
    if (cb) cb(s, r);  // fire-and-forget calls pass no callback
  });
}

}  // namespace redge
