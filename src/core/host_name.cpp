// hostName(): gethostname with a fallback (see the header).

#include "core/host_name.hpp"

#include <unistd.h>

namespace redge {

std::string hostName(std::string_view fallback) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return std::string(fallback);
  return host;
}

}  // namespace redge
