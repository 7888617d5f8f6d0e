#pragma once
// What one RESP connection has told the server about itself: the protocol it
// asked for (HELLO), its name (CLIENT SETNAME, HELLO SETNAME), its library
// (CLIENT SETINFO) and its transaction in progress (MULTI ... EXEC).
//
// Owned by the RespConnection and freed with it. Handlers reach it through
// RespResponder::session(), which returns nullptr once the connection is
// gone; a pointer to it is never kept past the handler call.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "net/resp/resp_writer.hpp"

namespace redge {

struct RespSession {
  explicit RespSession(uint64_t connection_id) : id(connection_id) {}

  uint64_t id;  // CLIENT ID, HELLO's id
  RespProtocol protocol = RespProtocol::Resp2;
  std::string name;      // empty: no name
  std::string lib_name;  // CLIENT SETINFO LIB-NAME
  std::string lib_ver;   // CLIENT SETINFO LIB-VER

  // MULTI: commands are queued (copied, since the parser's views die with
  // the read) until EXEC runs them or DISCARD drops them.
  bool in_multi = false;
  bool multi_failed = false;  // a command was refused while queueing: EXEC aborts
  std::vector<std::vector<std::string>> queued;
  size_t queued_bytes = 0;

  void endTransaction() {
    in_multi = false;
    multi_failed = false;
    queued.clear();
    queued_bytes = 0;
  }
};

}  // namespace redge
