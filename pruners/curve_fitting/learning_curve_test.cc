#include "pruners/curve_fitting/learning_curve.h"

#include <cmath>
#include <functional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;

// f at x = 1..n, plus a fixed zig-zag of amplitude `noise`.
void Sample(const std::function<double(double)>& f, int n, double noise,
            std::vector<double>* x, std::vector<double>* y) {
  x->clear();
  y->clear();
  for (int i = 1; i <= n; ++i) {
    x->push_back(i);
    y->push_back(f(i) + noise * ((i * 7) % 5 - 2) / 2.0);
  }
}

struct Case {
  const char* name;
  std::function<double(double)> f;
  int n;
  double target;
  double noise;
  double tolerance;
};

TEST(ForecastCurveTest, ExtrapolatesTypicalCurves) {
  const Case cases[] = {
      {"pow3 accuracy", [](double x) { return 0.9 - 0.5 * std::pow(x, -0.8); },
       10, 50, 0, 0.02},
      {"exp accuracy", [](double x) { return 0.8 - 0.6 * std::exp(-0.3 * x); },
       12, 40, 0, 0.03},
      {"power-law loss", [](double x) { return 0.2 + 1.5 / std::sqrt(x); }, 15,
       100, 0, 0.05},
      {"straight line", [](double x) { return 0.1 + 0.01 * x; }, 10, 20, 0,
       0.02},
      {"log curve", [](double x) { return 0.3 + 0.1 * std::log(x); }, 12, 30, 0,
       0.03},
      {"noisy pow3", [](double x) { return 0.9 - 0.5 * std::pow(x, -0.8); }, 20,
       50, 0.005, 0.04},
      {"noisy exp loss",
       [](double x) { return 2.0 + 3.0 * std::exp(-0.2 * x); }, 20, 60, 0.02,
       0.15},
      {"large steps",
       [](double x) { return 0.95 - 0.7 * std::exp(-x / 3000.0); }, 10, 40000,
       0, 0.05},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<double> x, y;
    Sample(c.f, c.n, c.noise, &x, &y);
    if (std::string(c.name) == "large steps") {
      for (double& v : x) v *= 1000;
      for (size_t i = 0; i < x.size(); ++i) y[i] = c.f(x[i]);
    }
    const CurveForecast f = ForecastCurve(x, y, c.target);
    ASSERT_TRUE(f.ok) << f.why_not;
    EXPECT_NEAR(f.value, c.f(c.target), c.tolerance)
        << "leading " << f.leading_family << " of " << f.families;
    EXPECT_GE(f.families, 3);
    EXPECT_LE(f.low, f.value);
    EXPECT_GE(f.high, f.value);
    if (c.noise == 0) {
      EXPECT_LE(f.low, c.f(c.target) + c.tolerance);
      EXPECT_GE(f.high, c.f(c.target) - c.tolerance);
    }
  }
}

TEST(ForecastCurveTest, NoisyShortCurvesLeaveAWideRange) {
  // The same slow rise, seen for 6 steps with noise and for 20 without: the
  // data leave far more open in the first case.
  const auto f = [](double v) { return 0.95 - 0.8 * std::exp(-0.05 * v); };
  std::vector<double> x, y;
  Sample(f, 6, 0.02, &x, &y);
  const CurveForecast noisy = ForecastCurve(x, y, 50);
  Sample(f, 20, 0, &x, &y);
  const CurveForecast clean = ForecastCurve(x, y, 50);
  ASSERT_TRUE(noisy.ok) << noisy.why_not;
  ASSERT_TRUE(clean.ok) << clean.why_not;
  EXPECT_GT(noisy.high - noisy.low, 0.2);
  EXPECT_LT(clean.high - clean.low, 0.05);
  // The hopeful end still reaches the truth.
  EXPECT_GE(noisy.high, f(50) * 0.95);
}

TEST(ForecastCurveTest, FlatCurveForecastsItself) {
  const CurveForecast f = ForecastCurve({1, 2, 3, 4}, {0.5, 0.5, 0.5, 0.5}, 9);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.value, 0.5);
  EXPECT_EQ(f.families, 0);
}

TEST(ForecastCurveTest, TooFewPoints) {
  const CurveForecast f = ForecastCurve({1, 2}, {0.1, 0.2}, 9);
  EXPECT_FALSE(f.ok);
  EXPECT_THAT(f.why_not, HasSubstr("2 values are too few"));
}

TEST(ForecastCurveTest, LongCurvesAreThinned) {
  std::vector<double> x, y;
  Sample([](double v) { return 0.9 - 0.5 * std::pow(v, -0.5); }, 5000, 0, &x,
         &y);
  const CurveForecast f = ForecastCurve(x, y, 20000);
  ASSERT_TRUE(f.ok) << f.why_not;
  EXPECT_NEAR(f.value, 0.9 - 0.5 * std::pow(20000, -0.5), 0.01);
}

TEST(ForecastCurveTest, Deterministic) {
  std::vector<double> x, y;
  Sample([](double v) { return 0.7 - 0.4 * std::exp(-0.2 * v); }, 9, 0.01, &x,
         &y);
  const CurveForecast a = ForecastCurve(x, y, 30);
  const CurveForecast b = ForecastCurve(x, y, 30);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.leading_family, b.leading_family);
}

}  // namespace
}  // namespace hpo
