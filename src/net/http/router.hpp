#pragma once
// Maps (method, path) to a route id. Pure logic, no I/O. Patterns are
// segment lists: "/get" (exact), "/messages/{id}" (one captured segment),
// "/{*key}" (the rest of the path, captured, may contain '/'). Exact
// patterns win over captures, earlier routes over later ones. A HEAD request
// matches a GET route when no HEAD route is declared.

#include <string>
#include <string_view>
#include <vector>

#include "net/http/http_request.hpp"

namespace redge {

struct RouteMatch {
  enum class Kind { Found, NotFound, MethodNotAllowed };
  Kind kind = Kind::NotFound;
  int route_id = -1;
  std::string allow;  // for 405: "GET, HEAD"
};

class Router {
 public:
  // Returns the new route's id (0, 1, 2, ... in order of addition).
  int add(HttpMethod method, std::string_view pattern);

  // Captured segments are appended to `params` as views into `path`.
  RouteMatch match(HttpMethod method, std::string_view path,
                   std::vector<std::string_view>& params) const;

 private:
  struct Segment {
    enum class Kind { Literal, Capture, Rest } kind;
    std::string text;
  };
  struct Route {
    HttpMethod method;
    std::vector<Segment> segments;
    bool exact;  // no captures
  };
  static bool matchPath(const Route& route, std::string_view path,
                        std::vector<std::string_view>* params);
  std::vector<Route> routes_;
};

}  // namespace redge
