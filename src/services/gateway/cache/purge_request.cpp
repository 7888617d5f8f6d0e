// Reading an operator's purge request (see purge_request.hpp). Everything
// in it ends up in cache keys, Redis patterns and fleet messages, so
// control characters and spaces are refused rather than carried along.

#include "services/gateway/cache/purge_request.hpp"

#include <rapidjson/document.h>

#include "core/ascii.hpp"
#include "core/json_parse.hpp"
#include "services/gateway/cache/invalidation.hpp"

namespace redge {
namespace {

constexpr size_t kMaxPurgeTags = 256;
constexpr size_t kMaxPurgeFieldBytes = 8192;

bool plainText(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string lowerHost(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

PurgeParse refusePurge(std::string message) {
  PurgeParse p;
  p.error = "invalid_purge";
  p.message = std::move(message);
  return p;
}

// "http://host/x" or "https://host/x" -> host and "/x"; "/x" -> "/x".
bool splitUrl(std::string_view url, std::string& host, std::string& target) {
  if (url.starts_with('/')) {
    target = url;
    return true;
  }
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (authority.empty()) return false;
  host = lowerHost(cacheKeyHost(authority));
  if (slash == std::string_view::npos) {
    target = "/";
  } else if (rest[slash] == '?') {
    target = "/" + std::string(rest.substr(slash));
  } else {
    target = rest.substr(slash);
  }
  size_t hash = target.find('#');
  if (hash != std::string::npos) target.resize(hash);
  return true;
}

// The host part and the target part of a key, "http://<host><target>".
bool splitKey(std::string_view key, std::string_view& host, std::string_view& target) {
  constexpr std::string_view kScheme = "http://";
  if (!key.starts_with(kScheme)) return false;
  std::string_view rest = key.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  host = rest.substr(0, slash);
  target = rest.substr(slash);
  return true;
}

}  // namespace

std::string_view cacheKeyHost(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos) return host;
  size_t bracket = host.rfind(']');
  if (bracket != std::string_view::npos && bracket > colon) return host;  // "[::1]"
  return host.substr(0, colon);
}

PurgeParse parsePurgeRequest(std::string_view body) {
  rapidjson::Document doc;
  JsonParseResult parsed = parseJson(body, doc);
  if (!parsed.ok()) {
    PurgeParse p;
    p.error = "invalid_json";
    p.message = "The purge request is not JSON (" + parsed.describe() +
                "); send an object such as {\"tags\": [\"courses\"]}.";
    return p;
  }
  if (!doc.IsObject()) {
    return refusePurge("The purge request must be a JSON object with url, prefix or tags.");
  }
  PurgeRequest out;
  bool any = false;
  auto text = [&](const char* name, std::string& into) -> std::optional<PurgeParse> {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd()) return std::nullopt;
    if (!it->value.IsString()) {
      return refusePurge(std::string("\"") + name + "\" must be a string.");
    }
    std::string_view v(it->value.GetString(), it->value.GetStringLength());
    if (v.empty() || v.size() > kMaxPurgeFieldBytes || !plainText(v)) {
      return refusePurge(std::string("\"") + name +
                         "\" must be 1 to 8192 characters without spaces or control characters.");
    }
    into = v;
    return std::nullopt;
  };
  for (auto& m : doc.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name != "url" && name != "prefix" && name != "tags" && name != "host") {
      return refusePurge("Unknown field \"" + std::string(name) +
                         "\" in the purge request; it takes url, prefix, tags and host.");
    }
  }
  std::string host;
  if (auto e = text("host", host)) return *e;
  out.host = lowerHost(cacheKeyHost(host));
  std::string url;
  if (auto e = text("url", url)) return *e;
  if (!url.empty()) {
    std::string url_host;
    std::string target;
    if (!splitUrl(url, url_host, target)) {
      return refusePurge("\"url\" must be an absolute http(s) URL or a path starting with '/'.");
    }
    if (!url_host.empty()) {
      if (!out.host.empty() && out.host != url_host) {
        return refusePurge("\"url\" names host " + url_host + " but \"host\" says " + out.host +
                           ".");
      }
      out.host = url_host;
    }
    out.target = target;
    any = true;
  }
  std::string prefix;
  if (auto e = text("prefix", prefix)) return *e;
  if (!prefix.empty()) {
    if (!prefix.starts_with('/'))
      return refusePurge("\"prefix\" must be a path starting with '/'.");
    out.prefix = prefix;
    any = true;
  }
  auto tags = doc.FindMember("tags");
  if (tags != doc.MemberEnd()) {
    if (!tags->value.IsArray() || tags->value.Size() > kMaxPurgeTags) {
      return refusePurge("\"tags\" must be an array of at most 256 strings.");
    }
    for (const auto& t : tags->value.GetArray()) {
      std::string_view v =
          t.IsString() ? std::string_view(t.GetString(), t.GetStringLength()) : std::string_view();
      if (v.empty() || v.size() > kMaxCacheTagBytes || !plainText(v) ||
          v.find(',') != std::string_view::npos) {
        return refusePurge(
            "Each tag must be a string of 1 to 256 characters without spaces, commas or control "
            "characters.");
      }
      out.tags.emplace_back(v);
    }
    any = any || !out.tags.empty();
  }
  if (!any)
    return refusePurge("The purge request names nothing to purge: give url, prefix or tags.");
  PurgeParse p;
  p.request = std::move(out);
  return p;
}

bool purgeUrlMatches(std::string_view key, std::string_view host, std::string_view target) {
  std::string_view key_host;
  std::string_view key_target;
  if (!splitKey(key, key_host, key_target)) return false;
  return key_target == target && (host.empty() || key_host == host);
}

bool purgePrefixMatches(std::string_view key, std::string_view host, std::string_view prefix) {
  std::string_view key_host;
  std::string_view key_target;
  if (!splitKey(key, key_host, key_target)) return false;
  return key_target.starts_with(prefix) && (host.empty() || key_host == host);
}

}  // namespace redge
