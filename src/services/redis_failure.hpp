#pragma once
// How a service answers when a Redis command did not succeed: one mapping,
// so every route tells a client the same story for the same failure.
//   unavailable / connection lost / closed -> 503 redis_unavailable + Retry-After
//   timeout                                -> 503 redis_timeout + Retry-After
//   Redis error reply                      -> 502 redis_error

#include <hiredis/hiredis.h>

#include "net/http/http_server.hpp"
#include "redis/redis_client.hpp"

namespace redge {

void answerRedisFailure(const HttpResponder& responder, RedisStatus status, const redisReply* reply,
                        const RedisClient& redis);

}  // namespace redge
