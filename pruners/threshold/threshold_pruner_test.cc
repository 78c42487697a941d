#include "pruners/threshold/threshold_pruner.h"

#include <limits>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/history.h"
#include "core/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruners/common/test_util.h"
#include "pruners/pruner.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;
using testing_util::HistoryBuilder;
using testing_util::Steps;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::unique_ptr<Pruner> Make(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreateThresholdPruner(settings);
  EXPECT_TRUE(pruner.ok()) << pruner.status();
  const absl::Status unread = settings.CheckAllRead("threshold");
  EXPECT_TRUE(unread.ok()) << unread;
  return pruner.ok() ? *std::move(pruner) : nullptr;
}

absl::Status Error(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreateThresholdPruner(settings);
  if (!pruner.ok()) return pruner.status();
  return settings.CheckAllRead("threshold");
}

PruneDecision Decide(const Pruner& p, Curve curve,
                     Goal goal = Goal::kMinimize) {
  HistoryBuilder b(goal);
  b.Running(std::move(curve));
  return p.ShouldStop(b.history(), b.last(),
                      b.history().trials.back().intermediate.back().first);
}

TEST(ThresholdPrunerTest, UpperBound) {
  std::unique_ptr<Pruner> p = Make({{"upper", "1000"}});
  PruneDecision d = Decide(*p, Steps({5, 80, 2500}));
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason, "2500 at step 2 is above the upper bound 1000");
  d = Decide(*p, Steps({5, 80, 1000}));
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason, "1000 at step 2 is within [-inf, 1000]");
}

TEST(ThresholdPrunerTest, LowerBoundWhateverTheGoal) {
  std::unique_ptr<Pruner> p = Make({{"lower", "0.2"}});
  for (Goal goal : {Goal::kMaximize, Goal::kMinimize}) {
    PruneDecision d = Decide(*p, Steps({0.5, 0.1}), goal);
    EXPECT_TRUE(d.stop);
    EXPECT_EQ(d.reason, "0.1 at step 1 is below the lower bound 0.2");
    EXPECT_FALSE(Decide(*p, Steps({0.1, 0.2}), goal).stop);
  }
}

TEST(ThresholdPrunerTest, LatestValueOnly) {
  // An earlier excursion does not matter once back within bounds.
  std::unique_ptr<Pruner> p = Make({{"lower", "0"}, {"upper", "1"}});
  EXPECT_FALSE(Decide(*p, Steps({5, -3, 0.5})).stop);
}

TEST(ThresholdPrunerTest, NaNStops) {
  std::unique_ptr<Pruner> p = Make({{"upper", "1"}});
  PruneDecision d = Decide(*p, Steps({0.5, kNaN}));
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason, "the value at step 1 is NaN");
}

TEST(ThresholdPrunerTest, WarmupAndInterval) {
  std::unique_ptr<Pruner> p =
      Make({{"upper", "1"}, {"n_warmup_steps", "2"}, {"interval_steps", "3"}});
  PruneDecision d = Decide(*p, Steps({9, 9}));
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(
      d.reason,
      "step 1 is within the warm-up: checks start at step 2 (n_warmup_steps)");
  EXPECT_TRUE(Decide(*p, Steps({9, 9, 9})).stop);           // step 2
  EXPECT_FALSE(Decide(*p, Steps({9, 9, 9, 9})).stop);       // step 3
  EXPECT_TRUE(Decide(*p, Steps({9, 9, 9, 9, 9, 9})).stop);  // step 5
  // A trial whose reports skip check point 5 is checked at 6.
  EXPECT_TRUE(Decide(*p, {{0, 9}, {4, 9}, {6, 9}}).stop);
  d = Decide(*p, {{0, 9}, {6, 9}, {7, 9}});
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("step 7 is not a check point"));
}

TEST(ThresholdPrunerTest, OtherTrialsDoNotMatter) {
  std::unique_ptr<Pruner> p = Make({{"upper", "1"}});
  HistoryBuilder b(Goal::kMinimize);
  b.Completed(Steps({100, 100}));
  b.Add(TrialState::kPruned, Steps({100}));
  b.Add(TrialState::kFailed, {});
  b.Running(Steps({0.5, 0.5}));
  EXPECT_FALSE(p->ShouldStop(b.history(), b.last(), 1).stop);
  // No value at the step asked about: nothing to judge.
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 4);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("no value at step 4"));
}

TEST(ThresholdPrunerTest, Settings) {
  EXPECT_THAT(
      Error({}).message(),
      HasSubstr("early_stopping.settings.lower: lower or upper is required"));
  EXPECT_THAT(Error({{"lower", "2"}, {"upper", "1"}}).message(),
              HasSubstr("early_stopping.settings.lower: must be <= upper "
                        "(lower 2, upper 1)"));
  EXPECT_THAT(
      Error({{"upper", "inf"}}).message(),
      HasSubstr("early_stopping.settings.upper: must be a finite number"));
  EXPECT_THAT(
      Error({{"upper", "1"}, {"n_warmup_steps", "-1"}}).message(),
      HasSubstr("early_stopping.settings.n_warmup_steps: must be >= 0"));
  EXPECT_THAT(
      Error({{"upper", "1"}, {"interval_steps", "0"}}).message(),
      HasSubstr("early_stopping.settings.interval_steps: must be >= 1"));
  EXPECT_THAT(Error({{"upper", "1"}, {"n_startup_trials", "3"}}).message(),
              HasSubstr("early_stopping.settings.n_startup_trials: unknown "
                        "setting for threshold"));
  EXPECT_TRUE(Error({{"lower", "1"}, {"upper", "1"}}).ok());
}

}  // namespace
}  // namespace hpo
