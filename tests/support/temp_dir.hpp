#pragma once

#include <string>

namespace redge_test {

// A fresh directory under /tmp for one test case: Redis's working directory,
// the children's stdout/stderr files, upload fixtures. Removed recursively,
// with everything in it, when the object goes out of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string file(const std::string& name) const;

 private:
  std::string path_;
};

}  // namespace redge_test
