#pragma once
// Start-up name resolution. hiredis and the HTTP client would otherwise
// resolve names with a blocking getaddrinfo on every connect; resolving once,
// before the loop runs, keeps the loop free of blocking DNS.

#include <string>

namespace redge {

// Replaces `host` with its first address (a literal address is kept as is).
// False if the name does not resolve.
bool resolveHost(std::string& host);

}  // namespace redge
