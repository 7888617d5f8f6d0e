// RespCommandTable: lookup, Redis's checks before a command runs, MULTI
// queueing and EXEC, and the connection commands every front shares.
//
// Error texts are Redis's (7.0, the release the front reports), byte for
// byte where clients match on them: "unknown command", "wrong number of
// arguments", "EXECABORT", "NOPROTO", "WRONGPASS". The front has no password,
// so authentication answers as a Redis whose default user has none: AUTH
// with a password alone is an error, AUTH (or HELLO AUTH) as "default" with
// any password succeeds, any other user is WRONGPASS.
//
// EXEC runs its queue through the same handlers as a plain command, each
// with a responder for one element of the EXEC's reply (RespResponder::part),
// so a queued GET that must wait for Redis lands in its place in the array
// while the rest are already in.

#include "net/resp/resp_command_table.hpp"


#include "core/ascii.hpp"
#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_writer.hpp"

namespace redge {
namespace {

std::string_view subcommandName(std::string_view full) {
  size_t bar = full.find('|');
  return bar == std::string_view::npos ? full : full.substr(bar + 1);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return out;
}

// Names and library fields appear in CLIENT LIST, split on spaces: printable
// ASCII without the space (Redis's rule; NUL is refused too, where Redis
// would stop reading at it).
bool validClientAttribute(std::string_view s) {
  for (char c : s) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

constexpr std::string_view kNameError =
    "ERR Client names cannot contain spaces, newlines or special characters.";
constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";

// The default user accepts any password: the front has none to check.
bool credentialsAccepted(std::string_view user) {
  return user == "default";
}

void appendFlags(std::string& out, uint32_t flags, RespProtocol protocol) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kRespReadonly, "readonly"}, {kRespNoScript, "noscript"}, {kRespLoading, "loading"},
      {kRespStale, "stale"},       {kRespFast, "fast"},         {kRespNoAuth, "no_auth"},
  };
  size_t n = 0;
  for (const auto& [bit, name] : kNames) n += (flags & bit) != 0;
  appendRespSetHeader(out, n, protocol);
  for (const auto& [bit, name] : kNames) {
    if ((flags & bit) != 0) appendRespSimple(out, name);
  }
}

void appendInfoLine(std::string& out, std::string_view field, std::string_view value) {
  out.append(field);
  out.push_back(':');
  out.append(value);
  out.append("\r\n");
}

void appendInfoLine(std::string& out, std::string_view field, uint64_t value) {
  appendInfoLine(out, field, std::string_view(std::to_string(value)));
}

}  // namespace

RespCommandTable::RespCommandTable(std::vector<RespCommand> service_commands, RespInfoSource info)
    : commands_(std::move(service_commands)), info_(std::move(info)) {
  addBuiltins();
}

void RespCommandTable::addBuiltins() {
  constexpr uint32_t kConn = kRespNoScript | kRespLoading | kRespStale;
  constexpr uint32_t kIntrospect = kRespLoading | kRespStale;
  auto add = [this](RespCommand c) { commands_.push_back(std::move(c)); };
  auto bind = [this](void (RespCommandTable::*fn)(const RespArgs&, const RespResponder&)) {
    return [this, fn](const RespArgs& a, const RespResponder& r) { (this->*fn)(a, r); };
  };

  add({"ping", -1, kRespFast, bind(&RespCommandTable::ping)});
  add({"echo", 2, kRespFast, bind(&RespCommandTable::echo)});
  add({"select", 2, kIntrospect | kRespFast, bind(&RespCommandTable::select)});
  // The connection answers QUIT itself and closes; this entry is what
  // COMMAND lists.
  add({"quit", -1, kRespFast | kRespNoAuth | kRespRunsInMulti,
       [](const RespArgs&, const RespResponder& r) { r.reply("+OK\r\n"); }});
  add({"hello", -1, kConn | kRespFast | kRespNoAuth, bind(&RespCommandTable::hello)});
  add({"auth", -2, kConn | kRespFast | kRespNoAuth, bind(&RespCommandTable::auth)});
  add({"multi", 1, kConn | kRespFast | kRespRunsInMulti, bind(&RespCommandTable::multi)});
  add({"exec", 1, kConn | kRespRunsInMulti, bind(&RespCommandTable::exec)});
  add({"discard", 1, kConn | kRespFast | kRespRunsInMulti, bind(&RespCommandTable::discard)});
  add({"info", -1, kIntrospect, bind(&RespCommandTable::info)});

  RespCommand client("client", -2, 0, nullptr);
  client.subcommands = {
      {"client|id",
       2,
       kConn,
       bind(&RespCommandTable::clientId),
       {},
       "Return the ID of the current connection."},
      {"client|getname",
       2,
       kConn,
       bind(&RespCommandTable::clientGetName),
       {},
       "Return the name of the current connection."},
      {"client|setname",
       3,
       kConn,
       bind(&RespCommandTable::clientSetName),
       {},
       "Assign the name <connection-name> to the current connection."},
      {"client|setinfo",
       4,
       kConn,
       bind(&RespCommandTable::clientSetInfo),
       {},
       "Set client meta attr: LIB-NAME or LIB-VER."},
      {"client|help", 2, kIntrospect, nullptr, {}, "Print this help."},
  };
  add(std::move(client));

  RespCommand command("command", -1, kIntrospect, bind(&RespCommandTable::command));
  command.subcommands = {
      {"command|count",
       2,
       kIntrospect,
       bind(&RespCommandTable::command),
       {},
       "Return the total number of commands in this server."},
      {"command|info",
       -2,
       kIntrospect,
       bind(&RespCommandTable::command),
       {},
       "Return details about the named commands, or all of them."},
      {"command|docs",
       -2,
       kIntrospect,
       bind(&RespCommandTable::command),
       {},
       "Return documentary information about commands: none is kept here."},
      {"command|help", 2, kIntrospect, nullptr, {}, "Print this help."},
  };
  add(std::move(command));

  // HELP subcommands list their container's subcommands.
  for (RespCommand& c : commands_) {
    for (RespCommand& sub : c.subcommands) {
      if (subcommandName(sub.name) == "help") {
        const RespCommand* container = &c;
        sub.handler = [this, container](const RespArgs&, const RespResponder& r) {
          help(*container, r);
        };
      }
    }
  }
}

const RespCommand* RespCommandTable::find(const RespArgs& args,
                                          const RespCommand** container) const {
  std::string_view name = args[0];
  for (const RespCommand& c : commands_) {
    if (!equalsIgnoreCase(c.name, name)) continue;
    if (c.subcommands.empty() || args.size() == 1) return &c;
    for (const RespCommand& sub : c.subcommands) {
      if (equalsIgnoreCase(subcommandName(sub.name), args[1])) return &sub;
    }
    if (container != nullptr) *container = &c;
    return nullptr;
  }
  return nullptr;
}

void RespCommandTable::execute(const RespArgs& args, const RespResponder& responder) {
  RespSession* session = responder.session();
  if (session == nullptr) return;
  const RespCommand* container = nullptr;
  const RespCommand* command = find(args, &container);
  if (command != nullptr) {
    dispatch(*command, args, responder, *session);
    return;
  }
  std::string error;
  if (container != nullptr) {
    error.append("ERR unknown subcommand '")
        .append(args[1].substr(0, 128))
        .append("'. Try ")
        .append(upper(container->name))
        .append(" HELP.");
  } else {
    // Redis quotes the first arguments, up to about 128 bytes of them.
    std::string quoted;
    for (size_t i = 1; i < args.size() && quoted.size() < 128; ++i) {
      quoted.append("'").append(args[i].substr(0, 128 - quoted.size())).append("' ");
    }
    error.append("ERR unknown command '")
        .append(args[0].substr(0, 128))
        .append("', with args beginning with: ")
        .append(quoted);
  }
  if (RespServer* server = responder.server()) {
    server->commandRefused(RespServer::Refusal::UnknownCommand);
  }
  refuse(nullptr, error, responder, *session);
}

void RespCommandTable::dispatch(const RespCommand& command, const RespArgs& args,
                                const RespResponder& responder, RespSession& session) {
  const auto argc = static_cast<int64_t>(args.size());
  if ((command.arity > 0 && argc != command.arity) || argc < -command.arity) {
    std::string error("ERR wrong number of arguments for '");
    error.append(command.name).append("' command");
    if (RespServer* server = responder.server()) {
      server->commandRefused(RespServer::Refusal::WrongArity);
    }
    refuse(&command, error, responder, session);
    return;
  }
  if (!session.in_multi || (command.flags & kRespRunsInMulti) != 0) {
    command.handler(args, responder);
    return;
  }
  // Once a transaction is doomed its commands are not worth keeping; they
  // are still answered +QUEUED, as Redis does.
  if (!session.multi_failed) {
    size_t bytes = 0;
    for (std::string_view a : args) bytes += a.size();
    if (session.queued.size() >= kMaxQueuedCommands ||
        session.queued_bytes + bytes > kMaxQueuedBytes) {
      if (RespServer* server = responder.server()) {
        server->commandRefused(RespServer::Refusal::TransactionTooLarge);
      }
      refuse(&command,
             "ERR transaction too large: at most 10000 commands and 16 MiB of arguments may be "
             "queued between MULTI and EXEC",
             responder, session);
      return;
    }
    session.queued.emplace_back(args.begin(), args.end());
    session.queued_bytes += bytes;
  }
  responder.reply("+QUEUED\r\n");
}

// Redis's rejectCommand: a refused command dooms the transaction around it,
// and a refused EXEC ends the transaction with EXECABORT.
void RespCommandTable::refuse(const RespCommand* command, std::string_view error,
                              const RespResponder& responder, RespSession& session) {
  if (session.in_multi) session.multi_failed = true;
  reply_.clear();
  if (command != nullptr && command->name == "exec") {
    session.endTransaction();
    std::string abort("EXECABORT Transaction discarded because of: ");
    abort.append(error.substr(error.rfind("ERR ", 0) == 0 ? 4 : 0));
    appendRespError(reply_, abort);
  } else {
    appendRespError(reply_, error);
  }
  responder.reply(reply_);
}

void RespCommandTable::ping(const RespArgs& a, const RespResponder& r) {
  reply_.clear();
  if (a.size() > 2) {
    appendRespError(reply_, "ERR wrong number of arguments for 'ping' command");
  } else if (a.size() == 2) {
    appendRespBulk(reply_, a[1]);
  } else {
    appendRespSimple(reply_, "PONG");
  }
  r.reply(reply_);
}

void RespCommandTable::echo(const RespArgs& a, const RespResponder& r) {
  reply_.clear();
  appendRespBulk(reply_, a[1]);
  r.reply(reply_);
}

// One database is proxied; it is database 0 as far as clients know.
void RespCommandTable::select(const RespArgs& a, const RespResponder& r) {
  int64_t db = 0;
  if (!parseRespInteger(a[1], db)) {
    r.reply("-ERR value is not an integer or out of range\r\n");
  } else {
    r.reply(db == 0 ? "+OK\r\n" : "-ERR DB index is out of range\r\n");
  }
}

void RespCommandTable::multi(const RespArgs&, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  if (s->in_multi) {
    r.reply("-ERR MULTI calls can not be nested\r\n");
    return;
  }
  s->in_multi = true;
  r.reply("+OK\r\n");
}

void RespCommandTable::discard(const RespArgs&, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  if (!s->in_multi) {
    r.reply("-ERR DISCARD without MULTI\r\n");
    return;
  }
  s->endTransaction();
  r.reply("+OK\r\n");
}

void RespCommandTable::exec(const RespArgs&, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  if (!s->in_multi) {
    r.reply("-ERR EXEC without MULTI\r\n");
    return;
  }
  if (s->multi_failed) {
    s->endTransaction();
    if (RespServer* server = r.server()) {
      server->commandRefused(RespServer::Refusal::TransactionAborted);
    }
    r.reply("-EXECABORT Transaction discarded because of previous errors.\r\n");
    return;
  }
  std::vector<std::vector<std::string>> queued = std::move(s->queued);
  s->endTransaction();
  if (queued.empty()) {
    r.reply("*0\r\n");
    return;
  }
  if (!r.splitInto(queued.size())) return;
  RespArgs args;
  for (size_t i = 0; i < queued.size(); ++i) {
    // A part may change the session (CLIENT SETNAME, HELLO) or, by
    // overflowing the output, close the connection: look again each time.
    RespSession* now = r.session();
    if (now == nullptr) return;
    args.assign(queued[i].begin(), queued[i].end());
    RespResponder part = r.part(i, now->protocol);
    if (const RespCommand* c = find(args)) {
      c->handler(args, part);
    } else {
      part.reply("-ERR command vanished from the table\r\n");  // queued commands were found
    }
  }
}

void RespCommandTable::hello(const RespArgs& a, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  RespProtocol protocol = s->protocol;
  size_t next = 1;
  if (a.size() >= 2) {
    int64_t version = 0;
    if (!parseRespInteger(a[1], version)) {
      r.reply("-ERR Protocol version is not an integer or out of range\r\n");
      return;
    }
    if (version < 2 || version > 3) {
      r.reply("-NOPROTO unsupported protocol version\r\n");
      return;
    }
    protocol = version == 3 ? RespProtocol::Resp3 : RespProtocol::Resp2;
    next = 2;
  }
  bool auth = false;
  bool set_name = false;
  std::string_view user;
  std::string_view name;
  for (size_t j = next; j < a.size(); ++j) {
    size_t more = a.size() - 1 - j;
    if (equalsIgnoreCase(a[j], "AUTH") && more >= 2) {
      auth = true;
      user = a[j + 1];
      j += 2;
    } else if (equalsIgnoreCase(a[j], "SETNAME") && more >= 1) {
      name = a[j + 1];
      if (!validClientAttribute(name)) {
        reply_.clear();
        appendRespError(reply_, kNameError);
        r.reply(reply_);
        return;
      }
      set_name = true;
      ++j;
    } else {
      reply_.clear();
      std::string error("ERR Syntax error in HELLO option '");
      error.append(a[j]).append("'");
      appendRespError(reply_, error);
      r.reply(reply_);
      return;
    }
  }
  if (auth && !credentialsAccepted(user)) {
    reply_.clear();
    appendRespError(reply_, kWrongPass);
    r.reply(reply_);
    return;
  }
  if (set_name) s->name.assign(name);
  s->protocol = protocol;
  // The reply already speaks the protocol just chosen, as Redis's does.
  reply_.clear();
  appendRespMapHeader(reply_, 7, protocol);
  appendRespBulk(reply_, "server");
  appendRespBulk(reply_, "redis");
  appendRespBulk(reply_, "version");
  appendRespBulk(reply_, kRedisVersion);
  appendRespBulk(reply_, "proto");
  appendRespInteger(reply_, static_cast<int64_t>(protocol));
  appendRespBulk(reply_, "id");
  appendRespInteger(reply_, static_cast<int64_t>(s->id));
  appendRespBulk(reply_, "mode");
  appendRespBulk(reply_, "standalone");
  appendRespBulk(reply_, "role");
  appendRespBulk(reply_, "master");
  appendRespBulk(reply_, "modules");
  appendRespArrayHeader(reply_, 0);
  r.reply(reply_);
}

void RespCommandTable::auth(const RespArgs& a, const RespResponder& r) {
  reply_.clear();
  if (a.size() > 3) {
    appendRespError(reply_, "ERR syntax error");
  } else if (a.size() == 2) {
    appendRespError(reply_,
                    "ERR AUTH <password> called without any password configured for the default "
                    "user. Are you sure your configuration is correct?");
  } else if (!credentialsAccepted(a[1])) {
    appendRespError(reply_, kWrongPass);
  } else {
    appendRespSimple(reply_, "OK");
  }
  r.reply(reply_);
}

void RespCommandTable::clientId(const RespArgs&, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  reply_.clear();
  appendRespInteger(reply_, static_cast<int64_t>(s->id));
  r.reply(reply_);
}

void RespCommandTable::clientGetName(const RespArgs&, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  reply_.clear();
  if (s->name.empty()) {
    appendRespNull(reply_, r.protocol());
  } else {
    appendRespBulk(reply_, s->name);
  }
  r.reply(reply_);
}

void RespCommandTable::clientSetName(const RespArgs& a, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  if (!validClientAttribute(a[2])) {
    reply_.clear();
    appendRespError(reply_, kNameError);
    r.reply(reply_);
    return;
  }
  s->name.assign(a[2]);  // an empty name removes the name
  r.reply("+OK\r\n");
}

void RespCommandTable::clientSetInfo(const RespArgs& a, const RespResponder& r) {
  RespSession* s = r.session();
  if (s == nullptr) return;
  std::string* field = nullptr;
  if (equalsIgnoreCase(a[2], "LIB-NAME")) {
    field = &s->lib_name;
  } else if (equalsIgnoreCase(a[2], "LIB-VER")) {
    field = &s->lib_ver;
  }
  reply_.clear();
  if (field == nullptr) {
    std::string error("ERR Unrecognized option '");
    appendRespError(reply_, error.append(a[2]).append("'"));
  } else if (!validClientAttribute(a[3])) {
    std::string error("ERR ");
    appendRespError(reply_, error.append(a[2]).append(
                                " cannot contain spaces, newlines or special characters."));
  } else {
    field->assign(a[3]);
    appendRespSimple(reply_, "OK");
  }
  r.reply(reply_);
}

void RespCommandTable::help(const RespCommand& container, const RespResponder& r) {
  reply_.clear();
  std::string title = upper(container.name);
  title.append(" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  appendRespArrayHeader(reply_, 1 + 2 * container.subcommands.size());
  appendRespSimple(reply_, title);
  for (const RespCommand& sub : container.subcommands) {
    appendRespSimple(reply_, upper(subcommandName(sub.name)));
    appendRespSimple(reply_, std::string("    ").append(sub.summary));
  }
  r.reply(reply_);
}

// COMMAND's ten fields per command, as Redis 7 lists them. ACL categories,
// tips and key specifications are not modelled: their lists are empty.
void RespCommandTable::appendCommandInfo(std::string& out, const RespCommand& c,
                                         RespProtocol protocol) const {
  appendRespArrayHeader(out, 10);
  appendRespBulk(out, c.name);
  appendRespInteger(out, c.arity);
  appendFlags(out, c.flags, protocol);
  appendRespInteger(out, c.keys.first);
  appendRespInteger(out, c.keys.last);
  appendRespInteger(out, c.keys.step);
  appendRespSetHeader(out, 0, protocol);  // ACL categories
  appendRespSetHeader(out, 0, protocol);  // tips
  appendRespSetHeader(out, 0, protocol);  // key specifications
  appendRespSetHeader(out, c.subcommands.size(), protocol);
  for (const RespCommand& sub : c.subcommands) appendCommandInfo(out, sub, protocol);
}

void RespCommandTable::command(const RespArgs& a, const RespResponder& r) {
  RespProtocol protocol = r.protocol();
  reply_.clear();
  if (a.size() == 1 || (equalsIgnoreCase(a[1], "INFO") && a.size() == 2)) {
    appendRespArrayHeader(reply_, commands_.size());
    for (const RespCommand& c : commands_) appendCommandInfo(reply_, c, protocol);
  } else if (equalsIgnoreCase(a[1], "COUNT")) {
    appendRespInteger(reply_, static_cast<int64_t>(commands_.size()));
  } else if (equalsIgnoreCase(a[1], "INFO")) {
    appendRespArrayHeader(reply_, a.size() - 2);
    for (size_t i = 2; i < a.size(); ++i) {
      RespArgs name{a[i]};
      const RespCommand* c = find(name);
      if (c != nullptr) {
        appendCommandInfo(reply_, *c, protocol);
      } else {
        appendRespNull(reply_, protocol);
      }
    }
  } else {
    // COMMAND DOCS: no documentation is kept, and an empty map is a valid
    // answer (redis-cli then shows no hints).
    appendRespMapHeader(reply_, 0, protocol);
  }
  r.reply(reply_);
}

void RespCommandTable::info(const RespArgs& a, const RespResponder& r) {
  enum Section : uint32_t {
    kServer = 1,
    kClients = 2,
    kStats = 4,
    kReplication = 8,
    kKeyspace = 16,
    kAll = 31
  };
  uint32_t wanted = a.size() == 1 ? uint32_t{kAll} : 0u;
  for (size_t i = 1; i < a.size(); ++i) {
    std::string_view s = a[i];
    if (equalsIgnoreCase(s, "default") || equalsIgnoreCase(s, "all") ||
        equalsIgnoreCase(s, "everything")) {
      wanted = kAll;
    } else if (equalsIgnoreCase(s, "server")) {
      wanted |= kServer;
    } else if (equalsIgnoreCase(s, "clients")) {
      wanted |= kClients;
    } else if (equalsIgnoreCase(s, "stats")) {
      wanted |= kStats;
    } else if (equalsIgnoreCase(s, "replication")) {
      wanted |= kReplication;
    } else if (equalsIgnoreCase(s, "keyspace")) {
      wanted |= kKeyspace;
    }
  }
  const RespServer* server = r.server();
  if (server == nullptr) return;
  std::string text;
  auto section = [&](std::string_view title) {
    if (!text.empty()) text.append("\r\n");
    text.append("# ").append(title).append("\r\n");
  };
  if ((wanted & kServer) != 0) {
    section("Server");
    appendInfoLine(text, "redis_version", kRedisVersion);
    appendInfoLine(text, "redge_version", REDGE_VERSION);
    appendInfoLine(text, "redis_mode", "standalone");
    appendInfoLine(text, "arch_bits", static_cast<uint64_t>(sizeof(void*) * 8));
    appendInfoLine(text, "process_id", static_cast<uint64_t>(uv_os_getpid()));
    appendInfoLine(text, "tcp_port", static_cast<uint64_t>(server->port()));
    appendInfoLine(text, "uptime_in_seconds", server->uptimeMs() / 1000);
    appendInfoLine(text, "uptime_in_days", server->uptimeMs() / 86400000);
  }
  if ((wanted & kClients) != 0) {
    section("Clients");
    appendInfoLine(text, "connected_clients", server->servedConnections());
    appendInfoLine(text, "maxclients", static_cast<uint64_t>(server->options().max_connections));
  }
  if ((wanted & kStats) != 0) {
    section("Stats");
    appendInfoLine(text, "total_connections_received", server->connectionsAccepted());
    appendInfoLine(text, "total_commands_processed", server->commandsProcessed());
    appendInfoLine(text, "rejected_connections", server->connectionsRejected());
    if (info_.stats) info_.stats(text);
  }
  if ((wanted & kReplication) != 0) {
    section("Replication");
    appendInfoLine(text, "role", "master");
    appendInfoLine(text, "connected_slaves", uint64_t{0});
  }
  if ((wanted & kKeyspace) != 0) {
    section("Keyspace");
    if (info_.keyspace) info_.keyspace(text);
  }
  reply_.clear();
  appendRespVerbatim(reply_, text, r.protocol());
  r.reply(reply_);
}

}  // namespace redge
