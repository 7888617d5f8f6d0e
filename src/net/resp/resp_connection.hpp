#pragma once
// The RESP codec of one client connection: parses requests (multibulk and
// inline), hands commands to the server's handler, answers QUIT and protocol
// errors, joins split replies (EXEC's array), and keeps the connection's
// session (HELLO, CLIENT SETNAME, MULTI). Everything else (the socket, order
// of replies, backpressure, deadlines, closing) is StreamConnection's.
//
// Owned by RespServer; freed from the last close callback of its handles.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_session.hpp"
#include "net/stream/stream_connection.hpp"

namespace redge {

class RespServer;

class RespConnection final : public StreamConnection {
 public:
  RespConnection(RespServer& server, uint64_t id);

  void deliver(uint64_t seq, std::string_view encoded);
  // The reply `seq` becomes an array of n elements, delivered one by one
  // with deliverPart(); see RespResponder::splitInto().
  bool splitReply(uint64_t seq, size_t n);
  void deliverPart(uint64_t seq, uint32_t part, std::string_view encoded);
  bool awaits(uint64_t seq, uint32_t part) const;
  RespSession& session() { return session_; }

 protected:
  void onInput(const char* data, size_t len) override;
  void resumeInput() override;
  void writeRefusal() override;
  void onDeadline(Deadline which) override;
  bool inRequest() const override { return partial_; }
  void restoreDeadline() override;
  void onClosing() override { input_.clear(); }

 private:
  RespServer& resp();
  // Parses and runs commands from `input`; returns how many bytes were used.
  size_t parse(std::string_view input);
  void execute(const std::vector<std::string_view>& args);
  // A last reply, in order after everything pending; then the connection ends.
  void finishAfterReply(std::string_view encoded);
  // After a parse: a command is partly here (its deadline runs) or not.
  void notePartial(bool partial);

  RespParser parser_;
  RespSession session_;
  std::string input_;               // bytes of an incomplete command, or held back unparsed
  bool partial_ = false;            // a command has begun and not completed
  int64_t command_started_ms_ = 0;  // loop time its first byte came
};

}  // namespace redge
