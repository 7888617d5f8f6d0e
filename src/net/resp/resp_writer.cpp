// RESP reply encoding. Numbers go through std::to_chars into a stack buffer
// so a reply costs no allocation beyond the output string's own growth.

#include "net/resp/resp_writer.hpp"

#include <charconv>

namespace redge {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Line-typed values (simple strings, errors) end at the first CRLF, so any
// CR or LF inside them would be read as the end of the value.
void appendLineText(std::string& out, std::string_view text) {
  const size_t start = out.size();
  out.append(text);
  for (size_t i = start; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
}

template <typename Integer>
void appendNumberLine(std::string& out, char type, Integer n) {
  char digits[24];  // 20 digits of a 64-bit value, a sign, spare
  const auto result = std::to_chars(digits, digits + sizeof(digits), n);
  out.push_back(type);
  out.append(digits, static_cast<size_t>(result.ptr - digits));
  out.append(kCrlf);
}

}  // namespace

void appendRespSimple(std::string& out, std::string_view text) {
  out.push_back('+');
  appendLineText(out, text);
  out.append(kCrlf);
}

void appendRespError(std::string& out, std::string_view message) {
  out.push_back('-');
  appendLineText(out, message);
  out.append(kCrlf);
}

void appendRespInteger(std::string& out, int64_t n) {
  appendNumberLine(out, ':', n);
}

void appendRespBulk(std::string& out, std::string_view bytes) {
  appendNumberLine(out, '$', bytes.size());
  out.append(bytes);
  out.append(kCrlf);
}

void appendRespNull(std::string& out) {
  out.append("$-1\r\n");
}

void appendRespNull(std::string& out, RespProtocol protocol) {
  out.append(protocol == RespProtocol::Resp3 ? "_\r\n" : "$-1\r\n");
}

void appendRespArrayHeader(std::string& out, size_t n) {
  appendNumberLine(out, '*', n);
}

void appendRespNullArray(std::string& out) {
  out.append("*-1\r\n");
}

void appendRespNullArray(std::string& out, RespProtocol protocol) {
  out.append(protocol == RespProtocol::Resp3 ? "_\r\n" : "*-1\r\n");
}

void appendRespMapHeader(std::string& out, size_t pairs, RespProtocol protocol) {
  if (protocol == RespProtocol::Resp3) {
    appendNumberLine(out, '%', pairs);
  } else {
    appendNumberLine(out, '*', pairs * 2);
  }
}

void appendRespSetHeader(std::string& out, size_t n, RespProtocol protocol) {
  appendNumberLine(out, protocol == RespProtocol::Resp3 ? '~' : '*', n);
}

void appendRespVerbatim(std::string& out, std::string_view text, RespProtocol protocol) {
  if (protocol != RespProtocol::Resp3) {
    appendRespBulk(out, text);
    return;
  }
  appendNumberLine(out, '=', text.size() + 4);
  out.append("txt:");
  out.append(text);
  out.append(kCrlf);
}

}  // namespace redge
