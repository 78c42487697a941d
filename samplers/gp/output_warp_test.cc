#include "samplers/gp/output_warp.h"

#include <cmath>
#include <eigen3/Eigen/Dense>
#include <limits>

#include "gtest/gtest.h"

namespace hpo {
namespace gp {
namespace {

TEST(WarpWorseHalfTest, KeepsTheBetterHalfAndCompressesAnOutlier) {
  Eigen::VectorXd y(7);
  y << 3, 1, 2, 1e6, 4, 0, 5;  // median 3
  const Eigen::VectorXd before = y;
  WarpWorseHalf(y);
  for (int i : {0, 1, 2, 5}) EXPECT_EQ(y[i], before[i]);
  // The better half's RMS distance from 3 is sqrt((0 + 4 + 1 + 9) / 4).
  const double s = std::sqrt(14.0 / 4);
  // 4, 5 and 1e6 have ranks 4, 5, 6 of 7: quantiles 4.5/7, 5.5/7, 6.5/7.
  EXPECT_NEAR(y[4], 3 + s * 0.36610635680056, 1e-9);
  EXPECT_NEAR(y[6], 3 + s * 0.79163860774337, 1e-9);
  EXPECT_NEAR(y[3], 3 + s * 1.46523379268552, 1e-9);
  EXPECT_LT(y[3], 10);
}

TEST(WarpWorseHalfTest, MonotoneWithTies) {
  Eigen::VectorXd y(8);
  y << 10, 7, 7, -1, 30, 30, 2, 0;
  const Eigen::VectorXd before = y;
  WarpWorseHalf(y);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) {
      if (before[i] < before[j]) {
        EXPECT_LT(y[i], y[j]) << i << " " << j;
      }
      if (before[i] == before[j]) {
        EXPECT_EQ(y[i], y[j]) << i << " " << j;
      }
    }
  }
}

TEST(WarpWorseHalfTest, LeavesFewOrFlatValuesAlone) {
  Eigen::VectorXd two(2);
  two << 1, 100;
  WarpWorseHalf(two);
  EXPECT_EQ(two[1], 100);
  Eigen::VectorXd flat(5);
  flat << 1, 1, 1, 50, 60;  // the better half is all at the median
  WarpWorseHalf(flat);
  EXPECT_EQ(flat[3], 50);
  EXPECT_EQ(flat[4], 60);
}

TEST(CompressOutliersTest, PullsInWhatIsBeyondAGapAndKeepsItsOrder) {
  Eigen::VectorXd y(10);
  y << 0.5, 2e10, 0.1, 0.3, 0.2, 1e10, 0.6, 0.7, 0.4, 0.8;
  const Eigen::VectorXd before = y;
  CompressOutliers(y);
  for (int i : {0, 2, 3, 4, 6, 7, 8, 9}) EXPECT_EQ(y[i], before[i]) << i;
  // The values below the gap span 0.1 to 0.8: spread 0.7, worst 0.8.
  EXPECT_DOUBLE_EQ(y[5], 0.8 + 0.7 * (2 - 0.7 / (1e10 - 0.8)));
  EXPECT_LT(y[5], y[1]);
  EXPECT_LT(y[1], 0.8 + 2 * 0.7);
}

TEST(CompressOutliersTest, TakesTheLargestDouble) {
  const double max = std::numeric_limits<double>::max();
  Eigen::VectorXd y(11);
  y << 0.5, 0.1, max, 0.3, 0.2, 1e300, 0.6, 0.7, 0.4, 0.9, 0.8;
  CompressOutliers(y);
  for (int i = 0; i < 11; ++i) EXPECT_TRUE(std::isfinite(y[i])) << i;
  EXPECT_LE(y[5], y[2]);
  EXPECT_NEAR(y[2], 0.9 + 2 * 0.8, 1e-12);
  EXPECT_EQ(y[9], 0.9);
}

TEST(CompressOutliersTest, LeavesTailsFewValuesAndFlatBulksAlone) {
  Eigen::VectorXd tail(10);  // a heavy tail: each value twice the last
  tail << 1, 2, 4, 8, 16, 32, 64, 128, 256, 512;
  Eigen::VectorXd few(9);  // a penalty, but too few values to judge
  few << 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1e10;
  Eigen::VectorXd low_gap(10);  // the gap leaves fewer than half below it
  low_gap << 0, 0.001, 0.002, 0.003, 1e6, 1e6 + 1, 1e6 + 2, 1e6 + 3, 1e6 + 4,
      1e6 + 5;
  Eigen::VectorXd flat(10);  // no spread below the gap to measure it by
  flat << 2, 2, 2, 2, 2, 2, 2, 2, 2, 1e12;
  for (Eigen::VectorXd* y : {&tail, &few, &low_gap, &flat}) {
    const Eigen::VectorXd before = *y;
    CompressOutliers(*y);
    EXPECT_EQ(*y, before);
  }
}

}  // namespace
}  // namespace gp
}  // namespace hpo
