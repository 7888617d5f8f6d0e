#pragma once

#include <sys/types.h>

#include <cstdint>

namespace redge_test {

// Resident set size of a process in KiB, from /proc/<pid>/status (VmRSS);
// -1 if the process is gone.
int64_t residentKib(pid_t pid);

// Its peak resident set size in KiB (VmHWM), or -1.
int64_t peakResidentKib(pid_t pid);

}  // namespace redge_test
