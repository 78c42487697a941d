#include "core/text_checks.h"

#include <string>

#include "gtest/gtest.h"

namespace hpo {
namespace {

TEST(IsValidUtf8Test, AcceptsUnicodeAndRefusesMalformedBytes) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9t\xc3\xa9"));        // été
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));             // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));         // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));         // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));     // NUL is UTF-8
  EXPECT_FALSE(IsValidUtf8("\xff\xfe"));                // never in UTF-8
  EXPECT_FALSE(IsValidUtf8("\x80"));                    // a lone continuation
  EXPECT_FALSE(IsValidUtf8("\xc3"));                    // cut short
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                // cut short
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));                // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));                // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));            // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));            // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));        // U+110000
  EXPECT_FALSE(IsValidUtf8("ok\xf8\x88\x80\x80\x80"));  // 5-byte form
}

TEST(JsonNestingTest, CountsBracketsOutsideStringsAndStopsPastTheLimit) {
  EXPECT_EQ(JsonNesting("", 10), 0);
  EXPECT_EQ(JsonNesting("3", 10), 0);
  EXPECT_EQ(JsonNesting(R"({"a": [1, {"b": []}]})", 10), 4);
  // Brackets in strings, escaped quotes included, do not count.
  EXPECT_EQ(JsonNesting(R"({"a": "[[[{{\"[[["})", 10), 1);
  EXPECT_EQ(JsonNesting(R"(["\\", [[]]])", 10), 3);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(JsonNesting(deep, 64), 65);
  // Unbalanced input is counted as it comes.
  EXPECT_EQ(JsonNesting("]]]][[", 10), 2);
}

}  // namespace
}  // namespace hpo
