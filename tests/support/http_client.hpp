#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace redge_test {

// Request headers as curl takes them: "Name: value".
using HeaderList = std::vector<std::string>;

// One HTTP exchange as a client saw it. status is 0 when no response came
// (refused, reset, timed out); `error` then says why.
struct HttpReply {
  long status = 0;
  std::string error;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Wall time of the whole exchange, for the "answers fast" assertions.
  std::chrono::milliseconds elapsed{0};

  // Case-insensitive, as RFC 9110 field names are.
  bool hasHeader(const std::string& name) const;
  // The first value of the header, or "" when absent.
  std::string header(const std::string& name) const;
};

// One part of a multipart/form-data upload; filename empty means a plain field.
struct FormPart {
  std::string name;
  std::string data;
  std::string filename;
  std::string content_type;
};

// Blocking libcurl calls, each bounded by `timeout` so a server that hangs
// fails the test instead of hanging it. curl's own "Expect: 100-continue" is
// switched off: the raw client tests that handshake explicitly, and curl's
// one-second wait for it would only slow the other tests down.
constexpr std::chrono::milliseconds kHttpTimeout{5000};

HttpReply httpGet(const std::string& url, const HeaderList& headers = {},
                  std::chrono::milliseconds timeout = kHttpTimeout);
HttpReply httpHead(const std::string& url, const HeaderList& headers = {},
                   std::chrono::milliseconds timeout = kHttpTimeout);
HttpReply httpPost(const std::string& url, const std::string& body, const HeaderList& headers = {},
                   std::chrono::milliseconds timeout = kHttpTimeout);
// Any method (PUT, DELETE, ...), with a body when `body` is not empty.
HttpReply httpRequest(const std::string& method, const std::string& url, const std::string& body,
                      const HeaderList& headers = {},
                      std::chrono::milliseconds timeout = kHttpTimeout);
HttpReply httpUpload(const std::string& url, const std::vector<FormPart>& parts,
                     const HeaderList& headers = {},
                     std::chrono::milliseconds timeout = kHttpTimeout);

// A multipart/form-data body with the given boundary, for requests the raw
// client sends by hand (chunked, Expect: 100-continue).
std::string multipartBody(const std::string& boundary, const std::vector<FormPart>& parts);

// Case-insensitive ASCII comparison, shared by the header lookups.
bool equalsIgnoreCase(const std::string& a, const std::string& b);

}  // namespace redge_test
