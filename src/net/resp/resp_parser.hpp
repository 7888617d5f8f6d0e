#pragma once
// Incremental parser for RESP2 client requests, the two forms a Redis server
// accepts on a connection:
//
//   multibulk  `*<n>\r\n` then n times `$<len>\r\n<len bytes>\r\n`
//   inline     one text line (ending in "\n" or "\r\n") that does not start
//              with '*', split into words; "double quotes" understand
//              \n \r \t \b \a \\ \" and \xHH, 'single quotes' understand \'.
//
// Redis behaviour is followed where it is sensible: `*0` and `*-1` (any count
// <= 0) and blank inline lines are skipped rather than reported; numbers are
// strict decimals ("0", or an optional '-' and digits without a leading zero);
// count lines and inline lines are bounded by max_inline_bytes, as Redis
// bounds both by its inline limit. The error texts are the ones Redis sends,
// but for "bulk argument not followed by CRLF", which Redis never checks.
//
// Where Redis is lenient or chunk-dependent, redge is strict and
// deterministic, so the same bytes give the same result however the network
// splits them:
//   - a count line must end in CRLF, and a bulk argument must be followed by
//     CRLF (Redis skips whichever two bytes are there);
//   - a line is "too big" when its terminator is not within the first
//     limit + 1 bytes, whether or not the terminator has arrived yet;
//   - NUL is an ordinary byte everywhere, inline lines included (Redis's
//     inline splitter works on C strings and silently drops what follows a
//     NUL).
//
// Nothing is ever allocated or reserved from a declared length: a `*1000000`
// or `$500000000` costs a few integers until the bytes actually arrive.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redge {

// Redis's integer syntax, for counts and for integer arguments (SELECT's db,
// HELLO's version, GETRANGE's offsets): "0", or an optional '-' and digits
// with no leading zero, within int64. No '+', no spaces, no "-0", no "007".
bool parseRespInteger(std::string_view text, int64_t& out);

struct RespLimits {
  size_t max_args = 1024 * 1024;        // *N above this: "Protocol error: invalid multibulk length"
  size_t max_bulk_bytes = 1024 * 1024;  // $len above this: "Protocol error: invalid bulk length"
  // Most bytes a line may hold before its terminator (LF for an inline line,
  // so a CR before it counts; CR for a `*N` / `$len` count line, counting the
  // '*' or '$'). Longer: "too big inline request", "too big mbulk count
  // string" or "too big bulk count string".
  size_t max_inline_bytes = 64 * 1024;
};

// Parses one connection's request stream; one parser per connection, used
// from the loop thread only.
//
// Buffer contract: the caller keeps one growing buffer per connection. Each
// call to parse() sees that buffer from its first unconsumed byte, and after
// every call (whatever the result) the caller drops exactly `consumed` bytes
// from its front before appending more and calling again. The parser keeps
// only offsets relative to the start of the command in progress, so the
// caller may reallocate or move the buffer freely between calls.
class RespParser {
 public:
  enum class Result {
    NeedMore,  // no complete command yet; `consumed` bytes may be dropped (may be 0)
    Command,   // args() holds one command; `consumed` covers it (and anything skipped before)
    Error,     // protocol error: reply with error() and close; sticky until reset()
  };

  explicit RespParser(const RespLimits& limits = {});

  // Parses from the beginning of `buffer`. Skipped input (blank inline lines,
  // `*0`) never surfaces; it is only counted into `consumed`. Progress inside
  // an incomplete command is remembered, so a large bulk fed in many small
  // reads costs time linear in its size. On Error, consumed is 0.
  Result parse(std::string_view buffer, size_t& consumed);

  // The arguments of the command last returned by parse(); empty after
  // NeedMore or Error. Multibulk arguments are views into the buffer passed to
  // parse(); inline arguments (which may have been unescaped) are views into
  // storage owned by this parser. Either way they stay valid until the caller
  // modifies the buffer or calls parse() or reset() again.
  const std::vector<std::string_view>& args() const { return args_; }

  // The protocol error, without "-ERR " and without CRLF, e.g.
  // "Protocol error: invalid multibulk length". Empty unless parse() returned
  // Error. In "expected '$', got 'X'" the X is the raw byte received, which
  // may be a control byte; appendRespError() makes CR and LF safe.
  std::string_view error() const { return error_; }

  // True if the command last returned by parse() was an inline one.
  bool inlineCommand() const { return inline_; }

  // Forgets any partial command and any error, as for a fresh connection.
  void reset();

 private:
  // Where the command in progress stands.
  enum class Stage { Start, Inline, MultibulkCount, BulkCount, BulkData };
  // What one step over the current command concluded. Continue: the stage
  // changed and the next one can try the bytes already here.
  enum class Step { NeedMore, Continue, Skipped, Command, Error };
  // Outcome of looking for a line terminator.
  enum class LineScan { Found, NeedMore, TooBig };

  // An argument as [offset, offset + length) of the command (multibulk) or
  // of inline_storage_ (inline).
  using Span = std::pair<size_t, size_t>;

  Step advance(std::string_view command);
  Step advanceInline(std::string_view command);
  Step advanceCountLine(std::string_view command);
  Step advanceBulkData(std::string_view command);
  LineScan findLineEnd(std::string_view command, char terminator, size_t& end);
  Step fail(std::string message);
  void startCommand();

  RespLimits limits_;
  Stage stage_ = Stage::Start;
  size_t pos_ = 0;         // offset, within the command, of the first byte not yet parsed
  size_t scanned_ = 0;     // bytes after pos_ already searched for a line terminator
  int64_t args_left_ = 0;  // bulk arguments of the multibulk still to come
  size_t bulk_len_ = 0;    // length of the bulk being read (Stage::BulkData)
  std::vector<Span> spans_;
  std::string inline_storage_;
  std::vector<std::string_view> args_;
  std::string error_;
  bool inline_ = false;
};

}  // namespace redge
