// The flags service's life (the store's start and close) and the flag admin
// API. Reads answer from this process's snapshot; writes go through the
// store's scripts, and answer once Redis has the change (and this process's
// snapshot with it).

#include "services/flags/flags_service.hpp"

#include <charconv>

#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "services/redis_failure.hpp"

namespace redge {
namespace {

constexpr std::string_view kJson = "application/json";

// If-Match: "17" or 17 (a version as GET shows it); If-None-Match: * to
// create only. Returns false on a value that is neither.
bool expectedVersion(const HttpRequest& req, std::string& expected) {
  std::string_view if_match = req.header("If-Match");
  if (!if_match.empty()) {
    if (if_match.size() >= 2 && if_match.front() == '"' && if_match.back() == '"') {
      if_match = if_match.substr(1, if_match.size() - 2);
    }
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(if_match.data(), if_match.data() + if_match.size(), v);
    if (ec != std::errc() || ptr != if_match.data() + if_match.size() || v <= 0) return false;
    expected = std::to_string(v);
    return true;
  }
  if (req.header("If-None-Match") == "*") expected = "0";
  return true;
}

}  // namespace

FlagsService::FlagsService(ModuleContext& context)
    : context_(context),
      redis_(context.redis()),
      options_(context.config().module<FlagsOptions>()),
      store_(context.runtime(), context.redis(), context.redisOptions(),
             FlagStoreOptions{context.config().redis.key_prefix, options_.snapshot_path}) {}

void FlagsService::start() {
  store_.start();
  if (HttpServer* admin = context_.findHttpServer("admin")) {
    mountAdmin(*admin);
    mountOfrep(*admin);
  } else {
    REDGE_LOG(Warn, "flags_admin_not_served")
        .kv("reason",
            "the flag admin API and OFREP live on the admin listener, and admin.enabled is "
            "false; flags are still evaluated and `redge flags` still changes them");
  }
}

void FlagsService::close(std::function<void()> done) {
  closed_ = true;
  store_.close();
  if (done) done();
}

void FlagsService::mountAdmin(HttpServer& admin) {
  admin.route(HttpMethod::Get, "/flags",
              [this](HttpRequest& q, const HttpResponder& r) { list(q, r); });
  admin.route(HttpMethod::Get, "/flags/{name}",
              [this](HttpRequest& q, const HttpResponder& r) { get(q, r); });
  admin.route(
      HttpMethod::Put, "/flags/{name}",
      [this](HttpRequest& q, const HttpResponder& r) { put(q, r); },
      static_cast<int64_t>(kMaxFlagJsonBytes));
  admin.route(HttpMethod::Post, "/flags/{name}/on",
              [this](HttpRequest& q, const HttpResponder& r) { setEnabled(q, r, true); });
  admin.route(HttpMethod::Post, "/flags/{name}/off",
              [this](HttpRequest& q, const HttpResponder& r) { setEnabled(q, r, false); });
  admin.route(HttpMethod::Delete, "/flags/{name}",
              [this](HttpRequest& q, const HttpResponder& r) { remove(q, r); });
}

std::optional<std::string> FlagsService::pathName(HttpRequest& req, const HttpResponder& res) {
  std::string name(req.param(0));
  if (auto reason = checkFlagName(name)) {
    res.sendError(400, "invalid_flag_name",
                  "The flag name in the path is refused: " + *reason + ".");
    return std::nullopt;
  }
  return name;
}

std::string FlagsService::actor(HttpRequest& req, const HttpResponder& res) const {
  std::string_view given = req.header("X-Redge-Actor");
  if (!given.empty()) return std::string(given.substr(0, kMaxFlagActorLength));
  return "admin-api@" + std::string(res.peerAddress());
}

void FlagsService::list(HttpRequest&, const HttpResponder& res) {
  std::string body;
  JsonWriter w(body);
  w.startObject();
  w.key("version").integer(store_.version());
  w.key("stale").boolean(store_.stale());
  w.key("flags").startArray();
  for (const auto& [name, flag] : store_.snapshot().all()) writeFlagJson(flag, w);
  w.endArray();
  w.endObject();
  body.push_back('\n');
  res.send(HttpResponse(200, kJson, body));
}

void FlagsService::get(HttpRequest& req, const HttpResponder& res) {
  std::optional<std::string> name = pathName(req, res);
  if (!name) return;
  const Flag* flag = store_.find(*name);
  if (!flag) {
    res.sendError(404, "flag_not_found",
                  "There is no flag \"" + *name + "\"; create it with PUT /flags/" + *name + ".", 0,
                  {{"flag", *name}});
    return;
  }
  std::string body = flagJson(*flag) + "\n";
  res.send(HttpResponse(200, kJson, body));
}

void FlagsService::put(HttpRequest& req, const HttpResponder& res) {
  std::optional<std::string> name = pathName(req, res);
  if (!name) return;
  FlagParse parsed = parseFlagSpec(*name, std::string_view(req.body()));
  if (!parsed.flag) {
    res.sendError(400, "invalid_flag", parsed.error.message(), 0, {{"field", parsed.error.field}});
    return;
  }
  std::string expected;
  if (!expectedVersion(req, expected)) {
    res.sendError(400, "invalid_precondition",
                  "If-Match takes the flag's version as GET /flags/" + *name +
                      " shows it (\"17\"); If-None-Match takes *.");
    return;
  }
  parsed.flag->updated_by = actor(req, res);
  int status = store_.find(*name) ? 200 : 201;
  store_.put(
      *parsed.flag, expected,
      [this, res, name = *name, status, create_only = expected == "0"](
          RedisStatus s, const redisReply* r, const FlagWriteResult& result) {
        if (create_only && s == RedisStatus::Ok && result.status == FlagWriteStatus::Conflict) {
          res.sendError(412, "flag_exists",
                        "The flag exists already (If-None-Match: * creates only); drop "
                        "the header to replace it.",
                        0, {{"flag", name}});
          return;
        }
        answerWrite(res, name, s, r, result, status);
      });
}

void FlagsService::setEnabled(HttpRequest& req, const HttpResponder& res, bool enabled) {
  std::optional<std::string> name = pathName(req, res);
  if (!name) return;
  store_.setEnabled(
      *name, enabled, actor(req, res),
      [this, res, name = *name](RedisStatus s, const redisReply* r, const FlagWriteResult& result) {
        answerWrite(res, name, s, r, result, 200);
      });
}

void FlagsService::remove(HttpRequest& req, const HttpResponder& res) {
  std::optional<std::string> name = pathName(req, res);
  if (!name) return;
  std::string expected;
  if (!expectedVersion(req, expected) || expected == "0") {
    res.sendError(
        400, "invalid_precondition",
        "If-Match takes the flag's version as GET /flags/" + *name + " shows it (\"17\").");
    return;
  }
  store_.remove(
      *name, expected,
      [this, res, name = *name](RedisStatus s, const redisReply* r, const FlagWriteResult& result) {
        if (s != RedisStatus::Ok || result.status != FlagWriteStatus::Written) {
          answerWrite(res, name, s, r, result, 200);
          return;
        }
        std::string body;
        JsonWriter w(body);
        w.startObject();
        w.key("deleted").string(name);
        w.key("version").integer(result.version);
        w.endObject();
        body.push_back('\n');
        res.send(HttpResponse(200, kJson, body));
      });
}

void FlagsService::answerWrite(const HttpResponder& res, const std::string& name,
                               RedisStatus status, const redisReply* reply,
                               const FlagWriteResult& result, int written_status) {
  if (closed_) return;
  if (status != RedisStatus::Ok) {
    answerRedisFailure(res, status, reply, redis_);
    return;
  }
  switch (result.status) {
    case FlagWriteStatus::Written:
    case FlagWriteStatus::Unchanged: {
      std::string body = flagJson(*result.flag) + "\n";
      res.send(HttpResponse(result.status == FlagWriteStatus::Written ? written_status : 200, kJson,
                            body));
      return;
    }
    case FlagWriteStatus::NotFound:
      res.sendError(404, "flag_not_found",
                    "There is no flag \"" + name + "\"; create it with PUT /flags/" + name + ".", 0,
                    {{"flag", name}});
      return;
    case FlagWriteStatus::Conflict: {
      int64_t current = result.flag ? result.flag->version : 0;
      res.sendError(412, "version_conflict",
                    result.flag ? "The flag changed since the version given (it is at version " +
                                      std::to_string(current) +
                                      "); GET it, apply your change again and retry."
                                : "The flag does not exist (If-Match needs an existing flag).",
                    0, {{"flag", name}, {"current_version", current}});
      return;
    }
    case FlagWriteStatus::Unreadable:
      res.sendError(409, "flag_unreadable",
                    "Redis holds this flag in a shape redge cannot edit in place; replace it "
                    "whole with PUT /flags/" +
                        name + ".",
                    0, {{"flag", name}});
      return;
  }
}

}  // namespace redge
