// The shared cache's Redis side (see cache_fleet.hpp): entries, fill locks,
// the path and tag indexes, the events channel, and purges that walk Redis.
//
// Every change that others must see is one script: the entry and its index
// entries are written, the lock released and the fill announced atomically,
// and a removal deletes and announces in one step, so a gateway that hears
// the event never reads the old entry back from Redis afterwards.

#include "services/gateway/cache_fleet.hpp"

#include <unistd.h>

#include <random>

#include "core/log.hpp"
#include "redis/redis_reply.hpp"

namespace redge {
namespace {

// KEYS: entry, path index, lock, tag sets...; ARGV: value, px, channel,
// message, holder id. Index sets live as long as their longest entry.
constexpr const char* kStoreScript = R"lua(
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local px = tonumber(ARGV[2])
for i = 2, #KEYS do
  if i ~= 3 then
    redis.call('SADD', KEYS[i], KEYS[1])
    if redis.call('PTTL', KEYS[i]) < px then redis.call('PEXPIRE', KEYS[i], px) end
  end
end
if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
)lua";

// KEYS: a path index; ARGV: mode ("uri": the entry ARGV[2] and its Vary
// variants, "path": every entry of the index), entry key, channel, message
// (no message: nothing published). Returns the entries deleted.
constexpr const char* kRemoveScript = R"lua(
local n = 0
local variant = ARGV[2] .. '\n'
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if ARGV[1] == 'path' or k == ARGV[2] or string.sub(k, 1, #variant) == variant then
    n = n + redis.call('DEL', k)
    redis.call('SREM', KEYS[1], k)
  end
end
if ARGV[1] == 'uri' then n = n + redis.call('DEL', ARGV[2]) end
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return n
)lua";

// KEYS: a tag set. Deletes its entries and the set. Returns the entries deleted.
constexpr const char* kTagScript = R"lua(
local n = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do n = n + redis.call('DEL', k) end
redis.call('DEL', KEYS[1])
return n
)lua";

constexpr const char* kEventsHelp =
    "Messages on the gateways' cache events channel (in: from other gateways; out: sent)";

std::string fleetId() {
  std::random_device rd;
  char buf[48];
  snprintf(buf, sizeof buf, "%d-%08x", static_cast<int>(getpid()), rd());
  return buf;
}

// A glob pattern matching `text` literally.
std::string globLiteral(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// "http://host/a/b?x" -> "http://host/a/b".
std::string_view uriPath(std::string_view uri) {
  return uri.substr(0, uri.find('?'));
}

}  // namespace

// One operator purge: the Redis steps still running, and what they removed.
struct CacheFleet::Purge {
  PurgeRequest request;
  std::vector<std::string> routes;
  int pending = 0;
  int64_t removed = 0;
  std::function<void(int64_t)> done;
};

CacheFleet::CacheFleet(Runtime& runtime, RedisClient& commands,
                       const RedisClientOptions& subscriber_options, const std::string& key_prefix)
    : commands_(commands),
      prefix_(key_prefix + "gateway:cache:"),
      channel_(key_prefix + "gateway:cache:events"),
      id_(fleetId()),
      store_script_(commands, "gateway_cache_store", kStoreScript),
      remove_script_(commands, "gateway_cache_remove", kRemoveScript),
      tag_script_(commands, "gateway_cache_purge_tag", kTagScript),
      events_in_(runtime.metrics.counter("redge_gateway_cache_fleet_events_total", kEventsHelp,
                                         {{"direction", "in"}})),
      events_out_(runtime.metrics.counter("redge_gateway_cache_fleet_events_total", kEventsHelp,
                                          {{"direction", "out"}})),
      resubscribes_(runtime.metrics.counter(
          "redge_gateway_cache_fleet_resubscribes_total",
          "Times the cache events subscriber came back and shared routes dropped their memory")),
      redis_errors_(runtime.metrics.counter(
          "redge_gateway_cache_redis_errors_total",
          "Shared cache commands Redis failed (the route went on with its memory alone)")) {
  RedisClientOptions o = subscriber_options;
  o.name = "gateway-cache-events";
  subscriber_ = std::make_unique<RedisClient>(runtime, std::move(o));
  subscriber_->psubscribe(
      globLiteral(channel_),
      [this](std::string_view channel, std::string_view message) { onMessage(channel, message); });
  subscriber_->onReady([this] {
    if (!*attached_) return;
    if (!subscribed_once_) {
      subscribed_once_ = true;
      return;
    }
    resubscribes_.inc();
    for (Member* m : members_) m->onFleetResubscribed();
    REDGE_LOG(Info, "gateway_cache_resubscribed")
        .kv("action", "shared routes dropped their memory: invalidations may have been missed");
  });
}

CacheFleet::~CacheFleet() {
  close();
}

void CacheFleet::join(Member& member) {
  members_.push_back(&member);
}

void CacheFleet::leave(Member& member) {
  std::erase(members_, &member);
}

void CacheFleet::start() {
  subscriber_->start();
}

void CacheFleet::close() {
  if (!*attached_) return;
  *attached_ = false;
  subscriber_->close();
  members_.clear();
}

std::string CacheFleet::routeKey(const std::string& route, char kind, std::string_view rest) const {
  std::string k;
  k.reserve(prefix_.size() + route.size() + rest.size() + 4);
  k.append(prefix_).append(route).append(":").push_back(kind);
  k.append(":").append(rest);
  return k;
}

std::string CacheFleet::pathIndexKey(const std::string& route, std::string_view uri) const {
  return routeKey(route, 'i', uriPath(uri));
}

void CacheFleet::get(const std::string& route, std::string_view uri, GetCallback cb) {
  std::string key = routeKey(route, 'e', uri);
  commands_.command({"GET", key}, [this, attached = attached_, cb = std::move(cb)](
                                      RedisStatus status, const redisReply* reply) {
    if (!*attached) return;
    if (status != RedisStatus::Ok) {
      redis_errors_.inc();
      cb(false, std::nullopt);
      return;
    }
    if (reply->type != REDIS_REPLY_STRING) {
      cb(true, std::nullopt);
      return;
    }
    cb(true, std::string_view(reply->str, reply->len));
  });
}

void CacheFleet::lock(const std::string& route, std::string_view uri, int64_t ms,
                      std::function<void(bool ok, bool acquired)> cb) {
  std::string key = routeKey(route, 'l', uri);
  std::string px = std::to_string(ms);
  commands_.command({"SET", key, id_, "NX", "PX", px},
                    [this, attached = attached_, cb = std::move(cb)](RedisStatus status,
                                                                     const redisReply* reply) {
                      if (!*attached) return;
                      if (status != RedisStatus::Ok) {
                        redis_errors_.inc();
                        cb(false, false);
                        return;
                      }
                      cb(true, reply->type == REDIS_REPLY_STATUS);
                    });
}

void CacheFleet::put(const std::string& route, std::string_view uri, std::string_view value,
                     int64_t ttl_ms, std::span<const std::string> tags) {
  std::vector<std::string> keys;
  keys.reserve(3 + tags.size());
  keys.push_back(routeKey(route, 'e', uri));
  keys.push_back(pathIndexKey(route, uri));
  keys.push_back(routeKey(route, 'l', uri));
  for (const std::string& t : tags) keys.push_back(routeKey(route, 't', t));
  FleetEvent e{id_, FleetEvent::Kind::Filled, route, std::string(uri), {}};
  std::string message = encodeFleetEvent(e);
  std::string px = std::to_string(ttl_ms < 1 ? 1 : ttl_ms);
  std::vector<std::string_view> key_views(keys.begin(), keys.end());
  events_out_.inc();
  store_script_.call(key_views, {value, px, channel_, message, id_},
                     [this, attached = attached_](RedisStatus status, const redisReply*) {
                       if (*attached && status != RedisStatus::Ok) redis_errors_.inc();
                     });
}

void CacheFleet::giveUp(const std::string& route, std::string_view uri) {
  // The lock goes by its own TTL if this gateway does not hold it; deleting
  // another holder's lock would only let one more gateway fetch.
  std::string lock = routeKey(route, 'l', uri);
  commands_.command({"GET", lock},
                    [this, attached = attached_, lock, route, uri = std::string(uri)](
                        RedisStatus status, const redisReply* reply) {
                      if (!*attached || status != RedisStatus::Ok) return;
                      if (replyText(reply) == id_) {
                        commands_.command({"DEL", lock}, [](RedisStatus, const redisReply*) {});
                      }
                      publish(FleetEvent{id_, FleetEvent::Kind::Filled, route, uri, {}});
                    });
}

void CacheFleet::publish(const FleetEvent& event) {
  events_out_.inc();
  std::string message = encodeFleetEvent(event);
  commands_.command({"PUBLISH", channel_, message},
                    [this, attached = attached_](RedisStatus status, const redisReply*) {
                      if (*attached && status != RedisStatus::Ok) redis_errors_.inc();
                    });
}

void CacheFleet::removeUri(const std::string& route, std::string_view uri) {
  std::string index = pathIndexKey(route, uri);
  std::string entry = routeKey(route, 'e', uri);
  std::string message = encodeFleetEvent({id_, FleetEvent::Kind::Uri, route, std::string(uri), {}});
  events_out_.inc();
  remove_script_.call({index}, {"uri", entry, channel_, message},
                      [this, attached = attached_](RedisStatus status, const redisReply*) {
                        if (*attached && status != RedisStatus::Ok) redis_errors_.inc();
                      });
}

void CacheFleet::removeCollection(const std::string& route, std::string_view uri) {
  // The path with any query is one index; the path with a trailing slash
  // (and any query) is another, removed first, silently.
  std::string path(uriPath(uri));
  auto done = [this, attached = attached_](RedisStatus status, const redisReply*) {
    if (*attached && status != RedisStatus::Ok) redis_errors_.inc();
  };
  if (!path.ends_with('/')) {
    remove_script_.call({routeKey(route, 'i', path + "/")}, {"path", "", channel_, ""}, done);
  }
  std::string message = encodeFleetEvent({id_, FleetEvent::Kind::Collection, route, path, {}});
  events_out_.inc();
  remove_script_.call({routeKey(route, 'i', path)}, {"path", "", channel_, message}, done);
}

void CacheFleet::purge(const PurgeRequest& request, const std::vector<std::string>& routes,
                       std::function<void(int64_t removed)> done) {
  auto p = std::make_shared<Purge>();
  p->request = request;
  p->routes = routes;
  p->done = std::move(done);
  p->pending = 1;  // this function's own step, ended below
  auto count = [this, p, attached = attached_](RedisStatus status, const redisReply* reply) {
    if (!*attached) return;
    if (status == RedisStatus::Ok) {
      p->removed += replyInteger(reply);
    } else {
      redis_errors_.inc();
    }
    endPurgeStep(p);
  };
  for (const std::string& route : routes) {
    for (const std::string& tag : request.tags) {
      ++p->pending;
      tag_script_.call({routeKey(route, 't', tag)}, {}, count);
    }
    if (request.target && !request.host.empty()) {
      ++p->pending;
      std::string uri = "http://" + request.host + *request.target;
      remove_script_.call({pathIndexKey(route, uri)}, {"uri", routeKey(route, 'e', uri), "", ""},
                          count);
    }
  }
  // A prefix, or a url on any host, is found by walking the entry keys.
  if (!routes.empty() && (request.prefix || (request.target && request.host.empty()))) {
    ++p->pending;
    scanPurge(p, "0");
  }
  endPurgeStep(p);
}

void CacheFleet::scanPurge(const std::shared_ptr<Purge>& p, const std::string& cursor) {
  std::string pattern = globLiteral(prefix_) + "*:e:http://" +
                        (p->request.host.empty() ? "*" : globLiteral(p->request.host)) +
                        (p->request.prefix ? globLiteral(*p->request.prefix) + "*" : "*");
  commands_.command(
      {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
      [this, p, attached = attached_](RedisStatus status, const redisReply* reply) {
        if (!*attached) return;
        if (status != RedisStatus::Ok || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
            reply->element[1]->type != REDIS_REPLY_ARRAY) {
          redis_errors_.inc();
          endPurgeStep(p);
          return;
        }
        std::string next(replyText(reply->element[0], "0"));
        std::vector<std::string> doomed;
        const redisReply* keys = reply->element[1];
        for (size_t i = 0; i < keys->elements; ++i) {
          std::string_view k = replyText(keys->element[i]);
          // <prefix><route>:e:<uri>: the route must be a shared one of this
          // purge, and the uri must match it.
          for (const std::string& route : p->routes) {
            std::string head = prefix_ + route + ":e:";
            if (!k.starts_with(head)) continue;
            std::string_view uri = k.substr(head.size());
            size_t nl = uri.find('\n');  // a Vary variant: "<uri>\n<secondary key>"
            std::string_view base = uri.substr(0, nl);
            bool match = false;
            if (p->request.prefix &&
                purgePrefixMatches(base, p->request.host, *p->request.prefix)) {
              match = true;
            }
            if (p->request.target && purgeUrlMatches(base, p->request.host, *p->request.target)) {
              match = true;
            }
            if (match) doomed.emplace_back(k);
            break;
          }
        }
        if (!doomed.empty()) {
          std::vector<std::string_view> argv{"UNLINK"};
          for (const std::string& d : doomed) argv.push_back(d);
          ++p->pending;
          commands_.command(
              argv, [this, p, attached = attached_](RedisStatus status, const redisReply* reply) {
                if (!*attached) return;
                if (status == RedisStatus::Ok) p->removed += replyInteger(reply);
                endPurgeStep(p);
              });
        }
        if (next == "0") {
          endPurgeStep(p);
          return;
        }
        scanPurge(p, next);
      });
}

void CacheFleet::endPurgeStep(const std::shared_ptr<Purge>& p) {
  if (--p->pending > 0) return;
  // Redis no longer holds what the purge names: now every gateway drops it
  // from memory (a gateway hearing it earlier could read it back).
  const PurgeRequest& r = p->request;
  if (r.target) publish({id_, FleetEvent::Kind::PurgeUrl, "", r.host, *r.target});
  if (r.prefix) publish({id_, FleetEvent::Kind::PurgePrefix, "", r.host, *r.prefix});
  for (const std::string& tag : r.tags) publish({id_, FleetEvent::Kind::PurgeTag, "", tag, {}});
  if (p->done) p->done(p->removed);
}

void CacheFleet::onMessage(std::string_view channel, std::string_view message) {
  if (!*attached_ || channel != channel_) return;
  std::optional<FleetEvent> e = decodeFleetEvent(message);
  if (!e || e->origin == id_) return;
  events_in_.inc();
  for (Member* m : members_) {
    if (e->route.empty() || e->route == m->label()) m->onFleetEvent(*e);
  }
}

}  // namespace redge
