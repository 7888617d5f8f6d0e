// The router: a linear scan over a handful of routes per listener. With
// fewer than a few dozen routes a scan of short string compares beats any
// trie on both speed and clarity.

#include "net/http/router.hpp"

namespace redge {

int Router::add(HttpMethod method, std::string_view pattern) {
  Route r{method, {}, true};
  std::string_view p = pattern;
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (true) {
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    if (seg.size() >= 3 && seg.front() == '{' && seg.back() == '}') {
      bool rest = seg[1] == '*';
      r.segments.push_back({rest ? Segment::Kind::Rest : Segment::Kind::Capture,
                            std::string(seg.substr(rest ? 2 : 1, seg.size() - (rest ? 3 : 2)))});
      r.exact = false;
      if (rest) break;
    } else {
      r.segments.push_back({Segment::Kind::Literal, std::string(seg)});
    }
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  routes_.push_back(std::move(r));
  return static_cast<int>(routes_.size() - 1);
}

bool Router::matchPath(const Route& route, std::string_view path,
                       std::vector<std::string_view>* params) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  size_t captured = params ? params->size() : 0;
  for (size_t i = 0; i < route.segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.kind == Segment::Kind::Rest) {
      if (path.empty()) break;  // a rest capture needs at least one byte
      if (params) params->push_back(path);
      return true;
    }
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    bool last = i + 1 == route.segments.size();
    if (s.kind == Segment::Kind::Literal) {
      if (seg != s.text) break;
    } else {
      if (seg.empty()) break;
      if (params) params->push_back(seg);
    }
    if (last) {
      if (slash == std::string_view::npos) return true;
      break;
    }
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  if (params) params->resize(captured);
  return false;
}

RouteMatch Router::match(HttpMethod method, std::string_view path,
                         std::vector<std::string_view>& params) const {
  RouteMatch m;
  const Route* found = nullptr;
  int found_id = -1;
  bool path_matched = false;
  int matched_pass = -1;
  // Two passes: exact patterns first, then those with captures.
  for (int pass = 0; pass < 2 && !found; ++pass) {
    for (size_t i = 0; i < routes_.size(); ++i) {
      const Route& r = routes_[i];
      if (r.exact != (pass == 0)) continue;
      if (!matchPath(r, path, nullptr)) continue;
      path_matched = true;
      matched_pass = pass;
      bool method_ok = r.method == method;
      if (!method_ok && method == HttpMethod::Head && r.method == HttpMethod::Get) {
        // HEAD falls back to GET unless a HEAD route exists for the same pattern.
        method_ok = true;
        for (const Route& other : routes_) {
          if (other.method == HttpMethod::Head && other.exact == r.exact &&
              matchPath(other, path, nullptr)) {
            method_ok = false;
            break;
          }
        }
      }
      if (method_ok) {
        found = &r;
        found_id = static_cast<int>(i);
        break;
      }
    }
    // A path that matches exactly never falls through to a capture route of
    // another method: /get with POST is a 405, not the catch-all.
    if (path_matched) break;
  }
  if (found) {
    matchPath(*found, path, &params);
    m.kind = RouteMatch::Kind::Found;
    m.route_id = found_id;
    return m;
  }
  if (path_matched) {
    m.kind = RouteMatch::Kind::MethodNotAllowed;
    bool has_get = false, has_head = false;
    // Only the routes of the pass that matched: an exact route shadows the
    // capture routes for its path, so their methods are not allowed here.
    for (const Route& r : routes_) {
      if (r.exact != (matched_pass == 0) || !matchPath(r, path, nullptr)) continue;
      std::string_view name = httpMethodName(r.method);
      if (m.allow.find(name) != std::string::npos) continue;
      if (!m.allow.empty()) m.allow.append(", ");
      m.allow.append(name);
      has_get |= r.method == HttpMethod::Get;
      has_head |= r.method == HttpMethod::Head;
    }
    if (has_get && !has_head) m.allow.append(", HEAD");
  }
  return m;
}

}  // namespace redge
