#pragma once
// Appenders that write RESP replies onto the end of a std::string (the
// connection's output buffer). Each call appends one complete value, or for
// aggregates one header that the caller follows with exactly the values it
// announced.
//
// RESP2 and RESP3 share most types. Where RESP3 has a type of its own (null,
// map, set, verbatim string), the appender takes the connection's protocol
// and writes what Redis writes on that protocol: a map is `%n` on RESP3 and
// a flat array of 2n values on RESP2, a null is `_` on RESP3 and `$-1` (or
// `*-1` where the value would have been an array) on RESP2.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace redge {

// The protocol a connection speaks: RESP2 until it asks HELLO 3.
enum class RespProtocol : uint8_t { Resp2 = 2, Resp3 = 3 };

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

// "$-1\r\n", the RESP2 null bulk string.
void appendRespNull(std::string& out);

// The null of a missing string: "$-1\r\n" on RESP2, "_\r\n" on RESP3.
void appendRespNull(std::string& out, RespProtocol protocol);

// "*<n>\r\n"; n values must follow.
void appendRespArrayHeader(std::string& out, size_t n);

// "*-1\r\n", the RESP2 null array.
void appendRespNullArray(std::string& out);

// The null of a missing array: "*-1\r\n" on RESP2, "_\r\n" on RESP3.
void appendRespNullArray(std::string& out, RespProtocol protocol);

// A map of n pairs: "%<n>\r\n" on RESP3, "*<2n>\r\n" on RESP2; 2n values
// (key, value, key, value...) must follow.
void appendRespMapHeader(std::string& out, size_t pairs, RespProtocol protocol);

// A set of n members: "~<n>\r\n" on RESP3, "*<n>\r\n" on RESP2.
void appendRespSetHeader(std::string& out, size_t n, RespProtocol protocol);

// Text meant for a person (INFO, CLIENT INFO): on RESP3 the verbatim string
// "=<len+4>\r\ntxt:<text>\r\n", on RESP2 a bulk string.
void appendRespVerbatim(std::string& out, std::string_view text, RespProtocol protocol);

}  // namespace redge
