// Process metrics in the names Prometheus clients use everywhere
// (process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds), read from getrusage and /proc at scrape time only.

#include "ops/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace redge {
namespace {

double residentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long pages_total = 0, pages_resident = 0;
  int n = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double openFds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') n += 1;
  }
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

void registerProcessMetrics(MetricsRegistry& metrics) {
  Gauge& cpu = metrics.sampledCounter("process_cpu_seconds_total",
                                      "User and system CPU time spent, seconds");
  Gauge& rss = metrics.gauge("process_resident_memory_bytes", "Resident memory size, bytes");
  Gauge& fds = metrics.gauge("process_open_fds", "Open file descriptors");
  Gauge& max_fds = metrics.gauge("process_max_fds", "Limit on open file descriptors");
  Gauge& start = metrics.gauge("process_start_time_seconds", "Start time, seconds since the epoch");
  start.set(static_cast<double>(time(nullptr)));
  metrics.addCollector([&cpu, &rss, &fds, &max_fds] {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
      cpu.set(static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    }
    rss.set(residentBytes());
    fds.set(openFds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) max_fds.set(static_cast<double>(rl.rlim_cur));
  });
}

}  // namespace redge
