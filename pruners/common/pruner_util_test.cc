#include "pruners/common/pruner_util.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/history.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(NanPercentileTest, InterpolatesLikeNumpy) {
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(NanPercentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(NanPercentile(v, 25), 1.75);
  EXPECT_DOUBLE_EQ(NanPercentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(NanPercentile(v, 75), 3.25);
  EXPECT_DOUBLE_EQ(NanPercentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(NanPercentile({7}, 30), 7);
}

TEST(NanPercentileTest, IgnoresNaN) {
  EXPECT_DOUBLE_EQ(NanPercentile({kNaN, 1, 3, kNaN}, 50), 2);
  EXPECT_TRUE(std::isnan(NanPercentile({kNaN, kNaN}, 50)));
  EXPECT_TRUE(std::isnan(NanPercentile({}, 50)));
}

TEST(CurveTest, BestOfIgnoresNaNPerGoal) {
  const Curve c = {{0, 0.5}, {1, kNaN}, {2, 0.2}, {3, 0.9}};
  EXPECT_EQ(BestOf(c, Goal::kMinimize), 0.2);
  EXPECT_EQ(BestOf(c, Goal::kMaximize), 0.9);
  EXPECT_TRUE(std::isnan(BestOf({{0, kNaN}}, Goal::kMinimize)));
  EXPECT_TRUE(std::isnan(BestOf({}, Goal::kMaximize)));
}

TEST(CurveTest, LookupsByStep) {
  TrialRecord t;
  t.intermediate = {{1, 0.1}, {4, 0.4}, {9, 0.9}};
  EXPECT_EQ(ValueAt(t, 4), 0.4);
  EXPECT_FALSE(ValueAt(t, 5).has_value());
  EXPECT_EQ(FirstAtOrAfter(t, 5)->first, 9);
  EXPECT_EQ(FirstAtOrAfter(t, 4)->second, 0.4);
  EXPECT_FALSE(FirstAtOrAfter(t, 10).has_value());
  EXPECT_EQ(CurveUpTo(t, 4).size(), 2u);
  EXPECT_EQ(CurveUpTo(t, 0).size(), 0u);
}

TEST(CurveTest, FirstGoalDefaultsToMinimize) {
  History h;
  EXPECT_EQ(FirstGoal(h), Goal::kMinimize);
  h.goals = {Goal::kMaximize, Goal::kMinimize};
  EXPECT_EQ(FirstGoal(h), Goal::kMaximize);
}

TEST(IntervalTest, ChecksFirstReportOfEachInterval) {
  // Every step reported, warm-up 0, interval 3: checks at 0, 3, 6.
  Curve c;
  for (int64_t step = 0; step < 8; ++step) {
    c.emplace_back(step, 0.0);
    EXPECT_EQ(IsFirstInInterval(c, step, 0, 3), step % 3 == 0) << step;
  }
}

TEST(IntervalTest, SkippedCheckPointMovesToNextReport) {
  // Reports at 0, 2, 4, 5 with warm-up 1, interval 3: check points 1, 4.
  EXPECT_TRUE(IsFirstInInterval({{0, 0}, {2, 0}}, 2, 1, 3));
  EXPECT_TRUE(IsFirstInInterval({{0, 0}, {2, 0}, {4, 0}}, 4, 1, 3));
  EXPECT_FALSE(IsFirstInInterval({{0, 0}, {2, 0}, {4, 0}, {5, 0}}, 5, 1, 3));
  // Jumping over a whole interval: 2 then 8 (check points 1, 4, 7).
  EXPECT_TRUE(IsFirstInInterval({{2, 0}, {8, 0}}, 8, 1, 3));
}

TEST(OrdinalTest, Suffixes) {
  EXPECT_EQ(Ordinal(1), "1st");
  EXPECT_EQ(Ordinal(2), "2nd");
  EXPECT_EQ(Ordinal(3), "3rd");
  EXPECT_EQ(Ordinal(4), "4th");
  EXPECT_EQ(Ordinal(11), "11th");
  EXPECT_EQ(Ordinal(12), "12th");
  EXPECT_EQ(Ordinal(13), "13th");
  EXPECT_EQ(Ordinal(21), "21st");
  EXPECT_EQ(Ordinal(102), "102nd");
  EXPECT_EQ(Ordinal(111), "111th");
}

}  // namespace
}  // namespace hpo
