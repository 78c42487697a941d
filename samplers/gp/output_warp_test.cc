#include "samplers/gp/output_warp.h"

#include <eigen3/Eigen/Dense>

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

}  // namespace
}  // namespace gp
}  // namespace hpo
