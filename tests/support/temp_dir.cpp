// TempDir: a per-test scratch directory made with mkdtemp, so parallel test
// processes never share files, and removed on destruction so a run leaves
// nothing behind in /tmp.

#include "support/temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace redge_test {

TempDir::TempDir() {
  std::string pattern = "/tmp/redge-it-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  // A destructor must not throw; a leftover directory is the lesser harm.
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(const std::string& name) const {
  return path_ + "/" + name;
}

}  // namespace redge_test
