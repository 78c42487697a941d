#include "server/log.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/json_quote.h"
#include "core/number_text.h"

namespace hpo {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::INFO)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};

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

const char* JsonLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::DEBUG:
      return "debug";
    case LogLevel::INFO:
      return "info";
    case LogLevel::WARNING:
      return "warning";
    case LogLevel::ERROR:
      return "error";
  }
  return "?";
}

// `s` with each maximal ill-formed subsequence replaced by U+FFFD (Unicode's
// recommended practice, table 3-7 for what is well-formed).
std::string ValidUtf8(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    // The sequence's length and the range its second byte must be in.
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      length = 2;
    } else if (b == 0xE0) {
      length = 3;
      low = 0xA0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      length = 3;
    } else if (b == 0xED) {  // no surrogates
      length = 3;
      high = 0x9F;
    } else if (b == 0xF0) {
      length = 4;
      low = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
      length = 4;
    } else if (b == 0xF4) {  // nothing above U+10FFFF
      length = 4;
      high = 0x8F;
    }
    size_t valid = length == 0 ? 0 : 1;
    while (valid > 0 && valid < length && i + valid < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[i + valid]);
      if (c < low || c > high) break;
      ++valid;
      low = 0x80;
      high = 0xBF;
    }
    if (length > 0 && valid == length) {
      out.append(s.data() + i, length);
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += valid == 0 ? 1 : valid;
    }
  }
  return out;
}

// Whether a text-format value must be quoted to read back unambiguously.
bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (unsigned char c : value) {
    if (c <= ' ' || c == 0x7F || c == '"' || c == '\\' || c == '=') {
      return true;
    }
  }
  return false;
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

void SetLogFormat(LogFormat format) { g_format = static_cast<int>(format); }

LogFormat GetLogFormat() { return static_cast<LogFormat>(g_format.load()); }

bool ParseLogFormat(absl::string_view text, LogFormat* format) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "text") {
    *format = LogFormat::kText;
  } else if (lower == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::string LogJsonQuote(absl::string_view s) {
  return JsonQuote(ValidUtf8(s));
}

LogFields& LogFields::Add(absl::string_view key, absl::string_view value) {
  fields_.push_back({std::string(key), std::string(value), true});
  return *this;
}

LogFields& LogFields::Add(absl::string_view key, bool value) {
  fields_.push_back({std::string(key), value ? "true" : "false", false});
  return *this;
}

LogFields& LogFields::Add(const LogFields& more) {
  fields_.insert(fields_.end(), more.fields_.begin(), more.fields_.end());
  return *this;
}

LogFields& LogFields::AddInt(absl::string_view key, int64_t value) {
  fields_.push_back({std::string(key), absl::StrCat(value), false});
  return *this;
}

LogFields& LogFields::AddUint(absl::string_view key, uint64_t value) {
  fields_.push_back({std::string(key), absl::StrCat(value), false});
  return *this;
}

LogFields& LogFields::AddDouble(absl::string_view key, double value) {
  if (!std::isfinite(value)) {
    // JSON has no NaN or infinity: a string says what it was.
    return Add(key, std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
  }
  // Exact, and JSON's syntax once finite.
  fields_.push_back({std::string(key), NumberText(value), false});
  return *this;
}

void LogFields::AppendText(std::string* out) const {
  for (const Field& f : fields_) {
    absl::StrAppend(
        out, " ", f.key, "=",
        f.is_string && NeedsQuotes(f.value) ? LogJsonQuote(f.value) : f.value);
  }
}

void LogFields::AppendJson(std::string* out) const {
  for (const Field& f : fields_) {
    absl::StrAppend(out, ",", LogJsonQuote(f.key), ":",
                    f.is_string ? LogJsonQuote(f.value) : f.value);
  }
}

namespace log_internal {

LogMessage::~LogMessage() {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                            absl::UTCTimeZone());
  std::string line;
  if (GetLogFormat() == LogFormat::kJson) {
    line = absl::StrCat("{\"time\":\"", time, "\",\"level\":\"",
                        JsonLevelName(level_),
                        "\",\"message\":", LogJsonQuote(stream_.str()));
    fields_.AppendJson(&line);
    line += "}\n";
  } else {
    line = absl::StrCat(time, " ", LevelName(level_), " ", stream_.str());
    fields_.AppendText(&line);
    line += "\n";
  }
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace log_internal
}  // namespace hpo
