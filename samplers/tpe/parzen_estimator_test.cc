#include "samplers/tpe/parzen_estimator.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/history.h"
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

TEST(ForgettingWeightsTest, FlatForTheNewestRampForTheOldest) {
  EXPECT_EQ(ForgettingWeights(3, 25), std::vector<double>(3, 1.0));
  const std::vector<double> w = ForgettingWeights(30, 25);
  ASSERT_EQ(w.size(), 30u);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 30);
  EXPECT_DOUBLE_EQ(w[4], 1.0);
  for (int i = 1; i < 5; ++i) EXPECT_GT(w[i], w[i - 1]);
  for (int i = 5; i < 30; ++i) EXPECT_EQ(w[i], 1.0);
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
    for (bool multivariate : {false, true}) {
      std::vector<double> x;
      for (int i = 0; i < n; ++i) x.push_back(p.FromUnit(UnitDraw(rng) * 0.3));
      EstimatorOptions options;
      options.multivariate = multivariate;
      const ParzenEstimator e({&axis}, Observe(axis, x), options);
      Candidates grid;
      const int points = 20000;
      grid.count = points;
      grid.unit.assign(1, std::vector<double>(points));
      grid.coordinate.assign(1, std::vector<double>(points));
      grid.bin.assign(1, std::vector<int64_t>(points));
      for (int i = 0; i < points; ++i) grid.unit[0][i] = (i + 0.5) / points;
      const Eigen::ArrayXd log_density = e.LogDensity(grid);
      EXPECT_NEAR(log_density.exp().sum() / points, 1.0, 2e-3)
          << "n=" << n << " multivariate=" << multivariate;
    }
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
    EstimatorOptions options;
    options.multivariate = joint;
    const ParzenEstimator e(axes, obs, options);
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

}  // namespace
}  // namespace tpe_internal
}  // namespace hpo
