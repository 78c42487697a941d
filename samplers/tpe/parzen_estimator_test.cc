#include "samplers/tpe/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/history.h"
#include "core/normal.h"
#include "core/search_space.h"
#include "gtest/gtest.h"
#include "samplers/sampler.h"
#include "samplers/tpe/trial_split.h"

namespace hpo {
namespace tpe_internal {
namespace {

ParamSpec Numeric(ParamKind kind, double low, double high, bool log = false,
                  double step = 0) {
  ParamSpec p;
  p.name = "p";
  p.kind = kind;
  p.low = low;
  p.high = high;
  p.log = log;
  p.step = step;
  return p;
}

ParamSpec Discrete(std::vector<double> values) {
  ParamSpec p;
  p.name = "d";
  p.kind = ParamKind::kDiscrete;
  p.values = std::move(values);
  return p;
}

ParamSpec Categorical(int n) {
  ParamSpec p;
  p.name = "c";
  p.kind = ParamKind::kCategorical;
  for (int i = 0; i < n; ++i) p.categories.push_back(std::to_string(i));
  return p;
}

// Observations of one axis: unit coordinates of the given values.
std::vector<double> Observe(const Axis& axis, const std::vector<double>& x) {
  std::vector<double> out;
  for (double v : x) out.push_back(axis.Observe(v));
  return out;
}

TEST(LogNormalMassTest, MatchesTheCdfAndHoldsInTheTails) {
  const double sqrt_half = std::sqrt(0.5);
  auto phi = [&](double z) { return 0.5 * std::erfc(-z * sqrt_half); };
  for (auto [a, b] : std::vector<std::pair<double, double>>{
           {-1, 1}, {-3, 0.5}, {0.2, 0.3}, {-0.3, -0.2}, {2, 4}, {-4, -2}}) {
    EXPECT_NEAR(LogNormalMass(a, b), std::log(phi(b) - phi(a)), 1e-12)
        << a << " " << b;
  }
  // Far tails: finite, and about log(phi(a) / a) for a wide interval.
  const double far = LogNormalMass(50, 60);
  EXPECT_TRUE(std::isfinite(far));
  EXPECT_NEAR(far, -0.5 * 50 * 50 - std::log(50 * std::sqrt(2 * M_PI)), 1e-3);
  EXPECT_DOUBLE_EQ(LogNormalMass(-60, -50), far);
  EXPECT_EQ(LogNormalMass(1, 1), -std::numeric_limits<double>::infinity());
  EXPECT_NEAR(LogNormalMass(-std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::infinity()),
              0, 1e-15);
}

TEST(TruncatedNormalDrawTest, StaysInTheUnitInterval) {
  for (double mu : {0.0, 0.01, 0.5, 0.99, 1.0}) {
    for (double sigma : {1e-12, 1e-3, 0.1, 1.0}) {
      for (double u : {0.0, 1e-9, 0.25, 0.5, 0.75, 1 - 1e-12}) {
        const double x = TruncatedNormalDraw(mu, sigma, u);
        EXPECT_GE(x, 0);
        EXPECT_LE(x, 1);
      }
    }
  }
  EXPECT_NEAR(TruncatedNormalDraw(0.5, 0.1, 0.5), 0.5, 1e-12);
}

// Far from both ends the draw skips the truncation's CDFs; it must be the
// inverse-CDF formula's draw bit for bit, near the shortcut's edges too
// (mu / sigma around 9, u around 2^-9).
TEST(TruncatedNormalDrawTest, NarrowKernelsDrawAsTheFullFormula) {
  auto full = [](double mu, double sigma, double u) {
    const double pa = NormalCdf(-mu / sigma);
    const double pb = NormalCdf((1 - mu) / sigma);
    const double x = mu + sigma * NormalQuantile(pa + u * (pb - pa));
    return std::isnan(x) ? mu : std::clamp(x, 0.0, 1.0);
  };
  Rng rng(3);
  for (int i = 0; i < 200000; ++i) {
    const double sigma = std::exp(-9 * UnitDraw(rng));  // 1.2e-4 to 1
    // Half the kernels just inside or outside 9 deviations of an end.
    const double edge = 9 * sigma * (0.999 + 0.002 * UnitDraw(rng));
    const double near = std::min(1.0, edge);
    const double mu = i % 4 == 1 ? near : i % 4 == 3 ? 1 - near : UnitDraw(rng);
    const double u = i % 3 == 0 ? std::ldexp(UnitDraw(rng), -8) : UnitDraw(rng);
    const double want = full(mu, sigma, u);
    const double got = TruncatedNormalDraw(mu, sigma, u);
    ASSERT_EQ(got, want) << "mu " << mu << " sigma " << sigma << " u " << u;
  }
}

TEST(ForgettingWeightsTest, FlatForTheNewestRampForTheOldest) {
  EXPECT_EQ(ForgettingWeights(3, 25), std::vector<double>(3, 1.0));
  const std::vector<double> w = ForgettingWeights(30, 25);
  ASSERT_EQ(w.size(), 30u);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 30);
  EXPECT_DOUBLE_EQ(w[4], 1.0);
  for (int i = 1; i < 5; ++i) EXPECT_GT(w[i], w[i - 1]);
  for (int i = 5; i < 30; ++i) EXPECT_EQ(w[i], 1.0);
}

// Optuna's default_weights are numpy.linspace's values, normalized by
// numpy's (pairwise) sum: the numbers below are what numpy 2.4 printed.
TEST(ForgettingWeightsTest, NumpysRampAndSumBitForBit) {
  const std::vector<double> w = ForgettingWeights(1000, 25);
  EXPECT_EQ(w[1], 0.0020256673511293635);
  EXPECT_EQ(w[500], 0.5138336755646817);
  EXPECT_EQ(w[974], 1.0);
  for (auto [n, sum] :
       {std::pair{5, 6.0}, std::pair{137, 82.4087591240876},
        std::pair{1000, 513.9875}, std::pair{4999, 2513.4974994999}}) {
    std::vector<double> with_prior = ForgettingWeights(n, 25);
    with_prior.push_back(1.0);
    EXPECT_EQ(PairwiseSum(with_prior.data(), n + 1), sum) << n;
  }
  // Summed one by one, the 4999 weights give 2513.4974994998997.
  std::vector<double> x;
  for (int i = 0; i < 300; ++i) x.push_back(0.1 * i + 1e-3 * (i % 7));
  EXPECT_EQ(PairwiseSum(x.data(), 300), 4485.897000000001);
}

TEST(AxisTest, KindsFollowTheParameter) {
  const ParamSpec d = Numeric(ParamKind::kDouble, 0, 1);
  const ParamSpec i = Numeric(ParamKind::kInt, 0, 10, false, 1);
  ParamSpec q = Numeric(ParamKind::kDouble, 0, 10);
  q.q = 0.5;
  const ParamSpec up = Discrete({1, 2, 4, 8});
  const ParamSpec down = Discrete({8, 4, 2});
  const ParamSpec shuffled = Discrete({2, 8, 4});
  const ParamSpec c = Categorical(3);
  EXPECT_EQ(Axis(d, false).kind(), AxisKind::kContinuous);
  EXPECT_EQ(Axis(i, false).kind(), AxisKind::kBinned);
  EXPECT_EQ(Axis(q, false).kind(), AxisKind::kBinned);
  EXPECT_EQ(Axis(up, false).kind(), AxisKind::kBinned);
  EXPECT_EQ(Axis(down, false).kind(), AxisKind::kBinned);
  EXPECT_EQ(Axis(shuffled, false).kind(), AxisKind::kCategorical);
  EXPECT_EQ(Axis(up, true).kind(), AxisKind::kCategorical);
  EXPECT_EQ(Axis(c, false).kind(), AxisKind::kCategorical);
  EXPECT_TRUE(std::isnan(Axis(c, false).Observe(3)));
  EXPECT_TRUE(std::isnan(Axis(c, false).Observe(0.5)));
  EXPECT_TRUE(std::isnan(Axis(d, false).Observe(kInactive)));
  EXPECT_EQ(Axis(c, false).Observe(2), 2);
}

// Every bin's interval maps back onto its value through FromUnit, so that the
// mass of a kernel over it is the probability of drawing that value.
// Axis::Observe keeps ToUnit's interval rather than recomputing it: the
// values must still be ToUnit's exactly.
TEST(AxisTest, ObserveIsToUnit) {
  std::vector<ParamSpec> specs = {
      Numeric(ParamKind::kDouble, -5, 5),
      Numeric(ParamKind::kDouble, 1e-5, 1, true),
      Numeric(ParamKind::kDouble, 0, 1, false, 0.1),
      Numeric(ParamKind::kDouble, 0.5, 3, true, 0.25),
      Numeric(ParamKind::kInt, -50, 50, false, 1),
      Numeric(ParamKind::kInt, 1, 1000, true, 1),
      Numeric(ParamKind::kInt, 0, 100, false, 7),
  };
  ParamSpec q = Numeric(ParamKind::kDouble, 0, 10);
  q.q = 0.5;
  specs.push_back(q);
  specs.push_back(Numeric(ParamKind::kDouble, -1e-300, 3e300));
  specs.push_back(Numeric(ParamKind::kDouble, 0.25, 0.25));
  Rng rng(13);
  for (const ParamSpec& p : specs) {
    const Axis axis(p, false);
    for (int k = 0; k < 200; ++k) {
      const double x = p.FromUnit(UnitDraw(rng));
      EXPECT_EQ(axis.Observe(x), p.ToUnit(x)) << p.low << " " << x;
    }
    // And the other way: Coordinate is FromUnit, ends and beyond included.
    for (double u : {-0.5, 0.0, 0x1p-60, 0.3, 0.5, 1 - 0x1p-53, 1.0, 1.5}) {
      EXPECT_EQ(axis.Coordinate(u), p.FromUnit(u)) << p.low << " " << u;
    }
    for (int k = 0; k < 200; ++k) {
      const double u = UnitDraw(rng);
      EXPECT_EQ(axis.Coordinate(u), p.FromUnit(u)) << p.low << " " << u;
    }
  }
}

TEST(AxisTest, BinEdgesAgreeWithFromUnit) {
  std::vector<ParamSpec> specs = {
      Numeric(ParamKind::kInt, -3, 7, false, 1),
      Numeric(ParamKind::kInt, 1, 1000, true, 1),
      Numeric(ParamKind::kInt, 0, 100, false, 7),
      Numeric(ParamKind::kDouble, 0.1, 2, false, 0.25),
      Numeric(ParamKind::kDouble, 1, 100, true, 0.5),
      Discrete({0.5, 1, 4, 16}),
  };
  ParamSpec q = Numeric(ParamKind::kDouble, 0.3, 10.2);
  q.q = 1;
  specs.push_back(q);
  ParamSpec normal = Numeric(ParamKind::kInt, -20, 20, false, 1);
  normal.prior = Prior::kNormal;
  normal.mu = 2;
  normal.sigma = 5;
  specs.push_back(normal);
  for (const ParamSpec& p : specs) {
    const Axis axis(p, false);
    ASSERT_EQ(axis.kind(), AxisKind::kBinned);
    double previous_hi = 0;
    for (int64_t k = 0; k < axis.cardinality(); ++k) {
      double lo;
      double hi;
      axis.BinEdges(k, &lo, &hi);
      EXPECT_DOUBLE_EQ(lo, previous_hi) << p.low << " k=" << k;
      EXPECT_LT(lo, hi);
      previous_hi = hi;
      const double value = p.NthValue(k);
      EXPECT_EQ(axis.BinOf(value), k);
      const double width = hi - lo;
      for (double f : {0.001, 0.5, 0.999}) {
        EXPECT_EQ(p.FromUnit(lo + f * width), value)
            << "k=" << k << " f=" << f << " low=" << p.low;
      }
    }
    EXPECT_DOUBLE_EQ(previous_hi, 1.0);
  }
}

// The estimators are normalized: a continuous one integrates to 1 over the unit
// interval, a binned or categorical one's masses sum to 1.
TEST(ParzenEstimatorTest, ContinuousDensityIntegratesToOne) {
  const ParamSpec p = Numeric(ParamKind::kDouble, -5, 5);
  const Axis axis(p, false);
  Rng rng(3);
  for (int n : {0, 1, 5, 200}) {
    std::vector<double> x;
    for (int i = 0; i < n; ++i) x.push_back(p.FromUnit(UnitDraw(rng) * 0.3));
    const ParzenEstimator e({&axis}, Observe(axis, x), EstimatorOptions());
    Candidates grid;
    const int points = 20000;
    grid.count = points;
    grid.unit.assign(1, std::vector<double>(points));
    grid.coordinate.assign(1, std::vector<double>(points));
    grid.bin.assign(1, std::vector<int64_t>(points));
    for (int i = 0; i < points; ++i) grid.unit[0][i] = (i + 0.5) / points;
    const Eigen::ArrayXd log_density = e.LogDensity(grid);
    EXPECT_NEAR(log_density.exp().sum() / points, 1.0, 2e-3) << "n=" << n;
  }
}

// The same for a joint (multivariate) estimator over two continuous axes,
// whose normalizers are folded into per-kernel constants.
TEST(ParzenEstimatorTest, JointContinuousDensityIntegratesToOne) {
  const ParamSpec p = Numeric(ParamKind::kDouble, -5, 5);
  const ParamSpec q = Numeric(ParamKind::kDouble, 1e-3, 1, true);
  const Axis ap(p, false);
  const Axis aq(q, false);
  Rng rng(4);
  for (int n : {0, 1, 5, 60}) {
    std::vector<double> obs;
    for (int i = 0; i < n; ++i) {
      obs.push_back(UnitDraw(rng) * 0.3);
      obs.push_back(0.5 + UnitDraw(rng) * 0.5);
    }
    const ParzenEstimator e({&ap, &aq}, obs, EstimatorOptions());
    Candidates grid;
    const int side = 400;
    grid.count = side * side;
    grid.unit.assign(2, std::vector<double>(grid.count));
    grid.coordinate.assign(2, std::vector<double>(grid.count));
    grid.bin.assign(2, std::vector<int64_t>(grid.count));
    for (int i = 0; i < side; ++i) {
      for (int k = 0; k < side; ++k) {
        grid.unit[0][i * side + k] = (i + 0.5) / side;
        grid.unit[1][i * side + k] = (k + 0.5) / side;
      }
    }
    const Eigen::ArrayXd log_density = e.LogDensity(grid);
    EXPECT_NEAR(log_density.exp().sum() / grid.count, 1.0, 5e-3) << "n=" << n;
  }
}

// Optuna 5's bandwidths, by hand. Observations 0.7, 0.3, 0.95, 0.32 of x in
// [0, 1] (unit space is x), sorted 0.3, 0.32, 0.7, 0.95 between the ends 0
// and 1; the prior's centre is not a neighbour (it was before Optuna 5, which
// gave 0.32 a width of 0.18):
// - 0.3: its inner gap 0.02 (the outermost ignore the ends), magic-clipped to
//   1 / min(100, n + 2) = 1/6; 0.3 with consider_endpoints;
// - 0.32: max(0.02, 0.38) = 0.38;  0.7: max(0.38, 0.25) = 0.38;
// - 0.95: its inner gap 0.25 (0.25 with consider_endpoints too: max(0.25,
//   0.05));
// - the prior: 1. Joint estimators use the same widths per axis (Optuna 5
//   dropped Scott's rule).
TEST(ParzenEstimatorTest, BandwidthsAreOptuna5s) {
  const ParamSpec p = Numeric(ParamKind::kDouble, 0, 1);
  const ParamSpec q = Numeric(ParamKind::kDouble, 0, 10);
  const Axis ap(p, false);
  const Axis aq(q, false);
  const std::vector<double> x = {0.7, 0.3, 0.95, 0.32};
  struct Case {
    bool endpoints;
    bool clip;
    std::vector<double> sigma;
  };
  for (const Case& c : std::vector<Case>{
           {false, true, {0.38, 1.0 / 6, 0.25, 0.38, 1}},
           {true, true, {0.38, 0.3, 0.25, 0.38, 1}},
           {false, false, {0.38, 0.02, 0.25, 0.38, 1}},
       }) {
    EstimatorOptions options;
    options.consider_endpoints = c.endpoints;
    options.consider_magic_clip = c.clip;
    const ParzenEstimator one({&ap}, Observe(ap, x), options);
    // Joint, with a second axis whose values are the same points scaled.
    std::vector<double> joint;
    for (double v : x) {
      joint.push_back(ap.Observe(v));
      joint.push_back(aq.Observe(10 * v));
    }
    const ParzenEstimator two({&ap, &aq}, joint, options);
    for (int j = 0; j < 5; ++j) {
      EXPECT_NEAR(one.Sigma(0)[j], c.sigma[j], 1e-12)
          << "kernel " << j << " endpoints=" << c.endpoints;
      EXPECT_NEAR(two.Sigma(0)[j], c.sigma[j], 1e-12) << "kernel " << j;
      EXPECT_NEAR(two.Sigma(1)[j], c.sigma[j], 1e-12) << "kernel " << j;
    }
  }
  // One observation: the larger distance to an end, max(0.2, 0.8).
  const ParzenEstimator single({&ap}, Observe(ap, {0.2}), EstimatorOptions());
  EXPECT_NEAR(single.Sigma(0)[0], 0.8, 1e-12);
  EXPECT_EQ(single.Sigma(0)[1], 1.0);
}

// Joint estimators over many trials and several continuous axes compute
// the widths along every axis but the first from cells of width < min_sigma
// instead of a sort, and only for the kernels LogDensity gets to (see
// lazy_axis_). Clustered observations with holes between the clusters (so
// that many kernels' widths are a gap wider than min_sigma), isolated points,
// exact duplicates (at a cell's end, which the cells cannot order, and
// inside one), and points at the range's ends: every width is the one a
// univariate estimator (which sorts) gives, bit for bit, and the log density
// is the mixture's, summed kernel by kernel.
TEST(ParzenEstimatorTest, LazyAxesGiveTheSortedWidthsAndTheMixture) {
  const ParamSpec p = Numeric(ParamKind::kDouble, 0, 1);
  const Axis axis(p, false);
  const int dims = 5;
  const std::vector<const Axis*> axes(dims, &axis);
  Rng rng(11);
  for (bool endpoints : {false, true}) {
    for (int n : {70, 300}) {
      std::vector<std::vector<double>> column(dims, std::vector<double>(n));
      for (int d = 0; d < dims; ++d) {
        for (int j = 0; j < n; ++j) {
          const double centre = std::vector<double>{0.1, 0.37, 0.8}[j % 3];
          double x = centre + (UnitDraw(rng) - 0.5) * 0.02 * (d + 1);
          if (j % 17 == 0) x = UnitDraw(rng);           // isolated
          if (d == 3 && j % 29 == 0) x = 0.55;          // one duplicated end
          if (d == 4 && j % 31 == 0) x = column[d][0];  // duplicates
          if (d == 2 && j == 5) x = 0;                  // the range's ends
          if (d == 2 && j == 6) x = 1;
          column[d][j] = std::clamp(x, 0.0, 1.0);
        }
      }
      std::vector<double> rows;
      for (int j = 0; j < n; ++j) {
        for (int d = 0; d < dims; ++d) rows.push_back(column[d][j]);
      }
      EstimatorOptions options;
      options.consider_endpoints = endpoints;
      const ParzenEstimator joint(axes, rows, options);
      std::vector<Eigen::ArrayXd> sigma(dims);
      for (int d = 0; d < dims; ++d) {
        const ParzenEstimator one({&axis}, column[d], options);
        sigma[d] = one.Sigma(0);
        ASSERT_EQ(joint.Sigma(d).size(), n + 1);
        for (int j = 0; j <= n; ++j) {
          EXPECT_EQ(joint.Sigma(d)[j], sigma[d][j])
              << "axis " << d << " kernel " << j << " n=" << n
              << " endpoints=" << endpoints;
        }
      }
      // The mixture by hand: forgetting weights and the prior's kernel
      // (mu 0.5, sigma 1), each a product of normals truncated to [0, 1].
      std::vector<double> weight = ForgettingWeights(n, 25);
      weight.push_back(1.0);
      double total = 0;
      for (double w : weight) total += w;
      auto log_mixture = [&](const std::vector<double>& x) {
        double sum = 0;
        for (int j = 0; j <= n; ++j) {
          double density = weight[j] / total;
          for (int d = 0; d < dims; ++d) {
            const double mu = j == n ? 0.5 : column[d][j];
            const double s = sigma[d][j];
            const double z = (x[d] - mu) / s;
            const double mass = 0.5 * (std::erfc(-(1 - mu) / s / std::sqrt(2)) -
                                       std::erfc(mu / s / std::sqrt(2)));
            density *=
                std::exp(-0.5 * z * z) / (s * std::sqrt(2 * M_PI) * mass);
          }
          sum += density;
        }
        return std::log(sum);
      };
      // Candidates from the mixture itself, near the data, and a few anywhere.
      Candidates c = joint.Sample(40, rng);
      for (int k = 0; k < 8; ++k) {
        for (int d = 0; d < dims; ++d) c.unit[d][k] = UnitDraw(rng);
      }
      const Eigen::ArrayXd log_density = joint.LogDensity(c);
      for (int k = 0; k < c.count; ++k) {
        std::vector<double> x(dims);
        for (int d = 0; d < dims; ++d) x[d] = c.unit[d][k];
        const double want = log_mixture(x);
        EXPECT_NEAR(log_density[k], want, 1e-6 * std::max(1.0, std::abs(want)))
            << "candidate " << k << " n=" << n << " endpoints=" << endpoints;
      }
    }
  }
}

// A joint estimator whose first axis is binned walks its kernels sorted along
// it and skips the blocks whose bound is below the cutoff: the density must
// still be the whole mixture, kernel by kernel (a binned axis contributing
// its kernel's mass over the candidate's bin, normalized over [0, 1]), on
// clustered integers with many repeats, with a continuous or a binned second
// axis, a log scale, and candidates near the data and anywhere. (It was so
// before the walk, when every block was visited.)
TEST(ParzenEstimatorTest, BinnedFirstAxisGivesTheMixture) {
  const ParamSpec ints = Numeric(ParamKind::kInt, -50, 50, false, 1);
  const ParamSpec log_ints = Numeric(ParamKind::kInt, 1, 1000, true, 1);
  const ParamSpec doubles = Numeric(ParamKind::kDouble, 0, 1);
  Rng rng(3);
  for (const ParamSpec* second : {&doubles, &ints}) {
    for (const ParamSpec* first : {&ints, &log_ints}) {
      const Axis a0(*first, false);
      const Axis a1(*second, false);
      for (int n : {70, 400}) {
        std::vector<std::vector<double>> value(2, std::vector<double>(n));
        for (int j = 0; j < n; ++j) {
          // Two clusters and some strays, so that values repeat.
          const double centre = j % 2 == 0 ? 0.3 : 0.7;
          for (int d = 0; d < 2; ++d) {
            double u = centre + (UnitDraw(rng) - 0.5) * 0.1;
            if (j % 13 == 0) u = UnitDraw(rng);
            const ParamSpec& p = d == 0 ? *first : *second;
            value[d][j] = p.FromUnit(std::clamp(u, 0.0, 1.0));
          }
        }
        std::vector<double> rows;
        for (int j = 0; j < n; ++j) {
          rows.push_back(a0.Observe(value[0][j]));
          rows.push_back(a1.Observe(value[1][j]));
        }
        const ParzenEstimator joint({&a0, &a1}, rows, EstimatorOptions());
        std::vector<double> weight = ForgettingWeights(n, 25);
        weight.push_back(1.0);
        double total = 0;
        for (double w : weight) total += w;
        const Axis* axes[2] = {&a0, &a1};
        auto normal_cdf = [](double z) {
          return 0.5 * std::erfc(-z / std::sqrt(2.0));
        };
        // Kernel j's factor along axis d at the candidate (unit u, bin k).
        auto factor = [&](int d, int j, double u, int64_t k) {
          const double mu = j == n ? 0.5 : rows[2 * j + d];
          const double s = joint.Sigma(d)[j];
          const double mass = normal_cdf((1 - mu) / s) - normal_cdf(-mu / s);
          if (axes[d]->kind() == AxisKind::kContinuous) {
            const double z = (u - mu) / s;
            return std::exp(-0.5 * z * z) / (s * std::sqrt(2 * M_PI) * mass);
          }
          double lo = 0;
          double hi = 0;
          axes[d]->BinEdges(k, &lo, &hi);
          // Bins narrower than a fifth of the kernel: density times width,
          // as the estimator defines them (samplers/tpe/README.md).
          if (hi - lo <= 0.2 * s) {
            const double z = (0.5 * (lo + hi) - mu) / s;
            return (hi - lo) * std::exp(-0.5 * z * z) /
                   (s * std::sqrt(2 * M_PI) * mass);
          }
          return (normal_cdf((hi - mu) / s) - normal_cdf((lo - mu) / s)) / mass;
        };
        Candidates c = joint.Sample(40, rng);
        for (int k = 0; k < 10; ++k) {
          // Anywhere: a value drawn from the prior, as Sample would give it.
          for (int d = 0; d < 2; ++d) {
            const ParamSpec& p = d == 0 ? *first : *second;
            const double x = p.FromUnit(UnitDraw(rng));
            c.coordinate[d][k] = x;
            c.unit[d][k] = axes[d]->Observe(x);
            if (axes[d]->kind() == AxisKind::kBinned) {
              c.bin[d][k] = axes[d]->BinOf(x);
            }
          }
        }
        const Eigen::ArrayXd log_density = joint.LogDensity(c);
        for (int k = 0; k < c.count; ++k) {
          double sum = 0;
          for (int j = 0; j <= n; ++j) {
            sum += weight[j] / total * factor(0, j, c.unit[0][k], c.bin[0][k]) *
                   factor(1, j, c.unit[1][k], c.bin[1][k]);
          }
          const double want = std::log(sum);
          EXPECT_NEAR(log_density[k], want,
                      1e-5 * std::max(1.0, std::abs(want)))
              << "candidate " << k << " n=" << n << " first=" << first->log
              << " second binned=" << (second == &ints);
        }
      }
    }
  }
}

// Lazy strips (two or three continuous axes, 64 observations or more): the
// kernels laid out block by block as evaluations reach them, the walk bounded
// by the kernels' weights and widths, give the mixture summed kernel by
// kernel. Observations crowd both ends of the range (truncated kernels) and
// the middle, and spread out elsewhere (wider kernels).
TEST(ParzenEstimatorTest, LazyStripsGiveTheMixture) {
  const ParamSpec doubles = Numeric(ParamKind::kDouble, 0, 1);
  const Axis axis(doubles, false);
  Rng rng(17);
  for (size_t dims : {2, 3}) {
    const std::vector<const Axis*> axes(dims, &axis);
    for (int n : {70, 400, 1200}) {
      std::vector<double> rows;
      for (int j = 0; j < n; ++j) {
        for (size_t d = 0; d < dims; ++d) {
          double u = UnitDraw(rng);
          if (j % 5 == 0) u = 0.002 * UnitDraw(rng);
          if (j % 5 == 1) u = 1 - 0.002 * UnitDraw(rng);
          if (j % 5 == 2) u = 0.5 + 0.01 * (UnitDraw(rng) - 0.5);
          rows.push_back(u);
        }
      }
      const ParzenEstimator joint(axes, rows, EstimatorOptions());
      std::vector<double> weight = ForgettingWeights(n, 25);
      weight.push_back(1.0);
      double total = 0;
      for (double w : weight) total += w;
      Candidates c = joint.Sample(30, rng);
      for (int k = 0; k < 10; ++k) {
        for (size_t d = 0; d < dims; ++d) {
          c.unit[d][k] = k < 3 ? 0.001 * k : UnitDraw(rng);
        }
      }
      const Eigen::ArrayXd log_density = joint.LogDensity(c);
      for (int k = 0; k < c.count; ++k) {
        double sum = 0;
        for (int j = 0; j <= n; ++j) {
          double term = weight[j] / total;
          for (size_t d = 0; d < dims; ++d) {
            const double mu = j == n ? 0.5 : rows[j * dims + d];
            const double s = joint.Sigma(d)[j];
            const double mass =
                0.5 * std::erfc(-(1 - mu) / s / std::sqrt(2.0)) -
                0.5 * std::erfc(mu / s / std::sqrt(2.0));
            const double z = (c.unit[d][k] - mu) / s;
            term *= std::exp(-0.5 * z * z) / (s * std::sqrt(2 * M_PI) * mass);
          }
          sum += term;
        }
        // (The truncation masses near an end take 1.5e-7 from an
        // approximation of the tails, per axis.)
        EXPECT_NEAR(log_density[k], std::log(sum),
                    1e-6 * std::max(1.0, std::abs(std::log(sum))))
            << "dims " << dims << " n " << n << " candidate " << k;
      }
      // And bit for bit what the layout computed up front gives.
      EstimatorOptions eager;
      eager.lazy_layout = false;
      const ParzenEstimator up_front(axes, rows, eager);
      const Eigen::ArrayXd want = up_front.LogDensity(c);
      Eigen::ArrayXd lower;
      Eigen::ArrayXd upper;
      Eigen::ArrayXd want_lower;
      Eigen::ArrayXd want_upper;
      joint.LogDensityBounds(c, lower, upper);
      up_front.LogDensityBounds(c, want_lower, want_upper);
      for (int k = 0; k < c.count; ++k) {
        EXPECT_EQ(log_density[k], want[k]) << dims << " " << n << " " << k;
        EXPECT_EQ(lower[k], want_lower[k]) << dims << " " << n << " " << k;
        EXPECT_EQ(upper[k], want_upper[k]) << dims << " " << n << " " << k;
      }
    }
  }
}

// TPE's choice, the first candidate of largest log l - log g, made from the
// estimators' bounds where they tell and their exact densities where they do
// not, is the one the exact densities give; the bounds hold the exact
// density, and LogDensityOf gives its bits. Candidates include exact ties
// (copies) and near ones (a copy moved by 1e-9), which only the exact densities
// separate.
TEST(ParzenEstimatorTest, LargestRatioPicksAsTheExactScoresDo) {
  const ParamSpec doubles = Numeric(ParamKind::kDouble, 0, 1);
  const ParamSpec ints = Numeric(ParamKind::kInt, -50, 50, false, 1);
  const ParamSpec categories = Categorical(3);
  const std::vector<std::vector<const ParamSpec*>> spaces = {
      {&doubles},
      {&doubles, &doubles},
      {&doubles, &doubles, &doubles, &doubles, &doubles, &doubles},
      {&ints, &doubles},
      {&doubles, &categories, &ints},
  };
  Rng rng(11);
  int near_ties = 0;
  for (const auto& space : spaces) {
    std::vector<Axis> axis_store;
    for (const ParamSpec* p : space) axis_store.emplace_back(*p, false);
    std::vector<const Axis*> axes;
    for (const Axis& a : axis_store) axes.push_back(&a);
    const size_t dims = axes.size();
    for (int n : {30, 400}) {
      for (int round = 0; round < 8; ++round) {
        // The good trials near 0.3, the others anywhere and near 0.7.
        auto draw_rows = [&](int count, double centre, double spread) {
          std::vector<double> rows;
          for (int j = 0; j < count; ++j) {
            for (size_t d = 0; d < dims; ++d) {
              double u = centre + (UnitDraw(rng) - 0.5) * spread;
              if (j % 3 == 0) u = UnitDraw(rng);
              const double x = space[d]->FromUnit(std::clamp(u, 0.0, 1.0));
              rows.push_back(axes[d]->Observe(x));
            }
          }
          return rows;
        };
        const ParzenEstimator l(axes, draw_rows(12, 0.3, 0.2),
                                EstimatorOptions());
        const ParzenEstimator g(axes, draw_rows(n, 0.7, 0.5),
                                EstimatorOptions());
        Candidates c = l.Sample(24, rng);
        auto copy = [&](int from, int to, double move) {
          for (size_t d = 0; d < dims; ++d) {
            c.coordinate[d][to] = c.coordinate[d][from];
            c.unit[d][to] = c.unit[d][from];
            c.bin[d][to] = c.bin[d][from];
            if (axes[d]->kind() == AxisKind::kContinuous) {
              c.unit[d][to] = std::min(1.0, c.unit[d][to] + move);
            }
          }
        };
        copy(0, 7, 0);
        copy(3, 20, 0);
        copy(1, 9, 1e-9);
        copy(5, 6, 1e-9);
        const Eigen::ArrayXd log_g = g.LogDensity(c);
        const Eigen::ArrayXd score = l.LogDensity(c) - log_g;
        int want = 0;
        for (int k = 1; k < c.count; ++k) {
          if (score[k] > score[want]) want = k;
        }
        EXPECT_EQ(LargestRatio(l, g, c), want)
            << "dims " << dims << " n " << n << " round " << round;
        Eigen::ArrayXd lower;
        Eigen::ArrayXd upper;
        g.LogDensityBounds(c, lower, upper);
        Eigen::ArrayXd l_lower;
        Eigen::ArrayXd l_upper;
        const Eigen::ArrayXd log_l = l.LogDensity(c);
        l.LogDensityBounds(c, l_lower, l_upper);
        std::vector<int> which;
        for (int k = 0; k < c.count; ++k) {
          EXPECT_LE(lower[k], log_g[k]) << k;
          EXPECT_GE(upper[k], log_g[k]) << k;
          EXPECT_LE(upper[k] - lower[k],
                    3e-3 * std::max(1.0, std::abs(log_g[k])));
          EXPECT_LE(l_lower[k], log_l[k]) << k;
          EXPECT_GE(l_upper[k], log_l[k]) << k;
          if (k % 3 == 1) which.push_back(k);
          near_ties += k > 0 && score[k] != score[k - 1] &&
                       std::abs(score[k] - score[k - 1]) < 1e-6;
        }
        Eigen::ArrayXd some;
        g.LogDensityOf(c, which, some);
        for (int k : which) EXPECT_EQ(some[k], log_g[k]) << k;
      }
    }
  }
  // The moved copies did make near ties.
  EXPECT_GT(near_ties, 20);
}

// Rebuild: an estimator rebuilt over and over, for estimators of every shape
// in turn (one axis or several, categorical, binned, lazy axes, strips), is
// each time the estimator a new one would be, bit for bit.
TEST(ParzenEstimatorTest, RebuildGivesTheSameEstimator) {
  const ParamSpec doubles = Numeric(ParamKind::kDouble, 0, 1);
  const ParamSpec ints = Numeric(ParamKind::kInt, -50, 50, false, 1);
  const ParamSpec categories = Categorical(4);
  const std::vector<const ParamSpec*> six(6, &doubles);
  const std::vector<std::pair<std::vector<const ParamSpec*>, int>> shapes = {
      {six, 300},
      {{&categories}, 40},
      {{&doubles, &doubles}, 500},
      {{&ints}, 60},
      {{&ints, &doubles}, 200},
      {{&doubles}, 80},
      {{&doubles, &categories, &ints}, 90},
      {six, 70},
      {{&doubles, &doubles}, 30},
      {six, 300},
  };
  Rng rng(5);
  ParzenEstimator reused;
  for (int round = 0; round < 2; ++round) {
    for (const auto& [space, n] : shapes) {
      std::vector<Axis> axis_store;
      for (const ParamSpec* p : space) axis_store.emplace_back(*p, false);
      std::vector<const Axis*> axes;
      for (const Axis& a : axis_store) axes.push_back(&a);
      std::vector<double> rows;
      for (int j = 0; j < n; ++j) {
        for (size_t d = 0; d < axes.size(); ++d) {
          const double u = j % 4 == 0
                               ? UnitDraw(rng)
                               : 0.4 + 0.2 * UnitDraw(rng) * UnitDraw(rng);
          rows.push_back(axes[d]->Observe(space[d]->FromUnit(u)));
        }
      }
      ObservationView view;
      view.stride = static_cast<ptrdiff_t>(axes.size());
      view.n = n;
      for (size_t d = 0; d < axes.size(); ++d) {
        view.columns.push_back(rows.data() + d);
      }
      const ParzenEstimator fresh(axes, view, EstimatorOptions());
      reused.Rebuild(axes, view, EstimatorOptions());
      ASSERT_EQ(reused.kernels(), fresh.kernels());
      for (size_t d = 0; d < axes.size(); ++d) {
        if (axes[d]->kind() == AxisKind::kCategorical) continue;
        ASSERT_EQ(reused.Sigma(d).size(), fresh.Sigma(d).size());
        for (int j = 0; j < fresh.kernels(); ++j) {
          ASSERT_EQ(reused.Sigma(d)[j], fresh.Sigma(d)[j]) << d << " " << j;
        }
      }
      const uint64_t seed = rng();
      Rng a(seed);
      Rng b(seed);
      const Candidates from_fresh = fresh.Sample(30, a);
      const Candidates from_reused = reused.Sample(30, b);
      ASSERT_EQ(from_reused.coordinate, from_fresh.coordinate);
      const Eigen::ArrayXd want = fresh.LogDensity(from_fresh);
      const Eigen::ArrayXd got = reused.LogDensity(from_fresh);
      for (int c = 0; c < from_fresh.count; ++c) {
        ASSERT_EQ(got[c], want[c]) << "dims " << axes.size() << " n " << n;
      }
    }
  }
}

// EstimatorMemory: an estimator built with what an earlier one over some of
// the same rows left is the same estimator, bit for bit (widths and log
// densities), as one built from nothing, whatever rows came or went between
// them.
TEST(ParzenEstimatorTest, MemoryGivesTheSameEstimator) {
  const ParamSpec p = Numeric(ParamKind::kDouble, 0, 1);
  const Axis axis(p, false);
  const int dims = 6;
  const std::vector<const Axis*> axes(dims, &axis);
  const int total = 500;
  Rng rng(23);
  // Clustered columns with duplicates (which turn cells off) in one axis.
  // Both a six-dimensional estimator (lazy axes) and a two-dimensional one
  // (every axis sorted) are built with and without the memory.
  std::vector<std::vector<double>> column(dims, std::vector<double>(total));
  for (int d = 0; d < dims; ++d) {
    for (int r = 0; r < total; ++r) {
      double x = std::vector<double>{0.2, 0.6}[r % 2] +
                 (UnitDraw(rng) - 0.5) * 0.05 * (d + 1);
      if (r % 13 == 0) x = UnitDraw(rng);
      if (d == 5 && r % 97 == 0) x = 0.61;
      // Ties along the sorted first axis (their order is by position).
      if (d == 0 && r % 89 == 0) x = 0.4;
      column[d][r] = std::clamp(x, 0.0, 1.0);
    }
  }
  ObservationView view;
  for (int d = 0; d < dims; ++d) view.columns.push_back(column[d].data());
  const std::vector<const Axis*> two(2, &axis);
  for (bool endpoints : {false, true}) {
    EstimatorOptions options;
    options.consider_endpoints = endpoints;
    EstimatorMemory memory;
    EstimatorMemory memory2;
    std::vector<char> in(total, 0);
    for (int r = 0; r < 90; ++r) in[r] = 1;
    for (int step = 0; step < 120; ++step) {
      // Rows come (most steps) and go (some), as g's trials do.
      for (int k = 0; k < 1 + step % 3; ++k) in[rng() % total] = 1;
      if (step % 4 == 3) in[rng() % total] = 0;
      std::vector<int> rows;
      for (int r = 0; r < total; ++r) {
        if (in[r]) rows.push_back(r);
      }
      view.rows = rows.data();
      view.n = static_cast<int>(rows.size());
      const ParzenEstimator remembering(axes, view, options, &memory);
      const ParzenEstimator fresh(axes, view, options);
      for (int d = 0; d < dims; ++d) {
        ASSERT_EQ(remembering.Sigma(d).size(), fresh.Sigma(d).size());
        for (Eigen::Index j = 0; j < fresh.Sigma(d).size(); ++j) {
          ASSERT_EQ(remembering.Sigma(d)[j], fresh.Sigma(d)[j])
              << "step " << step << " axis " << d << " kernel " << j;
        }
      }
      Rng draws(static_cast<uint64_t>(step));
      Candidates c = fresh.Sample(30, draws);
      const Eigen::ArrayXd a = remembering.LogDensity(c);
      const Eigen::ArrayXd b = fresh.LogDensity(c);
      for (int k = 0; k < c.count; ++k) {
        ASSERT_EQ(a[k], b[k]) << "step " << step << " candidate " << k;
      }
      ObservationView view2 = view;
      view2.columns.resize(2);
      const ParzenEstimator remembering2(two, view2, options, &memory2);
      const ParzenEstimator fresh2(two, view2, options);
      for (int d = 0; d < 2; ++d) {
        for (Eigen::Index j = 0; j < fresh2.Sigma(d).size(); ++j) {
          ASSERT_EQ(remembering2.Sigma(d)[j], fresh2.Sigma(d)[j])
              << "2-D, step " << step << " axis " << d << " kernel " << j;
        }
      }
      Candidates c2 = fresh2.Sample(30, draws);
      const Eigen::ArrayXd a2 = remembering2.LogDensity(c2);
      const Eigen::ArrayXd b2 = fresh2.LogDensity(c2);
      for (int k = 0; k < c2.count; ++k) {
        ASSERT_EQ(a2[k], b2[k]) << "2-D, step " << step << " candidate " << k;
      }
    }
    EXPECT_EQ(memory.rows.size(),
              static_cast<size_t>(std::count(in.begin(), in.end(), 1)));
  }
}

// Optuna 5's own numbers: _ParzenEstimator (default parameters) over x in
// [0, 1] and y in [-5, 5], 40 observations from numpy's RandomState(0), and
// its log_pdf at four points, printed by Optuna 5.0.0. Optuna's densities are
// per unit of y; ours per unit of unit space, log(10) more.
TEST(ParzenEstimatorTest, MatchesOptuna5LogPdf) {
  const ParamSpec px = Numeric(ParamKind::kDouble, 0, 1);
  const ParamSpec py = Numeric(ParamKind::kDouble, -5, 5);
  const Axis ax(px, false);
  const Axis ay(py, false);
  const std::vector<double> xs = {
      0.54881350392732475,  0.71518936637241948,  0.60276337607164387,
      0.54488318299689686,  0.42365479933890471,  0.64589411306665612,
      0.43758721126269251,  0.89177300078207977,  0.96366276050102928,
      0.38344151882577771,  0.79172503808266459,  0.52889491975290448,
      0.56804456109393231,  0.92559663829266103,  0.071036058197886942,
      0.087129299701540708, 0.020218397440325719, 0.832619845547938,
      0.77815675094985048,  0.87001214824681916,  0.978618342232764,
      0.7991585642167236,   0.46147936225293185,  0.78052917628645546,
      0.11827442586893322,  0.63992102132752382,  0.1433532874090464,
      0.94466891704958389,  0.52184832175007168,  0.41466193999052359,
      0.26455561210462697,  0.77423368943421667,  0.45615033221654855,
      0.56843394886864851,  0.018789800436355142, 0.61763549707587706,
      0.61209572272242141,  0.61693399687475692,  0.94374807851462417,
      0.68182029910348341};
  const std::vector<double> ys = {
      -1.4049209942621399,  -0.62968046200658545, 1.9763119592726488,
      -4.3977452837073017,  1.6676671544566766,   1.7063786961815941,
      -2.8961743892615912,  -3.7107370234514669,  -1.8457164907581616,
      -1.3628922905737739,  0.70196770417879684,  -0.61398486537679631,
      4.8837383805922627,   -3.9795518925197193,  -2.9112324390516529,
      -3.3869048211500372,  1.5310832546539839,   -2.4670839746021791,
      -0.33689227143693756, -2.5557440799839726,  -3.4103041635448026,
      -3.8962485883569489,  1.5632958946527342,   -3.6181704865138622,
      -3.034176383199465,   -1.3127482933903591,  3.2099322984793517,
      -4.0289872420693875,  3.3794490749880381,   -4.0390159210603693,
      4.764594650133958,    -0.31348798352298424, 4.7676108819033711,
      1.0484551974504601,   2.3926357939830165,   -4.6081220774567928,
      -2.1719303742359042,  -3.7980343878683112,  -2.0385980247785507,
      -3.8127228104575597};
  const std::vector<double> optuna_log_pdf = {
      -2.3158366855128873, -3.8498763160230451, -5.8155948631629943,
      -4.5130778827585107};
  std::vector<double> obs;
  for (size_t i = 0; i < xs.size(); ++i) {
    obs.push_back(ax.Observe(xs[i]));
    obs.push_back(ay.Observe(ys[i]));
  }
  const ParzenEstimator e({&ax, &ay}, obs, EstimatorOptions());
  const std::vector<double> px_at = {0.1, 0.5, 0.93, 0.0};
  const std::vector<double> py_at = {-4.0, 0.3, 2.2, 5.0};
  Candidates at;
  at.count = 4;
  at.unit.assign(2, std::vector<double>(4));
  at.coordinate.assign(2, std::vector<double>(4));
  at.bin.assign(2, std::vector<int64_t>(4));
  for (int c = 0; c < 4; ++c) {
    at.coordinate[0][c] = px_at[c];
    at.coordinate[1][c] = py_at[c];
    at.unit[0][c] = ax.Observe(px_at[c]);
    at.unit[1][c] = ay.Observe(py_at[c]);
  }
  const Eigen::ArrayXd log_density = e.LogDensity(at);
  for (int c = 0; c < 4; ++c) {
    // The truncation masses' tail formula is good to ~3e-7 relative.
    EXPECT_NEAR(log_density[c], optuna_log_pdf[c] + std::log(10.0), 1e-6)
        << "point " << c;
  }
}

TEST(ParzenEstimatorTest, BinnedAndCategoricalMassesSumToOne) {
  const ParamSpec i = Numeric(ParamKind::kInt, 1, 1000, true, 1);
  const ParamSpec c = Categorical(5);
  Rng rng(5);
  for (const ParamSpec* p : {&i, &c}) {
    const Axis axis(*p, false);
    for (int n : {0, 3, 300}) {
      std::vector<double> x;
      for (int k = 0; k < n; ++k) x.push_back(p->FromUnit(UnitDraw(rng) * 0.2));
      const ParzenEstimator e({&axis}, Observe(axis, x), EstimatorOptions());
      Candidates all;
      all.count = static_cast<int>(axis.cardinality());
      all.unit.assign(1, std::vector<double>(all.count));
      all.coordinate.assign(1, std::vector<double>(all.count));
      all.bin.assign(1, std::vector<int64_t>(all.count));
      for (int k = 0; k < all.count; ++k) {
        all.bin[0][k] = k;
        all.coordinate[0][k] = k;
      }
      EXPECT_NEAR(e.LogDensity(all).exp().sum(), 1.0, 5e-4)
          << p->name << " n=" << n;
    }
  }
}

// Draws land on values as often as the estimator's mass says.
TEST(ParzenEstimatorTest, SamplesFollowTheMass) {
  const ParamSpec p = Numeric(ParamKind::kInt, 0, 9, false, 1);
  const ParamSpec c = Categorical(4);
  const Axis ai(p, false);
  const Axis ac(c, false);
  // Two axes, to exercise the product (multivariate) path too.
  for (bool joint : {false, true}) {
    std::vector<const Axis*> axes = {&ai};
    std::vector<double> obs = {ai.Observe(2), ai.Observe(3), ai.Observe(3),
                               ai.Observe(8)};
    if (joint) {
      axes.push_back(&ac);
      obs = {ai.Observe(2), 1, ai.Observe(3), 1,
             ai.Observe(3), 0, ai.Observe(8), 3};
    }
    const ParzenEstimator e(axes, obs, EstimatorOptions());
    Rng rng(11);
    const int draws = 40000;
    const Candidates s = e.Sample(draws, rng);
    std::vector<int> counts(10);
    for (int k = 0; k < draws; ++k) counts[s.bin[0][k]]++;
    // The marginal mass of each value of the first axis: with one axis, the
    // estimator's own; with two, summed over the categorical axis.
    for (int v = 0; v < 10; ++v) {
      double mass = 0;
      Candidates one;
      one.count = joint ? 4 : 1;
      one.unit.assign(axes.size(), std::vector<double>(one.count));
      one.coordinate.assign(axes.size(), std::vector<double>(one.count));
      one.bin.assign(axes.size(), std::vector<int64_t>(one.count, v));
      for (int k = 0; k < one.count; ++k) {
        one.coordinate[0][k] = v;
        if (joint) {
          one.coordinate[1][k] = k;
          one.bin[1][k] = k;
        }
      }
      mass = e.LogDensity(one).exp().sum();
      const double expected = mass * draws;
      EXPECT_NEAR(counts[v], expected, 5 * std::sqrt(expected) + 5)
          << "value " << v << " joint=" << joint;
    }
  }
}

TrialRecord Completed(int64_t number, double value) {
  TrialRecord t;
  t.number = number;
  t.state = TrialState::kCompleted;
  t.params = {static_cast<double>(number)};
  t.values = {value};
  return t;
}

TrialRecord Pruned(int64_t number,
                   std::vector<std::pair<int64_t, double>> intermediate) {
  TrialRecord t;
  t.number = number;
  t.state = TrialState::kPruned;
  t.params = {static_cast<double>(number)};
  t.intermediate = std::move(intermediate);
  return t;
}

TrialRecord Other(int64_t number, TrialState state) {
  TrialRecord t;
  t.number = number;
  t.state = state;
  t.params = {static_cast<double>(number)};
  return t;
}

std::vector<int64_t> BelowNumbers(const Split& split) {
  std::vector<int64_t> out;
  for (const SplitTrial& t : split.trials) {
    if (t.below) out.push_back(t.trial->number);
  }
  return out;
}

TEST(SplitTrialsTest, CompletedThenPrunedByStepThenValue) {
  History h;
  h.goals = {Goal::kMinimize};
  h.trials = {Completed(0, 3),
              Pruned(1, {{1, 0.1}, {5, 0.5}}),
              Completed(2, 1),
              Pruned(3, {{9, 10}}),
              Other(4, TrialState::kFailed),
              Pruned(5, {}),
              Completed(6, 2),
              Pruned(7, {{5, 0.4}}),
              Other(8, TrialState::kRunning)};
  SplitOptions o;
  o.liar = Liar::kOff;
  o.gamma = 0.5;  // ceil(0.5 * 7) = 4
  Split s = SplitTrials(h, 1, o);
  EXPECT_EQ(s.n_finished, 7);
  EXPECT_EQ(s.trials.size(), 7u);  // no failed, no running without the liar
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{0, 2, 3, 6}));
  o.gamma = 0.8;  // 6: pruned at step 5 with 0.4 before 0.5, none without steps
  s = SplitTrials(h, 1, o);
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{0, 1, 2, 3, 6, 7}));

  // Maximizing reverses the values, not the steps.
  h.goals = {Goal::kMaximize};
  o.gamma = 0.3;  // 3
  s = SplitTrials(h, 1, o);
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{0, 2, 6}));
  o.gamma = 0.6;  // 5: step 9, then step 5 with the larger value (0.5)
  s = SplitTrials(h, 1, o);
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{0, 1, 2, 3, 6}));
}

TEST(SplitTrialsTest, LiarsPlaceRunningTrials) {
  History h;
  h.goals = {Goal::kMinimize};
  h.trials = {Completed(0, 3), Completed(1, 1), Completed(2, 2),
              Other(3, TrialState::kRunning), Other(4, TrialState::kWaiting)};
  SplitOptions o;
  o.gamma = 0.4;
  // Worst: running trials are above and do not count: ceil(0.4 * 3) = 2.
  o.liar = Liar::kWorst;
  Split s = SplitTrials(h, 1, o);
  EXPECT_EQ(s.trials.size(), 5u);
  EXPECT_EQ(s.n_below, 2);
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{1, 2}));
  // Best: they take the best value, after the real trial that has it; they
  // count: ceil(0.4 * 5) = 2.
  o.liar = Liar::kBest;
  s = SplitTrials(h, 1, o);
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{1, 3}));
  // Mean: 2, after trial 2.
  o.gamma = 0.6;  // 3
  o.liar = Liar::kMean;
  s = SplitTrials(h, 1, o);
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{1, 2, 3}));
  // The cap.
  o.gamma = 1;
  o.linear_forgetting = 2;
  s = SplitTrials(h, 1, o);
  EXPECT_EQ(s.n_below, 2);
}

TEST(SplitTrialsTest, NanValuesRankLastAndOtherSpecsAreSkipped) {
  History h;
  h.goals = {Goal::kMinimize};
  h.trials = {Completed(0, std::nan("")), Pruned(1, {{0, 5}}), Completed(2, 7)};
  TrialRecord old = Completed(3, -100);
  old.params = {1, 2};  // from a spec with two parameters
  h.trials.push_back(old);
  SplitOptions o;
  o.gamma = 0.6;  // ceil(0.6 * 3) = 2
  const Split s = SplitTrials(h, 1, o);
  EXPECT_EQ(s.n_finished, 3);
  EXPECT_EQ(BelowNumbers(s), (std::vector<int64_t>{1, 2}));
}

// Splitting into the Split of an earlier call (as the sampler does, to keep
// its buffers) gives what a fresh split gives, whatever the earlier history:
// longer, shorter, with running trials and a liar that imputes, or none.
TEST(SplitTrialsTest, ASplitReusedForAnotherHistoryIsAFreshOne) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> value(0, 1);
  Split reused;
  for (int round = 0; round < 40; ++round) {
    History h;
    h.goals = {round % 3 == 0 ? Goal::kMaximize : Goal::kMinimize};
    const int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 5) {
        case 0:
          h.trials.push_back(Pruned(i, {{1 + i % 4, value(rng)}}));
          break;
        case 1:
          h.trials.push_back(Other(i, TrialState::kRunning));
          break;
        case 2:
          h.trials.push_back(Other(i, TrialState::kFailed));
          break;
        default:
          h.trials.push_back(Completed(i, value(rng)));
      }
    }
    SplitOptions o;
    o.gamma = 0.25;
    o.liar = static_cast<Liar>(rng() % 4);
    SplitTrials(h, 1, o, &reused);
    const Split fresh = SplitTrials(h, 1, o);
    ASSERT_EQ(reused.trials.size(), fresh.trials.size()) << round;
    for (size_t t = 0; t < fresh.trials.size(); ++t) {
      EXPECT_EQ(reused.trials[t].trial, fresh.trials[t].trial) << round;
      EXPECT_EQ(reused.trials[t].below, fresh.trials[t].below) << round;
      EXPECT_EQ(reused.trials[t].finished, fresh.trials[t].finished) << round;
    }
    EXPECT_EQ(reused.n_finished, fresh.n_finished) << round;
    EXPECT_EQ(reused.n_below, fresh.n_below) << round;
  }
}

}  // namespace
}  // namespace tpe_internal
}  // namespace hpo
