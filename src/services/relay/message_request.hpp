#pragma once
// Validation of a POST /messages body. Pure: the route turns the result
// into 202, 400 (naming the field) or 415.

#include <cstddef>
#include <string>
#include <string_view>

namespace redge {

struct MessageRequest {
  std::string destination;
  std::string body;
};

struct MessageRequestLimits {
  size_t max_destination_bytes = 50;
  size_t max_body_bytes = 1000;
};

struct MessageRequestError {
  int status = 0;       // 0: valid; else 400 or 415
  std::string code;     // invalid_json, invalid_field, unsupported_media_type
  std::string field;    // the field at fault, when there is one
  std::string message;  // one sentence a person can act on
};

// Checks the Content-Type and parses the JSON body into `out`.
MessageRequestError parseMessageRequest(std::string_view content_type, std::string_view json,
                                        const MessageRequestLimits& limits, MessageRequest& out);

}  // namespace redge
