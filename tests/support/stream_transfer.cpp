// Streaming libcurl transfers for the streaming tests (see the header).

#include "support/stream_transfer.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "support/http_client.hpp"
#include "support/stream_pattern.hpp"

namespace redge_test {
namespace {

constexpr size_t kBlock = 64 << 10;

// kBlock pattern bytes from any offset o: start at patternBlock()[o % 251].
const char* patternBlock() {
  static const std::string bytes = [] {
    std::string b(kBlock + 251, '\0');
    for (size_t i = 0; i < b.size(); ++i) b[i] = patternByte(i);
    return b;
  }();
  return bytes.data();
}

struct Transfer {
  StreamTransfer result;
  int64_t abort_after = -1;
  // upload
  int64_t to_send = 0;
  int64_t sent = 0;
  int64_t abort_upload_after = -1;
};

size_t onWriteCb(char* data, size_t, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  StreamTransfer& r = t->result;
  for (size_t off = 0; off < n && r.pattern_ok; off += kBlock) {
    size_t k = std::min(kBlock, n - off);
    uint64_t at = static_cast<uint64_t>(r.bytes) + off;
    if (std::memcmp(data + off, patternBlock() + at % 251, k) != 0) r.pattern_ok = false;
  }
  if (r.body.size() < (64u << 10)) r.body.append(data, std::min(n, (64u << 10) - r.body.size()));
  r.bytes += static_cast<int64_t>(n);
  if (t->abort_after >= 0 && r.bytes >= t->abort_after) return 0;  // hang up
  return n;
}

size_t onHeaderCb(char* data, size_t, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->result.headers.clear();  // a 1xx came first: only the final head counts
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  t->result.headers.emplace_back(line.substr(0, colon), value);
  return n;
}

size_t onReadCb(char* buffer, size_t, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->abort_upload_after >= 0 && t->sent >= t->abort_upload_after) return CURL_READFUNC_ABORT;
  int64_t left = t->to_send - t->sent;
  size_t k =
      static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(std::min(n, kBlock))));
  std::memcpy(buffer, patternBlock() + static_cast<uint64_t>(t->sent) % 251, k);
  t->sent += static_cast<int64_t>(k);
  return k;
}

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

CurlPtr handle(const std::string& url, Transfer& t, std::chrono::milliseconds timeout) {
  CurlPtr curl(curl_easy_init(), &curl_easy_cleanup);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &onWriteCb);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, &onHeaderCb);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_PROXY, "");
  return curl;
}

void perform(CURL* curl, Transfer& t) {
  CURLcode rc = curl_easy_perform(curl);
  t.result.curl_code = static_cast<int>(rc);
  if (rc != CURLE_OK) t.result.error = curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.result.status);
}

}  // namespace

std::string StreamTransfer::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return v;
  }
  return "";
}

StreamTransfer streamDownload(const std::string& url, std::chrono::milliseconds timeout,
                              int64_t abort_after, bool head) {
  Transfer t;
  t.abort_after = abort_after;
  CurlPtr curl = handle(url, t, timeout);
  if (head) curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  perform(curl.get(), t);
  return t.result;
}

StreamTransfer streamUpload(const std::string& url, int64_t size, bool chunked,
                            std::chrono::milliseconds timeout, int64_t abort_after) {
  Transfer t;
  t.to_send = size;
  t.abort_upload_after = abort_after;
  CurlPtr curl = handle(url, t, timeout);
  curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_READFUNCTION, &onReadCb);
  curl_easy_setopt(curl.get(), CURLOPT_READDATA, &t);
  struct curl_slist* list = curl_slist_append(nullptr, "Expect:");  // no 1 s wait for a 100
  list = curl_slist_append(list, "Content-Type: application/octet-stream");
  if (chunked) {
    list = curl_slist_append(list, "Transfer-Encoding: chunked");
  } else {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  }
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list);
  perform(curl.get(), t);
  curl_slist_free_all(list);
  return t.result;
}

}  // namespace redge_test
