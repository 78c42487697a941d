#include "core/number_text.h"

#include <cstdlib>
#include <limits>

#include "gtest/gtest.h"

namespace hpo {
namespace {

TEST(NumberTextTest, AsPrintfGWithTheDigitsToReadBack) {
  EXPECT_EQ(NumberText(0), "0");
  EXPECT_EQ(NumberText(1), "1");
  EXPECT_EQ(NumberText(-2.5), "-2.5");
  EXPECT_EQ(NumberText(0.1), "0.1");
  EXPECT_EQ(NumberText(1e-4), "0.0001");
  EXPECT_EQ(NumberText(1e-5), "1e-05");
  EXPECT_EQ(NumberText(100000), "100000");
  EXPECT_EQ(NumberText(1e6), "1e+06");
  EXPECT_EQ(NumberText(1234567), "1234567");
  EXPECT_EQ(NumberText(1e300), "1e+300");
  EXPECT_EQ(NumberText(0.1 + 0.2), "0.30000000000000004");
  for (double v : {1.0 / 3, 2.0 / 3, 1e-300, 5e-324,
                   std::numeric_limits<double>::max(), -123.456e-7}) {
    EXPECT_EQ(std::strtod(NumberText(v).c_str(), nullptr), v) << v;
  }
}

TEST(NumberTextTest, NotFinite) {
  EXPECT_EQ(NumberText(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(NumberText(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(NumberText(-std::numeric_limits<double>::infinity()), "-inf");
}

}  // namespace
}  // namespace hpo
