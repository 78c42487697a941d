#include "server/metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace hpo::metrics {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the directory's own descriptor
}

// The system's boot time, for the start time that /proc/self/stat gives in
// clock ticks since boot.
double BootTimeSeconds() {
  std::istringstream stat(ReadFile("/proc/stat"));
  std::string line;
  while (std::getline(stat, line)) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return 0;
}

}  // namespace

void AddProcessMetrics(Registry& registry) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double boot = BootTimeSeconds();
  registry.AddCollector([=](Exposition& out) {
    // /proc/self/stat: fields after the command's closing parenthesis, from
    // field 3 (state); utime is field 14, stime 15, num_threads 20,
    // starttime 22, rss 24 (pages).
    const std::string stat = ReadFile("/proc/self/stat");
    const size_t close = stat.rfind(')');
    std::vector<std::string> fields;
    if (close != std::string::npos) {
      fields = absl::StrSplit(stat.substr(close + 2), ' ');
    }
    auto field = [&](int number) {
      double value = 0;
      const size_t index = static_cast<size_t>(number - 3);
      if (index < fields.size()) {
        (void)absl::SimpleAtod(fields[index], &value);
      }
      return value;
    };
    out.Counter("process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                {{{}, (field(14) + field(15)) / ticks}});
    out.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
              {{{}, field(24) * page}});
    out.Gauge("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.",
              {{{}, boot + field(22) / ticks}});
    out.Gauge("process_threads", "Number of OS threads in the process.",
              {{{}, field(20)}});
    out.Gauge("process_open_fds", "Number of open file descriptors.",
              {{{}, static_cast<double>(CountOpenFds())}});
  });
}

}  // namespace hpo::metrics
