// The RESP codec (see the header).
//
// Reads land in the server's shared buffer and are parsed in place; only the
// bytes of an incomplete command (or input held back while the client has
// not taken its replies) are copied into input_, so a pipelined burst of
// complete commands costs no copy.
//
// Deadline: a command must arrive whole within command_read_timeout_ms of
// its first byte, as an HTTP head must; a client that sends half a command
// and stops gets "-ERR" and is closed instead of holding a connection slot
// for ever. Between commands a connection waits as long as idle_timeout_ms
// says (0, as in Redis: for ever).
//
// QUIT, protocol errors and that timeout end the connection after their
// reply, with a lingering close, so the client reads the reply.

#include "net/resp/resp_connection.hpp"

#include "core/ascii.hpp"
#include "core/log.hpp"
#include "net/resp/resp_server.hpp"
#include "net/resp/resp_writer.hpp"

namespace redge {
namespace {

// Replies pending before execution pauses: redis-benchmark pipelines 16,
// client libraries' pipelines run to hundreds.
constexpr size_t kMaxPendingReplies = 1024;

}  // namespace

RespConnection::RespConnection(RespServer& server, uint64_t id)
    : StreamConnection(server, id, kMaxPendingReplies),
      parser_(server.options().limits),
      session_(id) {}

RespServer& RespConnection::resp() {
  return static_cast<RespServer&>(server());
}

void RespConnection::writeRefusal() {
  appendRespError(output(), "ERR max number of clients reached");
}

// ---------------------------------------------------------------- reading

void RespConnection::onInput(const char* data_in, size_t len) {
  std::string_view data(data_in, len);
  if (input_.empty()) {
    size_t used = parse(data);
    if (!closing() && used < data.size() && !finishing()) input_.assign(data.substr(used));
  } else {
    input_.append(data);
    size_t used = parse(input_);
    if (!closing()) input_.erase(0, used);
  }
  if (!closing() && !inputHeld()) notePartial(!input_.empty());
}

void RespConnection::resumeInput() {
  if (input_.empty()) return;
  size_t used = parse(input_);
  if (closing()) return;
  input_.erase(0, used);
  if (!inputHeld()) notePartial(!input_.empty());
}

void RespConnection::notePartial(bool partial) {
  if (partial == partial_) return;
  partial_ = partial;
  if (partial) {
    command_started_ms_ = static_cast<int64_t>(uv_now(server().loop()));
    if (deadline() != Deadline::WriteStall) restoreDeadline();
  } else if (deadline() == Deadline::Request) {
    setDeadline(Deadline::None, 0);
  }
}

void RespConnection::restoreDeadline() {
  if (!partial_) return;  // between commands: the idle phase, if any
  int64_t end = command_started_ms_ + resp().options().command_read_timeout_ms;
  int64_t now = static_cast<int64_t>(uv_now(server().loop()));
  setDeadline(Deadline::Request, std::max<int64_t>(end - now, 0));
}

void RespConnection::onDeadline(Deadline) {
  resp().respStats().command_read_timeouts_total.inc();
  resp().logError(LogLevel::Info, "command_read_timeout",
                  "a command did not arrive whole in time; the connection is closed");
  partial_ = false;
  std::string reply;
  appendRespError(reply, "ERR timeout: the command did not arrive whole within " +
                             std::to_string(resp().options().command_read_timeout_ms) + " ms");
  finishAfterReply(reply);
}

size_t RespConnection::parse(std::string_view input) {
  size_t total = 0;
  while (!closing() && !finishing()) {
    // Enough replies outstanding, or the client has not taken what it was
    // already given: stop executing here; the rest stays in input_ (at most
    // one read, since reading stops too). Without this, a pipeline of short
    // GETs for large values turns a few bytes in into megabytes held.
    if (shouldHold()) {
      if (total < input.size()) holdInput();
      break;
    }
    size_t consumed = 0;
    RespParser::Result r = parser_.parse(input.substr(total), consumed);
    total += consumed;
    if (r == RespParser::Result::NeedMore) break;
    if (r == RespParser::Result::Error) {
      resp().respStats().protocol_errors_total.inc();
      std::string reply;
      appendRespError(reply, std::string("ERR ") + std::string(parser_.error()));
      finishAfterReply(reply);
      break;
    }
    execute(parser_.args());
  }
  return total;
}

void RespConnection::execute(const std::vector<std::string_view>& args) {
  if (equalsIgnoreCase(args[0], "QUIT")) {
    finishAfterReply("+OK\r\n");
    return;
  }
  uint64_t seq = replies().beginDispatch();
  resp().dispatch(args, RespResponder(&resp(), id(), seq, session_.protocol));
  replies().endDispatch();
}

void RespConnection::finishAfterReply(std::string_view encoded) {
  uint64_t seq = replies().beginDispatch();
  deliver(seq, encoded);
  replies().endDispatch();
  finishAfterOutput();
  input_.clear();
}

// ---------------------------------------------------------------- replies

bool RespConnection::awaits(uint64_t seq, uint32_t part) const {
  if (closing()) return false;
  const OrderedReplies& r = replies();
  if (part == RespResponder::kWhole) return r.awaits(seq);
  return r.awaitsPart(seq, part);
}

void RespConnection::deliver(uint64_t seq, std::string_view encoded) {
  if (closing()) return;
  // A reply on top of a backlog already over the limit: the client is not
  // reading (Redis's client-output-buffer-limit, as a hard limit).
  if (cutOffSlowReader()) return;
  OrderedReplies::Target t = replies().target(seq);
  if (t.bytes == nullptr) return;
  t.bytes->append(encoded);
  committed(replies().commit(t));
}

bool RespConnection::splitReply(uint64_t seq, size_t n) {
  return !closing() && replies().split(seq, n);
}

void RespConnection::deliverPart(uint64_t seq, uint32_t part, std::string_view encoded) {
  if (closing()) return;
  if (cutOffSlowReader()) return;
  OrderedReplies::Slot* slot = nullptr;
  std::string* bytes = replies().part(seq, part, &slot);
  if (bytes == nullptr) return;
  bytes->assign(encoded);
  committed(replies().commitPart(slot, [](OrderedReplies::Split& split, std::string& out) {
    appendRespArrayHeader(out, split.parts.size());
    for (const std::string& p : split.parts) out.append(p);
  }));
}

}  // namespace redge
