// A minimal leveled logger: one line per message on stderr, with a UTC
// timestamp. (Debian's Abseil predates absl/log.)
//
//   HPO_LOG(INFO) << "listening on " << port;
//
// A message may carry fields, for log collectors:
//
//   HPO_LOG(DEBUG).With("rpc", name).With("duration_ms", 0.25) << "done";
//
// The text format (the default) writes
//   2026-12-07T21:37:53.216Z DEBUG done rpc=GetBest duration_ms=0.25
// and the JSON format (SetLogFormat(LogFormat::kJson)) one object a line:
//   {"time":"2026-12-07T21:37:53.216Z","level":"debug","message":"done",
//    "rpc":"GetBest","duration_ms":0.25}
// Strings are escaped, and bytes that are not UTF-8 become U+FFFD, so every
// line is valid JSON. Nothing after HPO_LOG(level) is evaluated when the level
// is off.

#ifndef HPO_SERVER_LOG_H_
#define HPO_SERVER_LOG_H_

#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/string_view.h"

namespace hpo {

enum class LogLevel { DEBUG = 0, INFO = 1, WARNING = 2, ERROR = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning" or "error"; false on anything else.
bool ParseLogLevel(absl::string_view text, LogLevel* level);

enum class LogFormat { kText, kJson };

void SetLogFormat(LogFormat format);
LogFormat GetLogFormat();
// Parses "text" or "json"; false on anything else.
bool ParseLogFormat(absl::string_view text, LogFormat* format);

// Named values attached to a message: strings, numbers and booleans, in the
// order added. Keys are plain names chosen by the code ("rpc", "trial"); they
// should not be "time", "level" or "message".
class LogFields {
 public:
  LogFields& Add(absl::string_view key, absl::string_view value);
  LogFields& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  LogFields& Add(absl::string_view key, bool value);
  template <typename T, std::enable_if_t<std::is_arithmetic_v<T> &&
                                             !std::is_same_v<T, bool> &&
                                             !std::is_same_v<T, char>,
                                         int> = 0>
  LogFields& Add(absl::string_view key, T value) {
    if constexpr (std::is_floating_point_v<T>) {
      return AddDouble(key, static_cast<double>(value));
    } else if constexpr (std::is_signed_v<T>) {
      return AddInt(key, static_cast<int64_t>(value));
    } else {
      return AddUint(key, static_cast<uint64_t>(value));
    }
  }
  // Appends all of `more`'s fields.
  LogFields& Add(const LogFields& more);

  bool empty() const { return fields_.empty(); }

  // " key=value" per field (values with spaces, quotes or '=' quoted).
  void AppendText(std::string* out) const;
  // ",\"key\":value" per field.
  void AppendJson(std::string* out) const;

 private:
  struct Field {
    std::string key;
    std::string value;  // the string itself, or a number's JSON text
    bool is_string;
  };

  LogFields& AddInt(absl::string_view key, int64_t value);
  LogFields& AddUint(absl::string_view key, uint64_t value);
  LogFields& AddDouble(absl::string_view key, double value);

  std::vector<Field> fields_;
};

// `s` as a JSON string literal, with bytes that are not UTF-8 replaced by
// U+FFFD (one for each maximal ill-formed subsequence).
std::string LogJsonQuote(absl::string_view s);

namespace log_internal {

// Collects one message and writes it, whole, when destroyed.
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  ~LogMessage();

  template <typename T>
  LogMessage& With(absl::string_view key, const T& value) {
    fields_.Add(key, value);
    return *this;
  }
  LogMessage& With(const LogFields& fields) {
    fields_.Add(fields);
    return *this;
  }

  template <typename T>
  LogMessage& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }
  LogMessage& operator<<(std::ostream& (*manipulator)(std::ostream&)) {
    manipulator(stream_);
    return *this;
  }

  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
  LogFields fields_;
};

// Turns the message expression into void so that both arms of ?: agree; &
// binds more loosely than << and more tightly than ?:.
struct Voidify {
  void operator&(const LogMessage&) {}
};

}  // namespace log_internal
}  // namespace hpo

#define HPO_LOG(level)                            \
  (::hpo::LogLevel::level < ::hpo::GetLogLevel()) \
      ? (void)0                                   \
      : ::hpo::log_internal::Voidify() &          \
            ::hpo::log_internal::LogMessage(::hpo::LogLevel::level)

#endif  // HPO_SERVER_LOG_H_
