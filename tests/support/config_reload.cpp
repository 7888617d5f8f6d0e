// The reload tests' shared steps (see the header).

#include "support/config_reload.hpp"

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>

#include "support/wait_until.hpp"

namespace redge_test {

using namespace std::chrono_literals;

void writeConfigFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string nthLogLine(const RedgeProcess& redge, const std::string& needle, size_t n) {
  std::string line;
  bool seen = waitUntil(
      [&] {
        std::string log = redge.logText();
        size_t found = 0;
        for (size_t at = 0; (at = log.find(needle, at)) != std::string::npos; ++at) {
          if (++found != n) continue;
          size_t start = log.rfind('\n', at);
          size_t end = log.find('\n', at);
          if (end == std::string::npos) return false;
          start = start == std::string::npos ? 0 : start + 1;
          line = log.substr(start, end - start);
          return true;
        }
        return false;
      },
      5s, 5ms);
  INFO("redge's log:\n" << redge.logText());
  REQUIRE(seen);
  return line;
}

std::string reloadConfig(RedgeProcess& redge, size_t n) {
  redge.signal(SIGHUP);
  return nthLogLine(redge, "event=config_reload", n);
}

}  // namespace redge_test
