// The flags command (see the header). One connection, one command or script
// per run, each bounded by redis.connect_timeout_ms and
// redis.command_timeout_ms. The JSON it prints is the admin API's.

#include "ops/flags_cli.hpp"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>

#include "core/host_name.hpp"
#include "core/json_writer.hpp"
#include "flags/flag.hpp"
#include "flags/flag_scripts.hpp"

namespace redge {
namespace {

constexpr const char* kFlagsUsage =
    "usage: redge [options] flags list\n"
    "       redge [options] flags get NAME\n"
    "       redge [options] flags set NAME JSON   (JSON \"-\": read from stdin)\n"
    "       redge [options] flags on NAME\n"
    "       redge [options] flags off NAME\n"
    "       redge [options] flags delete NAME\n";

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;
struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};

int fail(std::string_view code, const std::string& message) {
  std::string body;
  JsonWriter w(body);
  w.startObject();
  w.key("error").string(code);
  w.key("message").string(message);
  w.endObject();
  std::fprintf(stderr, "%s\n", body.c_str());
  return 1;
}

int usage(const std::string& why) {
  std::fprintf(stderr, "redge flags: %s\n%s", why.c_str(), kFlagsUsage);
  return 2;
}

void print(const std::string& json) {
  std::fprintf(stdout, "%s\n", json.c_str());
}

timeval toTimeval(int64_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

std::string whoAmI() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user && *user ? user : "unknown") + "@" + hostName();
}

class FlagsCli {
 public:
  FlagsCli(const Config& config, const RedisUrl& url)
      : config_(config), url_(url), keys_(config.redis.key_prefix) {}

  // Connects, authenticates, selects; an error message when it cannot.
  std::string connect() {
    timeval connect_tv = toTimeval(config_.redis.connect_timeout_ms);
    redisContext* c = url_.unix_socket
                          ? redisConnectUnixWithTimeout(url_.path.c_str(), connect_tv)
                          : redisConnectWithTimeout(url_.host.c_str(), url_.port, connect_tv);
    ctx_.reset(c);
    std::string where = url_.unix_socket ? url_.path : url_.host + ":" + std::to_string(url_.port);
    if (!c) return "cannot connect to Redis at " + where + ": out of memory";
    if (c->err) return "cannot connect to Redis at " + where + ": " + c->errstr;
    redisSetTimeout(c, toTimeval(config_.redis.command_timeout_ms));
    if (!url_.password.empty()) {
      Reply r = url_.user.empty() ? run({"AUTH", url_.password})
                                  : run({"AUTH", url_.user, url_.password});
      if (!r || r->type == REDIS_REPLY_ERROR)
        return "Redis refused the credentials: " + lastError(r);
    }
    if (url_.db != 0) {
      Reply r = run({"SELECT", std::to_string(url_.db)});
      if (!r || r->type == REDIS_REPLY_ERROR) return "Redis refused SELECT: " + lastError(r);
    }
    return {};
  }

  Reply run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  }

  Reply eval(std::string_view script, std::vector<std::string> args) {
    std::vector<std::string> argv = {"EVAL", std::string(script), "0"};
    for (auto& a : args) argv.push_back(std::move(a));
    return run(argv);
  }

  std::string lastError(const Reply& r) const {
    if (r && r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
    if (ctx_ && ctx_->err) return ctx_->errstr;
    return "no answer";
  }

  // A reply that is no answer or an error reply: the exit status 1 and the
  // message; else -1.
  int redisFailed(const Reply& r) {
    if (r && r->type != REDIS_REPLY_ERROR) return -1;
    return fail(r ? "redis_error" : "redis_unavailable", "Redis: " + lastError(r));
  }

  int list() {
    Reply r = eval(flagLoadScript(), {keys_.hash});
    if (int rc = redisFailed(r); rc >= 0) return rc;
    std::optional<FlagLoad> load = parseFlagLoadReply(r.get());
    if (!load) return fail("redis_error", "Redis answered the load with an unexpected reply.");
    std::string body;
    JsonWriter w(body);
    w.startObject();
    w.key("version").integer(load->version);
    w.key("flags").startArray();
    for (const auto& f : load->flags) writeFlagJson(f, w);
    w.endArray();
    w.endObject();
    print(body);
    return 0;
  }

  int get(const std::string& name) {
    Reply r = run({"HGET", keys_.hash, name});
    if (int rc = redisFailed(r); rc >= 0) return rc;
    if (r->type == REDIS_REPLY_NIL) return notFound(name);
    std::optional<Flag> f = parseStoredFlag(std::string_view(r->str, r->len));
    if (!f)
      return fail("flag_unreadable",
                  "Redis holds flag \"" + name + "\" in a shape redge cannot read.");
    print(flagJson(*f));
    return 0;
  }

  int set(const std::string& name, const std::string& json) {
    FlagParse parsed = parseFlagSpec(name, json);
    if (!parsed.flag) return fail("invalid_flag", parsed.error.message());
    parsed.flag->updated_by = whoAmI();
    Reply r = eval(flagPutScript(), {keys_.hash, name, flagBodyJson(*parsed.flag), ""});
    return written(r, name);
  }

  int setEnabled(const std::string& name, bool enabled) {
    std::string actor;
    JsonWriter w(actor);
    w.string(whoAmI());
    Reply r = eval(flagSwitchScript(), {keys_.hash, name, enabled ? "true" : "false", actor});
    return written(r, name);
  }

  int remove(const std::string& name) {
    Reply r = eval(flagDeleteScript(), {keys_.hash, name, ""});
    if (int rc = redisFailed(r); rc >= 0) return rc;
    FlagWriteResult result = parseFlagWriteReply(r.get());
    if (result.status == FlagWriteStatus::NotFound) return notFound(name);
    if (result.status != FlagWriteStatus::Written) {
      return fail("redis_error", "Redis answered the delete with an unexpected reply.");
    }
    std::string body;
    JsonWriter w(body);
    w.startObject();
    w.key("deleted").string(name);
    w.key("version").integer(result.version);
    w.endObject();
    print(body);
    return 0;
  }

 private:
  int notFound(const std::string& name) {
    return fail("flag_not_found", "There is no flag \"" + name +
                                      "\"; create it with `redge flags set " + name + " JSON`.");
  }

  int written(const Reply& r, const std::string& name) {
    if (int rc = redisFailed(r); rc >= 0) return rc;
    FlagWriteResult result = parseFlagWriteReply(r.get());
    switch (result.status) {
      case FlagWriteStatus::Written:
      case FlagWriteStatus::Unchanged:
        print(flagJson(*result.flag));
        return 0;
      case FlagWriteStatus::NotFound:
        return notFound(name);
      case FlagWriteStatus::Conflict:
        return fail("version_conflict", "The flag changed meanwhile; run the command again.");
      case FlagWriteStatus::Unreadable:
        break;
    }
    return fail("flag_unreadable",
                "Redis holds flag \"" + name +
                    "\" in a shape redge cannot edit in place; replace it with `redge flags set`.");
  }

  const Config& config_;
  const RedisUrl& url_;
  FlagKeys keys_;
  std::unique_ptr<redisContext, ContextFree> ctx_;
};

}  // namespace

int runFlagsCommand(const Config& config, const RedisUrl& url,
                    const std::vector<std::string>& args) {
  // args[0] is "flags".
  if (args.size() < 2) return usage("which command?");
  const std::string& verb = args[1];
  size_t want = verb == "list" ? 2 : verb == "set" ? 4 : 3;
  if (verb != "list" && verb != "get" && verb != "set" && verb != "on" && verb != "off" &&
      verb != "delete") {
    return usage("unknown command \"" + verb + "\"");
  }
  if (args.size() != want)
    return usage("\"" + verb + "\" takes " + std::to_string(want - 2) + " argument(s)");
  if (want >= 3) {
    if (auto reason = checkFlagName(args[2])) return usage(*reason);
  }
  FlagsCli cli(config, url);
  if (std::string error = cli.connect(); !error.empty()) return fail("redis_unavailable", error);
  if (verb == "list") return cli.list();
  if (verb == "get") return cli.get(args[2]);
  if (verb == "set") {
    if (args[3] != "-") return cli.set(args[2], args[3]);
    // From a file or a pipe: `redge flags set checkout - < checkout.json`.
    std::string json((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return cli.set(args[2], json);
  }
  if (verb == "on") return cli.setEnabled(args[2], true);
  if (verb == "off") return cli.setEnabled(args[2], false);
  return cli.remove(args[2]);
}

}  // namespace redge
