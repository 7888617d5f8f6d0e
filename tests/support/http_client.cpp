// Test HTTP client on libcurl's easy API: one connection per call (no reuse
// across calls), every call bounded by a timeout, the response's status,
// headers and body returned by value.

#include "support/http_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>

namespace redge_test {
namespace {

void ensureCurlInitialised() {
  // curl_global_init is not thread-safe; the concurrency tests call in from threads.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t onBodyCb(char* data, size_t size, size_t count, void* user) {
  static_cast<HttpReply*>(user)->body.append(data, size * count);
  return size * count;
}

std::string trim(std::string s) {
  while (!s.empty() &&
         (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  return s.substr(start);
}

size_t onHeaderCb(char* data, size_t size, size_t count, void* user) {
  auto* reply = static_cast<HttpReply*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after a 1xx) starts a new header section.
    reply->headers.clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    reply->headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};

using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

CurlHandle newHandle(const std::string& url, HttpReply& reply, std::chrono::milliseconds timeout) {
  ensureCurlInitialised();
  CurlHandle curl(curl_easy_init());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &onBodyCb);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, &onHeaderCb);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &reply);
  curl_easy_setopt(curl.get(), CURLOPT_PROXY, "");
  return curl;
}

HttpReply perform(CURL* curl, HttpReply& reply, const HeaderList& headers) {
  std::unique_ptr<curl_slist, SlistDeleter> list;
  curl_slist* raw = nullptr;
  raw = curl_slist_append(raw, "Expect:");
  for (const auto& h : headers) raw = curl_slist_append(raw, h.c_str());
  list.reset(raw);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());
  auto start = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(curl);
  reply.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (rc != CURLE_OK) {
    reply.status = 0;
    reply.error = curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace

bool equalsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool HttpReply::hasHeader(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return true;
  }
  return false;
}

std::string HttpReply::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) return v;
  }
  return {};
}

std::string multipartBody(const std::string& boundary, const std::vector<FormPart>& parts) {
  std::string body;
  for (const auto& p : parts) {
    body.append("--").append(boundary).append("\r\n");
    body.append("Content-Disposition: form-data; name=\"").append(p.name).append("\"");
    if (!p.filename.empty()) body.append("; filename=\"").append(p.filename).append("\"");
    body.append("\r\n");
    if (!p.content_type.empty())
      body.append("Content-Type: ").append(p.content_type).append("\r\n");
    body.append("\r\n").append(p.data).append("\r\n");
  }
  body.append("--").append(boundary).append("--\r\n");
  return body;
}

HttpReply httpGet(const std::string& url, const HeaderList& headers,
                  std::chrono::milliseconds timeout) {
  HttpReply reply;
  CurlHandle curl = newHandle(url, reply, timeout);
  return perform(curl.get(), reply, headers);
}

HttpReply httpHead(const std::string& url, const HeaderList& headers,
                   std::chrono::milliseconds timeout) {
  HttpReply reply;
  CurlHandle curl = newHandle(url, reply, timeout);
  curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  return perform(curl.get(), reply, headers);
}

HttpReply httpPost(const std::string& url, const std::string& body, const HeaderList& headers,
                   std::chrono::milliseconds timeout) {
  HttpReply reply;
  CurlHandle curl = newHandle(url, reply, timeout);
  curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  return perform(curl.get(), reply, headers);
}

HttpReply httpRequest(const std::string& method, const std::string& url, const std::string& body,
                      const HeaderList& headers, std::chrono::milliseconds timeout) {
  HttpReply reply;
  CurlHandle curl = newHandle(url, reply, timeout);
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  return perform(curl.get(), reply, headers);
}

HttpReply httpUpload(const std::string& url, const std::vector<FormPart>& parts,
                     const HeaderList& headers, std::chrono::milliseconds timeout) {
  HttpReply reply;
  CurlHandle curl = newHandle(url, reply, timeout);
  std::unique_ptr<curl_mime, MimeDeleter> mime(curl_mime_init(curl.get()));
  for (const auto& p : parts) {
    curl_mimepart* part = curl_mime_addpart(mime.get());
    curl_mime_name(part, p.name.c_str());
    curl_mime_data(part, p.data.data(), p.data.size());
    if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
    if (!p.content_type.empty()) curl_mime_type(part, p.content_type.c_str());
  }
  curl_easy_setopt(curl.get(), CURLOPT_MIMEPOST, mime.get());
  return perform(curl.get(), reply, headers);
}

}  // namespace redge_test
