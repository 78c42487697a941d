#include "server/log.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

// A JSON value of a flat object: a string (unescaped) or the text of a
// number, true, false or null.
struct JsonValue {
  std::string text;
  bool is_string = false;
};

// Whether `s` is well-formed UTF-8 (Unicode's table 3-7).
bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    size_t n;
    unsigned char low = 0x80, high = 0xBF;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 3;
      if (b == 0xE0) low = 0xA0;
      if (b == 0xED) high = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4;
      if (b == 0xF0) low = 0x90;
      if (b == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) {
        return false;
      }
    }
    i += n;
  }
  return true;
}

// A strict parser for what the logger writes: one JSON object whose values
// are strings, numbers, true, false or null. False on anything RFC 8259 does
// not allow (or, for nested values, that the logger never writes).
class FlatJsonParser {
 public:
  explicit FlatJsonParser(absl::string_view text) : s_(text) {}

  bool Parse(std::map<std::string, JsonValue>* object) {
    if (!IsUtf8(s_)) return false;
    SkipSpace();
    if (!Eat('{')) return false;
    SkipSpace();
    if (Eat('}')) return Done();
    while (true) {
      std::string key;
      JsonValue value;
      SkipSpace();
      if (!String(&key)) return false;
      SkipSpace();
      if (!Eat(':')) return false;
      SkipSpace();
      if (!Value(&value)) return false;
      if (!object->emplace(key, value).second) return false;  // duplicate
      SkipSpace();
      if (Eat('}')) return Done();
      if (!Eat(',')) return false;
    }
  }

 private:
  bool Done() {
    SkipSpace();
    return i_ == s_.size();
  }
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' ||
                              s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Hex4(uint32_t* code) {
    if (i_ + 4 > s_.size()) return false;
    *code = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
      *code = *code * 16 +
              static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(c))
                                        ? c - '0'
                                        : std::tolower(c) - 'a' + 10);
    }
    return true;
  }
  static void AppendUtf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      *out += static_cast<char>(code);
    } else if (code < 0x800) {
      *out += static_cast<char>(0xC0 | (code >> 6));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      *out += static_cast<char>(0xE0 | (code >> 12));
      *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (code >> 18));
      *out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;  // control characters must be escaped
      if (c != '\\') {
        *out += static_cast<char>(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          *out += e;
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          uint32_t code;
          if (!Hex4(&code)) return false;
          if (code >= 0xD800 && code <= 0xDBFF) {
            uint32_t low;
            if (!Eat('\\') || !Eat('u') || !Hex4(&low) || low < 0xDC00 ||
                low > 0xDFFF) {
              return false;
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code <= 0xDFFF) {
            return false;
          }
          AppendUtf8(code, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool Number(std::string* out) {
    const size_t start = i_;
    Eat('-');
    if (Eat('0')) {
    } else if (i_ < s_.size() && s_[i_] >= '1' && s_[i_] <= '9') {
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
        ++i_;
    } else {
      return false;
    }
    if (Eat('.')) {
      if (!Digits()) return false;
    }
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    *out = std::string(s_.substr(start, i_ - start));
    return true;
  }
  bool Digits() {
    const size_t start = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
      ++i_;
    return i_ > start;
  }
  bool Value(JsonValue* value) {
    if (i_ < s_.size() && s_[i_] == '"') {
      value->is_string = true;
      return String(&value->text);
    }
    for (absl::string_view word : {"true", "false", "null"}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        value->text = std::string(word);
        return true;
      }
    }
    return Number(&value->text);
  }

  absl::string_view s_;
  size_t i_ = 0;
};

std::map<std::string, JsonValue> ParseJsonLine(absl::string_view line) {
  std::map<std::string, JsonValue> object;
  EXPECT_TRUE(FlatJsonParser(line).Parse(&object)) << "not JSON: " << line;
  return object;
}

// The lines written to stderr by `log`.
template <typename F>
std::vector<std::string> CaptureLines(F log) {
  ::testing::internal::CaptureStderr();
  log();
  const std::string out = ::testing::internal::GetCapturedStderr();
  if (!out.empty()) {
    EXPECT_EQ(out.back(), '\n') << out;
  }
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  lines.pop_back();  // after the last '\n'
  return lines;
}

// The line with its timestamp replaced by "TIME".
std::string WithoutTime(const std::string& line) {
  static const std::regex kTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ)");
  return std::regex_replace(line, kTime, "TIME",
                            std::regex_constants::format_first_only);
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::INFO);
    SetLogFormat(LogFormat::kText);
  }
  void TearDown() override {
    SetLogLevel(LogLevel::INFO);
    SetLogFormat(LogFormat::kText);
  }
};

TEST_F(LogTest, ParsesFormats) {
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &format));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_TRUE(ParseLogFormat("JSON", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  for (const char* bad : {"", "xml", "jsonl", " json"}) {
    EXPECT_FALSE(ParseLogFormat(bad, &format)) << bad;
  }
  EXPECT_EQ(GetLogFormat(), LogFormat::kText);  // the default
}

TEST_F(LogTest, TextLineIsUnchangedWithoutFields) {
  const auto lines =
      CaptureLines([] { HPO_LOG(INFO) << "listening on " << 7; });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(WithoutTime(lines[0]), "TIME INFO listening on 7");
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z .*)")));
}

TEST_F(LogTest, TextLineEndsWithItsFields) {
  const auto lines = CaptureLines([] {
    LogFields ids;
    ids.Add("experiment", "iris").Add("trial", 3);
    HPO_LOG(WARNING)
            .With("rpc", std::string("GetBest"))
            .With(ids)
            .With("duration_ms", 0.25)
            .With("ok", true)
            .With("peer", "")
            .With("reason", "two words")
            .With("quote", "a\"b=c")
        << "done";
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(WithoutTime(lines[0]),
            "TIME WARNING done rpc=GetBest experiment=iris trial=3 "
            "duration_ms=0.25 ok=true peer=\"\" reason=\"two words\" "
            "quote=\"a\\\"b=c\"");
}

TEST_F(LogTest, JsonLineIsOneObject) {
  SetLogFormat(LogFormat::kJson);
  const auto lines = CaptureLines([] {
    HPO_LOG(ERROR)
            .With("rpc", "GetExperiment")
            .With("status", "NOT_FOUND")
            .With("duration_ms", 1.5)
            .With("trial", -2)
            .With("count", 7u)
            .With("big", uint64_t{18446744073709551615u})
            .With("ok", false)
        << "cannot load " << 42;
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(WithoutTime(lines[0]),
            "{\"time\":\"TIME\",\"level\":\"error\",\"message\":\"cannot load "
            "42\",\"rpc\":\"GetExperiment\",\"status\":\"NOT_FOUND\","
            "\"duration_ms\":1.5,\"trial\":-2,\"count\":7,"
            "\"big\":18446744073709551615,\"ok\":false}");
  const auto object = ParseJsonLine(lines[0]);
  ASSERT_EQ(object.size(), 10u);
  EXPECT_TRUE(std::regex_match(
      object.at("time").text,
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(object.at("message").text, "cannot load 42");
  EXPECT_TRUE(object.at("rpc").is_string);
  EXPECT_FALSE(object.at("duration_ms").is_string);
  EXPECT_EQ(object.at("duration_ms").text, "1.5");
}

TEST_F(LogTest, JsonLevelsAreLowerCase) {
  SetLogFormat(LogFormat::kJson);
  SetLogLevel(LogLevel::DEBUG);
  const auto lines = CaptureLines([] {
    HPO_LOG(DEBUG) << "d";
    HPO_LOG(INFO) << "i";
    HPO_LOG(WARNING) << "w";
    HPO_LOG(ERROR) << "e";
  });
  ASSERT_EQ(lines.size(), 4u);
  const char* levels[] = {"debug", "info", "warning", "error"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(ParseJsonLine(lines[i]).at("level").text, levels[i]);
  }
}

TEST_F(LogTest, JsonEscapesQuotesBackslashesAndControls) {
  SetLogFormat(LogFormat::kJson);
  const std::string nasty = std::string("say \"hi\" \\ back\nnext\r\t") +
                            '\x01' + '\x1f' + '\0' + "\x7f" + "end";
  const auto lines =
      CaptureLines([&] { HPO_LOG(INFO).With("field \"x\"", nasty) << nasty; });
  ASSERT_EQ(lines.size(), 1u);  // the newline did not split the line
  const std::string escaped =
      "\"say \\\"hi\\\" \\\\ back\\nnext\\r\\t\\u0001\\u001f\\u0000\x7f"
      "end\"";
  EXPECT_EQ(WithoutTime(lines[0]),
            "{\"time\":\"TIME\",\"level\":\"info\",\"message\":" + escaped +
                ",\"field \\\"x\\\"\":" + escaped + "}");
  const auto object = ParseJsonLine(lines[0]);
  EXPECT_EQ(object.at("message").text, nasty);
  EXPECT_EQ(object.at("field \"x\"").text, nasty);
}

TEST_F(LogTest, InvalidUtf8BecomesReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  EXPECT_EQ(LogJsonQuote("plain"), "\"plain\"");
  // Valid UTF-8 of every length is kept.
  EXPECT_EQ(LogJsonQuote("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"),
            "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"");
  EXPECT_EQ(LogJsonQuote("a\xFF"
                         "b"),
            "\"a" + r + "b\"");
  EXPECT_EQ(LogJsonQuote("\x80\xBF"), "\"" + r + r + "\"");  // stray tails
  // A truncated sequence is one replacement, at the end or before ASCII.
  EXPECT_EQ(LogJsonQuote("\xE2\x82"), "\"" + r + "\"");
  EXPECT_EQ(LogJsonQuote("\xE2\x82x"), "\"" + r + "x\"");
  EXPECT_EQ(LogJsonQuote("\xF0\x9F\x98"
                         "\""),
            "\"" + r + "\\\"\"");
  // Overlong forms, surrogates and code points above U+10FFFF are refused
  // byte by byte.
  EXPECT_EQ(LogJsonQuote("\xC0\xAF"), "\"" + r + r + "\"");
  EXPECT_EQ(LogJsonQuote("\xE0\x80\xAF"), "\"" + r + r + r + "\"");
  EXPECT_EQ(LogJsonQuote("\xED\xA0\x80"), "\"" + r + r + r + "\"");
  EXPECT_EQ(LogJsonQuote("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"");
  EXPECT_EQ(LogJsonQuote("\xF5"), "\"" + r + "\"");

  SetLogFormat(LogFormat::kJson);
  const auto lines = CaptureLines([] {
    HPO_LOG(INFO).With("peer", "\xC3(\xFF") << "bad \xE2\x82 bytes\xF0";
  });
  ASSERT_EQ(lines.size(), 1u);
  const auto object = ParseJsonLine(lines[0]);
  EXPECT_EQ(object.at("message").text, "bad " + r + " bytes" + r);
  EXPECT_EQ(object.at("peer").text, r + "(" + r);
}

TEST_F(LogTest, NonFiniteNumbersAreStrings) {
  SetLogFormat(LogFormat::kJson);
  const auto lines = CaptureLines([] {
    HPO_LOG(INFO)
            .With("nan", std::numeric_limits<double>::quiet_NaN())
            .With("inf", std::numeric_limits<double>::infinity())
            .With("small", 1e-300)
            .With("f", 0.1f)
        << "";
  });
  ASSERT_EQ(lines.size(), 1u);
  const auto object = ParseJsonLine(lines[0]);
  EXPECT_EQ(object.at("nan").text, "nan");
  EXPECT_TRUE(object.at("nan").is_string);
  EXPECT_EQ(object.at("inf").text, "inf");
  EXPECT_EQ(object.at("small").text, "1e-300");
  EXPECT_FALSE(object.at("f").is_string);
}

int evaluated = 0;
int Evaluate() { return ++evaluated; }

TEST_F(LogTest, LevelFilteringIsUnchanged) {
  evaluated = 0;
  for (LogFormat format : {LogFormat::kText, LogFormat::kJson}) {
    SetLogFormat(format);
    SetLogLevel(LogLevel::INFO);
    EXPECT_EQ(GetLogLevel(), LogLevel::INFO);
    auto lines = CaptureLines([] {
      HPO_LOG(DEBUG).With("n", Evaluate()) << "hidden " << Evaluate();
      HPO_LOG(INFO) << "shown";
    });
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("shown"), std::string::npos);
    EXPECT_EQ(evaluated, 0);  // the hidden message's operands never ran

    SetLogLevel(LogLevel::ERROR);
    lines = CaptureLines([] {
      HPO_LOG(INFO) << "no";
      HPO_LOG(WARNING) << "no";
      HPO_LOG(ERROR) << "yes";
    });
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("yes"), std::string::npos);

    SetLogLevel(LogLevel::DEBUG);
    lines = CaptureLines([] { HPO_LOG(DEBUG) << "debug " << Evaluate(); });
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("debug 1"), std::string::npos);
    evaluated = 0;
  }
}

TEST_F(LogTest, StreamsManipulatorsAndIfElseStillWork) {
  const auto lines = CaptureLines([] {
    // The macro is one expression: it nests in an if without braces.
    if (GetLogLevel() == LogLevel::INFO)
      HPO_LOG(INFO) << std::hex << 255 << std::dec << " " << 10 << std::flush;
    else
      HPO_LOG(INFO) << "wrong branch";
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(WithoutTime(lines[0]), "TIME INFO ff 10");
}

TEST_F(LogTest, ConcurrentLinesStayWhole) {
  SetLogFormat(LogFormat::kJson);
  constexpr int kThreads = 8, kLines = 200;
  const auto lines = CaptureLines([] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < kLines; ++i) {
          HPO_LOG(INFO).With("thread", t).With("i", i)
              << std::string(static_cast<size_t>(100 + t * 50), 'x');
        }
      });
    }
    for (std::thread& t : threads) t.join();
  });
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  std::map<std::string, int> per_thread;
  for (const std::string& line : lines) {
    const auto object = ParseJsonLine(line);
    ASSERT_EQ(object.size(), 5u) << line;
    ++per_thread[object.at("thread").text];
  }
  ASSERT_EQ(per_thread.size(), static_cast<size_t>(kThreads));
  for (const auto& [thread, count] : per_thread) EXPECT_EQ(count, kLines);
}

}  // namespace
}  // namespace hpo
