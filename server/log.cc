#include "server/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace hpo {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::INFO)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::DEBUG:
      return "DEBUG";
    case LogLevel::INFO:
      return "INFO";
    case LogLevel::WARNING:
      return "WARNING";
    case LogLevel::ERROR:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (LogLevel l :
       {LogLevel::DEBUG, LogLevel::INFO, LogLevel::WARNING, LogLevel::ERROR}) {
    if (lower == absl::AsciiStrToLower(LevelName(l))) {
      *level = l;
      return true;
    }
  }
  return false;
}

namespace log_internal {

LogMessage::~LogMessage() {
  const std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ",
                                            absl::Now(), absl::UTCTimeZone()) +
                           LevelName(level_) + " " + stream_.str() + "\n";
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace log_internal
}  // namespace hpo
