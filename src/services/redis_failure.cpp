// The one mapping from a failed Redis command to an HTTP error answer.

#include "services/redis_failure.hpp"

#include <string>

#include "redis/redis_reply.hpp"

namespace redge {

void answerRedisFailure(const HttpResponder& responder, RedisStatus status, const redisReply* reply,
                        const RedisClient& redis) {
  switch (status) {
    case RedisStatus::Timeout:
      responder.sendError(503, "redis_timeout",
                          "Redis did not answer in time; retry after the Retry-After delay.",
                          redis.retryAfterSeconds());
      return;
    case RedisStatus::ErrorReply: {
      std::string message = "Redis refused the command";
      if (std::string_view text = replyText(reply); !text.empty())
        message.append(": ").append(text);
      message.append(".");
      responder.sendError(502, "redis_error", message);
      return;
    }
    case RedisStatus::Ok:  // an unexpected reply shape
      responder.sendError(502, "redis_error", "Redis answered with an unexpected reply type.");
      return;
    default:
      responder.sendError(503, "redis_unavailable",
                          "Redis is unavailable; retry after the Retry-After delay.",
                          redis.retryAfterSeconds());
      return;
  }
}

}  // namespace redge
