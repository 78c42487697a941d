#include "core/search_space.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace hpo {
namespace {

ParamSpec DoubleParam(double low, double high, bool log = false,
                      double step = 0) {
  ParamSpec p;
  p.name = "x";
  p.kind = ParamKind::kDouble;
  p.low = low;
  p.high = high;
  p.log = log;
  p.step = step;
  return p;
}

ParamSpec IntParam(double low, double high, bool log = false, double step = 1) {
  ParamSpec p = DoubleParam(low, high, log, step);
  p.kind = ParamKind::kInt;
  return p;
}

ParamSpec CategoricalParam(std::vector<std::string> labels) {
  ParamSpec p;
  p.name = "c";
  p.kind = ParamKind::kCategorical;
  p.categories = std::move(labels);
  return p;
}

ParamSpec DiscreteParam(std::vector<double> values) {
  ParamSpec p;
  p.name = "d";
  p.kind = ParamKind::kDiscrete;
  p.values = std::move(values);
  return p;
}

// How often each value comes out of FromUnit over `n` evenly spread u in (0,
// 1): the share of [0, 1] that maps to it, in units of 1/n.
std::map<double, int> UnitShares(const ParamSpec& p, int n) {
  std::map<double, int> shares;
  for (int i = 0; i < n; ++i) shares[p.FromUnit((i + 0.5) / n)]++;
  return shares;
}

// Every legal value of `p` gets the same share of [0, 1], within one part in
// `n`.
void ExpectEqualShares(const ParamSpec& p, int n = 12000) {
  const std::map<double, int> shares = UnitShares(p, n);
  ASSERT_EQ(static_cast<int64_t>(shares.size()), p.Cardinality());
  const double expected = static_cast<double>(n) / p.Cardinality();
  for (const auto& [value, count] : shares) {
    EXPECT_NEAR(count, expected, 1.0) << "value " << value;
  }
}

TEST(ContinuousDoubleTest, FromUnitCoversTheRange) {
  const ParamSpec p = DoubleParam(-2, 3);
  EXPECT_EQ(p.Cardinality(), -1);
  EXPECT_FALSE(p.IsIndexed());
  EXPECT_EQ(p.FromUnit(0), -2);
  EXPECT_EQ(p.FromUnit(1), 3);
  EXPECT_DOUBLE_EQ(p.FromUnit(0.5), 0.5);
  // Out-of-range u is clamped rather than extrapolated.
  EXPECT_EQ(p.FromUnit(-0.5), -2);
  EXPECT_EQ(p.FromUnit(1.5), 3);
}

TEST(ContinuousDoubleTest, ToUnitInvertsFromUnit) {
  const ParamSpec p = DoubleParam(-2, 3);
  EXPECT_EQ(p.ToUnit(-2), 0);
  EXPECT_EQ(p.ToUnit(3), 1);
  EXPECT_DOUBLE_EQ(p.ToUnit(0.5), 0.5);
  for (double u : {0.0, 0.1, 0.37, 0.9, 1.0}) {
    EXPECT_NEAR(p.ToUnit(p.FromUnit(u)), u, 1e-12) << u;
  }
}

TEST(ContinuousDoubleTest, SnapOnlyClamps) {
  const ParamSpec p = DoubleParam(-2, 3);
  EXPECT_EQ(p.Snap(1.234), 1.234);
  EXPECT_EQ(p.Snap(-10), -2);
  EXPECT_EQ(p.Snap(10), 3);
}

TEST(ContinuousDoubleTest, PointRangeMapsToTheMiddle) {
  const ParamSpec p = DoubleParam(2, 2);
  EXPECT_EQ(p.FromUnit(0), 2);
  EXPECT_EQ(p.FromUnit(1), 2);
  EXPECT_EQ(p.ToUnit(2), 0.5);
}

TEST(LogDoubleTest, FromUnitIsEvenInLogSpace) {
  const ParamSpec p = DoubleParam(1e-4, 1, /*log=*/true);
  // exp(log(x)) is a few ulps off x, so only nearly: within 1e-12 relative.
  for (const auto& [u, x] : std::vector<std::pair<double, double>>{
           {0, 1e-4}, {0.25, 1e-3}, {0.5, 1e-2}, {0.75, 1e-1}, {1, 1}}) {
    EXPECT_NEAR(p.FromUnit(u), x, x * 1e-12) << u;
  }
  EXPECT_GE(p.FromUnit(0), p.low);
  EXPECT_LE(p.FromUnit(1), p.high);
}

TEST(LogDoubleTest, ToUnitInvertsFromUnit) {
  const ParamSpec p = DoubleParam(1e-4, 1, /*log=*/true);
  EXPECT_NEAR(p.ToUnit(1e-4), 0, 1e-12);
  EXPECT_NEAR(p.ToUnit(1e-3), 0.25, 1e-12);
  EXPECT_NEAR(p.ToUnit(1), 1, 1e-12);
  for (double u : {0.0, 0.2, 0.5, 0.99, 1.0}) {
    EXPECT_NEAR(p.ToUnit(p.FromUnit(u)), u, 1e-12) << u;
  }
}

TEST(SteppedDoubleTest, ValuesAreMultiplesOfTheStep) {
  const ParamSpec p = DoubleParam(0, 1, false, 0.25);
  EXPECT_EQ(p.Cardinality(), 5);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(p.NthValue(k), 0.25 * k);
  EXPECT_EQ(p.FromUnit(0), 0);
  EXPECT_EQ(p.FromUnit(1), 1);
  EXPECT_EQ(p.Snap(0.3), 0.25);
  EXPECT_EQ(p.Snap(0.38), 0.5);
  EXPECT_EQ(p.Snap(-1), 0);
  EXPECT_EQ(p.Snap(2), 1);
}

TEST(SteppedDoubleTest, EveryValueEquallyLikely) {
  ExpectEqualShares(DoubleParam(0, 1, false, 0.25));
  ExpectEqualShares(DoubleParam(-3, 7.5, false, 1.5));
}

TEST(SteppedDoubleTest, ToUnitInvertsFromUnit) {
  const ParamSpec p = DoubleParam(0, 1, false, 0.25);
  for (int k = 0; k < p.Cardinality(); ++k) {
    const double v = p.NthValue(k);
    EXPECT_EQ(p.FromUnit(p.ToUnit(v)), v) << v;
    EXPECT_GT(p.ToUnit(v), 0);
    EXPECT_LT(p.ToUnit(v), 1);
  }
}

TEST(SteppedDoubleTest, StepThatDoesNotDivideTheRange) {
  // Legal values 0, 0.3, 0.6, 0.9: max itself is not one.
  const ParamSpec p = DoubleParam(0, 1, false, 0.3);
  EXPECT_EQ(p.Cardinality(), 4);
  EXPECT_DOUBLE_EQ(p.NthValue(3), 0.9);
  EXPECT_DOUBLE_EQ(p.Snap(1), 0.9);
  EXPECT_DOUBLE_EQ(p.FromUnit(1), 0.9);
  // The last value gets no more than its share for being nearest to max.
  ExpectEqualShares(p);
  for (int k = 0; k < p.Cardinality(); ++k) {
    EXPECT_EQ(p.FromUnit(p.ToUnit(p.NthValue(k))), p.NthValue(k)) << k;
  }
}

TEST(SteppedDoubleTest, RoundingInTheStepDoesNotLoseTheLastValue) {
  // 0.3 / 0.1 is 2.9999999999999996 in doubles.
  const ParamSpec p = DoubleParam(0, 0.3, false, 0.1);
  EXPECT_EQ(p.Cardinality(), 4);
  // 3 * 0.1 is 0.30000000000000004: capped at max.
  EXPECT_EQ(p.NthValue(3), 0.3);
  EXPECT_EQ(p.FromUnit(1), 0.3);
  EXPECT_LE(p.Snap(0.3), p.high);
}

TEST(SteppedDoubleTest, LogScaleStaysOnTheSteps) {
  const ParamSpec p = DoubleParam(1, 100, /*log=*/true, 0.5);
  EXPECT_EQ(p.Cardinality(), 199);
  EXPECT_EQ(p.FromUnit(0), 1);
  EXPECT_EQ(p.FromUnit(1), 100);
  for (int i = 0; i <= 100; ++i) {
    const double x = p.FromUnit(i / 100.0);
    EXPECT_EQ(x * 2, std::round(x * 2)) << x;
    EXPECT_EQ(p.FromUnit(p.ToUnit(x)), x);
  }
}

TEST(IntTest, ValuesAndEnds) {
  const ParamSpec p = IntParam(1, 4);
  EXPECT_EQ(p.Cardinality(), 4);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(p.NthValue(k), k + 1);
  EXPECT_EQ(p.FromUnit(0), 1);
  EXPECT_EQ(p.FromUnit(1), 4);
  EXPECT_EQ(p.Snap(2.4), 2);
  EXPECT_EQ(p.Snap(2.6), 3);
  EXPECT_EQ(p.Snap(-7), 1);
  EXPECT_EQ(p.Snap(100), 4);
}

TEST(IntTest, EndsAsLikelyAsInnerValues) {
  ExpectEqualShares(IntParam(1, 4));
  ExpectEqualShares(IntParam(-5, 5));
  ExpectEqualShares(IntParam(7, 7));
}

TEST(IntTest, ToUnitInvertsFromUnit) {
  const ParamSpec p = IntParam(1, 4);
  EXPECT_EQ(p.ToUnit(1), 0.125);
  EXPECT_EQ(p.ToUnit(4), 0.875);
  for (int v = 1; v <= 4; ++v) EXPECT_EQ(p.FromUnit(p.ToUnit(v)), v);
}

TEST(IntTest, Step) {
  const ParamSpec p = IntParam(0, 10, false, 5);
  EXPECT_EQ(p.Cardinality(), 3);
  EXPECT_EQ(p.NthValue(2), 10);
  EXPECT_EQ(p.Snap(7), 5);
  EXPECT_EQ(p.Snap(8), 10);
  ExpectEqualShares(p);

  // A step that does not divide the range: 1, 4, 7; 9 is not reachable.
  const ParamSpec q = IntParam(1, 9, false, 3);
  EXPECT_EQ(q.Cardinality(), 3);
  EXPECT_EQ(q.NthValue(2), 7);
  EXPECT_EQ(q.FromUnit(1), 7);
  EXPECT_EQ(q.Snap(9), 7);
  ExpectEqualShares(q);
}

TEST(IntTest, LogScale) {
  const ParamSpec p = IntParam(1, 1000, /*log=*/true);
  EXPECT_EQ(p.Cardinality(), 1000);
  EXPECT_EQ(p.FromUnit(0), 1);
  EXPECT_EQ(p.FromUnit(1), 1000);
  double previous = 0;
  for (int i = 0; i <= 1000; ++i) {
    const double x = p.FromUnit(i / 1000.0);
    EXPECT_EQ(x, std::round(x));
    EXPECT_GE(x, previous);  // Monotone in u.
    previous = x;
  }
  // Small values get more of [0, 1] than large ones.
  const std::map<double, int> shares = UnitShares(p, 100000);
  EXPECT_GT(shares.at(2), 10 * shares.at(500));
  for (double v : {1.0, 2.0, 10.0, 999.0, 1000.0}) {
    EXPECT_EQ(p.FromUnit(p.ToUnit(v)), v) << v;
  }
}

TEST(CategoricalTest, IndicesAndEnds) {
  const ParamSpec p = CategoricalParam({"a", "b", "c"});
  EXPECT_TRUE(p.IsIndexed());
  EXPECT_EQ(p.Cardinality(), 3);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(p.NthValue(k), k);
  EXPECT_EQ(p.FromUnit(0), 0);
  EXPECT_EQ(p.FromUnit(0.3), 0);
  EXPECT_EQ(p.FromUnit(0.5), 1);
  EXPECT_EQ(p.FromUnit(1), 2);
  EXPECT_EQ(p.Snap(1.4), 1);
  EXPECT_EQ(p.Snap(1.6), 2);
  EXPECT_EQ(p.Snap(-1), 0);
  EXPECT_EQ(p.Snap(7), 2);
  ExpectEqualShares(p);
}

TEST(CategoricalTest, ToUnitInvertsFromUnit) {
  const ParamSpec p = CategoricalParam({"a", "b", "c"});
  EXPECT_DOUBLE_EQ(p.ToUnit(0), 1.0 / 6);
  EXPECT_DOUBLE_EQ(p.ToUnit(1), 0.5);
  EXPECT_DOUBLE_EQ(p.ToUnit(2), 5.0 / 6);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(p.FromUnit(p.ToUnit(k)), k);
}

TEST(DiscreteTest, CoordinatesAreIndicesNotValues) {
  const ParamSpec p = DiscreteParam({0.5, 1, 4, 16});
  EXPECT_TRUE(p.IsIndexed());
  EXPECT_EQ(p.Cardinality(), 4);
  EXPECT_EQ(p.NthValue(3), 3);
  EXPECT_EQ(p.FromUnit(0), 0);
  EXPECT_EQ(p.FromUnit(1), 3);
  EXPECT_EQ(p.Snap(16), 3);
  EXPECT_EQ(p.Snap(0.6), 1);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(p.FromUnit(p.ToUnit(k)), k);
  ExpectEqualShares(p);
}

TEST(SearchSpaceTest, IndexOf) {
  ParamSpec a = DoubleParam(0, 1);
  a.name = "lr";
  ParamSpec b = IntParam(1, 8);
  b.name = "layers";
  const SearchSpace space({a, b});
  EXPECT_EQ(space.size(), 2u);
  EXPECT_EQ(space.IndexOf("lr"), 0);
  EXPECT_EQ(space.IndexOf("layers"), 1);
  EXPECT_EQ(space.IndexOf("momentum"), -1);
  EXPECT_EQ(space.param(1).name, "layers");
}

TEST(ParamSpecTest, EqualOnlyWhenEveryFieldIs) {
  ParamSpec base;
  base.name = "x";
  base.low = 1;
  base.high = 2;
  base.categories = {"a"};
  base.values = {1};
  base.parent_values = {0};
  EXPECT_EQ(base, base);
  EXPECT_EQ(SearchSpace({base}), SearchSpace({base}));
  std::vector<void (*)(ParamSpec&)> changes = {
      [](ParamSpec& p) { p.name = "y"; },
      [](ParamSpec& p) { p.kind = ParamKind::kInt; },
      [](ParamSpec& p) { p.low = 0; },
      [](ParamSpec& p) { p.high = 3; },
      [](ParamSpec& p) { p.log = true; },
      [](ParamSpec& p) { p.step = 0.5; },
      [](ParamSpec& p) { p.q = 0.5; },
      [](ParamSpec& p) { p.prior = Prior::kNormal; },
      [](ParamSpec& p) { p.mu = 1; },
      [](ParamSpec& p) { p.sigma = 2; },
      [](ParamSpec& p) { p.categories.push_back("b"); },
      [](ParamSpec& p) { p.values = {2}; },
      [](ParamSpec& p) { p.parent = 0; },
      [](ParamSpec& p) { p.parent_values.clear(); },
  };
  for (size_t k = 0; k < changes.size(); ++k) {
    ParamSpec other = base;
    changes[k](other);
    EXPECT_NE(base, other) << "change " << k;
    EXPECT_NE(SearchSpace({base}), SearchSpace({other})) << "change " << k;
  }
  EXPECT_NE(SearchSpace({base}), SearchSpace({base, base}));
}

}  // namespace
}  // namespace hpo
