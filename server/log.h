// A minimal leveled logger: one line per message on stderr, with a UTC
// timestamp. (Debian's Abseil predates absl/log.)
//
//   HPO_LOG(INFO) << "listening on " << port;

#ifndef HPO_SERVER_LOG_H_
#define HPO_SERVER_LOG_H_

#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace hpo {

enum class LogLevel { DEBUG = 0, INFO = 1, WARNING = 2, ERROR = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning" or "error"; false on anything else.
bool ParseLogLevel(absl::string_view text, LogLevel* level);

namespace log_internal {

// Collects one message and writes it, whole, when destroyed.
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns the streamed expression into void so that both arms of ?: agree; &
// binds more loosely than << and more tightly than ?:.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace log_internal
}  // namespace hpo

#define HPO_LOG(level)                            \
  (::hpo::LogLevel::level < ::hpo::GetLogLevel()) \
      ? (void)0                                   \
      : ::hpo::log_internal::Voidify() &          \
            ::hpo::log_internal::LogMessage(::hpo::LogLevel::level).stream()

#endif  // HPO_SERVER_LOG_H_
