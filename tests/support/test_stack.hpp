#pragma once

#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace redge_test {

// What almost every test case needs: its own directory, Redis and redge,
// with redge connected to Redis before the test begins.
// Members are destroyed in reverse order, so redge stops before Redis and the
// directory goes last.
struct TestStack {
  explicit TestStack(std::vector<std::string> settings = {},
                     std::vector<std::string> redis_args = {}, RedgeServices services = {})
      : redis(dir, std::move(redis_args)), redge(dir, redis, std::move(settings), {}, services) {
    redge.waitUntilReady();
  }

  std::string app(const std::string& target = "/") const { return redge.appUrl(target); }
  std::string admin(const std::string& target = "/") const { return redge.adminUrl(target); }
  // The cache proxy's HTTP listener (a stack built with RedgeServices{true}).
  std::string cache(const std::string& target = "/") const { return redge.cacheUrl(target); }

  TempDir dir;
  RedisServer redis;
  RedgeProcess redge;
};

// The check each hostile-input test ends with: redge is still running and
// still says hello.
inline bool stillServes(RedgeProcess& redge) {
  if (!redge.running()) return false;
  HttpReply r = httpGet(redge.appUrl("/"));
  return r.status == 200 && r.body == "hello world";
}

}  // namespace redge_test
