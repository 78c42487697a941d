#include "core/normal.h"

#include <cmath>

#include "gtest/gtest.h"

namespace hpo {
namespace {

TEST(NormalTest, KnownValues) {
  EXPECT_DOUBLE_EQ(NormalCdf(0), 0.5);
  EXPECT_NEAR(NormalCdf(1.959963984540054), 0.975, 1e-15);
  EXPECT_NEAR(NormalPdf(0), 0.3989422804014327, 1e-16);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.5), 0, 1e-15);
  EXPECT_TRUE(std::isinf(NormalQuantile(0)) && NormalQuantile(0) < 0);
  EXPECT_TRUE(std::isinf(NormalQuantile(1)) && NormalQuantile(1) > 0);
}

TEST(NormalTest, QuantileInvertsCdfAcrossTheRange) {
  for (double p : {1e-300, 1e-12, 1e-5, 0.001, 0.02, 0.0243, 0.03, 0.2, 0.5,
                   0.77, 0.97, 0.9757, 0.999, 1 - 1e-9}) {
    const double z = NormalQuantile(p);
    EXPECT_NEAR(NormalCdf(z) / p, 1, 1e-12) << p;
  }
}

}  // namespace
}  // namespace hpo
