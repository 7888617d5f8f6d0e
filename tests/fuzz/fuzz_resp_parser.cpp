// libFuzzer target for RespParser. The first bytes of the input pick the
// limits and where to cut the stream; the rest is the request stream. It is
// parsed whole, in the chosen chunks and one byte at a time, driven the way a
// connection drives it (drop `consumed`, append, parse again), and all three
// must agree on every command, on the error and on the unparsed tail. The
// commands that came out are then written back as multibulk requests with
// the reply writer and must parse to the same arguments. Any disagreement or
// broken API promise traps.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_writer.hpp"

namespace {

using redge::RespLimits;
using redge::RespParser;

struct Command {
  std::vector<std::string> args;
  bool is_inline = false;
  bool operator==(const Command& o) const { return args == o.args && is_inline == o.is_inline; }
};

struct Outcome {
  std::vector<Command> commands;
  bool failed = false;
  std::string error;
  std::string leftover;
  size_t consumed_total = 0;

  bool operator==(const Outcome& o) const {
    return commands == o.commands && failed == o.failed && error == o.error &&
           leftover == o.leftover;
  }
};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Small limits make every "too big" and "invalid length" path reachable with
// short inputs; the defaults cover the ordinary configuration.
RespLimits limitsFor(uint8_t choice) {
  RespLimits limits;
  switch (choice & 3) {
    case 1:
      limits.max_args = 4;
      limits.max_bulk_bytes = 16;
      limits.max_inline_bytes = 8;
      break;
    case 2:
      limits.max_args = 2;
      limits.max_bulk_bytes = 4;
      limits.max_inline_bytes = 3;
      break;
    case 3:
      limits.max_inline_bytes = 16;
      break;
    default:
      break;
  }
  return limits;
}

// Feeds `input` in pieces of the given lengths (the remainder last).
Outcome run(std::string_view input, const std::vector<size_t>& lengths, const RespLimits& limits) {
  Outcome out;
  RespParser parser(limits);
  std::string buffer;

  auto drain = [&]() {
    while (true) {
      size_t consumed = SIZE_MAX;
      const RespParser::Result result = parser.parse(buffer, consumed);
      check(consumed <= buffer.size());
      if (result == RespParser::Result::Error) {
        check(consumed == 0);
        check(parser.args().empty());
        check(parser.error().substr(0, 16) == "Protocol error: ");
        out.failed = true;
        out.error = std::string(parser.error());
        return false;
      }
      check(parser.error().empty());
      if (result == RespParser::Result::Command) {
        check(consumed > 0);
        check(!parser.args().empty());
        Command command;
        command.is_inline = parser.inlineCommand();
        for (std::string_view arg : parser.args()) {
          if (!command.is_inline) {
            check(arg.size() <= limits.max_bulk_bytes);
            check(arg.data() >= buffer.data() &&
                  arg.data() + arg.size() <= buffer.data() + consumed);
          }
          command.args.emplace_back(arg);
        }
        if (!command.is_inline) check(command.args.size() <= limits.max_args);
        out.commands.push_back(std::move(command));
      } else {
        check(parser.args().empty());
      }
      buffer.erase(0, consumed);
      out.consumed_total += consumed;
      if (result == RespParser::Result::NeedMore) return true;
    }
  };

  size_t pos = 0;
  bool ok = true;
  for (size_t len : lengths) {
    if (pos >= input.size()) break;
    const std::string_view piece = input.substr(pos, len);
    buffer.append(piece);
    pos += piece.size();
    ok = drain();
    if (!ok) break;
  }
  if (ok) {
    buffer.append(input.substr(pos));
    ok = drain();
  }
  if (ok) {
    out.leftover = buffer;
    check(out.consumed_total + out.leftover.size() == input.size());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // Byte 0: number of cuts (low 3 bits), limits (next 2 bits). Then one byte
  // per cut gives a piece length (0 is allowed: an empty read).
  const uint8_t mode = data[0];
  const RespLimits limits = limitsFor(mode >> 3);
  size_t pos = 1;
  std::vector<size_t> lengths;
  const size_t cuts = mode & 7;
  for (size_t k = 0; k < cuts && pos < size; ++k) lengths.push_back(data[pos++]);
  const std::string_view input(reinterpret_cast<const char*>(data) + pos, size - pos);

  const Outcome whole = run(input, {}, limits);
  check(run(input, lengths, limits) == whole);
  check(run(input, std::vector<size_t>(input.size(), 1), limits) == whole);

  // Whatever came out, inline or not, is a list of byte strings that a
  // multibulk request carries exactly.
  if (!whole.commands.empty()) {
    std::string wire;
    RespLimits roomy;
    roomy.max_bulk_bytes = 0;
    roomy.max_args = 0;
    for (const Command& c : whole.commands) {
      redge::appendRespArrayHeader(wire, c.args.size());
      if (c.args.size() > roomy.max_args) roomy.max_args = c.args.size();
      for (const std::string& a : c.args) {
        redge::appendRespBulk(wire, a);
        if (a.size() > roomy.max_bulk_bytes) roomy.max_bulk_bytes = a.size();
      }
    }
    const Outcome again = run(wire, {}, roomy);
    check(!again.failed && again.leftover.empty());
    check(again.commands.size() == whole.commands.size());
    for (size_t i = 0; i < again.commands.size(); ++i) {
      check(!again.commands[i].is_inline);
      check(again.commands[i].args == whole.commands[i].args);
    }
  }
  return 0;
}
