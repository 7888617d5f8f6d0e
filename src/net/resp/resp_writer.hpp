#pragma once
// Appenders that write RESP2 replies onto the end of a std::string (the
// connection's output buffer). Each call appends one complete value, or for
// arrays one header that the caller follows with exactly n values.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace redge {

// "+<text>\r\n". A simple string cannot carry CR or LF: each becomes a space.
void appendRespSimple(std::string& out, std::string_view text);

// "-<message>\r\n". The message starts with its error code ("ERR ...",
// "WRONGTYPE ..."); CR and LF in it become spaces, as Redis does, so a
// message quoting client bytes cannot break the reply framing.
void appendRespError(std::string& out, std::string_view message);

// ":<n>\r\n"
void appendRespInteger(std::string& out, int64_t n);

// "$<len>\r\n<bytes>\r\n", binary safe.
void appendRespBulk(std::string& out, std::string_view bytes);

// "$-1\r\n", the null bulk string.
void appendRespNull(std::string& out);

// "*<n>\r\n"; n values must follow.
void appendRespArrayHeader(std::string& out, size_t n);

// "*-1\r\n", the null array.
void appendRespNullArray(std::string& out);

}  // namespace redge
