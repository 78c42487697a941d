#include "pruners/curve_fitting/learning_curve.h"

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;

// Families' forecasts alone, without the margins of their parameters.
constexpr double kPointForecasts = 0;

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
    const CurveForecast f = ForecastCurve(x, y, c.target, kPointForecasts);
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
  const CurveForecast noisy = ForecastCurve(x, y, 50, kPointForecasts);
  Sample(f, 20, 0, &x, &y);
  const CurveForecast clean = ForecastCurve(x, y, 50, kPointForecasts);
  ASSERT_TRUE(noisy.ok) << noisy.why_not;
  ASSERT_TRUE(clean.ok) << clean.why_not;
  EXPECT_GT(noisy.high - noisy.low, 0.2);
  EXPECT_LT(clean.high - clean.low, 0.05);
  // The hopeful end still reaches the truth.
  EXPECT_GE(noisy.high, f(50) * 0.95);
}

TEST(ForecastCurveTest, FlatCurveForecastsItself) {
  const CurveForecast f =
      ForecastCurve({1, 2, 3, 4}, {0.5, 0.5, 0.5, 0.5}, 9, kPointForecasts);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.value, 0.5);
  EXPECT_EQ(f.families, 0);
}

TEST(ForecastCurveTest, TooFewPoints) {
  const CurveForecast f = ForecastCurve({1, 2}, {0.1, 0.2}, 9, kPointForecasts);
  EXPECT_FALSE(f.ok);
  EXPECT_THAT(f.why_not, HasSubstr("2 values are too few"));
}

TEST(ForecastCurveTest, LongCurvesAreThinned) {
  std::vector<double> x, y;
  Sample([](double v) { return 0.9 - 0.5 * std::pow(v, -0.5); }, 5000, 0, &x,
         &y);
  const CurveForecast f = ForecastCurve(x, y, 20000, kPointForecasts);
  ASSERT_TRUE(f.ok) << f.why_not;
  EXPECT_NEAR(f.value, 0.9 - 0.5 * std::pow(20000, -0.5), 0.01);
}

TEST(ForecastCurveTest, Deterministic) {
  std::vector<double> x, y;
  Sample([](double v) { return 0.7 - 0.4 * std::exp(-0.2 * v); }, 9, 0.01, &x,
         &y);
  const CurveForecast a = ForecastCurve(x, y, 30, kPointForecasts);
  const CurveForecast b = ForecastCurve(x, y, 30, kPointForecasts);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.leading_family, b.leading_family);
}

TEST(StudentQuantileTest, MatchesTheTables) {
  struct Row {
    double p;
    int dof;
    double t;  // from the standard tables
  };
  const Row rows[] = {{0.95, 1, 6.314}, {0.95, 2, 2.920},  {0.95, 3, 2.353},
                      {0.95, 5, 2.015}, {0.95, 10, 1.812}, {0.95, 30, 1.697},
                      {0.8, 2, 1.061},  {0.8, 4, 0.941},   {0.8, 10, 0.879},
                      {0.9, 1, 3.078},  {0.99, 3, 4.541},  {0.99, 10, 2.764}};
  for (const Row& r : rows) {
    EXPECT_NEAR(StudentQuantile(r.p, r.dof), r.t, r.p > 0.95 ? 0.03 : 0.01)
        << "p " << r.p << ", " << r.dof << " degrees of freedom";
  }
  EXPECT_EQ(StudentQuantile(0.5, 3), 0);
  EXPECT_EQ(StudentQuantile(0.3, 3), 0);
  EXPECT_NEAR(StudentQuantile(0.95, 100000), 1.645, 1e-3);
}

// What early stopping judges: a loss that has fallen steadily for eight
// noisy steps (an exponential from exp_crossing's family, noise sd 0.01),
// on its way to 0.187 at step 30. The families that fit best flatten early,
// near 0.39; their parameters are loose, and their margins say so.
TEST(ForecastCurveTest, MarginsWidenWithConfidence) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> y = {0.874, 0.822, 0.732, 0.687,
                                 0.628, 0.582, 0.564, 0.52};
  const double truth = 0.187;
  const CurveForecast points = ForecastCurve(x, y, 30, kPointForecasts);
  const CurveForecast likely = ForecastCurve(x, y, 30, 0.8);
  const CurveForecast sure = ForecastCurve(x, y, 30, 0.95);
  ASSERT_TRUE(points.ok) << points.why_not;
  ASSERT_TRUE(likely.ok) << likely.why_not;
  ASSERT_TRUE(sure.ok) << sure.why_not;
  EXPECT_GT(points.low, truth + 0.1) << "the point forecasts flatten early";
  EXPECT_LT(likely.low, points.low - 0.03);
  EXPECT_LT(sure.low, likely.low);
  EXPECT_LE(sure.low, truth);
  EXPECT_GT(likely.high, points.high);
  EXPECT_GT(sure.high, likely.high);
  // The forecast itself does not move.
  EXPECT_EQ(likely.value, points.value);
  EXPECT_EQ(sure.value, points.value);
}

// A curve that has settled leaves its families little room: still a narrow
// range, so a settled bad trial can be stopped.
TEST(ForecastCurveTest, SettledCurvesKeepANarrowRange) {
  const auto f = [](double v) { return 0.3 + 0.5 * std::exp(-0.8 * v); };
  std::vector<double> x, y;
  Sample(f, 12, 0.01, &x, &y);
  const CurveForecast c = ForecastCurve(x, y, 30, 0.8);
  ASSERT_TRUE(c.ok) << c.why_not;
  EXPECT_LT(c.high - c.low, 0.05) << c.low << " to " << c.high;
  EXPECT_NEAR(c.value, f(30), 0.02);
}

TEST(StudentCdfTest, MatchesTheTablesAndTheQuantile) {
  // Exact for 1 and 2 degrees of freedom: Cauchy, and t / sqrt(2 + t^2).
  EXPECT_NEAR(StudentCdf(1, 1), 0.75, 1e-12);
  EXPECT_NEAR(StudentCdf(2, 2), 0.5 + 1 / std::sqrt(6.0), 1e-12);
  const struct {
    double t;
    int dof;
    double p;  // the standard tables' t for p, to four figures
  } rows[] = {{6.3138, 1, 0.95}, {2.9200, 2, 0.95},  {2.3534, 3, 0.95},
              {2.0150, 5, 0.95}, {1.8125, 10, 0.95}, {1.6973, 30, 0.95},
              {0.9410, 4, 0.8},  {4.5407, 3, 0.99},  {2.7638, 10, 0.99}};
  for (const auto& r : rows) {
    EXPECT_NEAR(StudentCdf(r.t, r.dof), r.p, 1e-4) << r.t << ", " << r.dof;
    EXPECT_NEAR(StudentCdf(-r.t, r.dof), 1 - r.p, 1e-4) << r.t << ", " << r.dof;
  }
  for (int dof = 2; dof <= 40; ++dof) {
    for (double p : {0.6, 0.8, 0.9, 0.95}) {
      EXPECT_NEAR(StudentCdf(StudentQuantile(p, dof), dof), p, 0.005)
          << p << ", " << dof;
    }
  }
  EXPECT_EQ(StudentCdf(0, 7), 0.5);
  EXPECT_EQ(StudentCdf(std::numeric_limits<double>::infinity(), 3), 1);
  EXPECT_EQ(StudentCdf(-std::numeric_limits<double>::infinity(), 3), 0);
}

// The chance is the fits' weighted mean of each one's chance; a fit with no
// bound on its forecast rules nothing out, one with no spread is a step.
TEST(ChanceOfReachingTest, MixesThePlausibleFits) {
  CurveForecast f;
  f.ok = true;
  f.plausible = {{0.4, 0.1, 5, 1.0}, {0.5, 0.0, 5, 0.5}};
  // P(T5 <= -1) = 0.1816; the spreadless fit at 0.5 does not reach 0.3.
  EXPECT_NEAR(ChanceOfReaching(f, 0.3, true), (0.18161 + 0) / 1.5, 1e-4);
  EXPECT_NEAR(ChanceOfReaching(f, 0.3, false), (1 - 0.18161 + 0.5) / 1.5, 1e-4);
  // At 0.5 the spreadless fit reaches it exactly.
  EXPECT_NEAR(ChanceOfReaching(f, 0.5, true), (1 - 0.18161 + 0.5) / 1.5, 1e-4);
  f.plausible.push_back({0.9, std::numeric_limits<double>::infinity(), 5, 1.5});
  EXPECT_NEAR(ChanceOfReaching(f, 0.3, true), (0.18161 + 1.5) / 3, 1e-4);
  EXPECT_NEAR(ChanceOfReaching(f, 0.3, false), (1 - 0.18161 + 0.5 + 1.5) / 3,
              1e-4);
  f.ok = false;
  EXPECT_EQ(ChanceOfReaching(f, 0.3, true), 1);
}

// The loose early curve of MarginsWidenWithConfidence: its fits leave it a
// real chance of ending near its truth, none of ending far below it; a
// settled curve is held to its level.
TEST(ChanceOfReachingTest, LooseEarlyAndSettledCurves) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> y = {0.874, 0.822, 0.732, 0.687,
                                 0.628, 0.582, 0.564, 0.52};
  const CurveForecast loose = ForecastCurve(x, y, 30, 0.95);
  ASSERT_TRUE(loose.ok) << loose.why_not;
  EXPECT_GT(ChanceOfReaching(loose, 0.3, true), 0.1);
  EXPECT_LT(ChanceOfReaching(loose, 0.3, true), 0.5);
  EXPECT_GT(ChanceOfReaching(loose, 0.5, true), 0.5);
  const auto f = [](double v) { return 0.3 + 0.5 * std::exp(-0.8 * v); };
  std::vector<double> sx, sy;
  Sample(f, 12, 0.01, &sx, &sy);
  const CurveForecast settled = ForecastCurve(sx, sy, 30, 0.95);
  ASSERT_TRUE(settled.ok) << settled.why_not;
  EXPECT_LT(ChanceOfReaching(settled, 0.27, true), 0.01);
  EXPECT_GT(ChanceOfReaching(settled, 0.33, true), 0.99);
}

}  // namespace
}  // namespace hpo
