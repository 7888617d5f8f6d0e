// RESP2 request parsing: the multibulk state machine, the inline line
// splitter and the loop in parse() that ties them to the caller's buffer.
//
// A command is parsed in stages (count line, then per argument a bulk count
// line and the bulk bytes), each resumable: everything remembered between
// calls is an offset from the start of the command in progress, so the
// caller's buffer may move, and the search for a line terminator remembers
// how far it already looked, so a long line or a large bulk arriving a byte
// at a time is scanned once. Every error is decided by a prefix of the input
// alone (the first bytes where it goes wrong, or a terminator missing from the
// first limit + 1 bytes of a line), which is what makes the result the same
// however the stream is chunked.

#include "net/resp/resp_parser.hpp"

#include <charconv>
#include <climits>
#include <cstring>
#include <system_error>

namespace redge {
namespace {

constexpr char kInvalidMultibulkLength[] = "Protocol error: invalid multibulk length";
constexpr char kInvalidBulkLength[] = "Protocol error: invalid bulk length";
constexpr char kTooBigMultibulkCount[] = "Protocol error: too big mbulk count string";
constexpr char kTooBigBulkCount[] = "Protocol error: too big bulk count string";
constexpr char kTooBigInline[] = "Protocol error: too big inline request";
constexpr char kUnbalancedQuotes[] = "Protocol error: unbalanced quotes in request";
constexpr char kBulkNotTerminated[] = "Protocol error: bulk argument not followed by CRLF";

// Above this many arguments the vectors are released after the command
// instead of kept for the next one, so one huge pipeline entry does not pin
// its memory for the life of the connection.
constexpr size_t kRetainedArgCapacity = 1024;

// The C-locale isspace() set, spelled out so the locale cannot change it.
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte a backslash escape inside double quotes stands for.
char unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

// A closing quote must end its word: followed by whitespace or the line end.
bool quoteEndsWord(std::string_view line, size_t quote) {
  return quote + 1 == line.size() || isSpace(line[quote + 1]);
}

// Splits an inline line the way redis-cli and the Redis inline protocol do.
// Words are separated by whitespace; a quoted section may follow bare text in
// the same word (a"b c" is the word `ab c`) but must end it. Inside double
// quotes, backslash escapes \n \r \t \b \a and \xHH, and any other escaped
// byte stands for itself; inside single quotes only \' is an escape. The
// decoded words are appended to `storage` and located by `spans`. Returns
// false on an unterminated quote or a closing quote glued to the next word.
bool splitInlineArgs(std::string_view line, std::string& storage,
                     std::vector<std::pair<size_t, size_t>>& spans) {
  enum class Quote { None, Double, Single };
  size_t i = 0;
  while (true) {
    while (i < line.size() && isSpace(line[i])) ++i;
    if (i == line.size()) return true;

    const size_t start = storage.size();
    Quote quote = Quote::None;
    bool done = false;
    while (!done) {
      const bool more = i + 1 < line.size();  // is there a byte after line[i]?
      if (quote == Quote::Double) {
        if (i == line.size()) return false;
        const char c = line[i];
        if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' && hexValue(line[i + 2]) >= 0 &&
            hexValue(line[i + 3]) >= 0) {
          storage.push_back(static_cast<char>(hexValue(line[i + 2]) * 16 + hexValue(line[i + 3])));
          i += 4;
        } else if (c == '\\' && more) {
          storage.push_back(unescape(line[i + 1]));
          i += 2;
        } else if (c == '"') {
          if (!quoteEndsWord(line, i)) return false;
          ++i;
          done = true;
        } else {
          storage.push_back(c);
          ++i;
        }
      } else if (quote == Quote::Single) {
        if (i == line.size()) return false;
        const char c = line[i];
        if (c == '\\' && more && line[i + 1] == '\'') {
          storage.push_back('\'');
          i += 2;
        } else if (c == '\'') {
          if (!quoteEndsWord(line, i)) return false;
          ++i;
          done = true;
        } else {
          storage.push_back(c);
          ++i;
        }
      } else {
        // Bare text ends only at these four, as in Redis: a vertical tab or
        // form feed inside a word is part of it, though skipped between words.
        if (i == line.size() || line[i] == ' ' || line[i] == '\t' || line[i] == '\r' ||
            line[i] == '\n') {
          done = true;
        } else if (line[i] == '"') {
          quote = Quote::Double;
          ++i;
        } else if (line[i] == '\'') {
          quote = Quote::Single;
          ++i;
        } else {
          storage.push_back(line[i]);
          ++i;
        }
      }
    }
    spans.emplace_back(start, storage.size() - start);
  }
}

}  // namespace

bool parseRespInteger(std::string_view text, int64_t& out) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  if (digits.empty() || (digits.front() == '0' && text.size() > 1)) return false;
  // Counts are a few digits; up to 18 cannot overflow int64, so they are
  // summed here (a call to from_chars costs more than the whole command's
  // other parsing). Longer ones take from_chars for its overflow check.
  if (digits.size() <= 18) {
    int64_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    out = digits.size() == text.size() ? value : -value;
    return true;
  }
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

RespParser::RespParser(const RespLimits& limits) : limits_(limits) {}

void RespParser::reset() {
  startCommand();
  args_.clear();
  error_.clear();
  inline_ = false;
}

void RespParser::startCommand() {
  stage_ = Stage::Start;
  pos_ = 0;
  scanned_ = 0;
  args_left_ = 0;
  bulk_len_ = 0;
  if (spans_.capacity() > kRetainedArgCapacity) {
    spans_ = {};
  } else {
    spans_.clear();
  }
}

RespParser::Result RespParser::parse(std::string_view buffer, size_t& consumed) {
  consumed = 0;
  if (args_.capacity() > kRetainedArgCapacity) {
    args_ = {};
  } else {
    args_.clear();
  }
  if (!error_.empty()) return Result::Error;

  size_t base = 0;  // where the command in progress starts in `buffer`
  while (true) {
    const std::string_view command = buffer.substr(base);
    switch (advance(command)) {
      case Step::NeedMore:
        consumed = base;
        return Result::NeedMore;
      case Step::Error:
        return Result::Error;
      case Step::Skipped:
        base += pos_;
        startCommand();
        break;
      case Step::Continue:  // advance() never returns it; trying again is still right
        break;
      case Step::Command: {
        inline_ = stage_ == Stage::Inline;
        const std::string_view source = inline_ ? std::string_view(inline_storage_) : command;
        args_.reserve(spans_.size());
        for (const auto& [offset, length] : spans_) args_.push_back(source.substr(offset, length));
        consumed = base + pos_;
        startCommand();
        return Result::Command;
      }
    }
  }
}

RespParser::Step RespParser::advance(std::string_view command) {
  if (stage_ == Stage::Start) {
    if (command.empty()) return Step::NeedMore;
    stage_ = command.front() == '*' ? Stage::MultibulkCount : Stage::Inline;
  }
  if (stage_ == Stage::Inline) return advanceInline(command);

  // Multibulk: count lines and bulks follow each other until one needs more
  // bytes or the last argument is in.
  while (true) {
    const Step step =
        stage_ == Stage::BulkData ? advanceBulkData(command) : advanceCountLine(command);
    if (step != Step::Continue) return step;
  }
}

RespParser::LineScan RespParser::findLineEnd(std::string_view command, char terminator,
                                             size_t& end) {
  const size_t limit = limits_.max_inline_bytes;
  const size_t available = command.size() - pos_;
  // Look no further than limit + 1 bytes: a terminator past that makes the
  // line too big no matter when it arrives.
  const size_t window = available > limit ? limit + 1 : available;
  if (scanned_ < window) {
    const char* from = command.data() + pos_ + scanned_;
    const void* hit = std::memchr(from, terminator, window - scanned_);
    if (hit != nullptr) {
      end = static_cast<size_t>(static_cast<const char*>(hit) - command.data());
      // Stay on the terminator: the byte after it may not be here yet.
      scanned_ = end - pos_;
      return LineScan::Found;
    }
    scanned_ = window;
  }
  return available > limit ? LineScan::TooBig : LineScan::NeedMore;
}

RespParser::Step RespParser::advanceInline(std::string_view command) {
  size_t lf = 0;
  switch (findLineEnd(command, '\n', lf)) {
    case LineScan::NeedMore:
      return Step::NeedMore;
    case LineScan::TooBig:
      return fail(kTooBigInline);
    case LineScan::Found:
      break;
  }
  std::string_view line = command.substr(pos_, lf - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = lf + 1;
  inline_storage_.clear();
  spans_.clear();
  if (!splitInlineArgs(line, inline_storage_, spans_)) return fail(kUnbalancedQuotes);
  return spans_.empty() ? Step::Skipped : Step::Command;
}

RespParser::Step RespParser::advanceCountLine(std::string_view command) {
  const bool multibulk = stage_ == Stage::MultibulkCount;
  size_t cr = 0;
  switch (findLineEnd(command, '\r', cr)) {
    case LineScan::NeedMore:
      return Step::NeedMore;
    case LineScan::TooBig:
      return fail(multibulk ? kTooBigMultibulkCount : kTooBigBulkCount);
    case LineScan::Found:
      break;
  }
  if (cr + 1 >= command.size()) return Step::NeedMore;  // the LF has not arrived

  // Only a bulk count line can start wrong: a multibulk one was chosen by its '*'.
  const char marker = command[pos_];
  if (!multibulk && marker != '$') {
    return fail(std::string("Protocol error: expected '$', got '") + marker + "'");
  }
  int64_t value = 0;
  const bool valid =
      parseRespInteger(command.substr(pos_ + 1, cr - pos_ - 1), value) && command[cr + 1] == '\n';
  if (multibulk) {
    if (!valid || value > INT_MAX ||
        (value > 0 && static_cast<uint64_t>(value) > limits_.max_args)) {
      return fail(kInvalidMultibulkLength);
    }
  } else if (!valid || value < 0 || static_cast<uint64_t>(value) > limits_.max_bulk_bytes) {
    return fail(kInvalidBulkLength);
  }

  pos_ = cr + 2;
  scanned_ = 0;
  if (multibulk) {
    // Redis ignores an empty or null multibulk (*0, *-1) and reads on.
    if (value <= 0) return Step::Skipped;
    args_left_ = value;
    stage_ = Stage::BulkCount;
  } else {
    bulk_len_ = static_cast<size_t>(value);
    stage_ = Stage::BulkData;
  }
  return Step::Continue;
}

RespParser::Step RespParser::advanceBulkData(std::string_view command) {
  const size_t available = command.size() - pos_;
  // Check the terminator byte by byte as it arrives, so a broken stream fails
  // at the same byte whatever the chunking.
  if (available > bulk_len_ && command[pos_ + bulk_len_] != '\r') return fail(kBulkNotTerminated);
  if (available > bulk_len_ + 1 && command[pos_ + bulk_len_ + 1] != '\n') {
    return fail(kBulkNotTerminated);
  }
  if (available < bulk_len_ + 2) return Step::NeedMore;

  spans_.emplace_back(pos_, bulk_len_);
  pos_ += bulk_len_ + 2;
  if (--args_left_ == 0) return Step::Command;
  stage_ = Stage::BulkCount;
  return Step::Continue;
}

RespParser::Step RespParser::fail(std::string message) {
  error_ = std::move(message);
  args_.clear();
  return Step::Error;
}

}  // namespace redge
