#pragma once
// Reading a hiredis reply: the one place that turns a redisReply into text or
// a number, with the guards every reader needs. A reply may be missing (a
// command failed before Redis answered), may be of another type than
// expected, and hiredis leaves `str` NULL on integer, nil and array replies.

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string_view>

namespace redge {

// The bytes of a string, status or error reply; `fallback` when there is no
// reply or it carries no text (nil, integer, array). The view lives as long
// as the reply.
inline std::string_view replyText(const redisReply* r, std::string_view fallback = {}) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len) : fallback;
}

// An integer reply's value; `fallback` for no reply or any other type.
inline int64_t replyInteger(const redisReply* r, int64_t fallback = 0) {
  return r != nullptr && r->type == REDIS_REPLY_INTEGER ? static_cast<int64_t>(r->integer)
                                                        : fallback;
}

}  // namespace redge
