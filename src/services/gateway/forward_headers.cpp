// The header rules of forwarding (see the header). The fields a Connection
// header names are collected first (its value is a comma list, and it may
// come on several lines), then one pass keeps or drops each field.

#include "services/gateway/forward_headers.hpp"

#include "core/ascii.hpp"

namespace redge {
namespace {

constexpr std::string_view kHopByHop[] = {"Connection", "Keep-Alive", "Proxy-Connection",
                                          "TE",         "Trailer",    "Transfer-Encoding",
                                          "Upgrade"};

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The field names every Connection line lists.
std::vector<std::string_view> connectionOptions(std::span<const HttpHeaderField> fields) {
  std::vector<std::string_view> names;
  for (const HttpHeaderField& f : fields) {
    if (!headerNameIs(f.name, "Connection")) continue;
    std::string_view list = f.value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view token = trimOws(list.substr(0, comma));
      if (!token.empty()) names.push_back(token);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return names;
}

bool dropped(std::string_view name, const std::vector<std::string_view>& named) {
  if (isHopByHopHeader(name)) return true;
  // Host is how the upstream tells sites apart: a client cannot have it
  // dropped by naming it in Connection.
  if (headerNameIs(name, "Host")) return false;
  for (std::string_view n : named) {
    if (headerNameIs(name, n)) return true;
  }
  return false;
}

}  // namespace

bool headerNameIs(std::string_view name, std::string_view expected) {
  return equalsIgnoreCase(name, expected);
}

bool isHopByHopHeader(std::string_view name) {
  for (std::string_view h : kHopByHop) {
    if (headerNameIs(name, h)) return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> upstreamRequestHeaders(
    std::span<const HttpHeaderField> request, const ForwardedContext& context) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(request.size() + 4);
  forEachUpstreamRequestHeader(request, context,
                               [&out](std::string_view name, std::string_view value) {
                                 out.emplace_back(std::string(name), std::string(value));
                               });
  return out;
}

void forEachUpstreamRequestHeader(
    std::span<const HttpHeaderField> request, const ForwardedContext& context,
    const std::function<void(std::string_view name, std::string_view value)>& emit) {
  std::vector<std::string_view> named = connectionOptions(request);
  std::string forwarded_for;
  std::string via;
  std::string_view host;
  bool has_host = false;
  for (const HttpHeaderField& f : request) {
    // A field Connection names is dropped even when it is one of ours:
    // "Connection: X-Forwarded-For" from the client removes its own list.
    if (dropped(f.name, named)) continue;
    if (headerNameIs(f.name, "X-Forwarded-For")) {
      std::string_view v = trimOws(f.value);
      if (v.empty()) continue;
      if (!forwarded_for.empty()) forwarded_for.append(", ");
      forwarded_for.append(v);
      continue;
    }
    if (headerNameIs(f.name, "Via")) {
      std::string_view v = trimOws(f.value);
      if (v.empty()) continue;
      if (!via.empty()) via.append(", ");
      via.append(v);
      continue;
    }
    if (headerNameIs(f.name, "X-Forwarded-Proto") || headerNameIs(f.name, "X-Forwarded-Host")) {
      continue;
    }
    if (headerNameIs(f.name, "Host") && !has_host) {
      host = f.value;
      has_host = true;
    }
    emit(f.name, f.value);
  }
  if (!forwarded_for.empty()) forwarded_for.append(", ");
  forwarded_for.append(context.client_address);
  emit("X-Forwarded-For", forwarded_for);
  emit("X-Forwarded-Proto", context.proto);
  if (has_host && !host.empty()) emit("X-Forwarded-Host", host);
  if (!via.empty()) via.append(", ");
  // RFC 9110 7.6.3: the protocol version received, then who received it.
  if (context.version_major == 1) {
    via.append(context.version_minor == 0 ? "1.0 " : "1.1 ");
  } else {
    via.append(std::to_string(context.version_major)).append(" ");
  }
  via.append(kViaName);
  emit("Via", via);
}

std::vector<HttpHeaderField> clientResponseHeaders(std::span<const HttpHeaderField> response) {
  std::vector<HttpHeaderField> out;
  out.reserve(response.size());
  forEachClientResponseHeader(response, [&out](const HttpHeaderField& f) { out.push_back(f); });
  return out;
}

void forEachClientResponseHeader(std::span<const HttpHeaderField> response,
                                 const std::function<void(const HttpHeaderField&)>& emit) {
  std::vector<std::string_view> named = connectionOptions(response);
  for (const HttpHeaderField& f : response) {
    if (dropped(f.name, named)) continue;
    if (headerNameIs(f.name, "Content-Length")) continue;
    emit(f);
  }
}

std::optional<std::string_view> cookieValue(std::string_view cookie_header, std::string_view name) {
  // RFC 6265 5.4: "name=value" pairs separated by "; ". Names are
  // case-sensitive.
  std::string_view rest = cookie_header;
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view pair = trimOws(rest.substr(0, semi));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trimOws(pair.substr(0, eq)) == name) {
      std::string_view value = trimOws(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

}  // namespace redge
