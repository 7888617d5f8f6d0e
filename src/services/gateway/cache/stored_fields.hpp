#pragma once
// The header fields a stored response keeps (RFC 9111 3.1) and how an
// upstream 304 updates them (3.2, 4.3.4). Pure: views in, owned fields out,
// ready to be kept in memory or serialised to Redis.

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "net/http/http_response.hpp"
#include "services/gateway/cache/cache_control.hpp"

namespace redge {

using StoredHeaderFields = std::vector<std::pair<std::string, std::string>>;

// Views of owned fields, for the functions that read spans.
std::vector<HttpHeaderField> headerFieldViews(const StoredHeaderFields& fields);

// The response fields to store (3.1): all of them, in order, except the
// hop-by-hop fields and those Connection names, the proxy's own
// (Proxy-Authenticate, Proxy-Authentication-Info, Proxy-Authorization), and
// the fields a qualified no-cache or private names (a later request may
// then reuse the rest without revalidating, 5.2.2.4 and 5.2.2.7). A response
// without a valid Date gets one: the time it arrived (RFC 9110 6.6.1).
StoredHeaderFields fieldsToStore(std::span<const HttpHeaderField> response_headers,
                                 int64_t response_time_ms);
// The same, with the response's Cache-Control already parsed (the store
// decision did).
StoredHeaderFields fieldsToStore(std::span<const HttpHeaderField> response_headers,
                                 const CacheControl& cache_control, int64_t response_time_ms);
// The same as views into `response_headers` (and into `date`, which holds
// the Date added when the response had no valid one), for a caller that
// encodes them at once.
void fieldsToStore(std::span<const HttpHeaderField> response_headers,
                   const CacheControl& cache_control, int64_t response_time_ms,
                   std::vector<HttpHeaderField>& out, std::string& date);

// The stored fields after an upstream 304 that notModifiedSelects (3.2):
// every field the 304 carries replaces all stored lines of that name, except
// those never stored (as above) and Content-Length (the stored content keeps
// its length). Age always comes from the 304 (the entry's age restarts with
// the exchange that revalidated it, whose times the caller records), and a
// 304 without Date gets one as a new response does.
StoredHeaderFields mergeNotModified(std::span<const HttpHeaderField> stored_headers,
                                    std::span<const HttpHeaderField> not_modified_headers,
                                    int64_t response_time_ms);

}  // namespace redge
