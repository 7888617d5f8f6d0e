#pragma once
// `redge flags list|get|set|on|off|delete`: the flag store from an
// operator's shell, on the same binary and configuration (--config,
// --redis, REDGE_REDIS_URL), talking to Redis directly with hiredis's
// synchronous API (no loop runs here) and the same scripts the admin API
// runs, so a change made here reaches every instance the same way.

#include <string>
#include <vector>

#include "core/config.hpp"
#include "redis/redis_url.hpp"

namespace redge {

// args: what follows "flags". Prints JSON on stdout; errors as
// {"error","message"} JSON on stderr. Returns the exit status: 0 done,
// 1 failed (no such flag, Redis down, refused), 2 usage.
int runFlagsCommand(const Config& config, const RedisUrl& url,
                    const std::vector<std::string>& args);

}  // namespace redge
