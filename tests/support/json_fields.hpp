#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace redge_test {

// Field lookups on a JSON response body (RapidJSON underneath). Each returns
// nullopt when the body is not JSON, is not an object, or lacks the field
// with that type, so a test's CHECK prints what it actually got.
std::optional<std::string> jsonString(const std::string& body, const char* field);
std::optional<int64_t> jsonInt(const std::string& body, const char* field);
// The body as an array of strings (GET /recent in JSON).
std::optional<std::vector<std::string>> jsonStringArray(const std::string& body);
// The stable error code of an error body: {"error": "...", "message": "..."};
// "" when the body is not such an object (message must be a string too).
std::string errorCode(const std::string& body);

}  // namespace redge_test
