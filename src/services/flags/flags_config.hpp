#pragma once
// The flags section (flags.*): whether this instance follows the feature
// flags in Redis (evaluating them, serving the admin API and OFREP), and
// where it keeps the last snapshot.

#include <string>

namespace redge {

struct FlagsOptions {
  bool enabled = true;
  // The last snapshot, written after every change; read at start, so an
  // instance that starts while Redis is down serves the last known flags.
  // Empty: no file.
  std::string snapshot_path;
};

}  // namespace redge
