#pragma once

#include <string>
#include <vector>

namespace redge_test {

// One row of the request-framing table (RFC 9112 framing, host rules and
// request-smuggling shapes): the bytes sent, the first answer's status and
// error code, and whether the connection must end after it.
struct FramingCase {
  const char* name;
  std::string request;
  int status;        // the first answer's status (on admin, where /healthz exists)
  const char* code;  // its error code, or "" for a success
  bool closes;       // the connection ends after it
};

// Sent after every row on the same connection: a row that must close proves
// nothing after it is answered (no smuggled request), and a row that keeps
// the connection proves it is still in step.
extern const std::string kFramingFollowUp;

// The table, shared by the integration test (each row once per listener) and
// the chaos suite (every row on every listener, many times, under load).
std::vector<FramingCase> framingTable();

// Runs one row on a fresh connection to 127.0.0.1:port and returns "" when
// redge answered as the row says, else what went wrong. `exact_status`:
// compare the first status with the row's (true on admin); elsewhere the
// accepted shapes reach other routes, so only "answered and in step" is
// checked for them, while refused shapes must match exactly everywhere.
// Uses no test-framework macros, so threads may call it.
std::string checkFramingRow(int port, const FramingCase& row, bool exact_status);

}  // namespace redge_test
