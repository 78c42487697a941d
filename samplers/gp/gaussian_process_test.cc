// Unit tests of the pieces under the gp sampler: the model's gradients against
// finite differences, the log-EI numerics, the box L-BFGS and the Halton set.

#include "samplers/gp/gaussian_process.h"

#include <cmath>
#include <eigen3/Eigen/Dense>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "samplers/gp/acquisition.h"
#include "samplers/gp/halton.h"
#include "samplers/gp/lbfgs.h"
#include "samplers/sampler.h"

namespace hpo {
namespace gp {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Numeric, categorical and a conditional numeric dimension with inactive
// entries: every distance rule in play.
struct Data {
  std::vector<DimKind> kinds = {DimKind::kNumeric, DimKind::kCategorical,
                                DimKind::kNumeric};
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
};

Data MakeData(int n) {
  Data data;
  Rng rng(7);
  data.x.resize(n, 3);
  data.y.resize(n);
  for (int i = 0; i < n; ++i) {
    data.x(i, 0) = UnitDraw(rng);
    data.x(i, 1) = std::floor(UnitDraw(rng) * 3);
    data.x(i, 2) = data.x(i, 1) == 0 ? kNaN : UnitDraw(rng);
    data.y[i] = std::sin(6 * data.x(i, 0)) + 0.5 * data.x(i, 1) +
                (std::isnan(data.x(i, 2)) ? 0 : data.x(i, 2));
  }
  data.y = (data.y.array() - data.y.mean()) /
           std::sqrt((data.y.array() - data.y.mean()).square().mean());
  return data;
}

TEST(GaussianProcessTest, FitObjectiveGradientMatchesFiniteDifferences) {
  const Data data = MakeData(30);
  for (double nu : {1.5, 2.5}) {
    FitOptions options;
    options.nu = nu;
    const FitObjective objective(data.kinds, data.x, data.y, options);
    Eigen::VectorXd theta(5);
    theta << std::log(0.3), std::log(0.7), std::log(1.5), std::log(1.2),
        std::log(0.01);
    Eigen::VectorXd gradient;
    objective(theta, &gradient);
    for (int k = 0; k < theta.size(); ++k) {
      const double h = 1e-5;
      Eigen::VectorXd plus = theta;
      Eigen::VectorXd minus = theta;
      plus[k] += h;
      minus[k] -= h;
      const double numeric =
          (objective(plus, nullptr) - objective(minus, nullptr)) / (2 * h);
      EXPECT_NEAR(gradient[k], numeric, 1e-5 * std::max(1.0, std::abs(numeric)))
          << "nu " << nu << " theta[" << k << "]";
    }
  }
}

TEST(GaussianProcessTest, FitFindsShortLengthForWigglyDimension) {
  // y depends strongly on dimension 0 and not at all on dimension 1.
  Rng rng(3);
  const int n = 40;
  Eigen::MatrixXd x(n, 2);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = UnitDraw(rng);
    x(i, 1) = UnitDraw(rng);
    y[i] = std::sin(8 * x(i, 0));
  }
  y = (y.array() - y.mean()) /
      std::sqrt((y.array() - y.mean()).square().mean());
  const std::vector<DimKind> kinds = {DimKind::kNumeric, DimKind::kNumeric};
  Rng fit_rng(1);
  const KernelParams params = FitKernel(kinds, x, y, FitOptions(), fit_rng);
  EXPECT_LT(params.log_length[0], params.log_length[1] - 1);
  EXPECT_LT(params.log_noise, std::log(1e-2));
}

// In 10-D, 20 points of Levy's function are too sparse to resolve length
// scales far below their spacing (about 0.8 to the nearest neighbour); a fit
// that picks such length scales anyway makes the points nearly uncorrelated,
// and the search built on it is close to random search (see the length-scale
// prior in gaussian_process.cc). The previous log-normal prior fitted 0.17-0.2
// on 4 of these 12 seeds.
TEST(GaussianProcessTest, FitKeepsNumericLengthsAboveDataSpacingInTenDims) {
  const int dims = 10;
  const std::vector<DimKind> kinds(dims, DimKind::kNumeric);
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
    Rng rng(seed);
    const int n = 20;
    Eigen::MatrixXd x(n, dims);
    Eigen::VectorXd y(n);
    for (int i = 0; i < n; ++i) {
      // Levy's function on [-10, 10]^10.
      std::vector<double> w(dims);
      for (int d = 0; d < dims; ++d) {
        x(i, d) = UnitDraw(rng);
        w[d] = 1 + (20 * x(i, d) - 10 - 1) / 4;
      }
      y[i] = std::pow(std::sin(M_PI * w[0]), 2) +
             std::pow(w[dims - 1] - 1, 2) *
                 (1 + std::pow(std::sin(2 * M_PI * w[dims - 1]), 2));
      for (int d = 0; d + 1 < dims; ++d) {
        y[i] += std::pow(w[d] - 1, 2) *
                (1 + 10 * std::pow(std::sin(M_PI * w[d] + 1), 2));
      }
    }
    y = (y.array() - y.mean()) /
        std::sqrt((y.array() - y.mean()).square().mean());
    Rng fit_rng(seed);
    const KernelParams params = FitKernel(kinds, x, y, FitOptions(), fit_rng);
    EXPECT_GT(params.log_length.minCoeff(), std::log(0.25)) << "seed " << seed;
  }
}

TEST(GaussianProcessTest, PredictionGradientMatchesFiniteDifferences) {
  const Data data = MakeData(25);
  KernelParams params;
  params.log_length = Eigen::Vector3d(std::log(0.3), std::log(0.8), 0.2);
  params.log_signal = 0.1;
  params.log_noise = std::log(1e-3);
  Posterior model;
  ASSERT_TRUE(model.Build(data.kinds, data.x, data.y, params, 2.5));
  const std::vector<int> dims = {0, 2};
  for (double category : {0.0, 1.0}) {
    Eigen::VectorXd point(3);
    point << 0.37, category, 0.61;
    double mean;
    double variance;
    Eigen::VectorXd d_mean;
    Eigen::VectorXd d_variance;
    model.PredictWithGradient(point, dims, &mean, &variance, &d_mean,
                              &d_variance);
    // The batch prediction agrees with the single-point one.
    Eigen::VectorXd batch_mean;
    Eigen::VectorXd batch_variance;
    model.Predict(point.transpose(), &batch_mean, &batch_variance);
    EXPECT_NEAR(batch_mean[0], mean, 1e-10);
    EXPECT_NEAR(batch_variance[0], variance, 1e-10);
    for (size_t j = 0; j < dims.size(); ++j) {
      const double h = 1e-6;
      Eigen::VectorXd plus = point;
      Eigen::VectorXd minus = point;
      plus[dims[j]] += h;
      minus[dims[j]] -= h;
      double mp, vp, mm, vm;
      Eigen::VectorXd unused1, unused2;
      model.PredictWithGradient(plus, dims, &mp, &vp, &unused1, &unused2);
      model.PredictWithGradient(minus, dims, &mm, &vm, &unused1, &unused2);
      EXPECT_NEAR(d_mean[j], (mp - mm) / (2 * h), 1e-5) << j;
      EXPECT_NEAR(d_variance[j], (vp - vm) / (2 * h), 1e-5) << j;
    }
  }
}

TEST(GaussianProcessTest, InterpolatesDataWithSmallNoise) {
  const Data data = MakeData(20);
  KernelParams params;
  params.log_length = Eigen::Vector3d(std::log(0.3), 0, 0);
  params.log_signal = 0;
  params.log_noise = std::log(1e-6);
  Posterior model;
  ASSERT_TRUE(model.Build(data.kinds, data.x, data.y, params, 2.5));
  Eigen::VectorXd mean;
  Eigen::VectorXd variance;
  model.Predict(data.x, &mean, &variance);
  for (int i = 0; i < 20; ++i) {
    EXPECT_NEAR(mean[i], data.y[i], 1e-3);
    EXPECT_LT(variance[i], 1e-3);
  }
}

TEST(GaussianProcessTest, DuplicatePointsStillFactor) {
  // Identical rows make the noiseless kernel matrix singular; the jitter
  // retries must cope.
  const std::vector<double> xs = {0.5, 0.5, 0.5, 0.2, 0.2, 0.9};
  const std::vector<double> ys = {1, 1, 1, -1, -1, 0};
  Eigen::MatrixXd x(6, 1);
  Eigen::VectorXd y(6);
  for (int i = 0; i < 6; ++i) {
    x(i, 0) = xs[i];
    y[i] = ys[i];
  }
  KernelParams params;
  params.log_length = Eigen::VectorXd::Constant(1, 0.0);
  params.log_signal = 0;
  params.log_noise = std::log(1e-12);
  Posterior model;
  EXPECT_TRUE(model.Build({DimKind::kNumeric}, x, y, params, 2.5));
}

TEST(GaussianProcessTest, DistanceRules) {
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kNumeric, 0.2, 0.5), 0.09);
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kNumeric, 0.2, kNaN), 0.09 + 0.25);
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kNumeric, kNaN, 0.2), 0.09 + 0.25);
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kNumeric, kNaN, kNaN), 0);
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kCategorical, 1, 1), 0);
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kCategorical, 1, 2), 1);
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kCategorical, 1, kNaN), 1);
  EXPECT_DOUBLE_EQ(SquaredDistance(DimKind::kCategorical, kNaN, kNaN), 0);
}

TEST(AcquisitionTest, LogHMatchesDirectFormulaAndStaysFinite) {
  for (double z : {-0.5, 0.0, 1.0, 3.0, -2.0, -5.0, -10.0}) {
    const double direct =
        std::log(std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI) +
                 z * 0.5 * std::erfc(-z / std::sqrt(2.0)));
    EXPECT_NEAR(LogH(z), direct, 1e-8 * std::max(1.0, std::abs(direct))) << z;
  }
  // Continuous across the branch points, and finite far out where EI is 0.
  for (double z : {-1.0, -30.0}) {
    EXPECT_NEAR(LogH(z - 1e-9), LogH(z + 1e-9), 1e-6) << z;
  }
  double previous = LogH(-1);
  for (double z = -2; z > -1e4; z *= 1.5) {
    const double v = LogH(z);
    ASSERT_TRUE(std::isfinite(v)) << z;
    EXPECT_LT(v, previous) << z;
    previous = v;
  }
  // h(z) ~ phi(z) / z^2 for very negative z.
  const double z = -1000;
  EXPECT_NEAR(LogH(z),
              -0.5 * z * z - 0.5 * std::log(2 * M_PI) - 2 * std::log(-z), 1e-5);
}

TEST(AcquisitionTest, ErfcxAndLogCdf) {
  for (double x : {0.0, 0.5, 3.0, 10.0, 25.0}) {
    EXPECT_NEAR(Erfcx(x), std::exp(x * x) * std::erfc(x), 1e-12 * Erfcx(x))
        << x;
  }
  EXPECT_NEAR(Erfcx(26 - 1e-9), Erfcx(26 + 1e-9), 1e-10 * Erfcx(26));
  EXPECT_NEAR(Erfcx(1e6), 1 / (1e6 * std::sqrt(M_PI)), 1e-18);
  EXPECT_NEAR(LogNormalCdf(0), std::log(0.5), 1e-15);
  EXPECT_NEAR(LogNormalCdf(-3), std::log(0.5 * std::erfc(3 / std::sqrt(2.0))),
              1e-12);
  EXPECT_TRUE(std::isfinite(LogNormalCdf(-1e5)));
}

TEST(AcquisitionTest, DerivativesMatchFiniteDifferences) {
  for (AcquisitionKind kind : {AcquisitionKind::kLogEi, AcquisitionKind::kEi,
                               AcquisitionKind::kUcb, AcquisitionKind::kPi}) {
    Acquisition a;
    a.kind = kind;
    a.best = -0.4;
    a.xi = 0.05;
    for (double mu : {-1.0, 0.3, 4.0}) {
      const double sigma = 0.3;
      double d_mu;
      double d_sigma;
      a.Value(mu, sigma, &d_mu, &d_sigma);
      const double h = 1e-6;
      EXPECT_NEAR(d_mu,
                  (a.Value(mu + h, sigma) - a.Value(mu - h, sigma)) / (2 * h),
                  1e-5 * std::max(1.0, std::abs(d_mu)));
      EXPECT_NEAR(d_sigma,
                  (a.Value(mu, sigma + h) - a.Value(mu, sigma - h)) / (2 * h),
                  1e-5 * std::max(1.0, std::abs(d_sigma)));
    }
  }
}

TEST(LbfgsTest, RosenbrockInAndAgainstTheBox) {
  auto rosenbrock = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    const double a = 1 - x[0];
    const double b = x[1] - x[0] * x[0];
    g->resize(2);
    (*g)[0] = -2 * a - 400 * x[0] * b;
    (*g)[1] = 200 * b;
    return a * a + 100 * b * b;
  };
  LbfgsOptions options;
  options.max_iterations = 500;
  Eigen::VectorXd x(2);
  x << -1.2, 1;
  MinimizeInBox(rosenbrock, Eigen::Vector2d(-2, -2), Eigen::Vector2d(2, 2), x,
                options);
  EXPECT_NEAR(x[0], 1, 1e-4);
  EXPECT_NEAR(x[1], 1, 1e-4);
  // With x[0] <= 0.5 the minimum is on that bound, at (0.5, 0.25).
  x << -1.2, 1;
  MinimizeInBox(rosenbrock, Eigen::Vector2d(-2, -2), Eigen::Vector2d(0.5, 2), x,
                options);
  EXPECT_NEAR(x[0], 0.5, 1e-6);
  EXPECT_NEAR(x[1], 0.25, 1e-4);
}

TEST(HaltonTest, CoordinatesInUnitIntervalAndEvenlySpread) {
  Rng rng(5);
  ScrambledHalton halton(12, rng);
  std::vector<double> point(12);
  // Each coordinate's first 1000 values fill 10 bins evenly (a Halton
  // property the scramble keeps), far more evenly than random draws would.
  std::vector<std::vector<int>> bins(12, std::vector<int>(10));
  for (uint64_t i = 0; i < 1000; ++i) {
    halton.Point(i, point.data());
    for (int d = 0; d < 12; ++d) {
      ASSERT_GE(point[d], 0);
      ASSERT_LT(point[d], 1);
      bins[d][static_cast<int>(point[d] * 10)]++;
    }
  }
  for (int d = 0; d < 12; ++d) {
    for (int count : bins[d]) EXPECT_NEAR(count, 100, 12) << d;
  }
}

}  // namespace
}  // namespace gp
}  // namespace hpo
