// Memory figures of a running process, read from /proc, for the tests that
// bound what a hostile client can make redge hold.

#include "support/process_stats.hpp"

#include <fstream>
#include <string>

namespace redge_test {
namespace {

int64_t statusField(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

}  // namespace

int64_t residentKib(pid_t pid) {
  return statusField(pid, "VmRSS");
}

int64_t peakResidentKib(pid_t pid) {
  return statusField(pid, "VmHWM");
}

}  // namespace redge_test
