#pragma once
// What the reload tests share: a configuration file written whole, the
// n-th log line holding a text (waited for), and a SIGHUP answered by its
// n-th reload outcome line.

#include <cstddef>
#include <string>

#include "support/redge_process.hpp"

namespace redge_test {

// Replaces the file's content (REQUIREs that it was written).
void writeConfigFile(const std::string& path, const std::string& text);

// The whole line holding the n-th occurrence of `needle` in redge's log,
// waited for up to 5 s (REQUIREs that it came, with the log in the report).
std::string nthLogLine(const RedgeProcess& redge, const std::string& needle, size_t n);

// Sends SIGHUP and returns the n-th reload outcome line
// (event=config_reloaded or event=config_reload_refused).
std::string reloadConfig(RedgeProcess& redge, size_t n);

}  // namespace redge_test
