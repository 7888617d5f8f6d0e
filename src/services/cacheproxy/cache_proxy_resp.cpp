// RESP command handling for the cache proxy. Error texts follow Redis's
// where a client might match on them ("wrong number of arguments for 'get'
// command"); redge's own conditions say what happened ("redis unavailable").

#include "services/cacheproxy/cache_proxy_resp.hpp"

#include <strings.h>

#include <memory>
#include <optional>

#include "net/resp/resp_writer.hpp"

namespace redge {
namespace {

bool is(std::string_view name, std::string_view want) {
  return name.size() == want.size() && strncasecmp(name.data(), want.data(), want.size()) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

void appendAnswer(std::string& out, const CacheAnswer& a) {
  switch (a.kind) {
    case CacheAnswer::Kind::Hit:
    case CacheAnswer::Kind::Miss:
      appendRespBulk(out, a.value);
      return;
    case CacheAnswer::Kind::NotFound:
      appendRespNull(out);
      return;
    case CacheAnswer::Kind::Failed:
      appendRespError(out, respErrorFor(a));
      return;
  }
}

// One MGET: the values arrive in any order; the reply goes out when the last
// one is in.
struct MgetState {
  RespResponder responder;
  std::vector<std::optional<std::string>> values;
  size_t remaining;
  std::string error;
};

}  // namespace

std::string respErrorFor(const CacheAnswer& a) {
  switch (a.status) {
    case RedisStatus::ErrorReply:
      // Redis's own error, as Redis would send it (e.g. WRONGTYPE ...).
      if (a.reply && a.reply->str) return std::string(a.reply->str, a.reply->len);
      return "ERR redis refused the command";
    case RedisStatus::Timeout:
      return "ERR redis timeout";
    default:
      return "ERR redis unavailable";
  }
}

void CacheProxyRespFront::handle(const std::vector<std::string_view>& args,
                                 const RespResponder& responder) {
  std::string_view name = args[0];
  auto arity = [&](bool ok) {
    if (ok) return true;
    reply_.clear();
    appendRespError(reply_, "ERR wrong number of arguments for '" + lower(name) + "' command");
    responder.reply(reply_);
    return false;
  };
  if (is(name, "GET")) {
    if (arity(args.size() == 2)) get(args[1], responder);
  } else if (is(name, "MGET")) {
    if (arity(args.size() >= 2)) mget(args, responder);
  } else if (is(name, "PING")) {
    if (!arity(args.size() <= 2)) return;
    reply_.clear();
    if (args.size() == 2)
      appendRespBulk(reply_, args[1]);
    else
      appendRespSimple(reply_, "PONG");
    responder.reply(reply_);
  } else if (is(name, "ECHO")) {
    if (!arity(args.size() == 2)) return;
    reply_.clear();
    appendRespBulk(reply_, args[1]);
    responder.reply(reply_);
  } else if (is(name, "SELECT")) {
    if (!arity(args.size() == 2)) return;
    // One database is proxied; it is database 0 as far as the client knows.
    responder.reply(args[1] == "0" ? std::string_view("+OK\r\n")
                                   : std::string_view("-ERR DB index is out of range\r\n"));
  } else if (is(name, "COMMAND")) {
    // redis-cli asks COMMAND DOCS at start-up for its hints; an empty answer
    // is valid and makes it skip them.
    responder.reply(args.size() >= 2 && is(args[1], "COUNT") ? ":0\r\n" : "*0\r\n");
  } else if (is(name, "HELLO")) {
    responder.reply("-NOPROTO this proxy speaks RESP2 only\r\n");
  } else {
    reply_.clear();
    std::string shown(name.substr(0, 64));
    appendRespError(reply_, "ERR unknown or unsupported command '" + shown + "'");
    responder.reply(reply_);
  }
}

void CacheProxyRespFront::get(std::string_view key, const RespResponder& responder) {
  CacheAnswer a;
  if (cache_.tryHit(key, a)) {
    reply_.clear();
    appendRespBulk(reply_, a.value);
    responder.reply(reply_);
    return;
  }
  cache_.lookup(key, [responder](const CacheAnswer& answer) {
    std::string out;
    appendAnswer(out, answer);
    responder.reply(out);
  });
}

void CacheProxyRespFront::mget(const std::vector<std::string_view>& args,
                               const RespResponder& responder) {
  auto state = std::make_shared<MgetState>();
  state->responder = responder;
  state->values.resize(args.size() - 1);
  state->remaining = args.size() - 1;
  for (size_t i = 1; i < args.size(); ++i) {
    cache_.lookup(args[i], [state, i](const CacheAnswer& a) {
      if (a.kind == CacheAnswer::Kind::Hit || a.kind == CacheAnswer::Kind::Miss) {
        state->values[i - 1] = std::string(a.value);
      } else if (a.kind == CacheAnswer::Kind::Failed && a.status != RedisStatus::ErrorReply &&
                 state->error.empty()) {
        // Redis down or stuck fails the whole MGET; a WRONGTYPE key is a nil,
        // as in Redis's own MGET.
        state->error = respErrorFor(a);
      }
      if (--state->remaining != 0) return;
      std::string out;
      if (!state->error.empty()) {
        appendRespError(out, state->error);
      } else {
        appendRespArrayHeader(out, state->values.size());
        for (const auto& v : state->values) {
          if (v)
            appendRespBulk(out, *v);
          else
            appendRespNull(out);
        }
      }
      state->responder.reply(out);
    });
  }
}

}  // namespace redge
