#pragma once
// Large HTTP transfers with libcurl that keep nothing in memory: a download
// checked byte by byte against the stream pattern as it arrives, an upload
// generated from it as it is sent. Both bounded in time, both able to give
// up midway (a client that vanishes).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace redge_test {

struct StreamTransfer {
  long status = 0;
  std::string error;  // curl's message when the transfer failed ("" if it did not)
  int curl_code = 0;
  int64_t bytes = 0;       // body bytes received
  bool pattern_ok = true;  // every byte received matched the pattern (an echo's answer)
  std::string body;        // the first 64 KiB received (small answers)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& name) const;
};

// GET (or HEAD) `url`, checking the body against the pattern. With
// abort_after >= 0 the client hangs up once that many bytes have come.
StreamTransfer streamDownload(const std::string& url, std::chrono::milliseconds timeout,
                              int64_t abort_after = -1, bool head = false);

// POST `size` pattern bytes to `url` (with Content-Length, or chunked). With
// abort_after >= 0 the client hangs up once that many bytes have gone.
StreamTransfer streamUpload(const std::string& url, int64_t size, bool chunked,
                            std::chrono::milliseconds timeout, int64_t abort_after = -1);

}  // namespace redge_test
