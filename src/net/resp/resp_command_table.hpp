#pragma once
// The commands a RESP front answers, declared once each (name, arity, flags,
// keys, handler) as Redis declares its own, and the rules Redis applies to
// every command before it runs:
//
//   - an unknown command or subcommand, or a wrong number of arguments, is
//     refused with Redis's own error text, and the connection stays usable;
//   - inside MULTI a command is queued (+QUEUED) instead of run; a refused
//     one makes the EXEC that follows answer -EXECABORT; EXEC runs the queue
//     and answers one array, in order, however long each part takes.
//
// The table also holds what every Redis-speaking front needs, so a service
// declares only its own commands: HELLO (RESP2 or RESP3, AUTH, SETNAME),
// AUTH, CLIENT ID/GETNAME/SETNAME/SETINFO, MULTI/EXEC/DISCARD, COMMAND
// (generated from this table), INFO (server, clients, stats, replication and
// keyspace; the service adds its own lines), PING, ECHO, SELECT 0 and QUIT.
//
// Per-connection state lives in the RespSession, reached through the
// responder. The table is used from the loop thread only.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/resp/resp_server.hpp"

namespace redge {

using RespArgs = std::vector<std::string_view>;

// Runs one command whose name and arity were checked. args[0] is the name as
// sent; the args are valid only during the call. Replies exactly once,
// now or later, through the responder.
using RespCommandHandler = std::function<void(const RespArgs& args, const RespResponder& r)>;

// Redis's command flags, as COMMAND reports them.
enum RespCommandFlag : uint32_t {
  kRespReadonly = 1u << 0,  // "readonly": reads data, writes nothing
  kRespFast = 1u << 1,      // "fast": O(1) or O(log n)
  kRespLoading = 1u << 2,   // "loading": allowed while the data set loads
  kRespStale = 1u << 3,     // "stale": allowed on a replica with stale data
  kRespNoScript = 1u << 4,  // "noscript"
  kRespNoAuth = 1u << 5,    // "no_auth": allowed before authentication
  // Not one of Redis's flags: the command runs at once inside MULTI instead
  // of being queued (Redis singles out MULTI, EXEC, DISCARD, WATCH, QUIT and
  // RESET by their procedures).
  kRespRunsInMulti = 1u << 16,
};

// Where a command's keys are, as COMMAND reports them: positions of the
// first and last key (-1: the last argument) and the step; 0 for none.
struct RespKeys {
  int first = 0;
  int last = 0;
  int step = 0;
};

struct RespCommand {
  RespCommand(std::string_view name_, int arity_, uint32_t flags_, RespCommandHandler handler_,
              RespKeys keys_ = {}, std::string_view summary_ = {})
      : name(name_),
        arity(arity_),
        flags(flags_),
        keys(keys_),
        handler(std::move(handler_)),
        summary(summary_) {}

  std::string_view name;  // lower case; a subcommand's is "container|sub"
  // Redis's convention: n means exactly n arguments, -n at least n, the
  // command name (and a subcommand's name) included.
  int arity;
  uint32_t flags;
  RespKeys keys;
  RespCommandHandler handler;  // unset for a container without a bare form (CLIENT)
  std::string_view summary;    // a subcommand's line in CONTAINER HELP
  std::vector<RespCommand> subcommands;
};

// What INFO says that the service knows and the table does not.
struct RespInfoSource {
  // Extra "field:value\r\n" lines for the stats section (keyspace_hits...).
  std::function<void(std::string& out)> stats;
  // The keyspace section's lines ("db0:keys=...,expires=...\r\n"), or none.
  std::function<void(std::string& out)> keyspace;
};

class RespCommandTable {
 public:
  // The service's commands come first in lookup order, so its hot commands
  // (GET) are found at once.
  RespCommandTable(std::vector<RespCommand> service_commands, RespInfoSource info);
  RespCommandTable(const RespCommandTable&) = delete;
  RespCommandTable& operator=(const RespCommandTable&) = delete;

  // Runs (or, inside MULTI, queues) one command as Redis would.
  void execute(const RespArgs& args, const RespResponder& responder);

  // The command (or subcommand) args name, or nullptr. `container` is set
  // when args[0] names a container whose subcommand is unknown.
  const RespCommand* find(const RespArgs& args, const RespCommand** container = nullptr) const;
  const std::vector<RespCommand>& commands() const { return commands_; }

  // The version the front reports as redis_version and in HELLO: the Redis
  // release whose replies it copies (Debian 12's redis-server).
  static constexpr std::string_view kRedisVersion = "7.0.15";
  // Most commands, and most bytes of arguments, one MULTI may queue.
  static constexpr size_t kMaxQueuedCommands = 10000;
  static constexpr size_t kMaxQueuedBytes = 16u << 20;

 private:
  void addBuiltins();
  // Checks arity, queues inside MULTI, else runs the handler.
  void dispatch(const RespCommand& command, const RespArgs& args, const RespResponder& responder,
                RespSession& session);
  void refuse(const RespCommand* command, std::string_view error, const RespResponder& responder,
              RespSession& session);

  void ping(const RespArgs& args, const RespResponder& r);
  void echo(const RespArgs& args, const RespResponder& r);
  void select(const RespArgs& args, const RespResponder& r);
  void multi(const RespArgs& args, const RespResponder& r);
  void exec(const RespArgs& args, const RespResponder& r);
  void discard(const RespArgs& args, const RespResponder& r);
  void hello(const RespArgs& args, const RespResponder& r);
  void auth(const RespArgs& args, const RespResponder& r);
  void clientId(const RespArgs& args, const RespResponder& r);
  void clientGetName(const RespArgs& args, const RespResponder& r);
  void clientSetName(const RespArgs& args, const RespResponder& r);
  void clientSetInfo(const RespArgs& args, const RespResponder& r);
  void command(const RespArgs& args, const RespResponder& r);
  void info(const RespArgs& args, const RespResponder& r);
  void help(const RespCommand& container, const RespResponder& r);
  void appendCommandInfo(std::string& out, const RespCommand& c, RespProtocol protocol) const;

  std::vector<RespCommand> commands_;
  RespInfoSource info_;
  std::string reply_;  // scratch for synchronous replies
};

}  // namespace redge
