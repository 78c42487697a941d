#include "pruners/median/median_pruner.h"

#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

std::unique_ptr<Pruner> Make(std::map<std::string, std::string> values = {}) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner = CreateMedianPruner(settings);
  EXPECT_TRUE(pruner.ok()) << pruner.status();
  const absl::Status unread = settings.CheckAllRead("median");
  EXPECT_TRUE(unread.ok()) << unread;
  return pruner.ok() ? *std::move(pruner) : nullptr;
}

absl::Status Error(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner = CreateMedianPruner(settings);
  if (!pruner.ok()) return pruner.status();
  return settings.CheckAllRead("median");
}

// Losses of five completed trials at steps 0..4; at step 2 they are 0.8,
// 0.6, 0.5, 0.9, 0.7: median 0.7.
const std::vector<std::vector<double>> kCompletedLosses = {
    {1.0, 0.9, 0.8, 0.7, 0.6},  {1.0, 0.8, 0.6, 0.5, 0.4},
    {1.0, 0.7, 0.5, 0.4, 0.3},  {1.0, 0.95, 0.9, 0.85, 0.8},
    {1.0, 0.85, 0.7, 0.6, 0.5},
};

HistoryBuilder Losses(int completed, std::vector<double> running) {
  HistoryBuilder b(Goal::kMinimize);
  for (int i = 0; i < completed; ++i) b.Completed(Steps(kCompletedLosses[i]));
  b.Running(Steps(std::move(running)));
  return b;
}

// The same as accuracies, 1 - loss: median at step 2 is 0.3.
HistoryBuilder Accuracies(int completed, std::vector<double> running) {
  HistoryBuilder b(Goal::kMaximize);
  for (int i = 0; i < completed; ++i) {
    std::vector<double> acc;
    for (double loss : kCompletedLosses[i]) acc.push_back(1 - loss);
    b.Completed(Steps(acc));
  }
  b.Running(Steps(std::move(running)));
  return b;
}

TEST(MedianPrunerTest, MinimizeStopsWorseThanMedian) {
  HistoryBuilder b = Losses(5, {1.0, 0.9, 0.75});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason,
            "0.75 (the trial's best value up to step 2) is worse than the "
            "median 0.7 of 5 completed trials at step 2 (minimize)");
}

TEST(MedianPrunerTest, BestSoFarNotLatestValueIsCompared) {
  // Latest 0.72 is worse than the median 0.7, but the best so far, 0.65, is
  // not: Optuna compares the best intermediate value.
  HistoryBuilder b = Losses(5, {1.0, 0.65, 0.72});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("0.65 (the trial's best value up to step 2) "
                                  "is not worse than the median 0.7"));
}

TEST(MedianPrunerTest, MaximizeStopsBelowMedian) {
  HistoryBuilder b = Accuracies(5, {0, 0.1, 0.25});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(
      d.reason,
      HasSubstr("median 0.3 of 5 completed trials at step 2 (maximize)"));
  b = Accuracies(5, {0, 0.35, 0.28});
  EXPECT_FALSE(Make()->ShouldStop(b.history(), b.last(), 2).stop);
}

TEST(MedianPrunerTest, TieWithMedianGoesOn) {
  HistoryBuilder b = Losses(5, {1.0, 0.9, 0.7});
  EXPECT_FALSE(Make()->ShouldStop(b.history(), b.last(), 2).stop);
}

TEST(MedianPrunerTest, NoPruningBeforeStartupTrialsComplete) {
  HistoryBuilder b = Losses(4, {1.0, 1.0, 1.0});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(
      d.reason,
      "4 trials have completed; pruning starts after 5 (n_startup_trials)");
  EXPECT_TRUE(Make({{"n_startup_trials", "4"}})
                  ->ShouldStop(b.history(), b.last(), 2)
                  .stop);
  HistoryBuilder none = Losses(0, {1.0, 1.0, 1.0});
  d = Make({{"n_startup_trials", "0"}})
          ->ShouldStop(none.history(), none.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("no trial has completed yet"));
}

TEST(MedianPrunerTest, PrunedFailedAndRunningTrialsAreNotTheYardstick) {
  // With the pruned, failed and running trials' 0.1 counted, the median at
  // step 2 would drop to 0.6 and 0.65 would be stopped.
  HistoryBuilder b(Goal::kMinimize);
  b.Add(TrialState::kPruned, Steps({1.0, 0.5, 0.1}));
  b.Add(TrialState::kFailed, Steps({1.0, 0.5, 0.1}));
  b.Add(TrialState::kRunning, Steps({1.0, 0.5, 0.1}));
  b.Add(TrialState::kWaiting, {});
  for (const auto& losses : kCompletedLosses) b.Completed(Steps(losses));
  b.Running(Steps({1.0, 0.9, 0.65}));
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("of 5 completed trials"));
  // And they do not count as started trials either.
  b.mutable_history().trials.erase(b.mutable_history().trials.begin() + 4);
  d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("4 trials have completed"));
}

TEST(MedianPrunerTest, WarmupSteps) {
  HistoryBuilder b = Losses(5, {1.0, 1.0, 1.0});
  PruneDecision d =
      Make({{"n_warmup_steps", "3"}})->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "step 2 is within the warm-up: pruning starts at step 3 "
            "(n_warmup_steps)");
  b.mutable_history().trials.back().intermediate = Steps({1.0, 1.0, 1.0, 1.0});
  EXPECT_TRUE(Make({{"n_warmup_steps", "3"}})
                  ->ShouldStop(b.history(), b.last(), 3)
                  .stop);
}

TEST(MedianPrunerTest, IntervalSteps) {
  // Warm-up 1, interval 2: check points 1, 3; step 2 is not checked.
  std::unique_ptr<Pruner> p =
      Make({{"n_warmup_steps", "1"}, {"interval_steps", "2"}});
  HistoryBuilder b = Losses(5, {1.0, 1.0});
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 1).stop);
  b = Losses(5, {1.0, 1.0, 1.0});
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("step 2 is not a check point"));
  b = Losses(5, {1.0, 1.0, 1.0, 1.0});
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 3).stop);
  // A trial that skipped step 3 is checked at its next report, step 4.
  b = Losses(5, {});
  b.mutable_history().trials.back().intermediate = {
      {0, 1.0}, {2, 1.0}, {4, 1.0}};
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 4).stop);
}

TEST(MedianPrunerTest, MissingStepsAndMinTrials) {
  // Two completed trials never reported step 2.
  HistoryBuilder b(Goal::kMinimize);
  for (const auto& losses : kCompletedLosses) b.Completed(Steps(losses));
  b.mutable_history().trials[0].intermediate.erase(
      b.mutable_history().trials[0].intermediate.begin() + 2);
  b.mutable_history().trials[1].intermediate.erase(
      b.mutable_history().trials[1].intermediate.begin() + 2);
  b.Running(Steps({1.0, 0.9, 0.75}));
  // Values at step 2: 0.5, 0.9, 0.7: median 0.7.
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("median 0.7 of 3 completed trials"));
  d = Make({{"n_min_trials", "4"}})->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "3 completed trials reported a value at step 2; judging needs 4 "
            "(n_min_trials)");
  // No completed trial reached step 7.
  b.mutable_history().trials.back().intermediate = {{7, 5.0}};
  d = Make()->ShouldStop(b.history(), b.last(), 7);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("0 completed trials reported a value"));
}

TEST(MedianPrunerTest, NaNValues) {
  HistoryBuilder b = Losses(5, {kNaN, kNaN, kNaN});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason, "every value the trial reported up to step 2 is NaN");
  // One real value among NaNs is the best so far.
  b = Losses(5, {kNaN, 0.6, kNaN});
  EXPECT_FALSE(Make()->ShouldStop(b.history(), b.last(), 2).stop);
}

TEST(MedianPrunerTest, NoValueAtStepIsNoDecision) {
  HistoryBuilder b = Losses(5, {1.0, 1.0});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("no value at step 2"));
}

TEST(MedianPrunerTest, KatibMinTrialsRequiredIsStartupTrials) {
  HistoryBuilder b = Losses(2, {1.0, 1.0, 1.0});
  EXPECT_TRUE(Make({{"min_trials_required", "2"}})
                  ->ShouldStop(b.history(), b.last(), 2)
                  .stop);
  PruneDecision d = Make({{"min_trials_required", "3"}})
                        ->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("pruning starts after 3"));
}

TEST(MedianPrunerTest, StartStepCountsReports) {
  // NNI and Katib: judged once the trial has reported start_step values.
  std::unique_ptr<Pruner> p = Make({{"start_step", "3"}});
  HistoryBuilder b = Losses(5, {1.0, 1.0});
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 1);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(
      d.reason,
      "the trial has reported 2 values; pruning starts after 3 (start_step)");
  b = Losses(5, {1.0, 1.0, 1.0});
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 2).stop);
}

TEST(MedianPrunerTest, SettingsErrorsAndAliases) {
  EXPECT_THAT(Error({{"n_startup_trials", "2"}, {"min_trials_required", "2"}})
                  .message(),
              HasSubstr("early_stopping.settings.min_trials_required: is an "
                        "alias of n_startup_trials"));
  EXPECT_THAT(
      Error({{"min_trials_required", "0"}}).message(),
      HasSubstr("early_stopping.settings.min_trials_required: must be >= 1"));
  EXPECT_THAT(Error({{"optimize_mode", "up"}}).message(),
              HasSubstr("early_stopping.settings.optimize_mode: must be "
                        "minimize or maximize"));
  EXPECT_THAT(
      Error({{"n_warmup_steps", "two"}}).message(),
      HasSubstr("early_stopping.settings.n_warmup_steps: must be an integer"));
  const absl::Status percentile = Error({{"percentile", "30"}});
  EXPECT_THAT(
      percentile.message(),
      HasSubstr(
          "early_stopping.settings.percentile: unknown setting for median"));
  EXPECT_TRUE(Error({{"min_trials_required", "2"},
                     {"start_step", "4"},
                     {"optimize_mode", "maximize"}})
                  .ok());
}

}  // namespace
}  // namespace hpo
